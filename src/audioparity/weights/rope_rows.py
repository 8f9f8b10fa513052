"""llama.cpp's Q/K row permutation for its interleaved RoPE, told apart by values.

Hugging Face Llama checkpoints rotate the two *halves* of each head (``rotate_half``);
llama.cpp's ``llama`` architecture rotates *adjacent pairs* (its ``NORM`` RoPE). Its
converter (``convert_hf_to_gguf.py``, ``LlamaModel.permute``) therefore reorders the rows
of ``q_proj`` and ``k_proj`` (weights and biases) within each head so that row ``2i`` holds
the first half's row ``i`` and row ``2i+1`` the second half's::

    w.reshape(n_head, 2, rows // n_head // 2, *rest).swapaxes(1, 2).reshape(w.shape)

with ``n_head = num_key_value_heads`` for ``k_proj``. The order depends only on the head
dimension (``rows // n_head``), so one ``head_dim`` serves both. Qwen2/Qwen3 GGUFs use
llama.cpp's NEOX (half-split) RoPE and keep the Hugging Face rows as they are.

A converter that runs twice, or a port that loads a llama GGUF's tensors into a half-split
RoPE, leaves the rows in another order; :func:`detect_row_order` names it from values.

Examples
--------
>>> import numpy as np
>>> permutation_index(8, 4).tolist()
[0, 2, 1, 3, 4, 6, 5, 7]
>>> w = np.arange(16.0).reshape(8, 2)
>>> detect_row_order(w, w[permutation_index(8, 4)], 4).name
'permuted'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

#: GGUF architectures whose llama.cpp converter applies ``LlamaModel.permute`` to Q/K
#: (``undo_permute = True`` or an explicit call in convert_hf_to_gguf.py's model classes).
PERMUTING_ARCHITECTURES = frozenset({
    "llama", "arcee", "deci", "deepseek", "llada", "minicpm", "olmo", "chameleon", "arctic"})

#: Row orders a port tensor can be in, relative to the reference (Hugging Face) rows.
ORDERS = {
    "reference": "the reference's (Hugging Face, half-split RoPE) row order",
    "permuted": "llama.cpp's interleaved-RoPE row order (LlamaModel.permute applied once)",
    "permuted_twice": "LlamaModel.permute applied twice",
    "inverse": "the inverse of LlamaModel.permute (undone on rows that were never permuted)",
}

_QK = re.compile(r"(?:^|\.)(q_proj|k_proj)\.(weight|bias)$")
#: Sample columns compared per candidate order on a 2-D tensor.
SAMPLE_COLUMNS = 64


def qk_projection(ref_name: str) -> str | None:
    """``'q'`` or ``'k'`` for a reference ``q_proj``/``k_proj`` weight or bias, else None."""
    m = _QK.search(ref_name)
    return None if m is None else m.group(1)[0]


def expected_order(architecture: str | None) -> str:
    """The row order a GGUF of this ``general.architecture`` should hold."""
    return "permuted" if architecture in PERMUTING_ARCHITECTURES else "reference"


def permutation_index(rows: int, head_dim: int) -> np.ndarray:
    """Row index of ``LlamaModel.permute``: ``permuted == ref[index]`` (``rows`` a multiple
    of ``head_dim``, ``head_dim`` even)."""
    n_head = rows // head_dim
    return np.arange(rows).reshape(n_head, 2, head_dim // 2).swapaxes(1, 2).reshape(-1)


def order_index(rows: int, head_dim: int, order: str) -> np.ndarray:
    """Row index of ``order``: a port tensor in that order is ``ref[index]``."""
    p = permutation_index(rows, head_dim)
    return {"reference": np.arange(rows), "permuted": p, "permuted_twice": p[p],
            "inverse": np.argsort(p)}[order]


def reorder_index(rows: int, head_dim: int, found: str, want: str) -> np.ndarray:
    """Index that turns rows in order ``found`` into rows in order ``want``
    (``want_rows == found_rows[index]``)."""
    undo = np.argsort(order_index(rows, head_dim, found))
    return undo[order_index(rows, head_dim, want)]


def rows_in_reference_order(port: np.ndarray, head_dim: int, order: str) -> np.ndarray:
    """``port``, whose rows are in ``order``, with its rows in the reference's order."""
    port = np.asarray(port)
    return np.take(port, reorder_index(port.shape[0], head_dim, order, "reference"), axis=0)


@dataclass
class RowOrder:
    """What the values say about a Q/K tensor's rows.

    Attributes
    ----------
    name : str
        One of :data:`ORDERS`.
    sample_rel : float
        Relative L2 error of the port against the reference in that order (sampled).
    runner_up_rel : float
        The same for the best other order.
    head_dim : int
        The head dimension the orders were built for.
    """

    name: str
    sample_rel: float
    runner_up_rel: float
    head_dim: int

    def undo(self, port: np.ndarray) -> np.ndarray:
        """``port``'s rows back in the reference's order."""
        return rows_in_reference_order(port, self.head_dim, self.name)


def _rel(ref: np.ndarray, port: np.ndarray) -> float:
    ref = ref.astype(np.float64)
    err = float(np.linalg.norm(port.astype(np.float64) - ref))
    denom = float(np.linalg.norm(ref))
    return err / denom if denom > 0 else err


def detect_row_order(ref: np.ndarray, port: np.ndarray, head_dim: int,
                     prefer: str = "reference") -> RowOrder | None:
    """Which of :data:`ORDERS` the port's rows are in, judged on a column sample.

    Parameters
    ----------
    ref, port : ndarray
        A reference Q/K projection (``[rows, in]`` or ``[rows]``) and its port counterpart,
        same shape.
    head_dim : int
        Rows per attention head.
    prefer : str
        Order listed first among orders that build the same index (small heads: with
        ``head_dim`` 4 the permutation is its own inverse) and kept when values cannot tell
        (a constant tensor).

    Returns None when the shapes do not allow it (rows not a whole number of even heads).
    """
    if ref.shape != port.shape or ref.ndim not in (1, 2) or head_dim < 2 or head_dim % 2:
        return None
    rows = ref.shape[0]
    if rows % head_dim:
        return None
    cols = (slice(None),) if ref.ndim == 1 else (
        slice(None), np.unique(np.linspace(0, ref.shape[1] - 1, SAMPLE_COLUMNS).astype(int)))
    r = np.asarray(ref[cols], dtype=np.float64)
    p = np.asarray(port[cols], dtype=np.float64)
    candidates = [prefer] + [o for o in ORDERS if o != prefer]
    seen: list[np.ndarray] = []
    scores: dict[str, float] = {}
    for order in candidates:
        index = order_index(rows, head_dim, order)
        if any(np.array_equal(index, s) for s in seen):  # exact: integer indices
            continue
        seen.append(index)
        scores[order] = _rel(r[index], p)
    ranked = sorted(scores, key=lambda o: scores[o])
    best, runner = ranked[0], scores[ranked[1]] if len(ranked) > 1 else float("inf")
    if runner <= max(2 * scores[best], 1e-6):
        best = prefer  # no evidence either way
    return RowOrder(best, scores[best], runner, head_dim)
