"""Generation parity of two traces: per step top-1, top-k overlap and KL, the first step
whose argmax differs, the first step whose token differs, the stop reason of each side and
the length ratio — and whether the comparison means anything.

A step's logits are comparable while both sides were fed the same tokens: up to and
including the first step whose tokens differ. Greedy decoding and sampling under replayed
draws (:mod:`.replay`) are deterministic, so a token that differs there is a divergence.
Sampling with each side's own random numbers makes two correct implementations part ways
by chance: their tokens are reported as not comparable, never as a divergence (the
comparable steps' logits still are checked). The replay is established by the port's
recorded ``@k/draws.uniform`` equal to the reference's, by its meta saying
``"replayed": true``, or asserted by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError, UsageError
from ..trace import Trace
from .names import LOGITS, is_generation_name, parse_step, step_name
from .record import GenerationRecord, read_record
from .steps import TOP_K, StepResult, compare_step
from .stop import Stop, stops_of
from .why import FIRST_TOKEN, reasons

#: per-step KL(ref || port) above this (nats) is a divergence even when the argmax agrees
KL_TOL = 1e-3
#: sequences of a batch named one by one in the headline before the rest are counted
SEQUENCES_NAMED = 2
#: at parity, distinct stops of a batch named in the headline (and sequence indices per
#: stop) before the rest are counted
STOPS_NAMED, INDICES_NAMED = 3, 4


def stops_differ(a: Stop, b: Stop) -> bool:
    """Whether two stops differ in reason or in the steps up to EOS."""
    return a.kind != b.kind or a.content_steps != b.content_steps


@dataclass
class GenerationComparison:
    """The generation section of a comparison (``compare``'s JSON key ``generation``).

    ``status``: ``parity``, ``divergent`` or ``not_meaningful`` (sampled without the same
    draws: the tokens cannot be compared). ``compared_steps``: steps whose logits were fed
    the same tokens on both sides (the per-tensor table is limited to them).
    ``ref_stop`` / ``port_stop``: sequence 0's stop; ``ref_stops`` / ``port_stops``: every
    sequence's of a batch (empty: sequence 0 only).
    """

    status: str
    ref_stop: Stop
    port_stop: Stop
    steps: list[StepResult]
    compared_steps: int
    sampled: bool
    replayed: bool
    replay_source: str | None
    first_argmax_mismatch: dict | None
    first_token_mismatch: dict | None
    first_logits_divergence: dict | None
    kl_tol: float
    why: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ref_stops: list[Stop] = field(default_factory=list)
    port_stops: list[Stop] = field(default_factory=list)

    #: the stop and length ratio say how far the port got (the engine's reach check is moot)
    checks_stop = True

    @property
    def diverges(self) -> bool:
        return self.status == "divergent"

    @property
    def stop_pairs(self) -> list[tuple[int, Stop, Stop]]:
        """(sequence, ref stop, port stop) of every sequence (sequence 0 alone without a
        batch)."""
        if not self.ref_stops:
            return [(0, self.ref_stop, self.port_stop)]
        return list(zip(range(len(self.ref_stops)), self.ref_stops, self.port_stops,
                        strict=True))

    @property
    def sequences_stopping_apart(self) -> list[tuple[int, Stop, Stop]]:
        """The sequences whose reference and port stop differently."""
        return [(b, r, p) for b, r, p in self.stop_pairs if stops_differ(r, p)]

    def batch_stops(self) -> str:
        """``"sequence 0: EOS at step 7; sequence 1: length limit (16 steps, no EOS)"``
        where the sequences of a batch stop unlike sequence 0 and the port stops as the
        reference; ``""`` otherwise."""
        pairs = self.stop_pairs
        if len(pairs) < 2 or any(stops_differ(r, p) for _, r, p in pairs):
            return ""
        groups: dict[str, list[int]] = {}
        for b, r, _ in pairs:
            groups.setdefault(r.describe(), []).append(b)
        if len(groups) < 2:
            return ""
        named = [f"{_sequences(bs)}: {what}" for what, bs in list(groups.items())[:STOPS_NAMED]]
        more = len(groups) - STOPS_NAMED
        return "; ".join(named) + (f"; +{more} other stops (see --json)" if more > 0 else "")

    def stop_difference(self) -> str:
        """How the two sides' stops differ, ``""`` when they do not: sequence 0's in full
        without a batch; in a batch the first :data:`SEQUENCES_NAMED` sequences that stop
        differently, the rest counted."""
        apart = self.sequences_stopping_apart
        if not apart:
            return ""
        if not self.ref_stops:
            return f"stop: ref {self.ref_stop.describe()}, port {self.port_stop.describe()}"
        named = [f"sequence {b}: ref {r.describe()}, port {p.describe()}"
                 for b, r, p in apart[:SEQUENCES_NAMED]]
        more = len(apart) - SEQUENCES_NAMED
        return "stop, " + "; ".join(named) + (
            f" (+{more} more sequences stop differently)" if more > 0 else "")

    @property
    def length_ratio(self) -> float:
        """Port's over reference's steps up to EOS (all steps without EOS)."""
        return self.port_stop.content_steps / max(self.ref_stop.content_steps, 1)

    @property
    def top1_agreement(self) -> float | None:
        known = [s.top1 for s in self.steps if s.top1 is not None]
        return float(np.mean(known)) if known else None

    @property
    def kl_max(self) -> float | None:
        known = [s.kl for s in self.steps if s.kl is not None]
        return float(max(known)) if known else None

    def keeps(self, name: str) -> bool:
        """Whether the per-tensor comparison should pair ``name``: a layer's tensor of a
        step both sides computed from the same tokens (the generation record itself is
        this section's)."""
        if is_generation_name(name):
            return False
        step = parse_step(name)[0]
        return step is None or step < self.compared_steps

    @property
    def first_bad_step(self) -> int | None:
        """The first step whose logits diverge (KL, non-finite values or the argmax)."""
        marks = [m["step"] for m in (self.first_logits_divergence,
                                     self.first_argmax_mismatch) if m is not None]
        return min(marks) if marks else None

    def locate(self, first_divergence: Any) -> None:
        """Name the first divergent tensor (and its best cause) of the first step whose
        logits diverge, when the per-tensor comparison found it there."""
        step = parse_step(first_divergence.name)[0]
        if step is None or step != self.first_bad_step:
            return
        causes = [c for c in first_divergence.causes if c.cause != "unknown"]
        why = f" ({causes[0].cause}, {causes[0].confidence:.2f})" if causes else ""
        self.why = [w for w in self.why if not w.startswith(FIRST_TOKEN)]
        lead = f"{FIRST_TOKEN} first differs at" if step == 0 else \
            f"step {step}'s first divergent tensor:"
        self.why.insert(0, f"{lead} {first_divergence.name}{why}")

    def headline(self) -> str:
        if self.status == "not_meaningful":
            m = self.first_token_mismatch
            return (f"generation not comparable: sampled without the reference's draws, tokens "
                    f"part at step {m['step'] if m else '?'} by chance (replay the draws)")
        if self.status == "parity":
            return (f"generation parity: {len(self.steps)} steps, same tokens, "
                    f"{self.batch_stops() or self.ref_stop.describe()}")
        parts = []
        d = self.first_logits_divergence
        if d is not None and (self.first_argmax_mismatch is None
                              or d["step"] < self.first_argmax_mismatch["step"]):
            parts.append(f"logits first differ at step {d['step']} (KL {d['kl']:.3g} nats)")
        if self.first_argmax_mismatch is not None:
            a = self.first_argmax_mismatch
            parts.append(f"first argmax differs at step {a['step']} "
                         f"(ref {a['ref_token']}, port {a['port_token']})")
        elif self.first_token_mismatch is not None:
            t = self.first_token_mismatch
            parts.append(f"first token differs at step {t['step']} "
                         f"(ref {t['ref_token']}, port {t['port_token']})")
        if self.stop_difference():
            parts.append(self.stop_difference())
        return "generation divergent: " + "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"kind": "tokens", "status": self.status, "headline": self.headline(),
                "ref_steps": self.ref_stop.steps, "port_steps": self.port_stop.steps,
                "length_ratio": round(self.length_ratio, 4),
                "stop": {"ref": self.ref_stop.to_json(), "port": self.port_stop.to_json(),
                         "sequences": [{"sequence": b, "ref": r.to_json(), "port": p.to_json(),
                                        "differ": stops_differ(r, p)}
                                       for b, r, p in self.stop_pairs]},
                "compared_steps": self.compared_steps, "sampled": self.sampled,
                "replayed": self.replayed, "replay_source": self.replay_source,
                "first_argmax_mismatch": self.first_argmax_mismatch,
                "first_token_mismatch": self.first_token_mismatch,
                "first_logits_divergence": self.first_logits_divergence,
                "top1_agreement": self.top1_agreement, "kl_max": self.kl_max,
                "kl_tol": self.kl_tol, "top_k": TOP_K, "why": self.why, "notes": self.notes,
                "steps": [s.to_json() for s in self.steps]}


def _replay(ref: GenerationRecord, port: GenerationRecord,
            asserted: bool) -> tuple[bool, str | None, list[str]]:
    """Whether the port took the reference's draws, how that is known, and notes."""
    if asserted and ref.uniforms is None:
        raise InputError(ref.path, "--replay: the reference recorded no draws "
                                   "(@k/draws.uniform): nothing to replay")
    if not ref.sampled:
        return False, None, []
    if port.uniforms is not None and ref.uniforms is not None:
        n = min(len(port.uniforms), len(ref.uniforms))
        if port.uniforms.shape[1] == ref.uniforms.shape[1] and \
                np.array_equal(port.uniforms[:n], ref.uniforms[:n]):  # exact: copied draws
            return True, "the port's recorded uniforms equal the reference's", []
        return False, None, [("the port recorded its own uniforms (@k/draws.uniform), not "
                              "the reference's: it did not replay the draws")]
    if port.replayed:
        return True, "the port's trace says it replayed the draws", []
    return (True, "asserted (--replay)", []) if asserted else (False, None, [])


def _first_token_mismatch(steps: list[StepResult]) -> dict | None:
    for s in steps:
        if not s.tokens_equal:
            b = next(i for i, (r, p) in enumerate(zip(s.ref_tokens, s.port_tokens,
                                                      strict=True)) if r != p)
            return {"step": s.step, "sequence": b, "ref_token": s.ref_tokens[b],
                    "port_token": s.port_tokens[b]}
    return None


def _first_argmax_mismatch(steps: list[StepResult]) -> dict | None:
    for s in steps:
        if s.top1 is False:
            b = next(i for i, (r, p) in enumerate(zip(s.ref_argmax, s.port_argmax,
                                                      strict=True)) if r != p)
            return {"step": s.step, "sequence": b, "ref_token": s.ref_argmax[b],
                    "port_token": s.port_argmax[b], "ref_margin": s.ref_margin,
                    "kl": s.kl}
    return None


def _first_logits_divergence(steps: list[StepResult], kl_tol: float) -> dict | None:
    for s in steps:
        if s.nonfinite or (s.kl is not None and s.kl > kl_tol):
            return {"step": s.step, "kl": s.kl, "max_abs": s.max_abs, "nonfinite": s.nonfinite}
    return None


def _port_record(ref: GenerationRecord, port_t: Trace) -> GenerationRecord:
    """The port's record, checked against the reference's: present, same batch and
    vocabulary (an :class:`~audioparity.errors.InputError` naming the port's file)."""
    port = read_record(port_t)
    if port is None:
        raise InputError(port_t.path, "the reference recorded a generation (@k/gen.token) "
                                      "but the port's trace has none: record the port's loop "
                                      "(audioparity.generation.record_generation)")
    if ref.batch != port.batch:
        raise InputError(port_t.path, f"{port.batch} sequences per step, the reference "
                                      f"{ref.batch}")
    if ref.has_logits and port.has_logits:
        ref_v, port_v = (side.trace.info(step_name(0, LOGITS)).shape[-1] for side in (ref, port))
        if ref_v != port_v:
            raise InputError(port_t.path, f"logits over {port_v} ids, the reference's over "
                                          f"{ref_v}: not the same vocabulary")
    return port


def compare_generation(ref_t: Trace, port_t: Trace, *, replay: bool = False,
                       kl_tol: float = KL_TOL) -> GenerationComparison | None:
    """The generation section of ``port_t`` against ``ref_t``; None when the reference
    recorded no generation (``@k/gen.token``).

    ``replay`` asserts that the port took the reference's draws (an
    :class:`~audioparity.errors.InputError` when the reference recorded none).

    Raises
    ------
    InputError
        A malformed record (missing steps, steps of different lengths), a port without a
        generation record, or logits of different vocabularies.
    """
    ref = read_record(ref_t)
    if ref is None:
        if replay:
            raise InputError(ref_t.path, "--replay: the reference holds no generation record "
                                         "(@k/gen.token) and no draws to replay")
        return None
    port = _port_record(ref, port_t)
    if kl_tol < 0:
        raise UsageError("the KL tolerance must be >= 0")
    replayed, source, notes = _replay(ref, port, replay)
    deterministic = not ref.sampled or replayed
    common = min(ref.steps, port.steps)
    steps: list[StepResult] = []
    for k in range(common):  # logits are comparable up to the first step tokens differ
        steps.append(compare_step(ref, port, k))
        if not steps[-1].tokens_equal:
            break
    ref_stops = stops_of(ref.tokens, ref.eos, ref.max_new_tokens)
    port_stops = stops_of(port.tokens, port.eos or ref.eos, ref.max_new_tokens)
    argmax = _first_argmax_mismatch(steps)
    token = _first_token_mismatch(steps)
    logits = _first_logits_divergence(steps, kl_tol)
    logits_bad = argmax is not None or logits is not None
    ends_differ = any(stops_differ(r, p) for r, p in zip(ref_stops, port_stops, strict=True))
    if logits_bad or (deterministic and (token is not None or ends_differ)):
        status = "divergent"
    elif token is not None or ends_differ:
        status = "not_meaningful"
        notes.append(f"sampled without the reference's draws: the tokens part at step "
                     f"{token['step'] if token else common} by chance, so they say nothing; "
                     f"the steps fed the same tokens ({len(steps)}) agree. Replay the "
                     "reference's draws in the port (audioparity.generation.Replay) to "
                     "compare every step")
    else:
        status = "parity"
    if ref.sampled and not replayed and status == "parity":
        notes.append("sampled without the reference's draws, yet every token agrees")
    result = GenerationComparison(status, ref_stops[0], port_stops[0], steps, len(steps),
                                  ref.sampled, replayed, source, argmax, token, logits, kl_tol,
                                  notes=notes,
                                  ref_stops=ref_stops if ref.batch > 1 else [],
                                  port_stops=port_stops if ref.batch > 1 else [])
    result.why = reasons(result, ref, port)
    return result


def _sequences(indices: list[int]) -> str:
    """``"sequence 1"``, ``"sequences 0, 2"``, ``"sequences 0, 2, 3, 5 … (9)"``."""
    shown = ", ".join(map(str, indices[:INDICES_NAMED]))
    more = f" … ({len(indices)})" if len(indices) > INDICES_NAMED else ""
    return f"sequence{'s' * (len(indices) > 1)} {shown}{more}"
