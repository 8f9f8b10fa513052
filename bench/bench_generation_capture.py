"""Benchmark: generation capture overhead and generation compare cost, as ratios measured side
by side in one run.

A random transformers ``Qwen3ForCausalLM`` generating greedily (KV cache on, no EOS, so every
run makes ``--new`` tokens). In rotation:

* plain: ``model.generate(ids, do_sample=False, max_new_tokens=N)``;
* ``capture_generate(..., layers=False)``: the generation record (per step the logits and
  the token) to a trace file;
* ``capture_generate(..., layers=True)``: the record plus every module's output per step
  (``@k/`` names).

Then the generation section of ``compare`` (``compare_generation``: per step top-1, top-k
overlap, KL, stops) on the two traces against a bare NumPy pass over the same per-step
logits (``np.abs(ref - port).max()`` per step, read through the same trace readers).

Run: ``python bench/bench_generation_capture.py [--repeats N] [--new N] [--threads N]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from timing import median_times

from audioparity.examples.reference import DemoConfig, build_lm
from audioparity.generation import capture_generate, compare_generation
from audioparity.generation.names import LOGITS, step_name
from audioparity.trace import open_trace

#: label -> model sizes (vocabularies of thousands: the logits are a real share of each step)
MODELS = {
    "hidden 256, 4 layers, vocab 2048": DemoConfig(
        vocab_size=2048, hidden_size=256, intermediate_size=768, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, head_dim=64),
    "hidden 512, 8 layers, vocab 8192": DemoConfig(
        vocab_size=8192, hidden_size=512, intermediate_size=1536, num_hidden_layers=8,
        num_attention_heads=8, num_key_value_heads=4, head_dim=64),
}
PROMPT_TOKENS = 16


def talker(config: DemoConfig) -> torch.nn.Module:
    """The random LM with its KV cache on (the demo's config turns it off)."""
    model = build_lm(config)
    model.config.use_cache = model.generation_config.use_cache = True
    return model


def bench_capture(model: torch.nn.Module, ids: torch.Tensor, new: int, repeats: int,
                  tmp: Path) -> dict[str, float]:
    """Median times of plain ``generate`` and of the two captures (whose traces stay in
    ``tmp``: ``record.safetensors``, ``layers.safetensors``)."""
    def plain() -> None:
        with torch.no_grad():
            model.generate(ids, do_sample=False, max_new_tokens=new, eos_token_id=None,
                           pad_token_id=0)

    def traced(name: str, layers: bool) -> None:
        capture_generate(model, ids, tmp / name, max_new_tokens=new, layers=layers)

    return median_times({"plain": plain,
                         "record": lambda: traced("record.safetensors", False),
                         "layers": lambda: traced("layers.safetensors", True)}, repeats)


def bench_compare(ref_path: Path, port_path: Path, repeats: int) -> dict[str, float]:
    """Median times of ``compare_generation`` and of a bare NumPy pass over the logits."""
    with open_trace(ref_path) as ref, open_trace(port_path) as port:
        steps = ref.meta["steps"]
        names = [step_name(k, LOGITS) for k in range(steps)]

        def bare() -> None:
            for n in names:
                float(np.abs(ref.read(n) - port.read(n)).max())

        result = compare_generation(ref, port)
        assert result is not None and result.status == "parity", "the two runs must agree"
        timed = median_times({"bare": bare, "compare": lambda: compare_generation(ref, port)},
                             repeats)
    return {**timed, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--new", type=int, default=48, help="tokens to generate (default 48)")
    # one thread: on a busy 2-core machine two intra-op threads make small forwards noisy
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1; 0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), greedy, "
          f"{PROMPT_TOKENS}-token prompt, {args.new} new tokens, median of {args.repeats} "
          f"runs in rotation, load average before: {load}\n")
    columns = ["model", "plain generate()", "record only: traced/plain", "its trace",
               "layers=True: traced/plain", "its trace", "steps", "bare NumPy over logits",
               "compare_generation", "compare/bare"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for label, config in MODELS.items():
        model = talker(config)
        ids = torch.from_numpy(np.random.default_rng(0).integers(
            0, config.vocab_size, (1, PROMPT_TOKENS)))
        with tempfile.TemporaryDirectory(prefix="bench-generation-") as tmp_name:
            tmp = Path(tmp_name)
            t = bench_capture(model, ids, args.new, args.repeats, tmp)
            record, layers = tmp / "record.safetensors", tmp / "layers.safetensors"
            sizes = [p.stat().st_size / 1e6 for p in (record, layers)]
            c = bench_compare(record, layers, args.repeats)
        plain = t["plain"]
        cells = [label, f"{plain * 1e3:.0f} ms", f"{t['record'] / plain:.2f}x",
                 f"{sizes[0]:.2f} MB", f"{t['layers'] / plain:.2f}x", f"{sizes[1]:.1f} MB",
                 str(c["steps"]), f"{c['bare'] * 1e3:.2f} ms", f"{c['compare'] * 1e3:.1f} ms",
                 f"{c['compare'] / c['bare']:.1f}x"]
        print("| " + " | ".join(cells) + " |", flush=True)
    print(f"\nload average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
