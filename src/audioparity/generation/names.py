"""The trace names of a generation record and of the random draws (documented in
``docs/generation.md``).

Per step ``k`` of an autoregressive loop (SPEC step prefix ``@k/``):

- ``@k/gen.logits`` ``[B, V]`` float: the next-token logits the step chose from;
- ``@k/gen.topk.values`` / ``@k/gen.topk.ids`` ``[B, K]``: the top-k instead of (or besides)
  the full logits, for vocabularies too large to store every step;
- ``@k/gen.token`` ``[B]`` int: the token the step emitted;
- ``@k/draws.uniform`` ``[B]`` float64: the uniform in ``[0, 1)`` the sampler drew;
- ``@k/draws.token`` ``[B]`` int: the sampled token, as a draw (a port that cannot take a
  uniform may take the token instead);
- ``@k/draws.noise``: a diffusion sampler's per-step noise.

Once per run: ``draws.noise.init``, a diffusion sampler's initial noise (latents).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

LOGITS = "gen.logits"
TOPK_VALUES = "gen.topk.values"
TOPK_IDS = "gen.topk.ids"
TOKEN = "gen.token"
UNIFORM = "draws.uniform"
DRAW_TOKEN = "draws.token"
NOISE = "draws.noise"
NOISE_INIT = "draws.noise.init"

_STEP = re.compile(r"^@(\d+)/(.+)$")


def step_name(step: int, base: str) -> str:
    """``@step/base``: the SPEC name of ``base`` at generation step ``step``."""
    return f"@{step}/{base}"


def parse_step(name: str) -> tuple[int | None, str]:
    """``(step, base)`` of a trace name; ``step`` is None for a name outside any step.

    >>> parse_step("@12/gen.logits")
    (12, 'gen.logits')
    """
    m = _STEP.match(name)
    return (int(m.group(1)), m.group(2)) if m else (None, name)


def steps_by_base(trace_names: Iterable[str]) -> dict[str, list[tuple[int, str]]]:
    """Every step-prefixed name grouped by base, ``{base: [(step, name), …]}`` in the
    names' order, in one pass.

    >>> steps_by_base(["x", "@0/gen.token", "@1/gen.token"])
    {'gen.token': [(0, '@0/gen.token'), (1, '@1/gen.token')]}
    """
    out: dict[str, list[tuple[int, str]]] = {}
    for name in trace_names:
        step, base = parse_step(name)
        if step is not None:
            out.setdefault(base, []).append((step, name))
    return out


def is_generation_name(name: str) -> bool:
    """True for the generation record and the draws (not a layer's tensor)."""
    base = parse_step(name)[1]
    return base.startswith(("gen.", "draws."))
