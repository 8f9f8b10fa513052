"""Benchmark: auditing a 1 GiB checkpoint pair runs in bounded memory.

Writes (in a temporary directory, deleted afterwards) a 1 GiB float32 reference of 256
tensors (conv-like ``[1024, 256, 4]`` and linear ``[1024, 1024]``) and a 1 GiB port of the
same values with MLX conv layouts, a changed key prefix and a few tensors left at init.
Then, each in a fresh child process, it runs

* ``audioparity weights audit REF PORT --json`` (streams: one tensor pair at a time), and
* a naive script that loads both files whole (``safetensors.numpy.load_file``) and compares
  the tensors it can pair by name,

and prints their wall time and peak RSS side by side, and peak RSS over the checkpoint size.

    .venv/bin/python bench/bench_weights_audit.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from audioparity.trace import TraceWriter

N_TENSORS = 256
ELEMS = 1 << 20  # 4 MiB of float32 per tensor -> 1 GiB per file

NAIVE = """
import sys, numpy as np
from safetensors.numpy import load_file
ref, port = load_file(sys.argv[1]), load_file(sys.argv[2])
worst = 0.0
for name, r in ref.items():
    p = port.get(name.replace("model.", "port.", 1))
    if p is not None and p.size == r.size:
        worst = max(worst, float(np.abs(p.reshape(r.shape) - r).max()))
print(worst)
"""


def write_pair(root: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    ref_path, port_path = root / "ref.safetensors", root / "port.safetensors"
    with TraceWriter(ref_path) as ref, TraceWriter(port_path) as port:
        for i in range(N_TENSORS):
            conv = i % 2 == 0
            shape = (1024, 256, 4) if conv else (1024, 1024)
            name = f"model.blocks.{i}.{'conv' if conv else 'proj'}.weight"
            w = (rng.standard_normal(ELEMS, dtype=np.float32) / 32).reshape(shape)
            ref.add(name, w)
            if i % 64 == 63:  # left at init by a loader that skipped it
                bound = 1 / np.sqrt(shape[1] * (shape[2] if conv else 1))
                w = rng.uniform(-bound, bound, shape).astype(np.float32)
            port.add(name.replace("model.", "port.", 1),
                     w.transpose(0, 2, 1) if conv else w)
    return ref_path, port_path


PEAK = ("import resource, sys; print('peak_kib', resource.getrusage(resource.RUSAGE_SELF)"
        ".ru_maxrss, file=sys.stderr)")
AUDIT = ("import sys; from audioparity.cli.main import main; code = main(sys.argv[1:]); "
         + PEAK + "; sys.exit(code)")


def run_child(code: str, args: list[str]) -> tuple[float, float, int]:
    """Run ``code`` in a fresh interpreter: wall time (s), its own peak RSS (MiB), exit code."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=False)
    took = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        sys.exit(f"child failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    peak_kib = next(int(line.split()[1]) for line in proc.stderr.splitlines()
                    if line.startswith("peak_kib"))
    return took, peak_kib / 1024, proc.returncode


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-weights-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        ref, port = write_pair(root)
        size_mib = (ref.stat().st_size + port.stat().st_size) / 2 ** 20
        print(f"wrote the pair in {time.perf_counter() - t0:.1f} s: 2 x {size_mib / 2:.0f} MiB, "
              f"{N_TENSORS} tensors each")
        out = root / "audit.json"
        audit_s, audit_rss, code = run_child(
            AUDIT, ["weights", "audit", str(ref), str(port), "--json", str(out)])
        report = json.loads(out.read_text())
        naive_s, naive_rss, _ = run_child(NAIVE + PEAK, [str(ref), str(port)])
    print(f"audit: exit {code}, {report['counts']}, "
          f"{sum(1 for p in report['problems'] if 'initial values' in p)} init finding")
    print(f"{'':28s} {'wall s':>8s} {'peak RSS MiB':>13s} {'RSS / pair size':>16s}")
    print(f"{'weights audit (streaming)':28s} {audit_s:8.1f} {audit_rss:13.0f} "
          f"{audit_rss / size_mib:16.2f}")
    print(f"{'naive load-all compare':28s} {naive_s:8.1f} {naive_rss:13.0f} "
          f"{naive_rss / size_mib:16.2f}")
    print(f"audit peak RSS = {audit_rss / naive_rss:.2f} x the naive script's; "
          f"time = {audit_s / naive_s:.2f} x")


if __name__ == "__main__":
    main()
