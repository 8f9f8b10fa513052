"""Known constants that explain a fitted factor: 1/n_fft, 1/sqrt(d), 1/hop, ln 10, …"""

from __future__ import annotations

import math

_N_FFT = (256, 512, 800, 1024, 1200, 1280, 1920, 2048, 4096)
_HOP = (120, 160, 200, 240, 256, 300, 320, 480, 512, 600, 640, 960, 1024)
_HEAD_DIM = (16, 32, 48, 64, 80, 96, 128, 160, 256)


def _table() -> list[tuple[float, str]]:
    named: dict[float, list[str]] = {}

    def add(value: float, label: str) -> None:
        named.setdefault(value, []).append(label)

    for n in _N_FFT:
        add(1.0 / n, f"1/{n} = 1/n_fft")
        add(float(n), f"{n} = n_fft")
    for h in _HOP:
        add(1.0 / h, f"1/{h} = 1/hop")
    for d in _HEAD_DIM:
        add(1.0 / math.sqrt(d), f"1/sqrt({d}) = 1/sqrt(head_dim)")
        add(math.sqrt(d), f"sqrt({d}) = sqrt(head_dim)")
    add(2.0, "2")
    add(0.5, "1/2")
    add(math.sqrt(2.0), "sqrt(2)")
    add(1.0 / math.sqrt(2.0), "1/sqrt(2)")
    add(math.log(10.0), "ln 10 (log10 vs ln)")
    add(1.0 / math.log(10.0), "1/ln 10 (ln vs log10)")
    add(20.0 / math.log(10.0), "20/ln 10 (dB of amplitude)")
    add(10.0 / math.log(10.0), "10/ln 10 (dB of power)")
    add(32768.0, "32768 (int16 full scale)")
    add(1.0 / 32768.0, "1/32768 (int16 full scale)")
    add(math.pi, "pi")
    add(2 * math.pi, "2 pi")
    add(1.0 / (2 * math.pi), "1/(2 pi)")
    return sorted((v, " or ".join(labels)) for v, labels in named.items())


_TABLE = _table()


def nearest_constant(c: float, rtol: float = 0.01) -> str | None:
    """Name the known constant within ``rtol`` of ``|c|`` (closest first), or None.

    Examples
    --------
    >>> nearest_constant(1 / 2048)
    '1/2048 = 1/n_fft'
    """
    a = abs(c)
    if a == 0 or not math.isfinite(a):
        return None
    best = min(_TABLE, key=lambda vl: abs(math.log(a / vl[0])))
    return best[1] if abs(a / best[0] - 1.0) <= rtol else None
