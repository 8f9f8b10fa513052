"""Side-by-side timing shared by the benchmark scripts (run as ``python bench/NAME.py``, so
this folder is on ``sys.path``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_times(fns: dict[str, Callable[[], object]], repeats: int,
                 setups: dict[str, Callable[[], object]] | None = None) -> dict[str, float]:
    """Median wall time in seconds of each ``fn()``, run in rotation after one warm-up
    round; ``setups[key]()`` runs untimed before each ``fns[key]()``.

    Rotating the variants within every repeat keeps the ratios fair on a loaded machine:
    a slow spell hits all variants alike.
    """
    setups = setups or {}
    times: dict[str, list[float]] = {key: [] for key in fns}
    for repeat in range(repeats + 1):
        for key, fn in fns.items():
            if key in setups:
                setups[key]()
            start = time.perf_counter()
            fn()
            if repeat:  # the first round warms up
                times[key].append(time.perf_counter() - start)
    return {key: statistics.median(t) for key, t in times.items()}
