"""One call that runs every token check and collects the result: :func:`check_tokens`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..contract import checked
from .against_ref import RefComparison, compare_tokens
from .codebooks import CodebookStats, codebook_stats
from .eos import SequenceStop, content_lengths, find_stops
from .layout import Tokens
from .logits import LogitsAgreement, compare_logits
from .offsets import OffsetFit, fit_offsets
from .problem import Problem

_NEAR_TIE = 0.1  # a reference top-1 margin (logits) below this flips under bf16/quantization


@dataclass
class TokenCheck:
    """Everything :func:`check_tokens` found; ``ok`` when ``problems`` is empty."""

    tokens: Tokens
    codebook_size: int
    codebooks: list[CodebookStats]
    offset: OffsetFit | None = None
    codebooks_expected: int | None = None
    eos: int | None = None
    pad: int | None = None
    stops: list[SequenceStop] | None = None
    ref_tokens: Tokens | None = None
    ref: RefComparison | None = None
    logits: LogitsAgreement | None = None
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict:
        """The stable JSON shape documented in ``docs/tokens.md``."""
        return {
            "status": checked(self.ok),
            "layout": self.tokens.to_json(),
            "codebook_size": self.codebook_size,
            "codebooks_expected": self.codebooks_expected,
            "codebooks": [c.to_json() for c in self.codebooks],
            "offset": None if self.offset is None else self.offset.to_json(),
            "eos": None if self.eos is None else {
                "id": self.eos, "pad": self.pad,
                "sequences": [s.to_json() for s in self.stops or []]},
            "ref": None if self.ref is None else {
                "layout": self.ref_tokens.to_json() if self.ref_tokens else None,
                **self.ref.to_json()},
            "logits": None if self.logits is None else self.logits.to_json(),
            "problems": [p.to_json() for p in self.problems],
            "notes": self.notes,
        }


def check_tokens(tokens: Tokens, codebook_size: int, *, codebooks_expected: int | None = None,
                 eos: int | None = None, pad: int | None = None, ref: Tokens | None = None,
                 logits: tuple[np.ndarray, np.ndarray] | None = None) -> TokenCheck:
    """Check a port's token ids (``tokens``, from :func:`~audioparity.tokens.as_tokens`).

    Parameters
    ----------
    codebook_size : int
        Ids per codebook (the codec's ``codebook_size``; a text LM's vocabulary size).
    codebooks_expected : int, optional
        Codebooks the consumer (the codec) reads; a different count is a problem.
    eos, pad : int, optional
        The EOS id (looked for in codebook 0) and a padding id allowed after it.
    ref : Tokens, optional
        The reference's ids for the same input (greedy generation, the codec's own codes).
        Where an offset was fitted without it, the port's ids are compared after
        subtracting that offset, so a second bug under it (swapped codebooks) is named.
    logits : (ref_logits, port_logits), optional
        ``[T, V]`` or ``[B, T, V]`` each; raises ``ValueError`` when their shapes cannot be
        compared.
    """
    if codebook_size < 1:
        raise ValueError(f"--codebook-size must be ≥ 1, got {codebook_size}")
    array = tokens.array
    stops = find_stops(array, eos, pad) if eos is not None else None
    lengths = content_lengths(stops, tokens.batch, tokens.frames)
    stats = [codebook_stats(q, [array[b, q, :n] for b, n in enumerate(lengths)], codebook_size)
             for q in range(tokens.codebooks)]
    present = [s for s in stats if s.count]
    offset = fit_offsets([s.min for s in present], [s.max for s in present], codebook_size) \
        if len(present) == len(stats) and present else None
    result = TokenCheck(tokens, codebook_size, stats, offset, codebooks_expected, eos, pad,
                        stops)
    result.problems += _range_problems(stats, offset, codebook_size)
    result.problems += _count_problems(tokens.codebooks, codebooks_expected)
    result.problems += _degeneracy_problems(stats, tokens.batch)
    ref_stops = None
    if ref is not None:
        ref_stops = find_stops(ref.array, eos, pad) if eos is not None else None
        result.ref_tokens = ref
        port_ids = array
        if offset is not None:  # one bug at a time: what is left once the offset is undone?
            port_ids = array - np.asarray(offset.offsets)[None, :, None]
            result.notes.append(f"compared with the reference after subtracting the fitted "
                                f"offsets {_short(offset.offsets)}")
        result.ref = compare_tokens(ref.array, port_ids,
                                    content_lengths(ref_stops, ref.batch, ref.frames), lengths)
        result.problems += _ref_problems(result.ref)
    if stops is not None:
        result.problems += _eos_problems(stops, eos, ref_stops, result.notes)
    if logits is not None:
        result.logits = compare_logits(*logits)
        result.problems += _logits_problems(result.logits)
    return result


def _range_problems(stats: list[CodebookStats], offset: OffsetFit | None, n: int
                    ) -> list[Problem]:
    if offset is not None:
        if offset.flat:
            detail = (f"codebook c's ids all lie in [c·{n}, (c+1)·{n}): flat-vocabulary ids "
                      f"token + cb × {n} (offsets {_short(offset.offsets)})")
            hint = (f"subtract cb × {n} before the codec: the talker's vocabulary is flat "
                    f"(a talker vocabulary flattened as token + cb * {n})")
        else:
            fit = "" if offset.exact else f" (any base in {offset.base_low}..{offset.base_high} fits)"
            detail = (f"every codebook's ids are shifted: offsets {_short(offset.offsets)}"
                      f"{fit}; minus them, all ids are in [0, {n})")
            hint = ("subtract the codec-id base before the codec (a talker's codec ids often "
                    "follow its text vocabulary) and check `token + cb * codebook_size`")
        return [Problem("offset", detail, hint, "offset", offset.to_json())]
    bad = [s for s in stats if "out_of_range" in s.flags]
    if not bad:
        return []
    parts = [f"codebook {s.index}: {s.negative} < 0, {s.over} ≥ {n} (range {s.min}..{s.max})"
             for s in bad[:8]]
    return [Problem("range", f"ids outside [0, {n}): " + "; ".join(parts)
                    + ("; …" if len(bad) > 8 else ""),
                    "a wrong vocabulary / codebook size in the talker config, special ids "
                    "(BOS/EOS/pad) left in the stream, or an embedding lookup that wraps",
                    params={"codebooks": [s.index for s in bad],
                            "negative": [s.negative for s in bad],
                            "over": [s.over for s in bad]})]


def _count_problems(found: int, expected: int | None) -> list[Problem]:
    if expected is None or found == expected:
        return []
    if found > expected:
        hint = (f"take the first {expected}: tokens[:, :{expected}] for [B, Q, T] "
                f"(a talker that emits more codebooks than its codec reads)")
    else:
        hint = "the port drops codebooks: check num_quantizers / n_q and the code predictor"
    return [Problem("codebook_count", f"{found} codebooks where the codec expects {expected}",
                    hint, params={"found": found, "expected": expected})]


def _degeneracy_problems(stats: list[CodebookStats], batch: int) -> list[Problem]:
    """One problem per distinct finding; codebooks with the same finding share it."""
    found: dict[str, list[CodebookStats]] = {}
    for s in stats:
        parts = []
        if "constant" in s.flags:
            parts.append(f"constant: every id is {s.top_token}")
        if "low_diversity" in s.flags:
            parts.append(f"only {s.unique} distinct ids in {s.count} (entropy {s.entropy:.2f})")
        if "dominant" in s.flags:
            parts.append(f"id {s.top_token} is {s.top_share:.0%} of the stream")
        if "stuck" in s.flags and s.repeat is not None:
            r = s.repeat
            what = "one id" if r.period == 1 else f"a cycle of period {r.period}"
            where = f" of sequence {s.repeat_sequence}" if batch > 1 else ""
            parts.append(f"repeats {what} for {r.length} frames from frame {r.start}{where} "
                         f"({s.repeat_share:.0%})")
        if parts:
            found.setdefault("; ".join(parts), []).append(s)
    return [Problem("degenerate", f"{_codebooks(group)}: {detail}",
                    "a collapsed or looping generation: check that the talker's conditioning "
                    "(thinker hidden states) varies, the KV-cache positions and attention "
                    "mask, and the sampling settings",
                    params={"codebooks": [s.index for s in group],
                            "flags": sorted({f for s in group for f in s.flags
                                             if f != "out_of_range"})})
            for detail, group in found.items()]


def _codebooks(group: list[CodebookStats]) -> str:
    indices = [s.index for s in group]
    if len(indices) == 1:
        return f"codebook {indices[0]}"
    if indices == list(range(indices[0], indices[-1] + 1)):
        return f"codebooks {indices[0]}-{indices[-1]}"
    return "codebooks " + ", ".join(map(str, indices))


def _eos_problems(stops: list[SequenceStop], eos: int, ref_stops: list[SequenceStop] | None,
                  notes: list[str]) -> list[Problem]:
    problems = []
    for s in stops:
        ref_stop = ref_stops[s.index] if ref_stops and s.index < len(ref_stops) else None
        if s.stop_reason == "length":
            if ref_stop is not None and ref_stop.stop_reason == "length":
                notes.append(f"sequence {s.index}: no EOS, like the reference")
                continue
            problems.append(Problem(
                "eos", f"sequence {s.index}: EOS {eos} never emitted (stop reason: length)",
                "the port misses the stop token: check the EOS id, that the stop check reads "
                "codebook 0 / the sampled id, and suppressed or masked special tokens",
                params={"sequence": s.index, "stop_reason": "length"}))
        elif s.eos_frame == 0:
            problems.append(Problem(
                "eos", f"sequence {s.index}: EOS {eos} in the first frame (nothing generated)",
                "the prompt / prefill ends wrongly or EOS is not suppressed at step 0",
                params={"sequence": s.index, "eos_frame": 0}))
        if s.after_eos:
            problems.append(Problem(
                "eos", f"sequence {s.index}: {s.after_eos} ids after EOS at frame "
                       f"{s.eos_frame}",
                "stop generating (or pad) once EOS is sampled; pass --pad for a padding id",
                params={"sequence": s.index, "eos_frame": s.eos_frame,
                        "after_eos": s.after_eos}))
    return problems


def _ref_problems(cmp: RefComparison) -> list[Problem]:
    problems = []
    if cmp.ref_shape[:2] != cmp.port_shape[:2]:
        problems.append(Problem(
            "ref", f"port has {cmp.port_shape[0]} sequences × {cmp.port_shape[1]} codebooks, "
                   f"the reference {cmp.ref_shape[0]} × {cmp.ref_shape[1]}",
            "compare like with like: the same batch and the codebooks the codec reads",
            params={"ref_shape": cmp.ref_shape, "port_shape": cmp.port_shape}))
    if any(cmp.length_difference):
        problems.append(Problem(
            "ref", f"lengths differ (port − ref frames per sequence: "
                   f"{_short(cmp.length_difference)})",
            "a different stop: compare the EOS step and max length settings",
            params={"length_difference": cmp.length_difference}))
    m = cmp.first_mismatch
    if m is not None:
        best = cmp.causes[0] if cmp.causes else None
        named = f"; {best.cause}: {best.detail}" if best else ""
        agree = ", ".join(f"{a:.0%}" for a in cmp.agreement[:16])
        seq = f", sequence {m['sequence']}" if cmp.compared[0] > 1 else ""
        problems.append(Problem(
            "ref", f"first mismatch at frame {m['frame']}, codebook {m['codebook']}{seq}"
                   f": ref {m['ref']}, port {m['port']} (agreement per codebook: {agree})"
                   f"{named}",
            best.hint if best else "the streams continue differently from there: compare "
                                   "that step's logits (--logits) or its trace",
            best.cause if best else None,
            {"first_mismatch": m, **(best.params if best else {})}))
    return problems


def _logits_problems(agreement: LogitsAgreement) -> list[Problem]:
    problems = []
    if agreement.ref_shape[:2] != agreement.port_shape[:2]:
        problems.append(Problem("logits", f"logits shapes differ: ref {agreement.ref_shape}, "
                                          f"port {agreement.port_shape} (compared "
                                          f"{agreement.steps} common steps)"))
    if agreement.nonfinite:
        problems.append(Problem("logits", f"{agreement.nonfinite} NaN/+inf port logits",
                                "find where NaN first appears: audioparity compare on a trace",
                                "nonfinite"))
    m = agreement.first_argmax_mismatch
    if m is not None:
        tie = m["ref_margin"] < _NEAR_TIE
        problems.append(Problem(
            "logits", f"argmax first differs at step {m['step']}"
                      f"{'' if m['sequence'] == 0 else ' of sequence ' + str(m['sequence'])}: "
                      f"ref {m['ref_token']} (top-1 margin {m['ref_margin']:.3g}), port "
                      f"{m['port_token']}; top-1 agreement {agreement.top1_agreement:.1%}, "
                      f"KL mean {agreement.kl_mean:.3g} / max {agreement.kl_max:.3g} nats",
            ("a near tie in the reference: reduced precision (bf16, quantization) can flip it"
             if tie else f"the distributions diverge by step {m['step']}: compare the traces "
                         f"of that step (@{m['step']}/…) with audioparity compare"),
            "precision" if tie else None, {"first_argmax_mismatch": m}))
    return problems


def _short(values: list[int]) -> str:
    return str(values if len(values) <= 16 else [*values[:16], "…"])
