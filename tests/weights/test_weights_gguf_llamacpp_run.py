"""The weights audit's GGUF findings, confirmed in a real llama.cpp run (llama-cpp-python,
the ``llamacpp`` extra): a tiny Llama converted with the Q/K row permutation applied twice
and ``rope.freq_base`` left at llama.cpp's default gives other logits than torch; the audit
names both, and the file ``weights fix`` writes runs at torch's logits again.

llama.cpp runs with exact-parity settings: flash attention off, F32 KV cache, one ubatch,
one thread."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from gguf_convert import convert, save_tiny_lm

llama_cpp = pytest.importorskip("llama_cpp")

TOKENS = [3, 17, 42, 5, 60, 11, 7, 90]
GGML_TYPE_F32 = 0


def _llamacpp_logits(path) -> np.ndarray:
    llm = llama_cpp.Llama(str(path), n_ctx=64, n_batch=64, n_ubatch=64, logits_all=True,
                          flash_attn=False, type_k=GGML_TYPE_F32, type_v=GGML_TYPE_F32,
                          n_threads=1, verbose=False)
    try:
        llm.eval(TOKENS)
        return np.array(llm.scores[:len(TOKENS)])
    finally:
        llm.close()


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_audit_findings_change_llamacpp_logits_and_the_fix_restores_them(tmp_path, cli):
    from transformers import LlamaForCausalLM

    model_dir = save_tiny_lm("llama", tmp_path / "llama")
    with torch.no_grad():
        ref = LlamaForCausalLM.from_pretrained(model_dir)(
            torch.tensor([TOKENS])).logits[0].numpy()
    good = convert(model_dir, tmp_path / "good.gguf", runnable=True)
    assert _rel(_llamacpp_logits(good), ref) < 1e-5  # f32 noise (measured 5.5e-7)
    bad = convert(model_dir, tmp_path / "bad.gguf", runnable=True, permute_times=2,
                  metadata={"{arch}.rope.freq_base": 10000.0})
    assert _rel(_llamacpp_logits(bad), ref) > 1e-1  # measured 0.38

    code, out, _ = cli("weights", "audit", model_dir, bad, "--json", "-")
    problems = json.loads(out)["problems"]
    assert code == 1 and len(problems) == 2
    assert "was applied twice" in problems[0] and "llama.rope.freq_base = 10000" in problems[1]

    fixed = tmp_path / "fixed.gguf"
    code, _, err = cli("weights", "fix", model_dir, bad, "--out", fixed)
    assert code == 0, err
    logits = _llamacpp_logits(fixed)
    assert _rel(logits, ref) < 1e-5
    assert np.array_equal(logits.argmax(1), ref.argmax(1))  # exact: token ids
