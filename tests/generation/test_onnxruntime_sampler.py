"""Replay into an ONNX Runtime port: the sampler as an ONNX graph (temperature, top-k,
softmax, inverse CDF on a uniform input) run by onnxruntime on the reference's logits, fed
the reference's recorded uniforms. The right temperature reproduces every sampled token; a
graph built with another temperature does not, and compare says where."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper
from qwen3_numpy import SAMPLING

from audioparity.generation import Replay, record_generation
from audioparity.trace import open_trace


def _sampler(temperature: float, top_k: int) -> ort.InferenceSession:
    """logits [1, V], u [1] -> token [1]: scale by the temperature, keep the top k, first id
    whose CDF exceeds u x total."""
    f32, i64 = TensorProto.FLOAT, TensorProto.INT64
    nodes = [
        helper.make_node("Div", ["logits", "t"], ["scaled"]),
        helper.make_node("TopK", ["scaled", "k"], ["top", "top_ids"], axis=-1),
        helper.make_node("Gather", ["top", "last"], ["kth"], axis=1),
        helper.make_node("Less", ["scaled", "kth"], ["cut"]),
        helper.make_node("Where", ["cut", "neg_inf", "scaled"], ["kept"]),
        helper.make_node("Softmax", ["kept"], ["p"], axis=-1),
        helper.make_node("Cast", ["p"], ["p64"], to=TensorProto.DOUBLE),
        helper.make_node("CumSum", ["p64", "axis"], ["cdf"]),
        helper.make_node("ReduceMax", ["cdf", "axes"], ["total"], keepdims=1),
        helper.make_node("Unsqueeze", ["u", "axes"], ["u2"]),
        helper.make_node("Mul", ["u2", "total"], ["target"]),
        helper.make_node("LessOrEqual", ["cdf", "target"], ["below"]),
        helper.make_node("Cast", ["below"], ["count"], to=i64),
        helper.make_node("ReduceSum", ["count", "axes"], ["token"], keepdims=0),
    ]
    graph = helper.make_graph(
        nodes, "inverse_cdf_sampler",
        [helper.make_tensor_value_info("logits", f32, [1, None]),
         helper.make_tensor_value_info("u", TensorProto.DOUBLE, [1])],
        [helper.make_tensor_value_info("token", i64, [1])],
        [helper.make_tensor("t", f32, [], [temperature]),
         helper.make_tensor("k", i64, [1], [top_k]),
         helper.make_tensor("last", i64, [1], [top_k - 1]),
         helper.make_tensor("neg_inf", f32, [], [-np.inf]),
         helper.make_tensor("axis", i64, [], [1]), helper.make_tensor("axes", i64, [1], [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _ort_port(talker, path, temperature):
    """Teacher-forced on the reference's logits: only the sampler is the port's."""
    ref = open_trace(talker.sampled_ref)
    replay, session = Replay(ref), _sampler(temperature, SAMPLING["top_k"])
    with record_generation(path, eos_token_id=talker.eos, sampling=SAMPLING,
                           max_new_tokens=ref.meta["steps"]) as gen:
        for k in range(ref.meta["steps"]):
            logits = ref.read(f"@{k}/gen.logits")
            u = replay.next("uniform", (1,))
            (token,) = session.run(None, {"logits": logits, "u": u})
            gen.end_step(token=token, logits=logits, uniform=u, sampled=True)
    return path


def test_onnxruntime_sampler_on_replayed_draws_is_parity(cli, talker, tmp_path):
    port = _ort_port(talker, tmp_path / "ort.safetensors", SAMPLING["temperature"])
    code, out, _ = cli("compare", talker.sampled_ref, port, "--json", "-")
    gen = json.loads(out)["generation"]
    assert code == 0 and gen["status"] == "parity" and gen["replayed"]


def test_onnxruntime_sampler_with_another_temperature_diverges(cli, talker, tmp_path):
    port = _ort_port(talker, tmp_path / "ort_hot.safetensors", SAMPLING["temperature"] ** 2)
    code, out, _ = cli("compare", talker.sampled_ref, port, "--json", "-")
    gen = json.loads(out)["generation"]
    assert code == 1 and gen["first_token_mismatch"] is not None
    assert any("sampling differs" in w for w in gen["why"])
