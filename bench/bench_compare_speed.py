"""Benchmark: compare speed, start-up and memory, as ratios measured side by side in one run.

On ``--pairs`` float32 tensor pairs of ``--mb`` MB each (default 40 x 16 MB, 1.3 GB of
traces), in rotation so that a slow spell of the machine hits every variant alike:

* bare NumPy: ``np.abs(ref - port).max()`` per pair, read through the same trace readers;
* audioparity API: ``compare_traces(ref, port, explain="none")`` (every metric of every pair);
* audioparity CLI: ``audioparity compare ref port --json F`` in a fresh process (start-up,
  alignment, metrics, report);
* Polygraphy: ``SimpleCompareFunc`` on the same memory-mapped arrays (when installed).

Speed is reported as bare-NumPy time / variant time (1.0 = as fast as the bare pass; the goal
for the CLI is >= 0.7). Also: start-up of ``audioparity --help`` and ``audioparity compare
--help`` in seconds (goal <= 0.3 s), and the CLI's peak RSS against the largest tensor (goal
<= 2 x largest + 300 MB). Prints a markdown table.

Run: ``python bench/bench_compare_speed.py [--pairs 40] [--mb 16] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from timing import median_times

from audioparity.compare import compare_traces
from audioparity.trace import TraceWriter, open_trace

CLI = [str(Path(sys.executable).with_name("audioparity"))]  # the console script


def write_traces(tmp: Path, pairs: int, mb: int) -> tuple[Path, Path]:
    """Two traces of ``pairs`` float32 tensors of ``mb`` MB; the port is within float32 noise."""
    n = mb * (1 << 20) // 4
    rng = np.random.default_rng(0)
    ref_path, port_path = tmp / "ref.safetensors", tmp / "port.safetensors"
    with TraceWriter(ref_path) as ref, TraceWriter(port_path) as port:
        for i in range(pairs):
            x = rng.standard_normal((64, n // 64), dtype=np.float32)
            ref.add(f"model.layers.{i}", x)
            port.add(f"model.layers.{i}", x + np.float32(1e-7) * x)
    return ref_path, port_path


def bare_numpy(ref_path: Path, port_path: Path) -> None:
    with open_trace(ref_path) as ref, open_trace(port_path) as port:
        for name in ref.names:
            float(np.abs(ref.read(name) - port.read(name)).max())


def polygraphy_compare(ref_path: Path, port_path: Path) -> None:
    from polygraphy.comparator import IterationResult, SimpleCompareFunc
    from polygraphy.logger import G_LOGGER

    G_LOGGER.module_severity = G_LOGGER.ERROR  # its per-output report would flood the table
    with open_trace(ref_path) as ref, open_trace(port_path) as port:
        fn = SimpleCompareFunc(rtol=1e-4, atol=1e-6)
        fn(IterationResult({n: ref.read(n) for n in ref.names}, runner_name="ref"),
           IterationResult({n: port.read(n) for n in port.names}, runner_name="port"))


def cli_compare(ref_path: Path, port_path: Path, out: Path) -> None:
    done = subprocess.run([*CLI, "compare", str(ref_path), str(port_path), "--json", str(out)],
                          check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"compare exited {done.returncode}: {done.stderr.strip()}")


def startup(repeats: int) -> dict[str, float]:
    def run(*args: str) -> Callable[[], None]:
        return lambda: subprocess.run([*CLI, *args], capture_output=True, check=True)

    return median_times({"--help": run("--help"), "compare --help": run("compare", "--help")},
                        max(repeats, 5))


def peak_rss_mb(ref_path: Path, port_path: Path, out: Path) -> float:
    """Peak resident memory of one CLI compare in its own process (MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cli_compare(ref_path, port_path, out)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(after, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--mb", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp_name:
        tmp = Path(tmp_name)
        ref_path, port_path = write_traces(tmp, args.pairs, args.mb)
        out = tmp / "result.json"
        rss = peak_rss_mb(ref_path, port_path, out)  # first: a fresh process, nothing shared
        fns: dict[str, Callable[[], object]] = {
            "bare NumPy abs(a-b).max()": lambda: bare_numpy(ref_path, port_path),
            "audioparity API (all metrics)": lambda: compare_traces(ref_path, port_path,
                                                                    explain="none"),
            "audioparity CLI (fresh process)": lambda: cli_compare(ref_path, port_path, out),
        }
        try:
            import polygraphy  # noqa: F401

            fns["Polygraphy SimpleCompareFunc"] = lambda: polygraphy_compare(ref_path, port_path)
        except ImportError:
            print("(Polygraphy not installed: pip install polygraphy to compare with it)")
        times = median_times(fns, args.repeats)
        starts = startup(args.repeats)
    bare = times["bare NumPy abs(a-b).max()"]
    total_mb = 2 * args.pairs * args.mb
    print(f"\n{args.pairs} pairs x {args.mb} MB float32 ({total_mb} MB of traces), "
          f"median of {args.repeats}, in rotation\n")
    print("| measure | value | speed vs bare NumPy | goal |")
    print("|---|---|---|---|")
    for key, t in times.items():
        goal = ">= 0.7x" if "CLI" in key else ""
        print(f"| {key} | {t:.2f} s ({total_mb / t:.0f} MB/s) | {bare / t:.2f}x | {goal} |")
    for key, t in starts.items():
        print(f"| start-up `audioparity {key}` | {t:.2f} s | | <= 0.3 s |")
    limit = 2 * args.mb + 300
    print(f"| CLI peak RSS | {rss:.0f} MB (largest tensor {args.mb} MB) | | <= {limit} MB |")


if __name__ == "__main__":
    main()
