"""Decoder probes: feed a token→audio decoder zero, constant, repeated, random and the
reference's tokens, judge each output, and say whether the decoder or its input is at fault.

Without a reference decoder each output is judged against what its probe should give
(:data:`~audioparity.probe.probe_tokens.EXPECTED`): the audio verdict for the reference's
and the port's tokens, periodicity for constant and repeated tokens. With one, each output
is compared with the reference decoder's output on the same tokens (lag, gain, SNR …) —
what a porter with random or unfamiliar weights can rely on.

Fault: the reference's tokens giving the wrong audio blame the decoder; a decoder right on
every probe whose port tokens still give the wrong audio blames what made the tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..audio.compare import compare_audio
from ..audio.metrics import describe
from ..audio.vad import silero_opinion
from ..audio.verdict import GOOD_VERDICTS, classify
from .decoders import Decoded, Decoder
from .periodicity import periodicity
from .probe_tokens import ProbeTokens

#: periodicity at or above which audio repeats with its input's period
PERIODIC = 0.9
#: below this SNR (dB) two decodes of the same tokens are not the same audio, even when no
#: lag, gain or clipping explains the difference (float32 vs float64: over 100 dB; bf16
#: weights: 30-40 dB)
MATCH_SNR_DB = 20.0
#: verdicts a probe that must give audio may not give
NOT_AUDIO = ("silence", "empty", "invalid")


@dataclass
class ProbeOutcome:
    """One probe's audio and how it was judged.

    ``ok``: met its expectation (or matched the reference decoder); None when the decoder
    gave no audio (``failure`` says why). ``speech_fraction``: Silero VAD's share of speech
    windows (0..1) when asked for. ``vs_ref``: the comparison with the reference
    decoder's audio on the same tokens, when there is one.
    """

    name: str
    expected: str
    tokens_shape: tuple[int, ...]
    failure: str | None = None
    sr: int | None = None
    duration_s: float | None = None
    verdict: str | None = None
    periodicity: float | None = None
    speech_fraction: float | None = None
    vs_ref: dict | None = None
    ok: bool | None = None
    why: str = ""

    def to_json(self) -> dict:
        return {"probe": self.name, "expected": self.expected,
                "tokens_shape": list(self.tokens_shape), "ok": self.ok, "why": self.why,
                "failure": self.failure, "sample_rate_hz": self.sr,
                "duration_s": self.duration_s, "verdict": self.verdict,
                "periodicity": self.periodicity, "vad_speech_fraction": self.speech_fraction,
                "vs_ref": self.vs_ref}


@dataclass
class DecoderProbe:
    """Every probe's outcome and the verdict: ``fault`` is ``none``, ``decoder``,
    ``upstream`` or ``unknown``."""

    outcomes: list[ProbeOutcome]
    fault: str
    detail: str
    compared: bool
    notes: list[str] = field(default_factory=list)
    audio: dict[str, Decoded] = field(default_factory=dict, repr=False)
    """Each probe's decode by the port decoder (for listening; not in the JSON)."""
    ref_audio: dict[str, Decoded] = field(default_factory=dict, repr=False)
    """Each probe's decode by the reference decoder, where there is one."""

    @property
    def checked(self) -> bool:
        """Some probe gave audio."""
        return any(o.failure is None for o in self.outcomes)

    @property
    def status(self) -> str:
        """``ok``, ``problem``, or ``error`` when no probe gave audio."""
        if not self.checked:
            return "error"
        bad = self.fault in ("decoder", "upstream") or any(o.ok is not True
                                                            for o in self.outcomes)
        return "problem" if bad else "ok"

    def outcome(self, name: str) -> ProbeOutcome | None:
        return next((o for o in self.outcomes if o.name == name), None)

    def to_json(self) -> dict:
        return {"status": self.status, "fault": self.fault, "detail": self.detail,
                "compared_with_reference_decoder": self.compared, "notes": self.notes,
                "probes": [o.to_json() for o in self.outcomes]}


def _hop(decoded: Decoded, frames: int) -> int | None:
    """Samples per token frame, from the output's length."""
    if decoded.audio is None or frames < 1 or len(decoded.audio) < frames:
        return None
    return round(len(decoded.audio) / frames)


def _measure(probe: ProbeTokens, decoded: Decoded, vad: bool) -> ProbeOutcome:
    out = ProbeOutcome(probe.name, probe.expected, tuple(probe.tokens.shape))
    if decoded.failure is not None:
        out.failure, out.why = decoded.failure, decoded.failure
        return out
    y, sr = decoded.audio, decoded.sr
    out.sr, out.duration_s = sr, len(y) / sr
    nonfinite = int(np.count_nonzero(~np.isfinite(y)))
    clean = np.where(np.isfinite(y), y, 0.0).astype(np.float32)
    metrics = describe(clean, sr)
    opinion = silero_opinion(clean, sr) if vad and not nonfinite and metrics.duration_s > 0.05 \
        else None
    out.verdict = classify(metrics, opinion, nonfinite).verdict
    if opinion is not None and opinion.used:
        out.speech_fraction = opinion.speech_fraction
    hop = _hop(decoded, probe.tokens.shape[-1])
    if probe.period_frames and hop and not nonfinite:
        value = periodicity(clean, probe.period_frames * hop)
        out.periodicity = None if np.isnan(value) else value
    return out


