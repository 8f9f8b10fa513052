"""``audioparity capture onnx|llamacpp``: run a model in a runtime the CLI can drive and write
every intermediate tensor as a trace.

* ``capture onnx``: an ONNX model in ONNX Runtime, every module's output named as the torch
  capture names the same modules (over
  :func:`audioparity.sources.onnxruntime_source.capture_onnx`; what it adds is reading the
  inputs from ``.npy`` files and keeping only the names ``--include`` / ``--exclude`` select);
* ``capture llamacpp``: a GGUF model in llama.cpp on given token ids, every graph node under
  llama.cpp's names (over :func:`audioparity.sources.llamacpp.capture_llamacpp`; what it adds
  is reading the token ids and sizes from the command line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.markup import escape

from ..errors import InputError, UsageError
from .common import console

STORE_DTYPES = ("float32", "float16", "bfloat16")


def parse_input(spec: str) -> tuple[str, Path]:
    """``"input_ids=ids.npy"`` -> ``("input_ids", Path("ids.npy"))``."""
    name, sep, file = spec.partition("=")
    if not sep or not name or not file:
        raise UsageError(f"--input must be NAME=FILE.npy (got {spec!r})")
    return name, Path(file)


def read_inputs(specs: list[str], model: Path, wanted: dict[str, GraphInput]
                ) -> dict[str, np.ndarray]:
    """The graph inputs named by ``--input`` specs, each read from its ``.npy`` file and
    checked against what ``model`` declares for it (name, dtype, fixed dims)."""
    feeds: dict[str, np.ndarray] = {}
    for spec in specs:
        name, path = parse_input(spec)
        if name in feeds:
            raise UsageError(f"--input {name} given twice")
        if name not in wanted:
            raise InputError(model, f"has no input {name!r}; it takes {list(wanted)}")
        feeds[name] = _read_npy(path)
        problem = wanted[name].refuses(feeds[name])
        if problem:
            raise InputError(path, f"{problem} (in {model.name})")
    absent = [n for n in wanted if n not in feeds]
    if absent:
        raise UsageError(f"{model}: needs --input for {', '.join(absent)} "
                         f"(it takes {list(wanted)})")
    return feeds


def _read_npy(path: Path) -> np.ndarray:
    if not path.is_file():
        raise InputError(path, "no such file" if not path.exists() else "not a file")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise InputError(path, f"not a readable .npy array ({first})") from None
    if not isinstance(array, np.ndarray):  # an .npz archive
        array.close()
        raise InputError(path, "holds an .npz archive: give one array per --input (.npy)")
    return array


@dataclass(frozen=True)
class GraphInput:
    """A graph input the model needs fed: its element dtype and dims (int, symbol or None)."""

    name: str
    dtype: np.dtype | None
    dims: tuple[int | str | None, ...] | None

    def refuses(self, array: np.ndarray) -> str | None:
        """Why ``array`` cannot feed this input, or None when it fits."""
        want = f"input {self.name!r} takes {self._describe()}"
        if self.dtype is not None and array.dtype != self.dtype:
            return f"dtype {array.dtype} does not fit: {want}"
        if self.dims is None:
            return None
        fixed = [d if isinstance(d, int) else None for d in self.dims]
        if array.ndim != len(fixed) or any(
                d is not None and d != n for d, n in zip(fixed, array.shape, strict=True)):
            return f"shape {list(array.shape)} does not fit: {want}"
        return None

    def _describe(self) -> str:
        dims = "?" if self.dims is None else \
            "[" + ", ".join("?" if d is None else str(d) for d in self.dims) + "]"
        return f"{self.dtype or '?'} {dims}"


def model_inputs(model_path: Path) -> dict[str, GraphInput]:
    """The graph inputs ``model_path`` needs fed (initializers excluded), by name."""
    if not model_path.is_file():
        raise InputError(model_path, "no such file" if not model_path.exists()
                         else "not a file")
    try:
        import onnx
    except ImportError:
        raise InputError(model_path, "onnx/onnxruntime not installed "
                                     "(pip install 'audioparity[onnx]')") from None
    try:
        graph = onnx.load(str(model_path), load_external_data=False).graph
    except Exception as exc:  # noqa: BLE001 - protobuf raises several unrelated types
        raise InputError(model_path, f"not a readable ONNX model ({type(exc).__name__})"
                         ) from None
    if not graph.node:
        raise InputError(model_path, "not an ONNX model (graph has no nodes)")
    constants = {t.name for t in graph.initializer}
    return {i.name: _graph_input(onnx, i) for i in graph.input if i.name not in constants}


def _graph_input(onnx, value_info) -> GraphInput:
    tensor = value_info.type.tensor_type
    try:
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)) \
            if tensor.elem_type else None
    except (KeyError, TypeError, ValueError):  # bfloat16, float8: NumPy has no dtype
        dtype = None
    dims = None
    if tensor.HasField("shape"):
        dims = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                     for d in tensor.shape.dim)
    return GraphInput(value_info.name, dtype, dims)


def select(names: list[str], include: list[str] | None, exclude: list[str] | None
           ) -> list[str]:
    """Names whose module path (the name before ``:outN``) the globs keep."""
    from ..sources.naming import NameFilter

    keep = NameFilter(include, exclude)
    return [n for n in names if keep(n.split(":", 1)[0])]


def onnx_command(
    model: Annotated[Path, typer.Argument(help="The model (.onnx; external data beside it).",
                                          show_default=False)],
    inputs: Annotated[list[str], typer.Option(
        "--input", "-i", help="NAME=FILE.npy for each graph input (repeat).",
        show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Trace to write (.safetensors).",
                                      show_default=False)],
    include: Annotated[list[str] | None, typer.Option(
        "--include", help="Keep only module paths matching this glob (or re:REGEX); "
                          "repeat for several.")] = None,
    exclude: Annotated[list[str] | None, typer.Option(
        "--exclude", help="Drop module paths matching this glob (or re:REGEX).")] = None,
    dtype: Annotated[str | None, typer.Option(
        "--dtype", help="Store float tensors as float32, float16 or bfloat16 "
                        "(default: as computed).")] = None,
    strip_prefix: Annotated[str, typer.Option(
        "--strip-prefix", help="Module-path prefix to drop (a model exported inside a "
                               "wrapper: 'm.').")] = "",
) -> None:
    """Run MODEL in ONNX Runtime (CPU) with every module's output exposed and write them as a
    trace: names come from the dynamo exporter's name scopes (model.layers.0.mlp …), the
    graph outputs are 'output', 'output:out1' …, so the trace compares with a torch capture
    by name.

    Exit 0 when the trace is written, 2 when it cannot be (bad model, inputs or output).
    """
    from ..sources.onnxruntime_source import capture_onnx
    from ..trace import TraceWriter

    if dtype is not None and dtype not in STORE_DTYPES:
        raise UsageError(f"--dtype must be one of {', '.join(STORE_DTYPES)} (got {dtype!r})")
    if out.suffix.lower() != ".safetensors":
        raise UsageError(f"-o {out}: a trace is written as .safetensors")
    feeds = read_inputs(inputs, model, model_inputs(model))
    try:
        import onnxruntime
    except ImportError:
        raise InputError(model, "onnxruntime not installed (pip install 'audioparity[onnx]')"
                         ) from None
    meta = {"source": "onnxruntime", "model": model.name,
            "onnxruntime": onnxruntime.__version__,
            "inputs": {n: list(a.shape) for n, a in feeds.items()}}
    writer = TraceWriter(out, meta)  # fails here, before the run, when OUT cannot be written
    try:
        tensors = capture_onnx(model, feeds, strip_prefix=strip_prefix)
        kept = select(list(tensors), include, exclude)
        if not kept:
            raise UsageError(f"--include/--exclude keep none of the {len(tensors)} recorded "
                             f"names ({', '.join(list(tensors)[:3])} …)")
        for name in kept:
            arr = tensors[name]
            writer.add(name, arr, dtype=dtype if arr.dtype.kind == "f" else None)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    dropped = len(tensors) - len(kept)
    console.print(f"recorded {len(kept)} tensors ({writer.bytes_written / 2**20:.1f} MiB)"
                  + (f", {dropped} left out by --include/--exclude" if dropped else "")
                  + f" -> {escape(str(out))}", highlight=False)
    shown = ", ".join(kept[:4]) + (", …" if len(kept) > 4 else "")
    console.print(f"first: {escape(shown)}", style="dim", highlight=False)
    raise typer.Exit(0)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B)?\s*$", re.IGNORECASE)


def parse_size(text: str, option: str) -> int:
    """``"512MiB"``, ``"2G"``, ``"1048576"`` -> bytes (powers of 1024)."""
    m = _SIZE.match(text)
    if not m:
        raise UsageError(f"{option} must be a size such as 2GiB, 512M or 1048576 (got {text!r})")
    return int(float(m.group(1)) * 1024 ** "BKMGT".index((m.group(2) or "B").upper()))


def parse_tokens(text: str, source: Path | None = None) -> list[int]:
    """Token ids from ``"1 2 3"`` or ``"1,2,3"`` (whitespace and commas separate)."""
    words = [w for w in re.split(r"[\s,]+", text.strip()) if w]
    bad = [w for w in words if not re.fullmatch(r"-?\d+", w)]
    if bad or not words:
        problem = f"token ids must be integers (got {bad[0]!r})" if bad else "no token ids"
        if source is None:
            raise UsageError(f"--tokens: {problem}")
        raise InputError(source, problem)
    return [int(w) for w in words]


def read_tokens_file(path: Path) -> list[int]:
    """Token ids from a text file (``parse_tokens``) or an integer ``.npy`` array."""
    if not path.is_file():
        raise InputError(path, "no such file" if not path.exists() else "not a file")
    if path.read_bytes()[:6] == b"\x93NUMPY":
        array = _read_npy(path)
        if array.dtype.kind not in "iu":
            raise InputError(path, f"token ids must be integers (array of {array.dtype})")
        return [int(t) for t in array.reshape(-1)]
    try:
        return parse_tokens(path.read_text(encoding="utf-8"), path)
    except UnicodeDecodeError:
        raise InputError(path, "not a text file of token ids nor an .npy array") from None


def llamacpp_command(
    model: Annotated[Path, typer.Argument(help="The GGUF model.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Trace to write (.safetensors).",
                                      show_default=False)],
    tokens: Annotated[str | None, typer.Option(
        "--tokens", help="Prompt token ids: '1 2 3' (or '1,2,3').", show_default=False)] = None,
    tokens_file: Annotated[Path | None, typer.Option(
        "--tokens-file", help="Prompt token ids from a text file or an integer .npy.",
        show_default=False)] = None,
    generate: Annotated[int, typer.Option(
        "--generate", help="Generate N tokens greedily after the prompt; every node is "
                           "then recorded per step as @k/NAME.")] = 0,
    defaults: Annotated[bool, typer.Option(
        "--llama-defaults", help="Keep llama.cpp's default settings (flash attention auto, "
                                 "F16 KV cache) instead of the float32 parity settings; the "
                                 "trace says so.")] = False,
    include: Annotated[list[str] | None, typer.Option(
        "--include", help="Keep only node names matching this glob (or re:REGEX); repeat "
                          "for several.")] = None,
    exclude: Annotated[list[str] | None, typer.Option(
        "--exclude", help="Drop node names matching this glob (or re:REGEX).")] = None,
    max_bytes: Annotated[str | None, typer.Option(
        "--max-bytes", help="Stop recording when the trace holds this much (e.g. 2GiB); the "
                            "trace is marked truncated.", show_default=False)] = None,
    memory_limit: Annotated[str | None, typer.Option(
        "--memory-limit", help="Refuse a model whose weights, KV cache and logits need more "
                               "memory than this (default: the memory available).",
        show_default=False)] = None,
    threads: Annotated[int | None, typer.Option(
        "--threads", help="llama.cpp threads (default: llama.cpp's choice).",
        show_default=False)] = None,
) -> None:
    """Run MODEL (a GGUF) in llama.cpp on the given token ids and record every graph node
    (attn_norm-0, Qcur-0, ... result_output; a name llama.cpp reuses as NAME#1, NAME#2 in
    execution order) as a trace. By default in the settings that compute in float32
    (flash attention off, F32 KV cache, one micro-batch), so that `audioparity compare
    ref.safetensors TRACE` shows the port, not llama.cpp's precision trade-offs.

    Exit 0 when the trace is written, 2 when it cannot be (no llama-cpp-python, a GGUF
    llama.cpp cannot load, token ids outside the vocabulary, a model above the memory bound).
    """
    from ..sources.llamacpp import capture_llamacpp

    if (tokens is None) == (tokens_file is None):
        raise UsageError("give the prompt as --tokens '1 2 3' or --tokens-file F (one of them)")
    if out.suffix.lower() != ".safetensors":
        raise UsageError(f"-o {out}: a trace is written as .safetensors")
    if generate < 0:
        raise UsageError(f"--generate must be >= 0 (got {generate})")
    ids = parse_tokens(tokens) if tokens is not None else read_tokens_file(tokens_file)
    result = capture_llamacpp(
        model, ids, out, generate=generate, exact=not defaults, include=include,
        exclude=exclude, max_bytes=None if max_bytes is None else parse_size(max_bytes,
                                                                              "--max-bytes"),
        memory_limit=None if memory_limit is None else parse_size(memory_limit,
                                                                  "--memory-limit"),
        n_threads=threads)
    meta = result.meta
    settings = meta.get("settings", {})
    console.print(f"recorded {len(result.names)} nodes of {escape(str(meta.get('architecture')))}"
                  f" ({len(ids)} tokens" + (f", {len(result.generated)} generated"
                                            if generate else "")
                  + f") -> {escape(str(out))}", highlight=False)
    console.print(f"settings: flash attention {settings.get('flash_attn')}, KV cache "
                  f"{settings.get('type_k')}/{settings.get('type_v')}, n_ubatch "
                  f"{settings.get('n_ubatch')}" + ("" if settings.get("exact") else
                                                   " (llama.cpp defaults)"),
                  style="dim", highlight=False)
    if meta.get("truncated"):
        console.print("note: stopped recording at --max-bytes (trace marked truncated)",
                      highlight=False)
    if meta.get("unread"):
        console.print(f"note: {len(meta['unread'])} nodes of a type not read (listed in the "
                      "trace's meta 'unread')", highlight=False)
    raise typer.Exit(0)


def register(app: typer.Typer) -> None:
    """Add the ``capture`` command group to the CLI."""
    group = typer.Typer(help="Capture a trace from a runtime the CLI can drive (ONNX Runtime, "
                             "llama.cpp).", no_args_is_help=True)
    group.command("onnx")(onnx_command)
    group.command("llamacpp")(llamacpp_command)
    app.add_typer(group, name="capture")
