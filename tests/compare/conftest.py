"""A real reference trace (tiny transformers Qwen3) shared by the compare tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import Qwen3Config, Qwen3ForCausalLM

from audioparity.sources.torch_capture import capture
from audioparity.trace import open_trace


@pytest.fixture(scope="session")
def qwen3_ref(tmp_path_factory) -> dict[str, np.ndarray]:
    """Tensors of a captured Qwen3 forward, in execution order, plus the file path."""
    torch.manual_seed(0)
    cfg = Qwen3Config(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                      max_position_embeddings=64)
    model = Qwen3ForCausalLM(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    path = tmp_path_factory.mktemp("ref") / "ref.safetensors"
    with torch.no_grad(), capture(model, path):
        model(torch.tensor([[3, 17, 5, 42, 8, 1, 9, 60]]))
    trace = open_trace(path)
    tensors = {n: np.array(trace.read(n)) for n in trace.names}
    tensors["__path__"] = path
    return tensors


@pytest.fixture
def ref_tensors(qwen3_ref):
    return {k: v for k, v in qwen3_ref.items() if k != "__path__"}


@pytest.fixture
def ref_path(qwen3_ref):
    return qwen3_ref["__path__"]


QWEN3_SIZES = {"hidden": 32, "heads": 4, "kv_heads": 2, "head_dim": 8, "ffn": 64, "layers": 3}


@pytest.fixture(scope="session")
def qwen3_pair(tmp_path_factory) -> dict:
    """One tiny Qwen3, captured twice on the same prompt: ``rich`` records module inputs and
    the RoPE function (``apply_rotary_pos_emb``), ``plain`` only module outputs."""
    torch.manual_seed(1)
    s = QWEN3_SIZES
    cfg = Qwen3Config(vocab_size=96, hidden_size=s["hidden"], intermediate_size=s["ffn"],
                      num_hidden_layers=s["layers"], num_attention_heads=s["heads"],
                      num_key_value_heads=s["kv_heads"], head_dim=s["head_dim"],
                      max_position_embeddings=64)
    model = Qwen3ForCausalLM(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    folder = tmp_path_factory.mktemp("qwen3_pair")
    ids = torch.tensor([[3, 17, 5, 42, 8, 1, 9, 60]])
    rope = "transformers.models.qwen3.modeling_qwen3.apply_rotary_pos_emb"
    with torch.no_grad(), capture(model, folder / "rich.safetensors", inputs=True,
                                  functions=[rope]):
        model(ids)
    with torch.no_grad(), capture(model, folder / "plain.safetensors"):
        model(ids)
    rich = open_trace(folder / "rich.safetensors")
    return {"rich": folder / "rich.safetensors", "plain": folder / "plain.safetensors",
            "tensors": {n: np.array(rich.read(n)) for n in rich.names}, "sizes": s}
