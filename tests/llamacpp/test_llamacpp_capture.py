"""A real llama.cpp run of the tiny Qwen3 recorded node by node: names, ops, settings, values
against transformers, generation steps, filters, limits, and a callback that fails."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_lm import PROMPT

from audioparity.errors import InputError
from audioparity.trace import open_trace


def rel_l2(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_every_node_is_recorded_under_llama_cpp_names(tiny):
    trace = open_trace(tiny.trace())
    names, ops = trace.names, trace.meta["modules"]
    layer0 = names[:names.index("l_out-0") + 1]
    for name in ("attn_norm-0", "Qcur_normed-0", "kq_soft_max-0", "kqv_out-0", "ffn_swiglu-0"):
        assert name in layer0
    # Qcur-0 three times: projection, reshape into heads, RoPE (views are nodes too)
    assert [ops[n] for n in ("Qcur-0", "Qcur-0#1", "Qcur-0#2")] == ["MUL_MAT", "RESHAPE", "ROPE"]
    # the output projection is unnamed in llama.cpp: named after kqv_out, not node_<index>
    assert ops["kqv_out-0+1"] == "MUL_MAT"
    assert not any(n.startswith("node_") for n in names)
    assert names[-2:] == ["result_norm", "result_output"]
    assert ops["output"] == "llama.cpp:qwen3"
    assert trace.meta["architecture"] == "qwen3" and trace.meta["tokens"] == PROMPT


def test_exact_settings_are_the_default_and_recorded(tiny):
    settings = open_trace(tiny.trace()).meta["settings"]
    assert settings["exact"] is True
    assert (settings["flash_attn"], settings["type_k"], settings["type_v"]) == ("off", "f32", "f32")
    assert settings["n_ubatch"] >= len(PROMPT)


def test_values_match_transformers_at_float32_noise(tiny):
    """Logits within 1e-5 relative L2 of torch (measured 7.4e-7); a split-heads node and
    a permuted view read through their strides agree too."""
    llama, ref = open_trace(tiny.trace()), open_trace(tiny.ref)
    assert rel_l2(llama.read("result_output"), ref.read("lm_head")[0]) < 1e-5
    q = ref.read("model.layers.0.self_attn.apply_rotary_pos_emb")[0]  # [heads, T, d]
    assert llama.info("Qcur-0#2").shape == (len(PROMPT), 4, 16)
    assert rel_l2(llama.read("Qcur-0#2"), q.transpose(1, 0, 2)) < 1e-5
    permuted = llama.read("Qcur-0 (view) (permuted)")  # ggml_permute: [heads, T, d] view
    assert rel_l2(permuted, q) < 1e-5


def test_defaults_keep_f16_nodes_in_their_dtype_and_say_so(tiny):
    trace = open_trace(tiny.trace(exact=False))
    settings = trace.meta["settings"]
    assert settings["exact"] is False and settings["type_k"] == "f16"
    assert "llama.cpp's default settings" in settings["note"]
    assert "float16" in {trace.info(n).dtype for n in trace.names}  # the F16 KV cache views


def test_quantized_weights_are_named_per_node(tiny):
    trace = open_trace(tiny.trace("q8_0"))
    assert trace.info("ffn_up-1").qtype == "Q8_0"
    assert trace.info("attn_norm-2").qtype == "Q8_0"  # downstream of Q8_0 weights
    assert open_trace(tiny.trace()).info("ffn_up-1").qtype is None


def test_generation_records_each_step_and_generates_greedily(tiny):
    """@0/ is the prompt, @k/ each generated token; the tokens are transformers' greedy ones."""
    import torch

    from audioparity.sources.llamacpp import capture_llamacpp

    result = capture_llamacpp(tiny.gguf(), PROMPT, None, generate=3,
                              include=["result_output", "l_out-*"])
    ids = list(PROMPT)
    with torch.no_grad():
        for _ in range(3):
            ids.append(int(tiny.model(torch.tensor([ids])).logits[0, -1].argmax()))
    assert result.generated == ids[len(PROMPT):]
    assert result.names[0] == "@0/l_out-0" and result.names[-1] == "@3/result_output"
    assert result.tensors["@0/result_output"].shape == (len(PROMPT), 256)
    assert result.tensors["@3/result_output"].shape == (256,)
    assert set(result.names) == {f"@{k}/{n}" for k in range(4)
                                 for n in ["result_output", *(f"l_out-{i}" for i in range(4))]}


def test_include_exclude_select_nodes(tiny):
    from audioparity.sources.llamacpp import capture_llamacpp

    result = capture_llamacpp(tiny.gguf(), PROMPT, None, include=["Qcur-*", "l_out-*"],
                              exclude=["*(view)*"])
    assert set(result.names) == {*(f"l_out-{i}" for i in range(4)),
                                 *(f"Qcur-{i}{r}" for i in range(4) for r in ("", "#1", "#2"))}


def test_max_bytes_truncates_and_marks_the_trace(tiny, tmp_path):
    from audioparity.sources.llamacpp import capture_llamacpp

    capture_llamacpp(tiny.gguf(), PROMPT, tmp_path / "t.safetensors", max_bytes=20_000)
    trace = open_trace(tmp_path / "t.safetensors")
    assert trace.meta["truncated"] is True
    assert 0 < sum(trace.info(n).numel * 4 for n in trace.names) <= 20_000


def test_a_failing_callback_stops_the_run_and_is_reported_after(tiny, tmp_path, monkeypatch):
    """An exception inside the eval callback never reaches C: the run stops, the capture
    raises one line naming the node, and what was recorded is kept, marked incomplete."""
    from audioparity.sources.llamacpp import capture_llamacpp
    from audioparity.sources.llamacpp.ggml_tensor import GGML

    real_read = GGML.read

    def read(self, ptr):
        if GGML.info(self, ptr).name == "ffn_norm-1":
            raise MemoryError("simulated")
        return real_read(self, ptr)

    monkeypatch.setattr(GGML, "read", read)
    out = tmp_path / "partial.safetensors"
    with pytest.raises(InputError, match=r"recording stopped at node ffn_norm-1: MemoryError"):
        capture_llamacpp(tiny.gguf(), PROMPT, out)
    trace = open_trace(out)
    assert trace.meta["incomplete"] is True and "MemoryError" in trace.meta["error"]
    assert trace.names[-1] == "norm-1#3" and "l_out-0" in trace.names
