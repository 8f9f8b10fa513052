"""Benchmark: llama.cpp capture overhead, as ratios measured side by side in one run.

A random Qwen3 (bigger than the tests' tiny one) written as an F32 GGUF the way
``tests/llamacpp/tiny_lm.py`` writes it, run over one prompt in llama.cpp (CPU) in the
exact-parity settings (flash attention off, F32 KV cache, one micro-batch). In rotation:

* plain: llama-cpp-python's low-level API, load the model, make the context, decode the
  prompt, free — no eval callback;
* ``capture_llamacpp`` to a trace file on disk (every graph node);
* ``capture_llamacpp`` with ``include=`` a few nodes (each layer's output and the logits):
  the callback still sees every node, only those are read and written;
* ``capture_llamacpp`` kept in memory (no file);
* the GGUF header read every capture starts with (``read_header``), a fixed cost; and,
  once, the same read of a GGUF holding a Qwen-sized vocabulary (151,936 tokens and
  151,387 merges, no tensors), what a real model's capture pays before llama.cpp loads it,
  beside ``open_trace`` on it (compare, weights) and gguf's own ``GGUFReader``.

Ratios are median variant time / median plain time; the trace sizes are the files'.
Run: ``python bench/bench_llamacpp_capture.py [--repeats N] [--threads N] [--quick]``.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "llamacpp"))

from timing import median_times
from tiny_lm import write_gguf  # the tests' GGUF writer

from audioparity.examples.reference import DemoConfig, build_lm
from audioparity.sources.llamacpp import capture_llamacpp
from audioparity.sources.llamacpp.gguf_header import read_header
from audioparity.sources.llamacpp.settings import Settings
from audioparity.trace import open_trace

#: label -> (model sizes, prompt tokens); the vocabulary stays the GGUF writer's 256 bytes
MODELS = {
    "hidden 512, 8 layers, 128 tokens": (DemoConfig(
        hidden_size=512, intermediate_size=1536, num_hidden_layers=8, num_attention_heads=8,
        num_key_value_heads=4, head_dim=64), 128),
    "hidden 256, 4 layers, 64 tokens": (DemoConfig(
        hidden_size=256, intermediate_size=768, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=2, head_dim=64), 64),
}
#: tokens and merges of Qwen2/Qwen3's vocabulary (a real GGUF's metadata)
REAL_VOCAB, REAL_MERGES = 151_936, 151_387
#: the nodes the narrow capture keeps: every layer's output and the logits
FEW_NODES = ["l_out-*", "result_output"]


def _quiet_log() -> object:
    """A llama.cpp log callback that prints nothing (the plain run logs every graph node)."""
    import llama_cpp

    return llama_cpp.llama_log_callback(lambda level, text, user_data: None)


_QUIET = _quiet_log()


def plain_eval(gguf: Path, tokens: list[int], n_threads: int | None) -> np.ndarray:
    """Load ``gguf``, decode ``tokens`` in the capture's exact settings without a callback,
    free everything; returns the last token's logits (``[n_vocab]`` float32)."""
    import llama_cpp

    llama_cpp.llama_log_set(_QUIET, ctypes.c_void_p(0))  # a capture restores the default
    llama_cpp.llama_backend_init()
    params = llama_cpp.llama_model_default_params()
    params.n_gpu_layers = 0
    model = llama_cpp.llama_model_load_from_file(str(gguf).encode(), params)
    try:
        n_vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model))
        ctx_params = llama_cpp.llama_context_default_params()
        Settings(exact=True, n_threads=n_threads).apply(ctx_params, len(tokens), len(tokens))
        ctx = llama_cpp.llama_init_from_model(model, ctx_params)
        batch = llama_cpp.llama_batch_init(len(tokens), 0, 1)
        try:
            for i, token in enumerate(tokens):
                batch.token[i], batch.pos[i] = token, i
                batch.n_seq_id[i], batch.seq_id[i][0] = 1, 0
                batch.logits[i] = 1  # every row, as the capture asks
            batch.n_tokens = len(tokens)
            if llama_cpp.llama_decode(ctx, batch) != 0:
                raise SystemExit(f"llama_decode failed on {gguf}")
            logits = llama_cpp.llama_get_logits_ith(ctx, -1)
            return np.ctypeslib.as_array(logits, shape=(n_vocab,)).copy()
        finally:
            llama_cpp.llama_batch_free(batch)
            llama_cpp.llama_free(ctx)
    finally:
        llama_cpp.llama_model_free(model)


