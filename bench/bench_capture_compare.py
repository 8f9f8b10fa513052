"""Benchmark: capture overhead and compare throughput, as ratios measured side by side.

* capture overhead = median traced forward / median untraced forward of the same model on
  the same input (torch hooks on every module + the RoPE function; to a trace file on disk,
  and kept in memory);
* compare throughput = median ``compare_traces`` time / median time of a bare NumPy pass
  ``np.abs(ref - port).max()`` over the same pairs read from the same trace files.

Two models: the demo reference (tiny Qwen3 + ISTFT head) and a bigger Qwen3 config.
Prints a markdown table. Run: ``python bench/bench_capture_compare.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from audioparity.compare import compare_traces
from audioparity.examples.numpy_port import NumpyPort
from audioparity.examples.reference import (
    ROPE_FUNCTION,
    DemoConfig,
    as_numpy,
    build_reference,
    demo_input_ids,
    save_weights,
)
from audioparity.sources.torch_capture import capture
from audioparity.trace import open_trace

MODELS = {
    "demo (4 layers, hidden 64, 12 tokens)": (DemoConfig(), 12),
    "bigger (8 layers, hidden 512, 128 tokens)": (DemoConfig(
        vocab_size=4096, hidden_size=512, intermediate_size=1536, num_hidden_layers=8,
        num_attention_heads=8, num_key_value_heads=4, head_dim=64, vocoder_dim=256,
        n_fft=256, hop_length=64), 128),
}


def median_times(fns: dict[str, object], repeats: int) -> dict[str, float]:
    """Median wall time in seconds of each ``fn()``, run in rotation (after one warm-up each).

    Rotating the variants within every repeat keeps the ratios fair on a loaded machine:
    a slow spell hits all variants alike.
    """
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {key: [] for key in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    return {key: statistics.median(t) for key, t in times.items()}


def bench_model(config: DemoConfig, length: int, repeats: int, tmp: Path) -> dict[str, float]:
    model = build_reference(config)
    ids = demo_input_ids(config, length=length)
    ref_path, port_path = tmp / "ref.safetensors", tmp / "port.safetensors"

    def untraced() -> None:
        with torch.no_grad():
            model(ids)

    def traced(path: Path | None) -> None:
        with torch.no_grad(), capture(model, path, functions=(ROPE_FUNCTION,)):
            model(ids)

    forward = median_times({"plain": untraced, "disk": lambda: traced(ref_path),
                            "memory": lambda: traced(None)}, repeats)
    plain = forward["plain"]

    port = NumpyPort.from_safetensors(save_weights(model, tmp / "w.safetensors"), config)
    port.trace(as_numpy(ids), port_path)
    with open_trace(ref_path) as ref_t, open_trace(port_path) as port_t:
        names = [n for n in ref_t.names if n in port_t]
        total_bytes = sum(ref_t.read(n).nbytes for n in names)

        def bare() -> None:
            for n in names:
                float(np.abs(ref_t.read(n) - port_t.read(n)).max())

        timed = median_times({
            "bare": bare,
            "compare": lambda: compare_traces(ref_t, port_t, explain="none")}, repeats)
    result = compare_traces(ref_path, port_path, explain="none")
    assert result.status == "parity", "the faithful port must show parity"
    bare_s, compare_s = timed["bare"], timed["compare"]
    return {"plain_ms": plain * 1e3, "disk_ratio": forward["disk"] / plain,
            "mem_ratio": forward["memory"] / plain, "pairs": len(names), "mb": total_bytes / 1e6,
            "bare_ms": bare_s * 1e3, "compare_ms": compare_s * 1e3,
            "compare_ratio": compare_s / bare_s, "mb_per_s": total_bytes / 1e6 / compare_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"median of {args.repeats} runs\n")
    print("| model | forward | traced/untraced (to disk) | traced/untraced (in memory) "
          "| pairs | MB per side | bare NumPy max-diff | compare_traces | compare/bare "
          "| compare MB/s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, (config, length) in MODELS.items():
        with tempfile.TemporaryDirectory() as tmp:
            r = bench_model(config, length, args.repeats, Path(tmp))
        print(f"| {label} | {r['plain_ms']:.1f} ms | {r['disk_ratio']:.2f}x "
              f"| {r['mem_ratio']:.2f}x | {r['pairs']} | {r['mb']:.1f} | {r['bare_ms']:.1f} ms "
              f"| {r['compare_ms']:.1f} ms | {r['compare_ratio']:.1f}x "
              f"| {r['mb_per_s']:.0f} |")


if __name__ == "__main__":
    main()
