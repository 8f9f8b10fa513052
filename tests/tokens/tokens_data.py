"""Real token streams for the tokens tests: codes from a tiny random ``transformers.DacModel``
encoding espeak-ng speech, and greedy generations of a tiny random ``Qwen3ForCausalLM``.

The port bugs of seed 003 are built from these real streams, never typed in by hand.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

SENTENCE = ("The quick brown fox jumps over the lazy dog near the quiet river bank, "
            "and the codec hears every word.")
CODEBOOK_SIZE = 256
VOCAB = 512


def espeak_speech(workdir: Path) -> tuple[np.ndarray, int]:
    """About 6 s of espeak-ng English (float32, espeak's own rate)."""
    wav = workdir / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), SENTENCE], check=True, capture_output=True,
                   timeout=60)
    audio, sr = sf.read(wav, dtype="float32")
    return audio, sr


def dac_codes(audio: np.ndarray, sr: int, n_codebooks: int = 8,
              collapse_to: int | None = None) -> np.ndarray:
    """``DacModel.encode(audio).audio_codes`` [1, Q, T] of a random tiny DAC (hop 256).

    ``collapse_to=k`` reproduces codebook collapse inside the model: every codebook's
    entries become copies of its first ``k`` rows, so the encoder can only pick ``k`` ids.
    """
    import torch
    from transformers import DacConfig, DacModel

    cfg = DacConfig(encoder_hidden_size=8, downsampling_ratios=[4, 8, 8],
                    decoder_hidden_size=32, n_codebooks=n_codebooks,
                    codebook_size=CODEBOOK_SIZE, codebook_dim=8, hidden_size=32,
                    sampling_rate=sr)
    torch.manual_seed(0)
    model = DacModel(cfg).eval()
    with torch.no_grad():
        if collapse_to is not None:
            for quantizer in model.quantizer.quantizers:
                table = quantizer.codebook.weight
                table.copy_(table[:collapse_to].repeat(CODEBOOK_SIZE // collapse_to + 1, 1)
                            [:CODEBOOK_SIZE])
        codes = model.encode(torch.from_numpy(audio).reshape(1, 1, -1)).audio_codes
    return codes.numpy().astype(np.int64)


def qwen3_lm():
    """A tiny random ``Qwen3ForCausalLM`` with a vocabulary of 512."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    cfg = Qwen3Config(vocab_size=VOCAB, hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      head_dim=8, max_position_embeddings=128, attn_implementation="eager")
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim > 1:
                p.normal_(0.0, 0.3)  # away from init: varied greedy continuations
    return model


def prompt(seed: int, batch: int = 2):
    """Random prompt ids [batch, 6]. With this model, seed 3 gives two varied greedy
    continuations; seed 1's second row gets stuck repeating one id."""
    import torch

    return torch.randint(0, VOCAB, (batch, 6), generator=torch.Generator().manual_seed(seed))


def generate(model, prompt, steps: int, eos: int | None = None, pad: int = 0,
             flip_at: int | None = None, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Greedy ``generate`` -> (new ids [B, steps'], the logits it chose from [B, steps', V]).

    ``flip_at=k`` is a port whose logits go wrong at step k: a logits processor makes the
    reference's second choice win there (the logits returned are the processed ones).
    ``kwargs`` go to ``generate`` (``suppress_tokens=[eos]``: a port that never emits EOS).
    """
    import torch
    from transformers import LogitsProcessor, LogitsProcessorList

    class FlipAt(LogitsProcessor):
        def __init__(self) -> None:
            self.step = 0

        def __call__(self, input_ids, scores):
            if self.step == flip_at:
                second = scores.topk(2, dim=-1).indices[:, 1]
                scores = scores.clone()
                scores[torch.arange(scores.shape[0]), second] = scores.max(dim=-1).values + 1
            self.step += 1
            return scores

    processors = LogitsProcessorList([FlipAt()] if flip_at is not None else [])
    with torch.no_grad():
        out = model.generate(prompt, max_new_tokens=steps, do_sample=False, eos_token_id=eos,
                             pad_token_id=pad, logits_processor=processors,
                             output_scores=True, return_dict_in_generate=True, **kwargs)
    ids = out.sequences[:, prompt.shape[1]:].numpy().astype(np.int64)
    return ids, torch.stack(out.scores, dim=1).float().numpy()
