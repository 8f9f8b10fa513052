"""Figures for audio inspection and comparison (matplotlib, Agg backend, written atomically)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from .spectral import log_mel_spectrogram, power_spectrogram

MAX_PLOT_POINTS = 200_000
"""The waveform panel is decimated (min/max envelope) to at most this many points."""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _waveform(ax, y: np.ndarray, sr: int, title: str) -> None:
    if len(y) > MAX_PLOT_POINTS:
        step = int(np.ceil(len(y) / (MAX_PLOT_POINTS // 2)))
        n = len(y) // step * step
        blocks = y[:n].reshape(-1, step)
        t = np.repeat(np.arange(len(blocks)) * step / sr, 2)
        v = np.column_stack([blocks.min(axis=1), blocks.max(axis=1)]).ravel()
    else:
        t, v = np.arange(len(y)) / sr, y
    ax.plot(t, v, lw=0.5, color="tab:blue")
    ax.axhline(1.0, color="tab:red", lw=0.5, ls="--")
    ax.axhline(-1.0, color="tab:red", lw=0.5, ls="--")
    ax.set_xlim(0, max(len(y) / sr, 1e-3))
    ax.set_ylabel("amplitude")
    ax.set_title(title, fontsize=9)


def _spectrogram(ax, y: np.ndarray, sr: int, title: str, vmin_db: float | None = None):
    power, freqs = power_spectrogram(y, sr)
    db = 10 * np.log10(np.maximum(power, 1e-12)).T
    top = float(db.max())
    image = ax.imshow(db, origin="lower", aspect="auto", cmap="magma",
                      extent=(0, len(y) / sr, 0, freqs[-1] / 1000),
                      vmin=top - 90 if vmin_db is None else vmin_db, vmax=top)
    ax.set_ylabel("kHz")
    ax.set_title(title, fontsize=9)
    return image, db


def inspect_figure(y: np.ndarray, sr: int, path: str | Path, title: str) -> Path:
    """Write a PNG with waveform, log-power spectrogram (dB) and natural-log mel of ``y``."""
    plt = _pyplot()
    fig, axes = plt.subplots(3, 1, figsize=(10, 8), constrained_layout=True)
    _waveform(axes[0], y, sr, title)
    image, _ = _spectrogram(axes[1], y, sr, "power spectrogram (dB)")
    fig.colorbar(image, ax=axes[1], label="dB")
    mel = log_mel_spectrogram(y, sr)
    image = axes[2].imshow(mel, origin="lower", aspect="auto", cmap="viridis",
                           extent=(0, len(y) / sr, 0, mel.shape[0]))
    axes[2].set_ylabel("mel band")
    axes[2].set_xlabel("time (s)")
    axes[2].set_title("log-mel (ln, 80 bands up to 8 kHz)", fontsize=9)
    fig.colorbar(image, ax=axes[2], label="ln")
    return _save(plt, fig, path)


def compare_figure(ref: np.ndarray, port: np.ndarray, sr: int, path: str | Path,
                   title: str) -> Path:
    """Write a PNG with the aligned reference and port spectrograms and their dB difference."""
    plt = _pyplot()
    fig, axes = plt.subplots(3, 1, figsize=(10, 8), constrained_layout=True, sharex=True)
    image, db_ref = _spectrogram(axes[0], ref, sr, f"reference — {title}")
    fig.colorbar(image, ax=axes[0], label="dB")
    image, db_port = _spectrogram(axes[1], port, sr, "port (aligned, gain-corrected)",
                                  vmin_db=float(db_ref.max()) - 90)
    fig.colorbar(image, ax=axes[1], label="dB")
    floor = float(db_ref.max()) - 90
    n = min(db_ref.shape[1], db_port.shape[1])
    diff = np.maximum(db_port[:, :n], floor) - np.maximum(db_ref[:, :n], floor)
    image = axes[2].imshow(diff, origin="lower", aspect="auto", cmap="coolwarm", vmin=-30,
                           vmax=30, extent=(0, n * len(ref) / sr / max(db_ref.shape[1], 1), 0,
                                            sr / 2000))
    axes[2].set_ylabel("kHz")
    axes[2].set_xlabel("time (s)")
    axes[2].set_title("port − reference (dB)", fontsize=9)
    fig.colorbar(image, ax=axes[2], label="dB")
    return _save(plt, fig, path)


def _save(plt, fig, path: str | Path) -> Path:
    """Write ``fig`` as a PNG atomically and release it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return Path(path)
