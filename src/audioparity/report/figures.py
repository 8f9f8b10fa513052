"""Pictures for the HTML report, as ``data:`` URIs (base64 PNG from matplotlib, Agg backend).

Nothing here computes what it shows: the heat map draws a :class:`~.onset.PairView`, the
spectrogram draws :func:`~audioparity.audio.spectral.power_spectrogram`. A missing
matplotlib is :class:`~audioparity.errors.InputError` (one line, exit 2).
"""

from __future__ import annotations

import base64
import io

import numpy as np

from ..errors import UsageError
from .onset import PairView

#: audio longer than this is drawn from its first MAX_SPECTROGRAM_S seconds
MAX_SPECTROGRAM_S = 60.0


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UsageError("the HTML report's figures need matplotlib: pip install "
                         "matplotlib") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _data_uri(plt, fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _axis_label(axis: int | None, block: int, size: int | None = None) -> str:
    if axis is None:
        return ""
    label = f"axis {axis}"
    if size is not None:
        label += f" (size {size})"
    return label + (f", {block} positions per pixel" if block > 1 else "")


def heatmap_png(view: PairView, title: str) -> str:
    """|port − ref| along the pair's two largest axes (log colour), and each axis' profile
    of the max error with the tolerance and the onset marked."""
    plt = _pyplot()
    n_prof = max(1, len(view.profiles))
    fig = plt.figure(figsize=(10.5, 3.2 + 1.9 * ((n_prof + 2) // 3)), constrained_layout=True)
    grid = fig.add_gridspec(1 + (n_prof + 2) // 3, 3, height_ratios=[1.6] + [1] * (
        (n_prof + 2) // 3))
    ax = fig.add_subplot(grid[0, :])
    heat = np.asarray(view.heat, dtype=np.float64)
    floor = max(view.limit * 1e-3, 1e-12)
    shown = np.log10(np.maximum(np.nan_to_num(heat, nan=floor), floor))
    cmap = plt.get_cmap("magma").copy()
    image = ax.imshow(shown, aspect="auto", interpolation="nearest", cmap=cmap,
                      origin="upper")
    cbar = fig.colorbar(image, ax=ax)
    cbar.set_label("log10 |port − ref|")
    if view.limit > 0:
        cbar.ax.axhline(np.log10(max(view.limit, floor)), color="cyan", lw=1.5)
    rows_axis, cols_axis = view.heat_axes
    ax.set_ylabel(_axis_label(rows_axis, view.heat_blocks[0]) or "—")
    ax.set_xlabel(_axis_label(cols_axis, view.heat_blocks[1]))
    ax.set_title(f"{title}  shape {list(view.shape)}; tolerance {view.limit:.3g} "
                 "(cyan on the colour bar); other axes reduced by max", fontsize=9)
    for i, prof in enumerate(view.profiles):
        pax = fig.add_subplot(grid[1 + i // 3, i % 3])
        xs = np.arange(len(prof.values)) * prof.block
        vals = np.nan_to_num(prof.values, nan=np.inf, posinf=np.nan)
        pax.semilogy(xs, np.maximum(vals, floor), lw=1, color="#1f5fbf")
        pax.axhline(max(view.limit, floor), color="#0aa", lw=1, ls="--")
        if prof.onset is not None:
            pax.axvline(prof.onset, color="#c00", lw=1.2)
            pax.set_title(f"axis {prof.axis} (size {prof.size}): onset at {prof.onset}",
                          fontsize=8, color="#c00")
        else:
            pax.set_title(f"axis {prof.axis} (size {prof.size}): within tolerance",
                          fontsize=8)
        pax.tick_params(labelsize=7)
    return _data_uri(plt, fig)


def spectrogram_png(y: np.ndarray, sr: int, title: str) -> str:
    """Log-power spectrogram (dB, 90 dB range) of mono ``y`` at ``sr`` Hz."""
    from ..audio.spectral import power_spectrogram

    plt = _pyplot()
    y = np.asarray(y, dtype=np.float32)[: int(MAX_SPECTROGRAM_S * sr)]
    fig, ax = plt.subplots(figsize=(10, 2.6), constrained_layout=True)
    if y.size < 2:
        ax.text(0.5, 0.5, "no audio", ha="center", va="center")
    else:
        power, freqs = power_spectrogram(y, sr)
        db = 10 * np.log10(np.maximum(power, 1e-12)).T
        top = float(db.max())
        image = ax.imshow(db, origin="lower", aspect="auto", cmap="magma",
                          extent=(0, len(y) / sr, 0, freqs[-1] / 1000), vmin=top - 90,
                          vmax=top)
        fig.colorbar(image, ax=ax, label="dB")
    ax.set_ylabel("kHz")
    ax.set_xlabel("time (s)")
    ax.set_title(title, fontsize=9)
    return _data_uri(plt, fig)
