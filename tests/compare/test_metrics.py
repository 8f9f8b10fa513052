"""pair_metrics: one pass per cache-sized chunk, float32 dots for float32 pairs, threads for
large pairs — the numbers must still be those of a float64 computation."""

from __future__ import annotations

import numpy as np
import pytest

from audioparity.compare.metrics import PARALLEL_MIN_ELEMENTS, pair_metrics


def _float64_reference(r: np.ndarray, p: np.ndarray) -> dict[str, float]:
    r64, p64 = r.astype(np.float64).ravel(), p.astype(np.float64).ravel()
    d = p64 - r64
    return {"max_abs": np.abs(d).max(), "mean_abs": np.abs(d).mean(),
            "rel_l2": np.linalg.norm(d) / np.linalg.norm(r64),
            "cosine": (r64 @ p64) / np.linalg.norm(r64) / np.linalg.norm(p64)}


@pytest.mark.parametrize("noise", [1.0, 1e-2, 1e-5])
def test_threaded_float32_pass_matches_float64(noise):
    rng = np.random.default_rng(0)
    r = rng.standard_normal((4, PARALLEL_MIN_ELEMENTS // 2), dtype=np.float32)  # threaded
    p = r + np.float32(noise) * rng.standard_normal(r.shape, dtype=np.float32)
    m, want = pair_metrics(r, p), _float64_reference(r, p)
    assert m.max_abs == pytest.approx(want["max_abs"], rel=1e-6)
    assert m.mean_abs == pytest.approx(want["mean_abs"], rel=1e-5)
    assert m.rel_l2 == pytest.approx(want["rel_l2"], rel=1e-5)
    # 1 - cos is ~noise^2 / 2: it must survive, not drown in float32 rounding of r.p
    assert 1 - m.cosine == pytest.approx(1 - want["cosine"], rel=1e-3)


def test_scaled_and_negated_tensors_have_cosine_one_and_minus_one():
    a = np.random.default_rng(1).standard_normal(5000).astype(np.float32)
    assert pair_metrics(a, 3 * a).cosine == pytest.approx(1.0, abs=1e-6)
    assert pair_metrics(a, -a).cosine == pytest.approx(-1.0, abs=1e-6)


def test_nonfinite_values_are_counted_and_left_out_without_warnings():
    a = np.linspace(-1, 1, 100_000, dtype=np.float32)
    b = a.copy()
    a[5] = b[5] = np.inf  # the same Inf on both sides is no mismatch
    b[7], b[9] = np.nan, -np.inf
    b[11] += 0.5
    with np.errstate(all="raise"):
        m = pair_metrics(a, b)
    assert (m.ref_inf, m.port_nan, m.port_inf, m.nonfinite_mismatch) == (1, 1, 2, 2)
    assert m.max_abs == pytest.approx(0.5, rel=1e-6)


def test_float32_overflow_falls_back_to_float64():
    x = np.full(10, 3e38, dtype=np.float32)
    m = pair_metrics(x, -x)
    assert m.max_abs == pytest.approx(6e38, rel=1e-6) and m.nonfinite_mismatch == 0
    assert m.cosine == pytest.approx(-1.0, abs=1e-9)
