"""Run a GGUF model in llama.cpp on given token ids and record every graph node as a trace.

>>> result = capture_llamacpp("tiny-qwen3.gguf", [3, 17, 42], "port.safetensors")
>>> result.names[:3]
['inp_embd', 'norm-0', 'attn_norm-0']

The model runs through llama-cpp-python's low-level API with an eval callback
(:mod:`.callback`) that sees every node llama.cpp computes — views and permutes included,
weights and the attention mask (leaves) not. Names are llama.cpp's (:mod:`.node_names`),
values are read through the node's strides (:mod:`.ggml_tensor`). With ``generate=N`` the
prompt is step ``@0/`` and each greedily generated token one more step ``@k/``.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from ..naming import NameFilter
from ..recorder import error_line, open_sink
from .callback import EvalCallback, NodeRecorder
from .ggml_tensor import GGML
from .gguf_header import GGUFHeader, read_header
from .settings import Settings

#: log lines of llama.cpp kept to explain a failure
_LOG_LINES = 20
_GGML_LOG_ERROR = 4  # enum ggml_log_level (ggml.h)


@dataclass
class LlamaCppCapture:
    """What a capture did: names recorded (execution order), tokens, and the trace's meta."""

    names: list[str]
    tokens: list[int]
    generated: list[int]
    meta: dict[str, Any]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)  # only without a path


def capture_llamacpp(model_path: str | Path, tokens: Sequence[int],
                     out_path: str | Path | None = None, *, generate: int = 0,
                     exact: bool = True, include: Sequence[str] | str | None = None,
                     exclude: Sequence[str] | str | None = None,
                     max_bytes: int | None = None, memory_limit: int | None = None,
                     n_threads: int | None = None,
                     meta: dict[str, Any] | None = None) -> LlamaCppCapture:
    """Run ``model_path`` on ``tokens`` in llama.cpp (CPU) and record every graph node.

    Parameters
    ----------
    model_path
        The GGUF model.
    tokens
        Prompt token ids (each in ``[0, n_vocab)``).
    out_path
        The trace to write (``.safetensors``, atomically); None keeps the tensors in
        memory (``result.tensors``).
    generate
        Tokens to generate greedily after the prompt; > 0 names every node ``@k/NAME``
        (``@0/`` the prompt, ``@k/`` the k-th generated token's step).
    exact
        Run in the settings that compute in float32 (flash attention off, F32 KV cache,
        one micro-batch); False keeps llama.cpp's defaults and says so in the meta.
    include, exclude
        Shell globs (or ``re:REGEX``) on node names (no ``#n``): record only these.
    max_bytes
        Stop recording once the trace holds this many bytes (meta ``truncated``).
    memory_limit
        Refuse a model whose weights, KV cache and logits need more bytes than this
        (default: the memory available now).
    n_threads
        llama.cpp threads (default: llama.cpp's choice).
    meta
        Extra trace metadata.

    Raises
    ------
    InputError
        llama-cpp-python not installed, a file llama.cpp cannot load, token ids outside the
        vocabulary, a model above the memory bound, a failed run.
    """
    path = Path(model_path)
    llama_cpp, ggml_lib = _import_llama_cpp(path)
    header = read_header(path)
    ids = _token_list(path, tokens, header.n_vocab or None)
    if generate < 0:
        raise InputError(path, f"generate must be >= 0 (got {generate})")
    settings = Settings(exact=exact, n_threads=n_threads)
    _check_memory(path, header, len(ids) + generate, exact, memory_limit)
    info = {"source": "llama.cpp", "model": header.name or path.name,
            "architecture": header.architecture, "gguf": path.name,
            "llama_cpp_python": getattr(llama_cpp, "__version__", "?"),
            "tokens": ids, **(meta or {})}
    recorder = NodeRecorder(open_sink(out_path, info), None, NameFilter(), max_bytes=max_bytes)
    # the root module's "class" names the runtime and architecture (compare picks its
    # built-in name map from it)
    recorder.module_types["output"] = f"llama.cpp:{header.architecture}"
    callback = EvalCallback(GGML(ggml_lib), recorder, NameFilter(include, exclude),
                            llama_cpp.ggml_backend_sched_eval_callback)
    generated: list[int] = []
    with _llama_log(llama_cpp) as log, recorder.session():
        model = _load_model(llama_cpp, path, log)
        try:
            n_vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model))
            _token_list(path, ids, n_vocab)
            ctx, described = _new_context(llama_cpp, model, path, settings, len(ids),
                                          len(ids) + generate, callback, log)
            record = recorder.writer.meta if recorder.writer is not None else info
            record["settings"] = described
            if "note" in described:  # compare prints a trace's notes with its report
                record.setdefault("notes", []).append(described["note"])
            try:
                _run(llama_cpp, ctx, path, ids, generate, callback, n_vocab, log, generated)
            finally:  # a partial trace keeps what the run did too
                llama_cpp.llama_free(ctx)
                record.update({"generated": generated, "unread": callback.unread,
                               "qtypes": callback.qtypes})
        finally:
            llama_cpp.llama_model_free(model)
        if not recorder.names:
            raise InputError(path, f"no node recorded ({callback.nodes_seen} seen): "
                                   "--include/--exclude keep none of them")
    return LlamaCppCapture(recorder.names, ids + generated, generated, record,
                           recorder.tensors)


def _import_llama_cpp(path: Path) -> tuple[Any, Any]:
    try:
        import llama_cpp
        from llama_cpp import _ggml
    except (ImportError, OSError) as exc:
        raise InputError(path, "llama-cpp-python is not installed or did not build "
                               f"({type(exc).__name__}): pip install 'audioparity[llamacpp]'"
                         ) from None
    return llama_cpp, _ggml.libggml


