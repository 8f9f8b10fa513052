"""Compare a port's trace with the reference's: align, measure, find the first divergence.

>>> result = compare_traces("ref.safetensors", "port.npz")
>>> result.status, result.first_divergence.name
('divergent', 'model.layers.0.self_attn.apply_rotary_pos_emb')
"""

from .align import Alignment, Pair, align
from .engine import compare_traces
from .mapping import MapRules, load_rules, rules_from_dict
from .metrics import PairMetrics, pair_metrics
from .result import CompareResult, FirstDivergence, PairResult
from .tolerance import Tol, default_tolerance

__all__ = [
    "Alignment", "CompareResult", "FirstDivergence", "MapRules", "Pair", "PairMetrics",
    "PairResult", "Tol", "align", "compare_traces", "default_tolerance", "load_rules",
    "pair_metrics", "rules_from_dict",
]