def real_vocab_reads_s(tmp: Path) -> dict[str, float]:
    """Seconds of reading a GGUF with a real-sized vocabulary (and one tiny tensor), side by side:
    the capture's ``read_header``, ``open_trace`` (compare, weights) and gguf's own
    ``GGUFReader``, which parses every token and merge."""
    import gguf

    from audioparity.trace import open_trace

    path = tmp / "vocab.gguf"
    writer = gguf.GGUFWriter(str(path), "qwen3")
    writer.add_token_list([f"t{i}" for i in range(REAL_VOCAB)])
    writer.add_token_types([gguf.TokenType.NORMAL] * REAL_VOCAB)
    writer.add_token_merges([f"a{i} b{i}" for i in range(REAL_MERGES)])
    writer.add_tensor("probe.weight", np.zeros((8, 4), np.float32))  # open_trace needs one
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    seconds = {}
    for label, read in (("read_header", lambda: read_header(path)),
                        ("open_trace", lambda: open_trace(path)),
                        ("gguf.GGUFReader", lambda: gguf.GGUFReader(str(path)))):
        start = time.perf_counter()
        result = read()
        seconds[label] = time.perf_counter() - start
        if label == "read_header":
            assert result.n_vocab == REAL_VOCAB, "the vocabulary must read back"
    return seconds


def bench_model(config: DemoConfig, n_tokens: int, repeats: int, n_threads: int | None,
                tmp: Path) -> dict[str, float]:
    """Median times of the four variants, the trace sizes and node counts."""
    gguf = write_gguf(build_lm(config), tmp / "model.gguf")
    tokens = [int(t) for t in np.random.default_rng(0).integers(0, config.vocab_size, n_tokens)]
    full, few = tmp / "all.safetensors", tmp / "few.safetensors"
    times = median_times({
        "plain": lambda: plain_eval(gguf, tokens, n_threads),
        "disk": lambda: capture_llamacpp(gguf, tokens, full, n_threads=n_threads),
        "few": lambda: capture_llamacpp(gguf, tokens, few, include=FEW_NODES,
                                        n_threads=n_threads),
        "memory": lambda: capture_llamacpp(gguf, tokens, None, n_threads=n_threads),
        "header": lambda: read_header(gguf),
    }, repeats)
    # the traced run computes what the plain one does (same settings): a sanity check
    traced = capture_llamacpp(gguf, tokens, None, include="result_output",
                              n_threads=n_threads).tensors["result_output"][-1]
    plain = plain_eval(gguf, tokens, n_threads)
    assert np.allclose(traced, plain, rtol=1e-4, atol=1e-4), "traced logits differ from plain"
    with open_trace(full) as t_all, open_trace(few) as t_few:
        nodes, few_nodes = len(t_all.names), len(t_few.names)
    return {**times, "mb": full.stat().st_size / 1e6, "few_mb": few.stat().st_size / 1e6,
            "nodes": nodes, "few_nodes": few_nodes, "weights_mb": gguf.stat().st_size / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1,
                        help="llama.cpp threads (default 1; 0: llama.cpp's default)")
    parser.add_argument("--quick", action="store_true",
                        help="the smaller model only, no real-sized vocabulary")
    args = parser.parse_args()
    n_threads = args.threads or None
    models = dict(list(MODELS.items())[-1:]) if args.quick else MODELS
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"llama.cpp CPU, {args.threads or 'default'} thread(s), exact settings, median of "
          f"{args.repeats} runs in rotation (each loads the model), load average before: "
          f"{load}\n")
    columns = ["model", "GGUF", "plain run", "nodes", "trace", "traced/plain (to disk)",
               "(in memory)", f"include {' '.join(FEW_NODES)}", "its trace",
               "GGUF header read / plain"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for label, (config, n_tokens) in models.items():
        with tempfile.TemporaryDirectory(prefix="bench-llamacpp-") as tmp:
            r = bench_model(config, n_tokens, args.repeats, n_threads, Path(tmp))
        plain = r["plain"]
        cells = [label, f"{r['weights_mb']:.1f} MB", f"{plain * 1e3:.0f} ms", str(r["nodes"]),
                 f"{r['mb']:.1f} MB", f"{r['disk'] / plain:.2f}x", f"{r['memory'] / plain:.2f}x",
                 f"{r['few'] / plain:.2f}x ({r['few_nodes']} nodes)", f"{r['few_mb']:.2f} MB",
                 f"{r['header'] / plain:.2f}x ({r['header'] * 1e3:.0f} ms)"]
        print("| " + " | ".join(cells) + " |", flush=True)
    if not args.quick:
        with tempfile.TemporaryDirectory(prefix="bench-llamacpp-") as tmp:
            seconds = real_vocab_reads_s(Path(tmp))
        print(f"\nGGUF with a {REAL_VOCAB:,}-token vocabulary and {REAL_MERGES:,} merges "
              "(metadata only, each read once):")
        slow = seconds["gguf.GGUFReader"]
        for label, took in seconds.items():
            print(f"  {label:16s} {took:7.3f} s  ({took / slow:.4f}x gguf.GGUFReader)")
    print(f"\nload average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
