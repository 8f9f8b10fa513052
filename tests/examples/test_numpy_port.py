"""The NumPy port of the demo model: parity when faithful, the right layer when buggy."""

from __future__ import annotations

import numpy as np
import pytest

from audioparity.compare import compare_traces
from audioparity.examples.numpy_port import (
    BUG_KINDS,
    NumpyPort,
    apply_rope,
    apply_rope_interleaved,
    istft_same,
    rope_tables,
)
from audioparity.trace import open_trace


def test_faithful_numpy_port_shows_parity_on_every_entry(demo_files, tmp_path):
    port = NumpyPort.from_safetensors(demo_files.weights)
    port.trace(demo_files.input_ids, tmp_path / "port.safetensors")
    result = compare_traces(demo_files.ref_trace, tmp_path / "port.safetensors", explain="none")
    with open_trace(demo_files.ref_trace) as ref:  # the port records no module inputs
        assert len(result.entries) == sum(1 for name in ref.names if ":in" not in name)
    assert result.status == "parity"
    assert all(e.ok and e.port_name == e.ref_name for e in result.entries)
    assert result.first_divergence is None


#: The cause each planted bug must be named by (gqa_tiled: no signature sees a kv-head mix-up
#: through o_proj, so it stays ``unknown``; see the README's "not done yet").
CAUSE = {"rope_interleaved": "rope_variant", "no_qk_norm": "missing_norm",
         "norm_eps": "norm_eps", "mlp_act": "activation", "attn_no_causal_mask": "mask",
         "gqa_tiled": "unknown", "istft_scale": "scale", "istft_pad": "shift"}


@pytest.mark.parametrize(("kind", "layer"), [
    ("rope_interleaved", 0), ("rope_interleaved", 3),
    ("no_qk_norm", 1), ("norm_eps", 2), ("norm_eps", 3),
    ("mlp_act", 0), ("mlp_act", 3),
    ("attn_no_causal_mask", 2), ("gqa_tiled", 1),
    ("istft_scale", None), ("istft_pad", None),
])
def test_planted_bug_is_the_first_divergence_and_named(demo_files, tmp_path, kind, layer):
    port = NumpyPort.from_safetensors(demo_files.weights, bugs={kind: layer})
    port.trace(demo_files.input_ids, tmp_path / "port.safetensors")
    result = compare_traces(demo_files.ref_trace, tmp_path / "port.safetensors")
    assert result.status == "divergent"
    assert result.first_divergence.name == BUG_KINDS[kind].format(layer=layer)
    assert result.first_divergence.causes[0].cause == CAUSE[kind]
    # everything before it still agrees: the bug does not leak upstream
    index = result.first_divergence.index
    assert all(e.ok for e in result.entries[:index])


def test_unknown_bug_kind_is_refused(demo_files):
    with pytest.raises(ValueError, match="unknown bug kind"):
        NumpyPort.from_safetensors(demo_files.weights, bugs={"typo": 0})


def test_interleaved_rope_is_half_split_rope_on_deinterleaved_dims():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 5, 8)).astype(np.float32)
    cos, sin = rope_tables(5, 8, 10000.0)
    order = np.r_[0:8:2, 1:8:2]  # 0 2 4 6 1 3 5 7: pairs (2i, 2i+1) -> (i, i + 4)
    expected = np.empty_like(x)
    expected[..., order] = apply_rope(x[..., order], cos, sin)
    np.testing.assert_allclose(apply_rope_interleaved(x, cos, sin), expected, atol=1e-6)
    # position 0 is not rotated, later positions are: the error starts at token 1
    np.testing.assert_allclose(apply_rope_interleaved(x, cos, sin)[:, :, 0], x[:, :, 0])
    assert not np.allclose(apply_rope_interleaved(x, cos, sin), apply_rope(x, cos, sin))


def test_numpy_istft_matches_torch_istft_center_on_the_kept_samples():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    n_fft, hop, frames = 32, 8, 20
    spec = (rng.standard_normal((1, n_fft // 2 + 1, frames))
            + 1j * rng.standard_normal((1, n_fft // 2 + 1, frames)))
    spec[:, 0].imag = 0
    spec[:, -1].imag = 0
    ours = istft_same(spec, n_fft, hop, pad_start=n_fft // 2)  # center=True trims n_fft/2
    theirs = torch.istft(torch.from_numpy(spec), n_fft, hop, window=torch.hann_window(n_fft),
                         center=True).numpy()
    kept = theirs.shape[-1]
    np.testing.assert_allclose(ours[:, :kept], theirs, rtol=1e-4, atol=1e-5)
