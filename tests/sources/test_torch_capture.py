"""Capture on real transformers modules: SPEC names, execution order, clean-up, options."""

from __future__ import annotations

import numpy as np
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


class _Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(4, 4)

    def forward(self, hidden_states, attention_mask=None, position_ids=None, **kwargs):
        h = self.proj(hidden_states) * attention_mask + position_ids.unsqueeze(-1)
        return h + kwargs.get("bias", 0)


class _Caller(torch.nn.Module):
    """Calls its layer by keyword or positionally: the recorded inputs must not differ."""

    def __init__(self, keywords: bool):
        super().__init__()
        self.layer = _Layer()
        self.keywords = keywords

    def forward(self, h, mask, pos, bias):
        if self.keywords:
            return self.layer(h, position_ids=pos, bias=bias, attention_mask=mask)
        return self.layer(h, mask, pos, bias=bias)


def test_keyword_and_positional_calls_record_the_same_inputs():
    torch.manual_seed(0)
    h, mask, pos, bias = torch.randn(1, 3, 4), torch.ones(1, 3, 1), torch.arange(3.0)[None], \
        torch.randn(4)
    recorded = {}
    for keywords in (True, False):
        model = _Caller(keywords)
        with torch.no_grad(), capture(model, None, inputs=True) as rec:
            model(h, mask, pos, bias)
        recorded[keywords] = rec
    assert recorded[True].names == recorded[False].names
    layer_inputs = [n for n in recorded[True].names if n.startswith("layer:in")]
    # parameter order, not call order; **kwargs' bias after the last named parameter
    assert layer_inputs == ["layer:in0", "layer:in1", "layer:in2", "layer:in3"]
    torch.testing.assert_close(torch.tensor(recorded[True].tensors["layer:in2"]), pos)
    torch.testing.assert_close(torch.tensor(recorded[True].tensors["layer:in3"]), bias)


def test_decoder_layer_inputs_are_numbered_by_forward_signature(qwen3, ids):
    # Qwen3Model calls each layer (h, attention_mask=, position_embeddings=, position_ids=, …);
    # position_ids is the third parameter of Qwen3DecoderLayer.forward, whatever the call order
    with torch.no_grad(), capture(qwen3, None, inputs=True) as rec:
        qwen3(ids)
    assert rec.tensors["model.layers.0:in2"].shape == ids.shape
    np.testing.assert_array_equal(rec.tensors["model.layers.0:in2"], np.arange(6)[None])
    assert "model.layers.0:in3" not in rec.names


class _Crashes(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(4, 8)
        self.act = torch.nn.GELU()
        self.out = torch.nn.Linear(4, 2)  # wrong in_features: fails after two layers ran

    def forward(self, x):
        return self.out(self.act(self.proj(x)))


def test_partial_trace_when_forward_raises(tmp_path):
    torch.manual_seed(0)
    model, x = _Crashes(), torch.randn(2, 4)
    target = tmp_path / "crash.safetensors"
    with pytest.raises(RuntimeError, match="cannot be multiplied") as raised, \
            torch.no_grad(), capture(model, target, inputs=True):
        model(x)
    assert "cannot be multiplied" in str(raised.value)  # the forward's own exception
    assert _hook_count(model) == 0
    with open_trace(target) as trace:
        assert trace.names == ["output:in0", "proj:in0", "proj", "act:in0", "act", "out:in0"]
        np.testing.assert_allclose(trace.read("act"), model.act(model.proj(x)).detach().numpy(),
                                   rtol=1e-6, atol=1e-6)
        assert trace.meta["incomplete"] is True
        assert trace.meta["error"].startswith("RuntimeError: mat1 and mat2 shapes cannot be")
        assert "\n" not in trace.meta["error"]
    assert [p.name for p in tmp_path.iterdir()] == ["crash.safetensors"]  # no temporaries

    with pytest.raises(RuntimeError), torch.no_grad(), capture(model, None) as rec:
        model(x)
    assert rec.incomplete and rec.names == ["proj", "act"]


def test_complete_trace_says_so(tmp_path):
    model = torch.nn.Linear(4, 2)
    with torch.no_grad(), capture(model, tmp_path / "ok.safetensors"):
        model(torch.randn(1, 4))
    with open_trace(tmp_path / "ok.safetensors") as trace:
        assert trace.meta["incomplete"] is False and "error" not in trace.meta


def test_hooks_removed_and_no_file_when_forward_raises_before_recording(qwen3, tmp_path):
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


def test_in_memory_tensors_survive_later_in_place_ops(tmp_path):
    # ReLU(inplace=True) overwrites the Linear's output: the recorded Linear output must not
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(inplace=True))
    x = torch.randn(3, 4)
    expected = model[0](x).detach().numpy()
    assert (expected < 0).any()
    with torch.no_grad(), capture(model, None) as rec:
        model(x)
    np.testing.assert_allclose(rec.tensors["0"], expected, rtol=1e-6, atol=1e-6)
    with torch.no_grad(), capture(model, tmp_path / "t.safetensors"):
        model(x)
    with open_trace(tmp_path / "t.safetensors") as trace:
        np.testing.assert_allclose(trace.read("0"), expected, rtol=1e-6, atol=1e-6)


def test_weight_norm_parametrizations_are_weights_not_recorded():
    conv = torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv1d(2, 3, 3))
    model = torch.nn.Sequential(conv, torch.nn.ELU())
    with torch.no_grad(), capture(model, inputs=True) as rec:
        model(torch.randn(1, 2, 10))
    assert not [n for n in rec.names if "parametrizations" in n]
    assert "0" in rec.names and "1" in rec.names and "0:in0" in rec.names
