"""Capture a transformers ``generate()`` run: per step the logits, the chosen token and,
when sampling, the uniform it was drawn with; optionally every layer (``@k/`` names).

>>> tokens = capture_generate(model, input_ids, "ref.safetensors", max_new_tokens=64,
...                           eos_token_id=eos, temperature=0.8, top_k=50, layers=True)

The capture decides each token itself, in a ``LogitsProcessor`` placed last and run with
``do_sample=False``: it records the scores it receives (the model's logits when no other
processor is configured), applies transformers' own temperature / top-k / top-p warpers,
samples by inverse CDF (:mod:`.sampling`) from a uniform of its own generator and records
it, then hands ``generate`` a score row whose only finite entry is that token. Greedy runs
take the argmax. So a sampled reference is replayable: a port fed the same uniforms
(:class:`~audioparity.generation.replay.Replay`) must pick the same tokens.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .recorder import GenerationRecorder, generation_meta, record_generation
from .sampling import inverse_cdf


class _RecorderSink:
    """A torch capture's recorder as a :class:`~.recorder.Sink`: the generation record
    goes through :meth:`~audioparity.sources.recorder.Recorder.store` (same file, same
    limits, execution order)."""

    def __init__(self, rec: Any):
        self.rec = rec

    def add(self, name: str, array: np.ndarray) -> None:
        self.rec.store(name, array)


def _sampling(temperature: float | None, top_k: int | None,
              top_p: float | None) -> dict | None:
    if temperature is None and top_k is None and top_p is None:
        return None
    return {"temperature": 1.0 if temperature is None else float(temperature),
            "top_k": top_k, "top_p": top_p}


def _warpers(sampling: dict) -> Any:
    from transformers import (
        LogitsProcessorList,
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    out = LogitsProcessorList()
    if sampling["temperature"] != 1.0:
        out.append(TemperatureLogitsWarper(sampling["temperature"]))
    if sampling["top_k"]:
        out.append(TopKLogitsWarper(int(sampling["top_k"])))
    if sampling["top_p"] is not None and sampling["top_p"] < 1.0:
        out.append(TopPLogitsWarper(float(sampling["top_p"])))
    return out


def _chooser(gen: GenerationRecorder, sampling: dict | None, seed: int, step_of: Any,
             eos: list[int], record_top: int | None) -> Any:
    """The LogitsProcessor that records each step and decides its token. A sequence that
    has emitted EOS records EOS from then on (``generate`` pads it; its draws go on)."""
    import torch
    from transformers import LogitsProcessor

    warpers = _warpers(sampling) if sampling else None
    rng = torch.Generator().manual_seed(seed)
    finished: list[bool] = []

    class RecordAndChoose(LogitsProcessor):
        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
            if step_of is not None and step_of() != gen.step:
                raise RuntimeError(f"generate() ran the model {step_of()} steps but chose "
                                   f"{gen.step} tokens: one forward per token expected")
            uniform = None
            if warpers is None:
                token = scores.float().argmax(dim=-1).cpu().numpy()
            else:
                probs = torch.softmax(warpers(input_ids, scores.clone()).double(), dim=-1)
                uniform = torch.rand(scores.shape[0], generator=rng, dtype=torch.float64)
                token = inverse_cdf(probs.cpu().numpy(), uniform.numpy())
            if eos:
                finished[:] = finished or [False] * len(token)
                token = np.where(finished, eos[0], token)
                finished[:] = [f or int(t) in eos for f, t in zip(finished, token, strict=True)]
            top = None
            if record_top:
                values, ids = torch.topk(scores, min(record_top, scores.shape[-1]), dim=-1)
                top = (values, ids)
            gen.end_step(token=token, logits=None if top else scores, topk=top,
                         uniform=uniform, sampled=warpers is not None)
            chosen = torch.full_like(scores, -torch.inf)
            chosen[torch.arange(scores.shape[0]), torch.as_tensor(token)] = 0.0
            return chosen

    return RecordAndChoose()


@contextlib.contextmanager
def _recording(model: Any, path: str | Path, meta: dict, layers: bool,
               capture_options: dict) -> Iterator[tuple[GenerationRecorder, Any]]:
    if not layers:
        with record_generation(path, meta={"model": type(model).__name__},
                               **meta) as gen:
            yield gen, None
        return
    from ..sources.torch_capture import capture

    with capture(model, path, steps=True, meta={"generation": generation_meta(**meta)},
                 **capture_options) as rec:
        yield GenerationRecorder(_RecorderSink(rec)), (lambda: rec.step)


def capture_generate(model: Any, input_ids: Any, path: str | Path, *, max_new_tokens: int,
                     eos_token_id: int | list[int] | None = None,
                     temperature: float | None = None, top_k: int | None = None,
                     top_p: float | None = None, seed: int = 0, layers: bool = False,
                     inputs: bool = False, functions: Sequence[str] = (),
                     include: Sequence[str] | str | None = None,
                     exclude: Sequence[str] | str | None = None,
                     record_top: int | None = None, **generate_kwargs: Any) -> Any:
    """Run ``model.generate(input_ids, ...)`` and write its generation record to ``path``.

    Parameters
    ----------
    max_new_tokens, eos_token_id : the length limit and the id(s) that stop generation.
    temperature, top_k, top_p : sample (by inverse CDF, uniforms from a generator seeded
        with ``seed``) with these settings; all None: greedy.
    layers : also capture every module's output per step (``@k/NAME``; torch capture with
        ``steps=True``); ``inputs``, ``functions``, ``include``, ``exclude`` as in
        :func:`audioparity.sources.torch_capture.capture`.
    record_top : record only the ``record_top`` largest logits per step (values and ids)
        instead of all of them (large vocabularies); top-1 and the overlap stay comparable.
    generate_kwargs : passed to ``generate`` (``attention_mask`` …); ``do_sample`` and
        ``logits_processor`` are the capture's.

    Returns the new tokens ``[B, steps]`` (a torch tensor).
    """
    import torch
    from transformers import LogitsProcessorList

    sampling = _sampling(temperature, top_k, top_p)
    meta = {"eos_token_id": eos_token_id, "max_new_tokens": max_new_tokens,
            "sampling": sampling}
    options = {"inputs": inputs, "functions": functions, "include": include,
               "exclude": exclude}
    pad = generate_kwargs.pop("pad_token_id", None)
    if pad is None:  # generate() wants one; a finished row is padded with EOS
        pad = eos_token_id if isinstance(eos_token_id, int) else (eos_token_id or [0])[0]
    chooser = LogitsProcessorList([])
    with torch.no_grad(), _recording(model, path, meta, layers, options) as (gen, step_of):
        eos = [eos_token_id] if isinstance(eos_token_id, int) else list(eos_token_id or [])
        chooser.append(_chooser(gen, sampling, seed, step_of, eos, record_top))
        out = model.generate(input_ids, do_sample=False, max_new_tokens=max_new_tokens,
                             eos_token_id=eos_token_id, pad_token_id=pad,
                             logits_processor=chooser, **generate_kwargs)
    return out[:, input_ids.shape[-1]:]
