"""Order a sweep's results best first (see :mod:`.score` for what the score means)."""

from __future__ import annotations

from .result import JobResult
from .score import BANDS

_BAND_ORDER = {name: i for i, name in enumerate(BANDS)}


def rank(results: list[JobResult]) -> list[JobResult]:
    """Scored jobs by score, best first, numbered from 1; then the jobs without a score
    (failed, timed out, no audio) in grid order, unnumbered.

    Without ``--ref`` the score's verdict bands do not overlap, and the band breaks a tie
    at a band's edge; with ``--ref`` similarity to the reference leads and the band is
    only a tie-break. Other ties keep grid order, so the ranking is the same on every run.
    """
    scored = sorted((r for r in results if r.assessment is not None),
                    key=lambda r: (-r.score, _BAND_ORDER[r.assessment.score.band],
                                   r.job.index))
    unscored = sorted((r for r in results if r.assessment is None), key=lambda r: r.job.index)
    for position, result in enumerate(scored, start=1):
        result.rank = position
    for result in unscored:
        result.rank = None
    return scored + unscored
