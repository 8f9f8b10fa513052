"""Order/shape guesses are checked by values: a wrong pairing is not taken, and tensors that
are not the same are left unaligned instead of being reported as a divergence."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from audioparity.compare import compare_traces
from audioparity.sources.torch_capture import capture
from audioparity.trace import open_trace, write_trace

FRAMES, DIM, CODES = 12, 8, 32


class RefQuantizer(nn.Module):
    """Reference: an ``Identity`` pre-projection, then a codebook lookup added."""

    def __init__(self, lookup_module: bool = True) -> None:
        super().__init__()
        self.proj_in = nn.Linear(DIM, DIM)
        self.identity = nn.Identity()
        self.codebook = nn.Embedding(CODES, DIM)
        self.lookup_module = lookup_module
        self.proj_out = nn.Linear(DIM, DIM)

    def forward(self, x: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        h = self.identity(self.proj_in(x))
        q = self.codebook(codes) if self.lookup_module else \
            nn.functional.embedding(codes, self.codebook.weight)
        return self.proj_out(h + q)


class PortQuantizer(nn.Module):
    """A correct port with its own names and no Identity; the lookup is a module."""

    def __init__(self, ref: RefQuantizer) -> None:
        super().__init__()
        self.inp, self.lookup, self.out = ref.proj_in, ref.codebook, ref.proj_out

    def forward(self, x: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        return self.out(self.inp(x) + self.lookup(codes))


def _traces(tmp_path, lookup_module: bool, meta: bool):
    torch.manual_seed(0)
    ref_model = RefQuantizer(lookup_module).eval()
    x, codes = torch.randn(1, FRAMES, DIM), torch.randint(0, CODES, (1, FRAMES))
    with torch.no_grad(), capture(ref_model, tmp_path / "ref.safetensors"):
        ref_model(x, codes)
    port_model = PortQuantizer(ref_model).eval()
    with torch.no_grad(), capture(port_model, tmp_path / "port.safetensors"):
        port_model(x, codes)
    port = tmp_path / "port.safetensors"
    if not meta:
        t = open_trace(port)
        port = write_trace(tmp_path / "bare.safetensors", {n: np.array(t.read(n)) for n in t.names})
    return tmp_path / "ref.safetensors", port


@pytest.mark.parametrize("meta", [True, False])
@pytest.mark.parametrize("lookup_module", [True, False])
def test_identity_is_not_paired_with_a_codebook_lookup(tmp_path, lookup_module, meta):
    ref, port = _traces(tmp_path, lookup_module, meta)
    result = compare_traces(ref, port)
    assert result.status == "parity", [(e.name, e.port_name, e.method) for e in result.failing]
    paired = {e.ref_name: e.port_name for e in result.entries}
    assert "identity" not in paired
    assert paired["proj_out"] == "out"
    if lookup_module:
        assert paired["codebook"] == "lookup"


def test_a_guess_whose_values_disagree_is_not_a_divergence(tmp_path):
    ref, port = _traces(tmp_path, lookup_module=False, meta=False)
    result = compare_traces(ref, port)
    assert result.first_divergence is None
    assert any("identity" in n and "lookup" in n for n in result.notes)


def test_map_pairs_win_over_exact_names(ref_path, ref_tensors, tmp_path):
    """The port stores up_proj under gate_proj's name and back: the map says so and wins."""
    tensors = dict(ref_tensors)
    a, b = "model.layers.0.mlp.gate_proj", "model.layers.0.mlp.up_proj"
    tensors[a], tensors[b] = ref_tensors[b], ref_tensors[a]
    port = write_trace(tmp_path / "p.safetensors", tensors)
    assert compare_traces(ref_path, port).status == "divergent"
    rules = tmp_path / "map.yaml"
    rules.write_text(f"pairs:\n  {a}: {b}\n  {b}: {a}\n")
    result = compare_traces(ref_path, port, rules)
    assert result.status == "parity"
    methods = {e.ref_name: (e.port_name, e.method) for e in result.entries}
    assert methods[a] == (b, "map") and methods[b] == (a, "map")


class _RefCodec(nn.Module):
    """transformers-style: ``encoder`` is the whole path (convs, then a downsample)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv1d(4, 8, 3, padding=1), nn.Conv1d(8, 8, 2, stride=2))
        self.head = nn.Conv1d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


class _PortCodec(nn.Module):
    """mlx-audio-style: ``encoder`` is only the first conv; the downsample sits beside it."""

    def __init__(self, ref: _RefCodec) -> None:
        super().__init__()
        self.encoder, self.downsample, self.head = ref.encoder[0], ref.encoder[1], ref.head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.downsample(self.encoder(x)))


def test_one_name_on_two_different_tensors_is_not_a_divergence(tmp_path):
    torch.manual_seed(0)
    ref_model = _RefCodec().eval()
    x = torch.randn(1, 4, 32)
    with torch.no_grad(), capture(ref_model, tmp_path / "ref.safetensors"):
        ref_model(x)
    port_model = _PortCodec(ref_model).eval()
    with torch.no_grad(), capture(port_model, tmp_path / "port.safetensors"):
        port_model(x)
    result = compare_traces(tmp_path / "ref.safetensors", tmp_path / "port.safetensors")
    assert result.status == "parity", [(e.name, e.port_name, e.detail) for e in result.failing]
    paired = {e.ref_name: (e.port_name, e.method) for e in result.entries}
    assert paired["encoder.0"] == ("encoder", "order+value")
    assert paired["encoder.1"][0] == "downsample"  # the producer, not its parent's copy
    assert "encoder" in result.unmatched_ref
