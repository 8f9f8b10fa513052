"""Why two generations differ, in words: the reasons the generation section gives after
its numbers (``why`` in the JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..tokens.codebooks import STUCK_SHARE
from ..tokens.loops import longest_repeat
from .record import GenerationRecord

if TYPE_CHECKING:
    from .compare import GenerationComparison

#: a first argmax flip whose reference margin is below this (logits) is a near tie
NEAR_TIE = 0.1
FIRST_TOKEN = "wrong from the first token: the prompt's forward pass"


def reasons(c: GenerationComparison, ref: GenerationRecord,
            port: GenerationRecord) -> list[str]:
    """Plain-language reasons for what differs, most specific first: a masked EOS, a near
    tie, a wrong first token, logits that agree on a token drawn differently, a port that
    never stops, ignores its EOS or is stuck repeating itself."""
    out = []
    a, t = c.first_argmax_mismatch, c.first_token_mismatch
    eos = set(ref.eos or [])
    if a is not None:
        at = a["step"]
        row = port.logits(at)[a["sequence"]] if port.has_logits else None
        if a["ref_token"] in eos and row is not None and \
                np.all(np.isneginf(row[[e for e in sorted(eos) if e < row.size]])):
            out.append(f"the port masks EOS: its EOS logit is -inf at step {at}, where the "
                       "reference emits EOS")
        elif a["ref_token"] in eos:
            out.append(f"the reference emits EOS at step {at}; the port prefers "
                       f"{a['port_token']}")
        if a["ref_margin"] is not None and a["ref_margin"] < NEAR_TIE and \
                (a["kl"] is None or a["kl"] < 10 * c.kl_tol):
            out.append(f"near tie: the reference's top-1 leads by {a['ref_margin']:.3g} at "
                       f"step {at}: a precision difference can flip it")
        elif at == 0:
            out.append(f"{FIRST_TOKEN} differs — the per-tensor table of step @0/ shows the "
                       "first layer that does")
    elif t is not None and c.status == "divergent":
        step = next(s for s in c.steps if s.step == t["step"])
        logits_agree = step.top1 is not False and (step.kl is None or step.kl <= c.kl_tol)
        if logits_agree and c.replayed:
            u = ref.uniforms[t["step"], t["sequence"]] if ref.uniforms is not None else None
            drawn = f" with the same uniform {u:.4f}" if u is not None else ""
            out.append(f"the logits agree at step {t['step']} but the token drawn{drawn} "
                       f"differs (ref {t['ref_token']}, port {t['port_token']}): the port's "
                       "sampling differs (temperature, top-k/top-p, the inverse-CDF order)")
        elif logits_agree:
            out.append(f"the logits agree at step {t['step']} but the port emitted another "
                       "token: its decoding is not the reference's (greedy argmax expected)")
    if c.ref_stop.kind == "eos" and c.port_stop.kind == "length":
        out.append(f"the port never emits EOS: it runs to the length limit "
                   f"({c.port_stop.steps} steps; the reference stops at step "
                   f"{c.ref_stop.eos_step})")
        stuck = longest_repeat(port.tokens[:, 0])
        if stuck is not None and stuck.length >= STUCK_SHARE * port.steps:
            out.append(f"the port is stuck: from step {stuck.start} it repeats "
                       f"{'one token' if stuck.period == 1 else f'a cycle of {stuck.period}'} "
                       f"for {stuck.length} of its {port.steps} steps")
    elif c.port_stop.kind == "eos_ignored":
        out.append(f"the port emits EOS at step {c.port_stop.eos_step} but does not stop: "
                   "its stop check misses the EOS id")
    return out
