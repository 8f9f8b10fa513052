"""Benchmark: capture overhead and compare throughput, as ratios measured side by side.

* capture overhead = median traced forward / median untraced forward of the same model on
  the same input (torch hooks on every module + the RoPE function; to a trace file on disk,
  replacing the previous run's file or as a new file, and kept in memory); with ``--baseline REV`` the trace
  writer of git revision REV runs in the same rotation, so before and after are measured
  under the same load;
* compare throughput = median ``compare_traces`` time / median time of a bare NumPy pass
  ``np.abs(ref - port).max()`` over the same pairs read from the same trace files.

Two models: the demo reference (tiny Qwen3 + ISTFT head) and a bigger Qwen3 config.
Prints a markdown table. Run:
``python bench/bench_capture_compare.py [--repeats N] [--baseline REV] [--only capture]
[--threads N]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from timing import median_times

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
from audioparity.sources import recorder
from audioparity.sources.torch_capture import capture
from audioparity.trace import open_trace

MODELS = {
    "demo (4 layers, hidden 64, 12 tokens)": (DemoConfig(), 12),
    "bigger (8 layers, hidden 512, 128 tokens)": (DemoConfig(
        vocab_size=4096, hidden_size=512, intermediate_size=1536, num_hidden_layers=8,
        num_attention_heads=8, num_key_value_heads=4, head_dim=64, vocoder_dim=256,
        n_fft=256, hop_length=64), 128),
}
WRITER_SOURCE = "src/audioparity/trace/safetensors_format.py"


def writer_at(rev: str) -> type:
    """The ``TraceWriter`` class of git revision ``rev`` (loaded beside today's)."""
    root = Path(__file__).resolve().parent.parent
    source = subprocess.run(["git", "show", f"{rev}:{WRITER_SOURCE}"], cwd=root, check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType("audioparity.trace._writer_at_" + rev.replace("~", "_"))
    module.__package__ = "audioparity.trace"
    exec(compile(source, f"{rev}:{WRITER_SOURCE}", "exec"), module.__dict__)  # noqa: S102
    return module.TraceWriter


def bench_capture(model: torch.nn.Module, ids: torch.Tensor, repeats: int, tmp: Path,
                  baseline: type | None) -> dict[str, float]:
    """Median forward times: untraced, traced to disk (today's writer, and ``baseline``'s),
    traced in memory."""
    current = recorder.TraceWriter

    def untraced() -> None:
        with torch.no_grad():
            model(ids)

    def traced(path: Path | None, writer: type = current) -> None:
        recorder.TraceWriter = writer
        try:
            with torch.no_grad(), capture(model, path, functions=(ROPE_FUNCTION,)):
                model(ids)
        finally:
            recorder.TraceWriter = current

    fresh = tmp / "fresh.safetensors"
    fns: dict[str, Callable[[], object]] = {
        "plain": untraced, "disk": lambda: traced(tmp / "ref.safetensors"),
        "disk_new": lambda: traced(fresh), "memory": lambda: traced(None)}
    if baseline is not None:
        fns["disk_before"] = lambda: traced(tmp / "ref_before.safetensors", baseline)
    # a new file: no earlier trace to replace (ext4 flushes a file renamed over another)
    return median_times(fns, repeats, {"disk_new": lambda: fresh.unlink(missing_ok=True)})


def bench_compare(model: torch.nn.Module, config: DemoConfig, ids: torch.Tensor, repeats: int,
                  tmp: Path) -> dict[str, float]:
    ref_path, port_path = tmp / "ref.safetensors", tmp / "port.safetensors"
    with torch.no_grad(), capture(model, ref_path, functions=(ROPE_FUNCTION,)):
        model(ids)
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
    return {"pairs": len(names), "mb": total_bytes / 1e6, "bare_ms": bare_s * 1e3,
            "compare_ms": compare_s * 1e3, "compare_ratio": compare_s / bare_s,
            "mb_per_s": total_bytes / 1e6 / compare_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--baseline", metavar="REV",
                        help="also time the trace writer of this git revision (before/after)")
    parser.add_argument("--only", choices=("capture", "compare"),
                        help="run one half of the benchmark")
    # one thread by default: on a busy 2-core machine two intra-op threads make the demo's
    # 3 ms forward take anything up to 300 ms (spinning workers descheduled), and no median
    # of a handful of runs tames that; 0 keeps torch's default
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1; 0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    baseline = writer_at(args.baseline) if args.baseline else None
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"median of {args.repeats} runs in rotation, load average before: {load}\n")
    columns = ["model"]
    if args.only != "compare":
        columns += ["forward", "trace file", "traced/untraced (to disk, replacing a trace)",
                    "(to disk, new file)", "(in memory)"]
        if baseline is not None:
            columns.append(f"(to disk, replacing; writer at {args.baseline})")
    if args.only != "capture":
        columns += ["pairs", "MB per side", "bare NumPy max-diff", "compare_traces",
                    "compare/bare", "compare MB/s"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for label, (config, length) in MODELS.items():
        torch.manual_seed(0)
        model = build_reference(config)
        ids = demo_input_ids(config, length=length)
        cells = [label]
        with tempfile.TemporaryDirectory() as tmp:
            if args.only != "compare":
                f = bench_capture(model, ids, args.repeats, Path(tmp), baseline)
                size = (Path(tmp) / "ref.safetensors").stat().st_size
                plain = f["plain"]
                cells += [f"{plain * 1e3:.1f} ms", f"{size / 1e6:.1f} MB",
                          f"{f['disk'] / plain:.2f}x", f"{f['disk_new'] / plain:.2f}x",
                          f"{f['memory'] / plain:.2f}x"]
                if baseline is not None:
                    cells.append(f"{f['disk_before'] / plain:.2f}x")
            if args.only != "capture":
                r = bench_compare(model, config, ids, args.repeats, Path(tmp))
                cells += [str(r["pairs"]), f"{r['mb']:.1f}", f"{r['bare_ms']:.1f} ms",
                          f"{r['compare_ms']:.1f} ms", f"{r['compare_ratio']:.1f}x",
                          f"{r['mb_per_s']:.0f}"]
        print("| " + " | ".join(cells) + " |", flush=True)
    print(f"\nload average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
