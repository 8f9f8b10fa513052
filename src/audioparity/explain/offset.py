"""``offset``: integer tokens differ by a constant, or by one constant per codebook.

Seed 003: Code2Wav looks tokens up in one flat embedding table with
``flat_index = token + cb * 4096``; a port that adds the offset twice, or never, shifts every
codebook's ids by ``cb * 4096``. ``params["offsets"][i]`` is ``port - ref`` for slice ``i``
along ``params["axis"]``; ``params["step"]`` is set when the offsets grow by a constant step.

Example
-------
>>> ref = np.random.default_rng(0).integers(0, 4096, size=(1, 50, 8))
>>> match(ref, ref + np.arange(8) * 4096, ExplainContext()).params["step"]
4096
"""

from __future__ import annotations

import numpy as np

from .arrays import axis_name, rows_along
from .finding import ExplainContext, Finding
from .registry import signature

_MAX_SLICES = 64
_AGREE = 0.99  # fraction of a slice that must carry its offset (wrap-around and edits aside)


def _mode(row: np.ndarray) -> tuple[int, float]:
    values, counts = np.unique(row, return_counts=True)
    i = int(np.argmax(counts))
    return int(values[i]), float(counts[i] / row.size)


@signature("offset", dtypes="integer")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    d = port.astype(np.int64) - ref.astype(np.int64)
    if not d.any():
        return None
    value, agree = _mode(d.ravel())
    if agree >= _AGREE and value != 0:
        return Finding("offset", 0.95 * agree,
                       f"port = ref {'+' if value > 0 else '-'} {abs(value)} "
                       f"({agree:.1%} of tokens)", {"axis": None, "offsets": [value],
                                                     "step": None, "agree": agree},
                       f"remove the constant {value:+d} the port adds to the token ids")
    best: tuple[float, int, list[int]] | None = None
    for axis in range(d.ndim):
        if not 2 <= d.shape[axis] <= _MAX_SLICES:
            continue
        rows = rows_along(d, axis)
        modes = [_mode(row) for row in rows]
        worst = min(a for _, a in modes)
        offsets = [v for v, _ in modes]
        if worst >= _AGREE and any(offsets) and (best is None or worst > best[0]):
            best = (worst, axis, offsets)
    if best is None:
        return None
    agree, axis, offsets = best
    steps = np.diff(offsets)
    step = int(steps[0]) if steps.size and np.all(steps == steps[0]) and steps[0] else None
    pattern = f" = {offsets[0]:+d} + i × {step}" if step else ""
    shown = offsets if len(offsets) <= 16 else offsets[:16] + ["…"]
    return Finding("offset", 0.95 * agree,
                   f"port - ref is constant per slice of {axis_name(d.ndim, axis)}: "
                   f"offsets {shown}{pattern} ({agree:.1%} of tokens agree)",
                   {"axis": axis, "offsets": offsets, "step": step, "agree": agree},
                   "the port adds a per-codebook offset the reference does not (or misses "
                   "one): check `token + cb * codebook_size` on both sides of the lookup")
