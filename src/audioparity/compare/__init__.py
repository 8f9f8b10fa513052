"""Compare a port's trace with the reference's: align, read the port in the reference's
layout, measure, find the first divergence (docs/compare.md).

>>> result = compare_traces("ref.safetensors", "port.npz")
>>> result.status, result.first_divergence.name
('divergent', 'model.layers.0.self_attn.apply_rotary_pos_emb')
>>> result.conventions
['port stores activations channels-last: 87 tensors']
"""

from .align import Alignment, Pair, align
from .completeness import Incomplete
from .engine import compare_traces
from .mapping import MapRules, load_rules, rules_from_dict
from .metrics import PairMetrics, pair_metrics
from .result import CompareResult, FirstDivergence, PairResult
from .suggest import render_suggested_map, write_suggested_map
from .tolerance import Tol, default_tolerance

__all__ = [
    "Alignment", "CompareResult", "FirstDivergence", "Incomplete", "MapRules", "Pair",
    "PairMetrics", "PairResult", "Tol", "align", "compare_traces", "default_tolerance",
    "load_rules", "pair_metrics", "render_suggested_map", "rules_from_dict",
    "write_suggested_map",
]
