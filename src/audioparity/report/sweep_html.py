"""The HTML page of a sweep (``audioparity sweep --html F``): one self-contained file with
the verdict, the ranking table, and per result an audio player and a spectrogram.

The page is built from the sweep's JSON (:meth:`audioparity.sweep.SweepResult.to_json`),
so it shows exactly what the JSON says. WAVs are embedded as base64 ``data:`` URIs up to
:data:`MAX_EMBED_BYTES` each and :data:`MAX_TOTAL_EMBED_BYTES` for the page, best results
first; a WAV past either cap gets a note instead of a player (its spectrogram is still
drawn, from its first :data:`~.figures.MAX_SPECTROGRAM_S` seconds). Results past
:data:`MAX_PLAYERS` are in the table only. Every name is escaped
by Jinja's autoescape and a Content Security Policy allows no script and no network.
"""

from __future__ import annotations

import base64
import importlib.util
import math
import os
from pathlib import Path
from typing import Any

import jinja2

from ..atomic import write_text_atomic
from ..compare.result import safe_text
from ..errors import InputError, UsageError
from .numbers import format_metric

MAX_EMBED_BYTES = 4 * 1024 * 1024
"""A WAV larger than this (bytes) is not embedded."""
MAX_TOTAL_EMBED_BYTES = 48 * 1024 * 1024
"""The page embeds WAVs, best first, until this many bytes; later ones get a note."""
MAX_PLAYERS = 100
"""Results past this rank get no player and no spectrogram (each figure costs ~0.2 s)."""

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("audioparity.report", "templates"),
                          autoescape=True, undefined=jinja2.StrictUndefined)
_MIME = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg"}


def fmt(value: Any, spec: str) -> str:
    """A metric for a cell: ``-`` for None, ``inf``/``nan`` spelled out, strings as is."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-" if value is None else str(value)
    return format_metric(float(value), spec)


class _Budget:
    """Bytes of audio the page may still embed."""

    def __init__(self, total: int):
        self.left = total

    def take(self, size: int) -> bool:
        if size > MAX_EMBED_BYTES or size > self.left:
            return False
        self.left -= size
        return True


def _player(path: str | None, budget: _Budget, title: str) -> dict | None:
    """Player (embedded when the budget allows) and spectrogram of ``path``; None when the
    file is gone (a failed job, a WAV deleted since) or is not audio."""
    from ..audio.io import load_audio
    from .figures import MAX_SPECTROGRAM_S, spectrogram_png

    if not path or not Path(path).is_file():
        return None
    p = Path(path)
    try:
        clip = load_audio(p, max_analysed_s=MAX_SPECTROGRAM_S, excerpts=False)
    except InputError:
        return None  # not audio: the job's status and error already say so
    size = p.stat().st_size
    out: dict[str, Any] = {"path": str(p), "src": None, "note": None}
    if budget.take(size):
        mime = _MIME.get(p.suffix.lower(), "audio/wav")
        out["src"] = f"data:{mime};base64," + base64.b64encode(p.read_bytes()).decode("ascii")
    elif size > MAX_EMBED_BYTES:
        out["note"] = (f"{size / 1e6:.1f} MB: too large to embed (over "
                       f"{MAX_EMBED_BYTES // (1024 * 1024)} MiB a file); open {p.name} itself")
    else:
        out["note"] = (f"not embedded: the page holds at most "
                       f"{MAX_TOTAL_EMBED_BYTES // (1024 * 1024)} MiB of audio, spent on the "
                       f"better-ranked results; open {p.name} itself")
    out["spectrogram"] = spectrogram_png(clip.y, clip.sr, title)
    return out


def _label(params: dict | None) -> str:
    """A setting as the page names it: ``cfg=3 steps=10``."""
    return " ".join(f"{k}={v}" for k, v in (params or {}).items())


def _row(job: dict) -> dict:
    """One ranking-table row: the job's JSON plus the numbers the table shows."""
    audio = job.get("audio") or {}
    metrics = audio.get("metrics") or {}
    ref = audio.get("reference") or {}
    score = audio.get("score") or {}
    clipped = [metrics.get(k) for k in ("clipped_fraction", "flat_top_fraction")]
    clipped = [c for c in clipped if isinstance(c, (int, float)) and not math.isnan(c)]
    return {"job": job, "label": _label(job.get("params")), "anchor": f"job-{job.get('index')}",
            "verdict": audio.get("verdict"), "band": score.get("band"),
            "audio_score": score.get("audio_score"), "similarity": score.get("similarity"),
            "snr_db": ref.get("snr_db_gain_corrected"), "pesq": ref.get("pesq_wb"),
            "clip_pct": 100 * max(clipped) if clipped else None,
            "hf_pct": (100 * metrics["high_frequency_ratio"]
                       if isinstance(metrics.get("high_frequency_ratio"), (int, float))
                       else None),
            "flatness": metrics.get("spectral_flatness"), "duration_s": audio.get("duration_s")}


def render_sweep_html(data: dict) -> str:
    """The page for a sweep's JSON ``data`` (ranked jobs, best first)."""
    budget = _Budget(MAX_TOTAL_EMBED_BYTES)
    reference = _player(data.get("ref"), budget, "reference: power spectrogram")
    rows = [_row(job) for job in data.get("jobs") or []]
    for position, row in enumerate(rows):
        title = f"#{row['job'].get('rank') or '-'} {row['label']}: power spectrogram"
        row["player"] = (_player(row["job"].get("out"), budget, title)
                         if position < MAX_PLAYERS else None)
    best = data.get("best")
    n = len(rows)
    html = _ENV.get_template("sweep.html.j2").render(
        data=data, rows=rows, reference=reference, best=best, fmt=fmt,
        best_label=_label(best["params"]) if best else None,
        title=f"audioparity sweep: {n} setting{'s' * (n != 1)}",
        with_ref=data.get("ref") is not None, max_players=MAX_PLAYERS)
    return safe_text(html)  # a value that was not valid UTF-8: U+FFFD in the file


def check_html_target(path: str | Path) -> None:
    """Refuse, before a long sweep runs, a page that could not be written at the end.

    Raises
    ------
    InputError : ``path`` is a directory, or no folder on the way to it is writable;
        matplotlib (the spectrograms) is not installed.
    """
    target = Path(path)
    if target.is_dir():
        raise InputError(target, "is a directory: give a file name for --html")
    folder = target.absolute().parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(target, f"cannot write here: {folder} is not a writable folder")
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError("--html draws spectrograms with matplotlib: pip install matplotlib")


def write_sweep_html(path: str | Path, data: dict) -> None:
    """Write the sweep page atomically.

    Raises
    ------
    InputError : matplotlib (for the spectrograms) is missing; the folder is not writable.
    """
    write_text_atomic(path, render_sweep_html(data))
