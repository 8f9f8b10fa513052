"""``assert_tokens_ok``: a port's codec or generated token ids must be sane (and match the
reference's when given), judged by :func:`audioparity.tokens.check_tokens`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..tokens import TokenCheck, Tokens, as_tokens, check_tokens, read_tokens

TokensLike = str | Path | np.ndarray
"""A token file (``.npy``, ``.npz``, ``.pt``, ``.safetensors``, ``.txt``, ``.json``) or ids
(``[T]``, ``[Q, T]``, ``[B, Q, T]`` or the T-major forms; a torch CPU tensor works too)."""


def assert_tokens_ok(tokens: TokensLike, codebook_size: int, ref: TokensLike | None = None,
                     eos: int | None = None, *, pad: int | None = None,
                     layout: str | None = None, codebooks_expected: int | None = None,
                     ) -> TokenCheck:
    """Assert that token ids are in range, carry no offset, are not degenerate, stop at
    ``eos`` (when given) and match ``ref`` (when given).

    Parameters
    ----------
    tokens, ref : the port's ids and, optionally, the reference's for the same input.
    codebook_size : ids per codebook (a text LM: its vocabulary size).
    eos, pad : the EOS id (looked for in codebook 0) and a padding id allowed after it.
    layout : axis order (``T``, ``QT``, ``TQ``, ``BT``, ``BQT``, ``BTQ``); default: guessed.
    codebooks_expected : codebooks the codec reads (another count is a problem).

    Returns
    -------
    TokenCheck
        Everything the check measured, when no problem was found.

    Raises
    ------
    AssertionError
        Listing each problem: which check, the SPEC cause where one fits, the numbers and
        the fix hint.
    ValueError
        Ids that cannot be read as tokens (more than 3 dims, a layout that does not fit).
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not ours
    port = _as_tokens(tokens, layout, None)
    ref_tokens = None if ref is None else _as_tokens(ref, layout, port.codebooks)
    result = check_tokens(port, codebook_size, codebooks_expected=codebooks_expected,
                          eos=eos, pad=pad, ref=ref_tokens)
    if result.ok:
        return result
    t = result.tokens
    head = (f"{len(result.problems)} token problem(s) in {t.batch} sequence(s) x "
            f"{t.codebooks} codebook(s) x {t.frames} frames (read as {t.layout}, "
            f"codebook size {codebook_size})")
    lines = [head]
    for p in result.problems:
        cause = f" ({p.cause})" if p.cause else ""
        lines.append(f"  {p.check}{cause}: {p.detail}")
        if p.hint:
            lines.append(f"      fix: {p.hint}")
    raise AssertionError("\n".join(lines))


def _as_tokens(value: TokensLike, layout: str | None, prefer: int | None) -> Tokens:
    array = read_tokens(value).array if isinstance(value, (str, Path)) else np.asarray(value)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise ValueError("token ids must be whole numbers (got non-integer floats)")
        array = array.astype(np.int64)
    elif array.dtype.kind not in "iub":
        raise ValueError(f"token ids must be integers, got dtype {array.dtype}")
    return as_tokens(array.astype(np.int64, copy=False), layout, prefer_codebooks=prefer)
