"""Benchmark: the cost of ``audioparity.isolate`` against one plain forward of the port, as
ratios measured side by side in one run.

The transformers ``DacModel`` of ``tests/isolate/dac_case.py`` (encoder -> residual VQ ->
decoder), at the tests' size and at a bigger one, ported with both of that file's planted
bugs (one in the encoder, one in the decoder). The reference trace is captured once, with
inputs. In rotation:

* plain: one forward of the port on the reference's audio (``torch.no_grad``);
* ``isolate(ref, port)``: each component on the reference's recorded inputs, the port run
  end to end, the two wrong components narrowed to their innermost wrong submodule and the
  cause catalogue run there (the default);
* ``isolate(..., explain=False)``: narrowed, without the catalogue;
* ``isolate(..., narrow=False)``: the catalogue on each wrong component's whole output;
* ``isolate(..., narrow=False, explain=False)``: the table alone.

Ratios are median isolate time / median plain forward time.
Run: ``python bench/bench_isolate.py [--repeats N] [--threads N] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from unittest import mock

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "isolate"))

import dac_case  # the tests' DAC and its buggy ports
from timing import median_times

from audioparity.isolate import isolate

BUGS = ("snake_exp", "convt_shift")
#: label -> (DacConfig overrides of the tests' sizes, audio samples)
MODELS = {
    "tests' DAC (256 samples)": ({}, dac_case.SAMPLES),
    "bigger DAC (0.5 s at 16 kHz)": ({
        "encoder_hidden_size": 16, "downsampling_ratios": [2, 4, 8],
        "decoder_hidden_size": 128, "upsampling_ratios": [8, 4, 2], "hidden_size": 64,
        "n_codebooks": 4, "codebook_size": 256, "codebook_dim": 8}, 8000),
}


def bench_model(overrides: dict, samples: int, repeats: int, tmp: Path) -> dict[str, float]:
    """Median times of the plain forward and the four isolate runs, the trace size."""
    with mock.patch.dict(dac_case.HF, overrides), \
            mock.patch.object(dac_case, "SAMPLES", samples):
        ref = dac_case.reference()
        audio = dac_case.audio()
        trace = dac_case.capture_reference(ref, tmp / "ref.safetensors")
    port = dac_case.port(ref, BUGS)
    found = isolate(trace, port)
    verdicts = [r.verdict for r in found.rows]
    assert verdicts == ["bug", "victim", "bug"], f"both bugs expected, got {verdicts}"

    def plain() -> None:
        with torch.no_grad():
            port(audio)

    times = median_times({
        "plain": plain,
        "narrow": lambda: isolate(trace, port),
        "narrow_only": lambda: isolate(trace, port, explain=False),
        "whole": lambda: isolate(trace, port, narrow=False),
        "table": lambda: isolate(trace, port, narrow=False, explain=False),
    }, repeats)
    return {**times, "mb": trace.stat().st_size / 1e6,
            "innermost": ", ".join(r.innermost for r in found.rows if r.verdict == "bug")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    # one thread: on a busy 2-core machine two intra-op threads make small forwards noisy
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1; 0: torch's default)")
    parser.add_argument("--quick", action="store_true", help="the tests' DAC only")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    models = dict(list(MODELS.items())[:1]) if args.quick else MODELS
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), port with "
          f"{' + '.join(BUGS)}, median of {args.repeats} runs in rotation, load average "
          f"before: {load}\n")
    columns = ["model", "reference trace", "plain port forward",
               "isolate (narrowed + explained) / forward", "(narrowed, not explained)",
               "(explained, not narrowed)", "(table only)", "narrowed to"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for label, (overrides, samples) in models.items():
        with tempfile.TemporaryDirectory(prefix="bench-isolate-") as tmp:
            r = bench_model(overrides, samples, args.repeats, Path(tmp))
        plain = r["plain"]
        cells = [label, f"{r['mb']:.2f} MB", f"{plain * 1e3:.1f} ms",
                 f"{r['narrow'] / plain:.1f}x ({r['narrow'] * 1e3:.0f} ms)",
                 f"{r['narrow_only'] / plain:.1f}x", f"{r['whole'] / plain:.1f}x",
                 f"{r['table'] / plain:.1f}x", r["innermost"]]
        print("| " + " | ".join(cells) + " |", flush=True)
    print(f"\nload average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
