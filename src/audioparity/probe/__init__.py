"""Probes: run an implementation on inputs chosen to expose one kind of bug.

- :mod:`.conditioning`: the same implementation under two conditionings; which layers
  depend on the condition, and where the port stops depending on it.
- :mod:`.decoder_probe`: a token→audio decoder fed zero, constant, repeated, random and the
  reference's tokens; whether the decoder or its input is at fault.
"""

from __future__ import annotations

from .conditioning import ConditioningProbe, TensorDependence, probe_conditioning
from .dependence import dependence, judge
from .memory_trace import MappingTrace, as_trace, run_under

__all__ = ["ConditioningProbe", "MappingTrace", "TensorDependence", "as_trace", "dependence",
           "judge", "probe_conditioning", "run_under"]
