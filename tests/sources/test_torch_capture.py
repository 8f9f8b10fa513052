"""Capture on real transformers modules: SPEC names, execution order, clean-up, options."""

from __future__ import annotations

import pytest
import torch
from transformers import Qwen3Config, Qwen3ForCausalLM
from transformers.models.qwen3 import modeling_qwen3

from audioparity.sources.torch_capture import capture
from audioparity.trace import open_trace

ROPE = "transformers.models.qwen3.modeling_qwen3.apply_rotary_pos_emb"


@pytest.fixture(scope="module")
def qwen3():
    torch.manual_seed(0)
    cfg = Qwen3Config(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                      max_position_embeddings=64)
    return Qwen3ForCausalLM(cfg).eval()


@pytest.fixture
def ids():
    return torch.tensor([[3, 17, 5, 42, 8, 1]])


def _hook_count(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_names_follow_spec_in_execution_order(qwen3, ids, tmp_path):
    with torch.no_grad(), capture(qwen3, tmp_path / "t.safetensors", inputs=True,
                                  functions=[ROPE]) as rec:
        logits = qwen3(ids).logits
    trace = open_trace(tmp_path / "t.safetensors")
    names = trace.names
    assert names == rec.names
    order = [names.index(n) for n in (
        "model.embed_tokens", "model.layers.0.input_layernorm",
        "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.q_norm",
        "model.layers.0.self_attn.apply_rotary_pos_emb", "model.layers.0.self_attn.o_proj",
        "model.layers.0.self_attn", "model.layers.0.mlp", "model.layers.0",
        "model.layers.1", "model.norm", "lm_head", "output")]
    assert order == sorted(order)
    assert "model.layers.0.self_attn.apply_rotary_pos_emb:out1" in names  # k after RoPE
    assert trace.info("model.layers.0.self_attn.apply_rotary_pos_emb:in0").shape == (1, 4, 6, 8)
    assert "model.rotary_emb:out1" in names  # tuple output element 1 (sin)
    assert trace.meta["modules"]["model.layers.0.self_attn.q_norm"] == "Qwen3RMSNorm"
    torch.testing.assert_close(torch.tensor(trace.read("output")), logits)
    assert _hook_count(qwen3) == 0
    assert modeling_qwen3.apply_rotary_pos_emb.__name__ == "apply_rotary_pos_emb"
    assert not hasattr(modeling_qwen3.apply_rotary_pos_emb, "__wrapped__")


def test_generate_loop_steps_are_kept_apart(qwen3, ids, tmp_path):
    with torch.no_grad(), capture(qwen3, tmp_path / "g.safetensors", steps=True):
        out = qwen3.generate(ids, max_new_tokens=3, do_sample=False)
    assert out.shape[1] == ids.shape[1] + 3
    trace = open_trace(tmp_path / "g.safetensors")
    assert [n for n in trace.names if n.endswith("/output")] == ["@0/output", "@1/output",
                                                                  "@2/output"]
    assert trace.info("@0/model.layers.0.mlp").shape[1] == ids.shape[1]  # prefill
    assert trace.info("@1/model.layers.0.mlp").shape[1] == 1  # one new token
    assert trace.meta["steps"] == 3


def test_repeated_module_calls_get_repeat_suffix(tmp_path):
    shared = torch.nn.Linear(4, 4)

    class Twice(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.block = shared

        def forward(self, x):
            return self.block(self.block(x))

    model = Twice()
    with capture(model, None) as rec:
        model(torch.randn(2, 4))
    assert rec.names == ["block", "block#1", "output"]


def test_hooks_removed_and_no_file_when_forward_raises(qwen3, tmp_path):
    target = tmp_path / "boom.safetensors"
    with pytest.raises(IndexError), capture(qwen3, target, functions=[ROPE]):
        qwen3(torch.tensor([[10_000]]))  # out of vocabulary
    assert not target.exists()
    assert _hook_count(qwen3) == 0
    assert not hasattr(modeling_qwen3.apply_rotary_pos_emb, "__wrapped__")


def test_include_exclude_limits_and_dtype(qwen3, ids, tmp_path):
    with torch.no_grad(), capture(qwen3, None, include="model.layers.*",
                                  exclude="re:.*_proj$") as rec:
        qwen3(ids)
    assert rec.names and all(n.startswith("model.layers.") for n in rec.names)
    assert not any(n.endswith("_proj") for n in rec.names)

    with torch.no_grad(), capture(qwen3, tmp_path / "l.safetensors", max_tensors=5,
                                  dtype="bfloat16"):
        qwen3(ids)
    trace = open_trace(tmp_path / "l.safetensors")
    assert len(trace) == 5 and trace.meta["truncated"] is True
    assert {trace.info(n).dtype for n in trace.names if trace.info(n).is_float} == {"bfloat16"}
