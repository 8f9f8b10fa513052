"""ONNX Runtime as a trace source: module outputs named as the torch capture names them."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from onnx import TensorProto, helper

from audioparity.compare import compare_traces
from audioparity.errors import InputError
from audioparity.examples.reference import (
    as_numpy,
    build_lm,
    build_reference,
    demo_input_ids,
)
from audioparity.sources.onnxruntime_source import capture_onnx, scope_outputs
from audioparity.sources.torch_capture import capture
from audioparity.trace import open_trace


@pytest.fixture(scope="module")
def qwen3_export(tmp_path_factory):
    """A tiny random Qwen3ForCausalLM, its dynamo ONNX export and its torch trace."""
    out = tmp_path_factory.mktemp("onnx")
    lm = build_lm(seed=3)
    ids = demo_input_ids(length=10, seed=3)
    torch.onnx.export(lm, (ids,), out / "qwen3.onnx", dynamo=True, verbose=False)
    with torch.no_grad(), capture(lm, out / "ref.safetensors"):
        lm(ids)
    return out / "qwen3.onnx", out / "ref.safetensors", as_numpy(ids)


@pytest.mark.slow
def test_onnxruntime_trace_of_exported_qwen3_has_parity_with_torch(qwen3_export, tmp_path):
    model, ref, ids = qwen3_export
    tensors = capture_onnx(model, {"input_ids": ids}, tmp_path / "ort.safetensors")
    result = compare_traces(ref, tmp_path / "ort.safetensors", explain="none", by_order=False)
    assert result.status == "parity", [(e.name, e.max_abs) for e in result.failing]
    by_name = {e.name for e in result.entries}
    with open_trace(ref) as trace:
        layers = trace.meta["modules"]
    # every decoder layer and its attention, MLP and norms align by name
    for i in range(4):
        for part in ("", ".self_attn", ".self_attn.q_proj", ".self_attn.q_norm",
                     ".self_attn.k_norm", ".self_attn.o_proj", ".mlp", ".mlp.act_fn",
                     ".mlp.down_proj", ".input_layernorm", ".post_attention_layernorm"):
            assert f"model.layers.{i}{part}" in by_name
    assert {"model.embed_tokens", "model.norm", "model", "lm_head", "output"} <= by_name
    # only modules the exporter folded into constants (rotary tables) are missing
    assert set(result.unmatched_ref) <= {"model.rotary_emb", "model.rotary_emb:out1"}
    assert len(result.entries) == len(tensors) == len(layers) - 1  # the root is "output"
    np.testing.assert_array_equal(tensors["output"], tensors["lm_head"])


@pytest.mark.slow
def test_module_outputs_come_out_in_execution_order(qwen3_export):
    model, ref, ids = qwen3_export
    names = list(capture_onnx(model, {"input_ids": ids}))
    with open_trace(ref) as trace:
        expected = [n for n in trace.names if n in set(names)]
    assert names == expected


@pytest.mark.slow
def test_untyped_intermediate_values_are_still_exposed(qwen3_export, tmp_path):
    model, _, ids = qwen3_export
    proto = onnx.load(str(model))
    del proto.graph.value_info[:]
    onnx.save(proto, str(tmp_path / "untyped.onnx"))
    typed = capture_onnx(model, {"input_ids": ids})
    untyped = capture_onnx(tmp_path / "untyped.onnx", {"input_ids": ids})
    assert list(untyped) == list(typed)
    np.testing.assert_allclose(untyped["model.layers.2.mlp"], typed["model.layers.2.mlp"])


@pytest.mark.slow
def test_whole_demo_model_with_istft_vocoder_has_parity_through_onnxruntime(tmp_path):
    model, ids = build_reference(), demo_input_ids()
    torch.onnx.export(model, (ids,), tmp_path / "demo.onnx", dynamo=True, verbose=False)
    with torch.no_grad(), capture(model, tmp_path / "ref.safetensors"):
        model(ids)
    capture_onnx(tmp_path / "demo.onnx", {"input_ids": as_numpy(ids)},
                 tmp_path / "ort.safetensors", meta={"model": "demo"})
    result = compare_traces(tmp_path / "ref.safetensors", tmp_path / "ort.safetensors",
                            explain="none", by_order=False)
    assert result.status == "parity", [(e.name, e.max_abs) for e in result.failing]
    names = {e.name for e in result.entries}
    assert {"lm.model.layers.3.mlp", "vocoder.conv", "vocoder.istft", "vocoder", "output",
            "output:out1"} <= names
    assert set(result.unmatched_ref) <= {"lm.model.rotary_emb", "lm.model.rotary_emb:out1"}
    with open_trace(tmp_path / "ort.safetensors") as trace:
        assert trace.meta["source"] == "onnxruntime" and trace.meta["model"] == "demo"


def _matmul_chain(node_names: list[str], scopes: list[list[str]] | None) -> onnx.ModelProto:
    """x -> MatMul(w0) -> Relu -> MatMul(w1) -> y: a two-"module" graph made by hand."""
    rng = np.random.default_rng(0)
    inits = [helper.make_tensor(f"w{i}", TensorProto.FLOAT, (4, 4),
                                rng.standard_normal(16).astype(np.float32)) for i in range(2)]
    nodes = [helper.make_node("MatMul", ["x", "w0"], ["a"], name=node_names[0]),
             helper.make_node("Relu", ["a"], ["b"], name=node_names[1]),
             helper.make_node("MatMul", ["b", "w1"], ["y"], name=node_names[2])]
    for node, scope in zip(nodes, scopes or [], strict=False):
        helper.set_metadata_props(node, {"pkg.torch.onnx.name_scopes": repr(scope)})
    graph = helper.make_graph(
        nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, (2, 4))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, (2, 4))], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_legacy_exporter_node_names_give_module_scopes(tmp_path):
    model = _matmul_chain(["/enc/proj/MatMul", "/enc/act/Relu", "/head/MatMul"], None)
    onnx.save(model, str(tmp_path / "legacy.onnx"))
    x = np.ones((2, 4), np.float32)
    tensors = capture_onnx(tmp_path / "legacy.onnx", {"x": x})
    assert list(tensors) == ["enc.proj", "enc.act", "enc", "head", "output"]
    np.testing.assert_array_equal(tensors["enc"], tensors["enc.act"])
    np.testing.assert_array_equal(tensors["enc.act"], np.maximum(tensors["enc.proj"], 0))


def test_wrapper_prefix_is_stripped_and_last_escaping_value_is_the_output():
    scopes = [["", "m", "m.block", "matmul"], ["", "m", "m.block", "relu"],
              ["", "m", "m.head", "matmul_1"]]
    plan = scope_outputs(_matmul_chain(["n0", "n1", "n2"], scopes).graph, strip_prefix="m.")
    assert [(p.name, p.value) for p in plan] == [
        ("block", "b"), ("head", "y"), ("output", "y")]


@pytest.mark.parametrize("content", [b"", b"not an onnx model at all", b"\x08\x07\x12"])
def test_corrupt_model_is_a_one_line_input_error(tmp_path, content):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(InputError, match="bad.onnx"):
        capture_onnx(path, {"x": np.ones((2, 4), np.float32)})


def test_missing_model_and_missing_input_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        capture_onnx(tmp_path / "absent.onnx", {})
    onnx.save(_matmul_chain(["/a/MatMul", "/a/Relu", "/b/MatMul"], None), str(tmp_path / "m.onnx"))
    with pytest.raises(InputError, match=r"missing input\(s\) \['x'\]"):
        capture_onnx(tmp_path / "m.onnx", {"input_ids": np.zeros((1, 2), np.int64)})
    with pytest.raises(InputError, match="onnxruntime failed"):
        capture_onnx(tmp_path / "m.onnx", {"x": np.ones((3, 5), np.float32)})
    assert not (tmp_path / "out.safetensors").exists()
