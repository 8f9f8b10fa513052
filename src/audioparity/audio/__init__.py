"""Is the audio a port emits right? Metrics, a verdict, and comparison with the reference.

Pure functions of ``(y, sr)`` live in :mod:`.metrics`, :mod:`.spectral`, :mod:`.pitch` and
:mod:`.distances`; :mod:`.verdict` names what a clip is, :mod:`.align` and :mod:`.compare`
set a port's audio against the reference's, :mod:`.mel_check` judges an intermediate mel,
and :mod:`.plots` draws (the only module that imports matplotlib).
"""

from __future__ import annotations

from .compare import AudioComparison, compare_audio, compare_files
from .inspection import Inspection, inspect_file
from .io import AudioClip, load_audio
from .mel_check import MelReport, check_mel
from .metrics import AudioMetrics, describe
from .verdict import VERDICTS, Verdict, classify

__all__ = ["VERDICTS", "AudioClip", "AudioComparison", "AudioMetrics", "Inspection",
           "MelReport", "Verdict", "check_mel", "classify", "compare_audio", "compare_files", "describe",
           "inspect_file", "load_audio"]
