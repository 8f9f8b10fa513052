"""Weights: audit a converted checkpoint against its reference, fix it, and measure
quantization damage per tensor and per layer.

Modules, one concept each: :mod:`.checkpoint` (open any checkpoint, sharded sets too),
:mod:`.keymap` (which port tensor is which reference tensor), :mod:`.layout` (axis
permutations judged by values), :mod:`.weight_norm` (g/v spellings and fusing),
:mod:`.init_values` (tensors left at their initial values), :mod:`.audit`, :mod:`.fix`,
:mod:`.quant` (per-tensor quantization error), :mod:`.sensitivity` (per-layer end-to-end
study) and :mod:`.models` (tiny reference models for the study).
"""

from __future__ import annotations

from .audit import AuditReport, audit_checkpoints
from .checkpoint import Checkpoint, open_checkpoint

__all__ = ["AuditReport", "Checkpoint", "audit_checkpoints", "open_checkpoint"]