def _expectation(out: ProbeOutcome) -> tuple[bool, str]:
    """Whether an output is what its probe should give, and why (no reference decoder)."""
    if out.verdict == "invalid":
        return False, "NaN/Inf samples"
    if out.name in ("zeros", "constant", "pattern"):
        if out.verdict == "silence" and out.name != "pattern":
            return True, "silence"
        if out.periodicity is None:
            return False, f"{out.verdict}, periodicity not measurable"
        verb = "repeats" if out.periodicity >= PERIODIC else "does not repeat"
        return out.periodicity >= PERIODIC, (f"{out.verdict}; {verb} with the input's "
                                             f"period (correlation {out.periodicity:.3f})")
    if out.name == "random":
        return out.verdict not in NOT_AUDIO, out.verdict or ""
    return out.verdict in GOOD_VERDICTS, out.verdict or ""


def _versus(ref: Decoded, port: Decoded) -> dict:
    """The port decoder's audio against the reference decoder's on the same tokens."""
    if ref.failure is not None:
        why = f"reference decoder: {ref.failure}"
        return {"match": None, "summary": why, "detail": why}
    r = np.nan_to_num(ref.audio).astype(np.float32)
    p = np.nan_to_num(port.audio).astype(np.float32)
    if not np.any(r) and not np.any(p):  # exact: both all zeros
        return {"match": True, "snr_db": float("inf"), "correlation": 1.0, "causes": [],
                "summary": "both silent", "detail": "both silent"}
    result = compare_audio(r, ref.sr, p, port.sr, quality=False)
    causes = [c["cause"] for c in result.causes]
    snr = result.scores.get("snr_db", float("nan"))
    match = not causes and not result.duration_mismatch and snr >= MATCH_SNR_DB
    head = (f"SNR {snr:.1f} dB" + (f" < {MATCH_SNR_DB:g}" if snr < MATCH_SNR_DB else "")
            + f", correlation {result.correlation:.3f}")
    tail = "; durations differ" if result.duration_mismatch else ""
    named = [c for c in result.causes if c["cause"] != "unknown"]
    return {"match": match, "snr_db": snr, "correlation": result.correlation,
            "causes": causes, "duration_ratio": result.duration_ratio,
            "summary": head + "".join(f"; {c['cause']}" for c in named) + tail,
            "detail": head + "".join(f"; {c['cause']}: {c['detail']}" for c in named) + tail}


def _fault_with_ref(outcomes: list[ProbeOutcome], port_vs_ref_tokens: dict | None
                    ) -> tuple[str, str]:
    by = {o.name: o for o in outcomes}
    ref_probe = by.get("reference")
    if ref_probe is not None and ref_probe.ok is False:
        return "decoder", ("on the reference's own tokens the port decoder's audio differs "
                           f"from the reference decoder's ({ref_probe.vs_ref['detail']}): "
                           "the decoder is at fault")
    wrong = [o.name for o in outcomes if o.name != "port" and o.ok is False]
    if wrong:
        return "decoder", (f"the port decoder's audio differs from the reference decoder's "
                           f"on {', '.join(wrong)} tokens: the decoder is at fault")
    if port_vs_ref_tokens is not None and port_vs_ref_tokens.get("match") is False:
        return "upstream", ("the decoder matches the reference decoder on every probe, but "
                            "the port's own tokens give audio unlike the reference's tokens "
                            f"({port_vs_ref_tokens['detail']}): what made the tokens is at "
                            "fault")
    return "none", "the port decoder matches the reference decoder on every probe it decoded"


def _fault_alone(outcomes: list[ProbeOutcome]) -> tuple[str, str]:
    by = {o.name: o for o in outcomes}
    ref_probe, port_probe = by.get("reference"), by.get("port")
    if ref_probe is not None and ref_probe.ok is False:
        return "decoder", (f"the reference's tokens give {ref_probe.why} instead of "
                           "speech-like audio: the decoder is at fault")
    if port_probe is not None and port_probe.ok is False and ref_probe is not None \
            and ref_probe.ok:
        return "upstream", (f"the reference's tokens give {ref_probe.verdict} but the "
                                f"port's own tokens give {port_probe.why}: what made the "
                                "tokens is at fault")
    wrong = [f"{o.name} ({o.why})" for o in outcomes
             if o.name in ("zeros", "constant", "pattern", "random") and o.ok is False]
    if wrong:
        return "decoder", f"synthetic probes give the wrong audio: {'; '.join(wrong)}"
    if port_probe is not None and port_probe.ok is False:
        return "unknown", (f"the port's own tokens give {port_probe.why}; give the "
                           "reference's tokens (--tokens) to tell the decoder from its input")
    if ref_probe is None:
        return "unknown", ("synthetic probes look right; give the reference's tokens "
                           "(--tokens) or a reference decoder to judge speech")
    return "none", "the reference's tokens give speech-like audio"