def _token_list(path: Path, tokens: Sequence[int], n_vocab: int | None) -> list[int]:
    """``tokens`` as ints, each in ``[0, n_vocab)`` (None: not known yet, only >= 0)."""
    ids = [int(t) for t in tokens]
    if not ids:
        raise InputError(path, "no token ids to run")
    bad = [t for t in ids if t < 0 or (n_vocab is not None and t >= n_vocab)]
    if bad:
        raise InputError(path, f"token id{'s' if len(bad) > 1 else ''} "
                               f"{', '.join(map(str, bad[:5]))} outside the vocabulary "
                               f"(0 … {'?' if n_vocab is None else n_vocab - 1})")
    return ids


def _check_memory(path: Path, header: GGUFHeader, n_tokens: int, exact: bool,
                  limit: int | None) -> None:
    if limit is None:
        import psutil

        limit = int(psutil.virtual_memory().available)
    need = header.memory_bytes(n_tokens, 4 if exact else 2)
    if need > limit:
        raise InputError(path, f"needs about {_size(need)} (weights "
                               f"{_size(header.weight_bytes)}, KV cache and logits for "
                               f"{n_tokens} tokens), above the memory bound of {_size(limit)}")


def _size(n_bytes: int) -> str:
    """``"1.4 MiB"``: bytes in the largest binary unit that keeps a number >= 1."""
    value, unit = float(n_bytes), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    return f"{value:.0f} B" if unit == "B" else f"{value:.1f} {unit}"


@contextlib.contextmanager
def _llama_log(llama_cpp: Any) -> Iterator[collections.deque]:
    """llama.cpp's log, kept (the last lines) instead of printed; restored after."""
    lines: collections.deque = collections.deque(maxlen=_LOG_LINES)

    def keep(level: int, text: bytes, user_data: Any) -> None:
        with contextlib.suppress(BaseException):  # nothing may propagate into C
            if level == _GGML_LOG_ERROR and text:
                lines.append(text.decode("utf-8", "replace").strip())

    c_keep = llama_cpp.llama_log_callback(keep)
    llama_cpp.llama_log_set(c_keep, ctypes.c_void_p(0))
    try:
        yield lines
    finally:
        try:
            from llama_cpp import _logger

            llama_cpp.llama_log_set(_logger.llama_log_callback, ctypes.c_void_p(0))
        except ImportError:  # pragma: no cover - an older llama-cpp-python
            llama_cpp.llama_log_set(llama_cpp.llama_log_callback(0), ctypes.c_void_p(0))


def _why(log: collections.deque, default: str) -> str:
    """The first error llama.cpp logged (the cause; later lines say what failed with it)."""
    lines = [line for line in log if line]
    return lines[0][:200] if lines else default


def _load_model(llama_cpp: Any, path: Path, log: collections.deque) -> Any:
    llama_cpp.llama_backend_init()
    params = llama_cpp.llama_model_default_params()
    params.n_gpu_layers = 0
    model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
    if not model:
        raise InputError(path, "llama.cpp cannot load it: "
                               + _why(log, "llama_model_load_from_file failed"))
    return model


def _new_context(llama_cpp: Any, model: Any, path: Path, settings: Settings, n_prompt: int,
                 n_total: int, callback: EvalCallback, log: collections.deque
                 ) -> tuple[Any, dict[str, Any]]:
    params = llama_cpp.llama_context_default_params()
    settings.apply(params, n_prompt, n_total)
    params.cb_eval = callback.c_function
    params.cb_eval_user_data = None
    ctx = llama_cpp.llama_init_from_model(model, params)
    if not ctx:
        raise InputError(path, "llama.cpp cannot make a context: "
                               + _why(log, "llama_init_from_model failed"))
    return ctx, settings.describe(params)


def _run(llama_cpp: Any, ctx: Any, path: Path, prompt: list[int], generate: int,
         callback: EvalCallback, n_vocab: int, log: collections.deque,
         generated: list[int]) -> None:
    """Decode the prompt (and ``generate`` more tokens, greedily, appended to
    ``generated``)."""
    step_tokens, position = prompt, 0
    for step in range(generate + 1):
        callback.start_step(step if generate else None)
        _decode(llama_cpp, ctx, path, step_tokens, position, callback, log)
        position += len(step_tokens)
        if step == generate:
            break
        logits = llama_cpp.llama_get_logits_ith(ctx, -1)
        next_id = int(np.argmax(np.ctypeslib.as_array(logits, shape=(n_vocab,))))
        generated.append(next_id)
        step_tokens = [next_id]


def _decode(llama_cpp: Any, ctx: Any, path: Path, tokens: list[int], position: int,
            callback: EvalCallback, log: collections.deque) -> None:
    batch = llama_cpp.llama_batch_init(len(tokens), 0, 1)
    try:
        for i, token in enumerate(tokens):
            batch.token[i] = token
            batch.pos[i] = position + i
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = 1  # every token's output: the last layer computes all rows
        batch.n_tokens = len(tokens)
        status = llama_cpp.llama_decode(ctx, batch)
    finally:
        llama_cpp.llama_batch_free(batch)
    if callback.error is not None:
        where = f" at node {callback.error_node}" if callback.error_node else ""
        raise InputError(path, f"recording stopped{where}: {error_line(callback.error)}")
    if status != 0:
        raise InputError(path, f"llama_decode failed ({status}): "
                               + _why(log, "see llama.cpp's log"))
