"""torch and MLX captures of one module tree give the same names, module types and values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

mx = pytest.importorskip("mlx.core")
mnn = pytest.importorskip("mlx.nn")

from audioparity.sources import mlx_capture, torch_capture
from audioparity.trace import open_trace


class TorchNet(torch.nn.Module):
    """Nested Sequential (conv, ELU), a ModuleList named ``layers``, a Linear head."""

    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Sequential(
            torch.nn.Sequential(torch.nn.Conv1d(2, 4, 3, padding=1), torch.nn.ELU()),
            torch.nn.Conv1d(4, 4, 3, padding=1))
        self.layers = torch.nn.ModuleList([torch.nn.Linear(4, 4), torch.nn.Linear(4, 4)])
        self.head = torch.nn.Sequential(torch.nn.ELU(), torch.nn.Linear(4, 3))

    def forward(self, x):  # x: [B, C, T]
        h = self.encoder(x).transpose(1, 2)
        for layer in self.layers:
            h = layer(h)
        return self.head(h)


class MLXNet(mnn.Module):
    """The same tree in MLX: Sequential children live in ``.layers``, lists are ModuleLists."""

    def __init__(self):
        super().__init__()
        self.encoder = mnn.Sequential(mnn.Sequential(mnn.Conv1d(2, 4, 3, padding=1), mnn.ELU()),
                                      mnn.Conv1d(4, 4, 3, padding=1))
        self.layers = [mnn.Linear(4, 4), mnn.Linear(4, 4)]
        self.head = mnn.Sequential(mnn.ELU(), mnn.Linear(4, 3))

    def __call__(self, x):  # x: [B, T, C]
        h = self.encoder(x)
        for layer in self.layers:
            h = layer(h)
        return self.head(h)


def _port(ref: TorchNet) -> MLXNet:
    """MLXNet with ``ref``'s weights (conv weights [out, in, k] -> [out, k, in])."""
    port = MLXNet()
    weights = []
    for name, p in ref.state_dict().items():
        arr = p.detach().numpy()
        mlx_name = name.replace("encoder.", "encoder.layers.", 1).replace(
            "encoder.layers.0.", "encoder.layers.0.layers.", 1).replace("head.", "head.layers.", 1)
        if arr.ndim == 3:
            arr = arr.transpose(0, 2, 1)
        weights.append((mlx_name, mx.array(arr)))
    port.load_weights(weights)
    return port


def test_mlx_sequential_names_equal_torch_names(tmp_path):
    torch.manual_seed(0)
    ref = TorchNet().eval()
    port = _port(ref)
    x = torch.randn(1, 2, 7)
    with torch.no_grad(), torch_capture.capture(ref, tmp_path / "ref.safetensors", inputs=True):
        expected = ref(x).numpy()
    with mlx_capture.capture(port, tmp_path / "port.safetensors", inputs=True):
        got = np.array(port(mx.array(x.numpy().transpose(0, 2, 1))))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)

    with open_trace(tmp_path / "ref.safetensors") as r, \
            open_trace(tmp_path / "port.safetensors") as p:
        assert p.names == r.names
        assert "encoder.0.1" in p.names and "layers.1" in p.names and "head.1" in p.names
        assert not any(".layers." in n or n.startswith("encoder.layers") for n in p.names)
        ref_types, port_types = r.meta["modules"], p.meta["modules"]
        assert port_types.keys() == ref_types.keys()
        assert {k: v for k, v in port_types.items() if k != "output"} == {
            k: v for k, v in ref_types.items() if k != "output"}
        assert port_types["encoder.0"] == "Sequential" and port_types["encoder.0.1"] == "ELU"
        for name in ("encoder.0.1", "encoder", "layers.1", "head.1"):
            ref_arr, port_arr = r.read(name), p.read(name)
            if name.startswith("encoder"):
                port_arr = port_arr.transpose(0, 2, 1)  # MLX convs are channels-last
            np.testing.assert_allclose(port_arr, ref_arr, rtol=1e-5, atol=1e-5)


def test_include_patterns_see_torch_style_paths():
    port = MLXNet()
    with mlx_capture.capture(port, include="encoder.0.*") as rec:
        port(mx.zeros((1, 7, 2)))
    assert rec.names == ["encoder.0.0", "encoder.0.1"]
