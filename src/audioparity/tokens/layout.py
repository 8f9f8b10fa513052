"""Name a token tensor's axes and bring it to ``[B, Q, T]`` (sequences, codebooks, frames).

Ports dump codes in every order: PyTorch codecs ``[B, Q, T]``, Candle/MLX talkers
``[B, T, Q]`` (seed 003), a text LM ``[T]`` or ``[B, T]``. An explicit ``layout`` wins;
otherwise the codebook axis is the one of size ``codebooks`` when given, else the smaller
of the two trailing axes — and :attr:`Tokens.reason` says what was assumed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Layouts by number of dimensions; letters: B sequences, Q codebooks, T frames (steps).
LAYOUTS = {1: ("T",), 2: ("QT", "TQ", "BT"), 3: ("BQT", "BTQ")}


_TO_BQT = {
    "T": lambda a: a[None, None, :],
    "QT": lambda a: a[None],
    "TQ": lambda a: a.T[None],
    "BT": lambda a: a[:, None, :],
    "BQT": lambda a: a,
    "BTQ": lambda a: a.transpose(0, 2, 1),
}


@dataclass
class Tokens:
    """Token ids as ``array[B, Q, T]`` plus how they were read.

    ``layout`` is the input's axis order (``"BTQ"`` …), ``input_shape`` its shape,
    ``assumed`` whether the layout was guessed, ``reason`` one line saying why.
    """

    array: np.ndarray
    layout: str
    input_shape: tuple[int, ...]
    assumed: bool
    reason: str

    @property
    def batch(self) -> int:
        return int(self.array.shape[0])

    @property
    def codebooks(self) -> int:
        return int(self.array.shape[1])

    @property
    def frames(self) -> int:
        return int(self.array.shape[2])

    def to_json(self) -> dict:
        return {"input_shape": list(self.input_shape), "layout": self.layout,
                "assumed": self.assumed, "reason": self.reason, "batch": self.batch,
                "codebooks": self.codebooks, "frames": self.frames}


def guess_layout(shape: tuple[int, ...], codebooks: int | None = None) -> tuple[str, str]:
    """``(layout, reason)`` for a tensor of ``shape`` (1-3 dims) without an explicit layout.

    Examples
    --------
    >>> guess_layout((1, 250, 8))
    ('BTQ', 'guessed: the codebook axis is the smaller trailing one (8 < 250)')
    """
    if len(shape) == 1:
        return "T", "one sequence of one codebook"
    a, b = shape[-2], shape[-1]
    first, second = LAYOUTS[len(shape)][:2]
    if codebooks is not None and (a == codebooks) != (b == codebooks):
        reason = f"the axis of size {codebooks} (--codebooks) holds the codebooks"
        return (first if a == codebooks else second), reason
    if a <= b:
        return first, f"guessed: the codebook axis is the smaller trailing one ({a} ≤ {b})"
    return second, f"guessed: the codebook axis is the smaller trailing one ({b} < {a})"


def as_tokens(array: np.ndarray, layout: str | None = None, codebooks: int | None = None,
              *, prefer_codebooks: int | None = None) -> Tokens:
    """Bring ``array`` to ``[B, Q, T]`` following ``layout`` (or a guess, see module doc).

    ``codebooks`` is a count the result must have; ``prefer_codebooks`` only steers the
    guess (a reference read beside a port with that many codebooks). Raises ``ValueError``
    for more than 3 dims, or a layout or count that does not fit the shape.
    """
    array = np.asarray(array)
    shape = tuple(int(s) for s in array.shape)
    if not 1 <= array.ndim <= 3:
        raise ValueError(f"token ids must have 1-3 dims ([T], [Q, T], [B, Q, T] or the "
                         f"T-major forms), got shape {list(shape)}")
    if layout is None:
        layout, reason = guess_layout(shape, codebooks or prefer_codebooks)
        assumed = reason.startswith("guessed")
    else:
        layout = layout.upper()
        if layout not in LAYOUTS[array.ndim]:
            raise ValueError(f"--layout {layout} does not fit shape {list(shape)} (a "
                             f"{array.ndim}-d tensor is one of {', '.join(LAYOUTS[array.ndim])})")
        reason, assumed = "given by --layout", False
    bqt = _TO_BQT[layout](array)
    if codebooks is not None and bqt.shape[1] != codebooks:
        raise ValueError(f"read as {layout} the shape {list(shape)} has {bqt.shape[1]} "
                         f"codebooks, not --codebooks {codebooks}")
    return Tokens(np.ascontiguousarray(bqt), layout, shape, assumed, reason)
