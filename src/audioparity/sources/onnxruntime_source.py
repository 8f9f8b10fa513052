"""ONNX Runtime as a trace source: run an ``.onnx`` model with its module outputs exposed.

An exported graph is flat, but ``torch.onnx.export(..., dynamo=True)`` tags every node with
the module scopes it came from (``metadata_props["pkg.torch.onnx.name_scopes"]``, e.g.
``['', 'model', 'model.layers.0', 'model.layers.0.mlp', 'model.layers.0.mlp.down_proj',
'linear_4']``: the root, each enclosing module path, then the op's own name). So each module
path is a *scope*, a set of nodes, and the module's output is the value that leaves the scope:

* the **last** (in graph order) node output of the scope that is read by a node outside it or
  is a graph output. A module returning several tensors (``attn_output, attn_weights``) most
  often computes its primary result last; other escaping values are not recorded, so that a
  guessed name never pairs the wrong tensors. Where nothing escapes, the scope's last node
  output is used.
* the graph outputs are the root module's: ``output`` (first), ``output:out1``, ...

These are the names :func:`audioparity.sources.torch_capture.capture` gives the same modules,
so an ORT trace compares against a torch trace by name. Models from the legacy exporter (no
metadata, node names like ``/model/layers.0/mlp/down_proj/MatMul``) get their scopes from
the node names. Scopes folded away by the exporter's optimizer (a rotary embedding whose
cos/sin became constants) have no nodes and hence no entry.

Example
-------
>>> tensors = capture_onnx("qwen3.onnx", {"input_ids": ids}, "port.safetensors")
>>> tensors["model.layers.0.mlp"].shape
(1, 6, 32)
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..trace import TraceWriter
from .naming import ROOT_NAME, output_name

SCOPES_KEY = "pkg.torch.onnx.name_scopes"


@dataclass(frozen=True)
class ScopeOutput:
    """One recorded value: trace ``name`` <- ONNX value ``value`` produced by node ``node_index``."""

    name: str
    value: str
    node_index: int
    depth: int


def capture_onnx(onnx_path: str | Path, inputs: Mapping[str, np.ndarray],
                 out_path: str | Path | None = None, *, strip_prefix: str = "",
                 dtype: str | None = None, meta: dict[str, Any] | None = None,
                 ) -> dict[str, np.ndarray]:
    """Run ``onnx_path`` in ONNX Runtime (CPU) and record every module's output.

    Parameters
    ----------
    onnx_path
        The model. External data files are read from beside it.
    inputs
        Graph input name -> array (e.g. ``{"input_ids": ids}``).
    out_path
        Where to write a native trace (atomically); ``None`` writes nothing.
    strip_prefix
        Module-path prefix to drop, for a model exported inside a wrapper
        (``"m."`` turns ``m.model.layers.0`` into ``model.layers.0``).
    dtype
        Store float tensors in this dtype (e.g. ``"bfloat16"``); default: as computed.
    meta
        Extra trace metadata.

    Returns
    -------
    dict
        Trace name -> array, in execution (graph) order.

    Raises
    ------
    InputError
        Missing or corrupt model, onnxruntime not installed, inputs that do not fit.
    """
    path = Path(onnx_path)
    ort, onnx = _import_runtime(path)
    model = _load_model(onnx, path)
    plan = scope_outputs(model.graph, strip_prefix=strip_prefix)
    if not plan:
        raise InputError(path, "graph has no nodes to record")
    _expose(onnx, model, {p.value for p in plan})
    results = _run(ort, onnx, model, path, inputs)
    tensors = {p.name: results[p.value] for p in plan}
    if out_path is not None:
        info = {"source": "onnxruntime", "model": path.name,
                "onnxruntime": ort.__version__, **(meta or {})}
        with TraceWriter(out_path, info) as writer:
            for name, arr in tensors.items():
                writer.add(name, arr, dtype=dtype if arr.dtype.kind == "f" else None)
    return tensors


def scope_outputs(graph: Any, strip_prefix: str = "") -> list[ScopeOutput]:
    """Plan what to record: each module scope's output value and the root's graph outputs.

    Pure function of an ``onnx.GraphProto``; result sorted in execution order (producing
    node, then deeper scope first, as forward hooks fire children before parents).
    """
    producer: dict[str, int] = {}
    consumers: dict[str, set[int]] = {}
    node_scopes: list[tuple[str, ...]] = []
    for i, node in enumerate(graph.node):
        for out in node.output:
            if out:
                producer[out] = i
        for inp in node.input:
            consumers.setdefault(inp, set()).add(i)
        node_scopes.append(_strip(_module_scopes(node), strip_prefix))
    graph_outputs = [o.name for o in graph.output]

    members: dict[str, set[int]] = {}
    for i, scopes in enumerate(node_scopes):
        for scope in scopes:
            members.setdefault(scope, set()).add(i)

    plan: list[ScopeOutput] = []
    for scope, nodes in members.items():
        value = _escaping_output(graph, sorted(nodes), nodes, consumers, set(graph_outputs))
        if value is not None:
            plan.append(ScopeOutput(scope, value, producer[value], scope.count(".") + 1))
    for k, value in enumerate(graph_outputs):
        if value in producer:  # an output that is an initializer or an input is not computed
            plan.append(ScopeOutput(output_name(ROOT_NAME, k), value, producer[value], 0))
    plan.sort(key=lambda p: (p.node_index, -p.depth))
    return plan


def _escaping_output(graph: Any, ordered_nodes: list[int], nodes: set[int],
                     consumers: dict[str, set[int]], graph_outputs: set[str]) -> str | None:
    last_any = None
    for i in reversed(ordered_nodes):
        for out in reversed(graph.node[i].output):
            if not out:
                continue
            last_any = last_any or out
            if out in graph_outputs or consumers.get(out, set()) - nodes:
                return out
    return last_any


def _module_scopes(node: Any) -> tuple[str, ...]:
    """Module paths enclosing ``node``, outermost first, root ('') excluded."""
    for prop in node.metadata_props:
        if prop.key == SCOPES_KEY:
            try:
                scopes = ast.literal_eval(prop.value)
            except (ValueError, SyntaxError):
                return ()
            # the last entry names the op itself, not a module
            return tuple(s for s in scopes[:-1] if s)
    if node.name.startswith("/"):
        # legacy exporter: "/model/layers.0/mlp/act_fn/Sigmoid" (last part: the op)
        parts = [p for p in node.name.split("/")[1:-1] if p]
        return tuple(".".join(parts[: k + 1]) for k in range(len(parts)))
    return ()


def _strip(scopes: tuple[str, ...], prefix: str) -> tuple[str, ...]:
    if not prefix:
        return scopes
    root = prefix.rstrip(".")
    return tuple(s[len(prefix):] for s in scopes if s.startswith(prefix) and s != root)


def _import_runtime(path: Path) -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime as ort
    except ImportError:
        raise InputError(path, "onnxruntime/onnx not installed "
                               "(pip install 'audioparity[onnx]')") from None
    return ort, onnx


def _load_model(onnx: Any, path: Path) -> Any:
    if not path.is_file():
        raise InputError(path, "no such file" if not path.exists() else "not a file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf raises several unrelated types
        raise InputError(path, f"not a readable ONNX model ({type(exc).__name__})") from None
    if not model.graph.node:
        raise InputError(path, "not an ONNX model (graph has no nodes)")
    return model


def _expose(onnx: Any, model: Any, values: set[str]) -> None:
    """Make ``values`` graph outputs, typed where shape inference knows them."""
    known = {v.name: v for v in list(model.graph.value_info) + list(model.graph.output)}
    missing = values - set(known)
    if missing:
        known.update({v.name: v for v in _inferred_value_info(onnx, model)})
    present = {o.name for o in model.graph.output}
    for name in sorted(values - present):
        info = known.get(name)
        if info is not None and info.type.tensor_type.elem_type:
            model.graph.output.append(info)
        else:
            model.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))


def _inferred_value_info(onnx: Any, model: Any) -> list[Any]:
    """Types from ONNX shape inference; none where it fails (ORT then infers at load)."""
    try:
        return list(onnx.shape_inference.infer_shapes(model).graph.value_info)
    except Exception:  # noqa: BLE001 - inference is optional help
        return []


def _run(ort: Any, onnx: Any, model: Any, path: Path,
         inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    wanted = [i.name for i in model.graph.input
              if i.name not in {t.name for t in model.graph.initializer}]
    absent = [n for n in wanted if n not in inputs]
    if absent:
        raise InputError(path, f"missing input(s) {absent}; the model takes {wanted}")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # Graph optimizations fuse nodes and could drop the values we expose; keep the graph as is.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    # Loaded from memory, so external data is looked up beside the original file.
    options.add_session_config_entry("session.model_external_initializers_file_folder_path",
                                     str(path.parent.resolve()))
    try:
        session = ort.InferenceSession(model.SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        feeds = {n: np.asarray(inputs[n]) for n in wanted}
        arrays = session.run(names, feeds)
    except Exception as exc:  # noqa: BLE001 - ORT raises its own untyped errors
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise InputError(path, f"onnxruntime failed: {first}") from None
    return dict(zip(names, arrays, strict=True))