def _token_agreement(probes: list[ProbeTokens]) -> str | None:
    """Words on how far the port's tokens agree with the reference's (same-shape part)."""
    by = {p.name: p.tokens for p in probes}
    if "reference" not in by or "port" not in by:
        return None
    ref, port = by["reference"][0], by["port"][0]
    q, t = min(ref.shape[0], port.shape[0]), min(ref.shape[1], port.shape[1])
    if q == 0 or t == 0:
        return None
    same = ref[:q, :t] == port[:q, :t]
    per = ", ".join(f"{k}: {same[k].mean():.0%}" for k in range(min(q, 8)))
    shape = "" if ref.shape == port.shape else \
        f" (first {t} frames of {ref.shape[1]} vs {port.shape[1]})"
    return (f"the port's tokens equal the reference's at {same.mean():.1%} of positions"
            f"{shape}; per codebook {per}{', …' if q > 8 else ''} "
            "(audioparity tokens check PORT --ref REF says why)")


def probe_decoder(decoder: Decoder, probes: list[ProbeTokens],
                  reference: Decoder | None = None,
                  on_probe: Callable[[str], None] | None = None,
                  vad: bool = False) -> DecoderProbe:
    """Run every probe through ``decoder`` (and ``reference``), judge, and give the verdict.

    ``on_probe(name)`` is called after each probe (progress). ``vad`` asks Silero VAD (where
    installed) for a second opinion on speech, as ``audio inspect`` does. A decoder that
    crashes or times out on a probe is reported on that probe; the others still run.
    """
    outcomes, ref_audio, port_audio = [], {}, {}
    for probe in probes:
        decoded = decoder.decode(probe.tokens)
        port_audio[probe.name] = decoded
        outcome = _measure(probe, decoded, vad)
        if reference is not None and probe.name != "port":  # port tokens: vs ref tokens
            ref_audio[probe.name] = reference.decode(probe.tokens)
        if outcome.failure is None:
            if reference is not None and probe.name != "port":
                outcome.vs_ref = _versus(ref_audio[probe.name], decoded)
                outcome.ok = outcome.vs_ref["match"]
                outcome.why = outcome.vs_ref["summary"]
                if outcome.ok is None:  # the reference decoder failed: judge alone
                    outcome.ok, outcome.why = _expectation(outcome)
            else:
                outcome.ok, outcome.why = _expectation(outcome)
        outcomes.append(outcome)
        if on_probe:
            on_probe(probe.name)
    notes = [f"reference decoder failed on {name}: {d.failure}"
             for name, d in ref_audio.items() if d.failure]
    agreement = _token_agreement(probes)
    if agreement:
        notes.append(agreement)
    if reference is None:
        fault, detail = _fault_alone(outcomes)
        return _with_failures(DecoderProbe(outcomes, fault, detail, compared=False,
                                           notes=notes, audio=port_audio))
    port_vs_ref_tokens = None
    port_out = next((o for o in outcomes if o.name == "port"), None)
    if port_out is not None and port_out.failure is None and "reference" in ref_audio:
        port_vs_ref_tokens = _versus(ref_audio["reference"], port_audio["port"])
        port_out.vs_ref = port_vs_ref_tokens
        port_out.ok = port_vs_ref_tokens["match"]
        port_out.why = ("vs the reference decoder on the reference's tokens: "
                        + port_vs_ref_tokens["summary"])
    fault, detail = _fault_with_ref(outcomes, port_vs_ref_tokens)
    if not any(o.failure is None and o.vs_ref for o in outcomes):
        fault, detail = "unknown", "the reference decoder gave no audio to compare with"
    return _with_failures(DecoderProbe(outcomes, fault, detail, compared=True, notes=notes,
                                       audio=port_audio, ref_audio=ref_audio))


def _with_failures(result: DecoderProbe) -> DecoderProbe:
    """A decoder that crashed or timed out on some probe is at fault when nothing else is."""
    failed = [f"{o.name} ({o.failure})" for o in result.outcomes if o.failure]
    if not result.checked:
        result.fault, result.detail = "unknown", "no probe gave audio: " + "; ".join(failed)
    elif failed and result.fault in ("none", "unknown"):
        result.fault = "decoder"
        result.detail = (f"the decoder gave no audio on {'; '.join(failed)}; elsewhere: "
                         + result.detail)
    return result
