"""Generation parity: record autoregressive loops step by step, replay the reference's random
draws in a port, and compare two generations (per-step top-1, top-k overlap, KL, the first
step whose argmax differs, stop reason, length ratio). See ``docs/generation.md``."""

from .compare import GenerationComparison, compare_generation
from .recorder import GenerationRecorder, record_generation
from .replay import Replay, ReplayError
from .sampling import inverse_cdf
from .transformers_generate import capture_generate

__all__ = ["GenerationComparison", "GenerationRecorder", "Replay", "ReplayError",
           "capture_generate", "compare_generation", "inverse_cdf", "record_generation"]
