"""Isolate components: run each on the reference's own recorded inputs, so errors do not
compound, and patch one to see whether everything downstream recovers (docs/isolate.md).

>>> result = isolate("ref.safetensors", port_model)
>>> [(r.name, r.verdict) for r in result.rows]
[('encoder', 'bug'), ('quantizer', 'victim'), ('decoder', 'bug')]
>>> patch("ref.safetensors", port_model, "encoder").still_divergent
['decoder', 'output']
"""

from .callable_port import CallablePort
from .check import Check
from .engine import isolate
from .export import export_inputs
from .file_port import file_port
from .patching import patch
from .port import Port, as_port
from .result import ComponentRow, IsolationResult, PatchResult

__all__ = ["CallablePort", "Check", "ComponentRow", "IsolationResult", "PatchResult", "Port",
           "as_port", "export_inputs", "file_port", "isolate", "patch"]
