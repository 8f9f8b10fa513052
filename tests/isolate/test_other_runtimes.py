"""Ports in other runtimes: an ONNX Runtime session per component, an MLX module tree
(isolated, run end to end and patched by swapping a module's class for the call), and a
port in another language that loads the exported inputs and saves its outputs."""

from __future__ import annotations

import json

import mini_tts
import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file

from audioparity.isolate import export_inputs, file_port, isolate, patch
from audioparity.trace import open_trace, write_trace


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript exporter: fast
def test_onnx_runtime_sessions_as_components(tts_ref, tts_traces, tmp_path):
    pytest.importorskip("onnxruntime")
    onnx_path = tmp_path / "decoder.onnx"
    codes = torch.zeros(1, mini_tts.CODEBOOKS, mini_tts.TEXT_LEN, dtype=torch.long)
    torch.onnx.export(tts_ref.decoder, (codes,), str(onnx_path), dynamo=False,
                      input_names=["codes"], output_names=["audio"])
    numpy_port = mini_tts.NumpyMiniTTS(tts_ref, ("sum_pool",))
    port = {"speaker_encoder": numpy_port.speaker_encoder, "decoder": str(onnx_path)}
    result = isolate(tts_traces["clone"], port, components=["speaker_encoder", "decoder"])
    assert [r.verdict for r in result.rows] == ["bug", "ok"]
    assert result.rows[1].isolated.rel_l2 < 1e-5


def _mlx_pair():
    mx = pytest.importorskip("mlx.core")
    from mlx import nn as mnn

    torch.manual_seed(0)

    class Ref(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = torch.nn.Linear(8, 32)
            self.act = torch.nn.GELU()
            self.dec = torch.nn.Linear(32, 4)

        def forward(self, x):
            return self.dec(self.act(self.enc(x)))

    class Port(mnn.Module):
        def __init__(self, ref, approx):
            super().__init__()
            self.enc = mnn.Linear(8, 32)
            self.act = mnn.GELU(approx=approx)
            self.dec = mnn.Linear(32, 4)
            for name in ("enc", "dec"):
                layer = getattr(ref, name)
                getattr(self, name).update({"weight": mx.array(layer.weight.detach().numpy()),
                                            "bias": mx.array(layer.bias.detach().numpy())})

        def __call__(self, x):
            return self.dec(self.act(self.enc(x)))

    ref = Ref().eval()
    return ref, lambda approx: Port(ref, approx)


def test_mlx_module_isolated_end_to_end_and_patched(tmp_path):
    ref, make_port = _mlx_pair()
    from audioparity.sources.torch_capture import capture

    trace = tmp_path / "ref.safetensors"
    with torch.no_grad(), capture(ref, trace, inputs=True):
        ref(3 * torch.randn(2, 5, 8, generator=torch.Generator().manual_seed(1)))
    good = isolate(trace, make_port("none"))
    assert [r.name for r in good.rows] == ["enc", "act", "dec"]
    assert good.status == "parity" and good.port_kind == "mlx"
    result = isolate(trace, make_port("tanh"), patch="act")
    assert [r.verdict for r in result.rows] == ["ok", "bug", "victim"]
    assert result.rows[1].causes[0].cause == "activation"
    assert result.patch.recovered
    wrong_patch = patch(trace, make_port("tanh"), "enc")  # enc was never the culprit
    assert wrong_patch.still_divergent == ["act", "dec", "output"]
    assert "first at act" in wrong_patch.line


def test_port_in_another_language_reads_exported_inputs_and_saves_outputs(
        tts_ref, tts_traces, tmp_path, cli):
    inputs = tmp_path / "inputs.safetensors"
    described = export_inputs(tts_traces["clone"], ["decoder", "speaker_encoder"], inputs)
    assert list(described["decoder"]["inputs"]) == ["decoder:in0"]
    assert described["decoder"]["outputs"] == {"decoder": [1, 4 * mini_tts.TEXT_LEN]}
    with open_trace(inputs) as t:
        assert t.meta["components"]["speaker_encoder"]["inputs"] == {
            "speaker_encoder:in0": [1, mini_tts.N_MELS, mini_tts.MEL_FRAMES]}

    # the port's side: stock safetensors in, run its own code, stock safetensors out
    port = mini_tts.NumpyMiniTTS(tts_ref, ("sum_pool",))
    given = load_file(str(inputs))
    outputs = tmp_path / "port_outputs.safetensors"
    save_file({"decoder": port.decoder(given["decoder:in0"]),
               "speaker_encoder": port.speaker_encoder(given["speaker_encoder:in0"])},
              str(outputs))

    result = isolate(tts_traces["clone"], file_port([outputs]),
                     components=["speaker_encoder", "decoder"])
    assert [r.verdict for r in result.rows] == ["bug", "ok"]
    assert result.port_kind == "file"

    # with the port's own end-to-end trace beside it, the decoder is a victim
    seen = {}
    port.forward(mini_tts.text_ids().numpy(),
                 mini_tts.mel().numpy(), hook=lambda n, v: seen.setdefault(n, v))
    port_trace = write_trace(tmp_path / "port_trace.safetensors", seen)
    code, _stdout, _ = cli("isolate", tts_traces["clone"], "--outputs", outputs,
                          "-c", "speaker_encoder", "-c", "decoder",
                          "--port-trace", port_trace, "--json", tmp_path / "r.json")
    assert code == 1
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["bugs"] == ["speaker_encoder"] and data["victims"] == ["decoder"]
    assert data["end_to_end_source"].startswith("port trace")
    assert np.isfinite(data["components"][1]["end_to_end"]["rel_l2"])


def test_export_cli_lists_what_to_write_back(cli, tts_traces, tmp_path):
    out = tmp_path / "in.safetensors"
    code, stdout, _ = cli("isolate", "export", tts_traces["clone"], "-c", "talker", "-o", out)
    assert code == 0
    assert "talker: inputs talker:in0 [1, 12], talker:in1 [1, 16]; write back talker " \
           "[1, 12, 16]" in stdout
    assert sorted(load_file(str(out))) == ["talker:in0", "talker:in1"]
    code, _, stderr = cli("isolate", "export", tts_traces["clone"], "-c", "nope", "-o", out)
    assert code == 2 and "no component 'nope'" in stderr
