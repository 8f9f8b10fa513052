"""A tiny random transformers ``Qwen3ForCausalLM`` as a talker, its recorded generations
(greedy with every layer, sampled with its draws), and the NumPy port's generations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from qwen3_numpy import MAX_NEW, SAMPLING, Qwen3Numpy, generate
from transformers import Qwen3Config, Qwen3ForCausalLM

from audioparity.generation import Replay, capture_generate, record_generation

ROPE = "transformers.models.qwen3.modeling_qwen3.apply_rotary_pos_emb"


@dataclass
class Talker:
    model: Qwen3ForCausalLM
    weights: dict[str, np.ndarray]
    prompt: np.ndarray
    eos: int
    greedy_ref: Path
    sampled_ref: Path
    folder: Path

    def port(self, name: str, bug: str | None = None, *, sampled: bool = False,
             replay: bool = False, seed: int = 7) -> Path:
        """The NumPy port's recorded generation (greedy, or sampled with the reference's
        draws when ``replay``, else with its own RNG seeded with ``seed``)."""
        path = self.folder / f"{name}.safetensors"
        port = Qwen3Numpy(self.weights, self.model.config, bug)
        sampling = SAMPLING if sampled else None
        uniform = None
        if sampled:
            source = Replay.from_trace(self.sampled_ref) if replay else None
            rng = np.random.default_rng(seed)
            uniform = (lambda: source.next("uniform", (1,))) if replay else (
                lambda: rng.random(1))
        with record_generation(path, eos_token_id=self.eos, max_new_tokens=MAX_NEW,
                               sampling=sampling, replayed=replay) as gen:
            generate(port, self.prompt, gen, max_new_tokens=MAX_NEW, eos=self.eos,
                     sampling=sampling, uniform=uniform)
        return path


def _pick_eos(model: Qwen3ForCausalLM, prompt: torch.Tensor) -> int:
    """A token the greedy talker emits for the first time at step 5 or later: with it as
    EOS the reference stops mid-way (seed 000's talker stopped; its port never did)."""
    out = model.generate(prompt, do_sample=False, max_new_tokens=MAX_NEW, pad_token_id=0,
                         eos_token_id=None)[0, prompt.shape[1]:].tolist()
    for k in range(5, len(out)):
        if out[k] not in out[:k]:
            return out[k]
    raise AssertionError(f"the tiny talker loops on {out}: pick another seed")


@pytest.fixture(scope="session")
def talker(tmp_path_factory) -> Talker:
    torch.manual_seed(0)
    cfg = Qwen3Config(vocab_size=160, hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      head_dim=8, max_position_embeddings=128)
    model = Qwen3ForCausalLM(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    prompt = torch.tensor([[3, 17, 5, 42, 8, 1]])
    eos = _pick_eos(model, prompt)
    folder = tmp_path_factory.mktemp("generation")
    greedy = folder / "greedy_ref.safetensors"
    capture_generate(model, prompt, greedy, max_new_tokens=MAX_NEW, eos_token_id=eos,
                     layers=True, functions=[ROPE])
    sampled = folder / "sampled_ref.safetensors"
    capture_generate(model, prompt, sampled, max_new_tokens=MAX_NEW, eos_token_id=eos,
                     temperature=SAMPLING["temperature"], top_k=SAMPLING["top_k"], seed=3)
    weights = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    return Talker(model, weights, prompt.numpy(), eos, greedy, sampled, folder)
