"""Where did the first divergence go? A SQLite history of compares across port revisions.

``compare --history DB`` appends each compare's summary (:func:`run_from_compare`,
:func:`append_run`); ``audioparity history DB`` reads them back (:func:`read_runs`) and shows
how the first divergence moved from one port revision to the next (:func:`moves`).
"""

from .fingerprint import Fingerprint, fingerprint
from .movement import Move, moves, regressed
from .run import Run, run_from_compare
from .store import append_run, check_history, read_runs

__all__ = ["Fingerprint", "Move", "Run", "append_run", "check_history", "fingerprint",
           "moves", "read_runs", "regressed", "run_from_compare"]
