"""Benchmark: explaining one pair of 4M elements must take under 2 s.

Runs the whole catalogue (explain_pair, every signature) on 4,194,304-element pairs that
carry different causes, and prints the time of each beside one full f32 pass over the pair
(``np.abs(port - ref).max()``) measured in the same run, and against the 2 s budget.

    .venv/bin/python bench/bench_explain.py
"""

from __future__ import annotations

import time

import numpy as np

from audioparity.explain import ExplainContext, explain_pair, signatures

N = 1 << 22
BUDGET_S = 2.0


def _snake(x: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """DAC's Snake1d on [B, C, T]: x + sin²(αx)/α, α per channel."""
    a = alpha[None, :, None]
    return (x + np.sin(a * x) ** 2 / a).astype(np.float32)


def _cases(rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    audio = np.convolve(rng.normal(size=N + 64), np.hanning(64), "valid")[:N].astype(np.float32)
    act = rng.normal(size=(16, 256, 1024)).astype(np.float32)
    weight = (0.05 * rng.normal(size=(512, 512, 16))).astype(np.float32)
    bf16 = (act.view(np.uint32) + 0x8000 & 0xFFFF0000).view(np.float32)
    return {
        "parity (gate only)": (act, act + np.float32(1e-7) * act),
        "scale 1/n_fft (audio)": (audio[None], audio[None] / 2048),
        "shift 256 (audio)": (audio[None, 256:], audio[None, :-256]),
        "layout conv weight": (weight, np.ascontiguousarray(weight.transpose(0, 2, 1)
                                                            ).reshape(weight.shape)),
        "precision bf16": (act, bf16),
        "unknown (unrelated)": (act, rng.normal(size=act.shape).astype(np.float32)),
        "clipping ~4%": (audio[None] / 10, np.clip(audio[None] / 10, -1, 1)),
    }


def _snake_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, ExplainContext]:
    """A Snake pair with its recorded input: the port exponentiates α (fits every channel)."""
    x = rng.normal(size=(16, 256, 1024)).astype(np.float32)
    alpha = rng.uniform(0.3, 2.0, size=256).astype(np.float32)
    ctx = ExplainContext(name="snake", get_ref={"snake:in0": x}.get)
    return _snake(x, alpha), _snake(x, np.exp(alpha)), ctx


def main() -> None:
    t0 = time.perf_counter()
    signatures()  # one-time: imports every signature module (scipy parts included)
    print(f"loading the catalogue: {time.perf_counter() - t0:.3f} s (once per process)")
    rng = np.random.default_rng(0)
    print(f"explain_pair on pairs of {N:,} elements (budget {BUDGET_S:.1f} s)")
    print(f"{'case':24s} {'cause':>12s} {'explain s':>10s} {'pass s':>8s} {'× pass':>7s} "
          f"{'÷ budget':>9s}")
    worst = 0.0
    cases = {name: (ref, port, None) for name, (ref, port) in _cases(rng).items()}
    cases["snake exp(α), input"] = _snake_case(rng)
    for name, (ref, port, ctx) in cases.items():
        t0 = time.perf_counter()
        _ = float(np.abs(port[..., : ref.shape[-1]] - ref[..., : port.shape[-1]]).max())
        one_pass = time.perf_counter() - t0
        t0 = time.perf_counter()
        findings = explain_pair(ref, port, ctx)
        took = time.perf_counter() - t0
        worst = max(worst, took)
        cause = findings[0].cause if findings else "parity"
        print(f"{name:24s} {cause:>12s} {took:10.3f} {one_pass:8.3f} {took / one_pass:7.1f} "
              f"{took / BUDGET_S:9.2f}")
    print(f"worst case {worst:.3f} s = {worst / BUDGET_S:.2f} of the budget "
          f"({'OK' if worst < BUDGET_S else 'OVER'})")


if __name__ == "__main__":
    main()
