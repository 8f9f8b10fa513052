"""``audioparity audio``: inspect a port's audio, compare it with the reference's, check a mel."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from ..contract import checked, exit_code
from ..errors import InputError
from .common import console, progress_bar, write_json

JsonOpt = Annotated[str | None, typer.Option("--json", help="Write the result as JSON "
                                                            "(- for stdout).")]


def _human(json_path: str | None) -> Console:
    """Where the human-readable report goes: stdout, or nowhere when JSON goes to stdout."""
    return Console(quiet=True) if json_path == "-" else console


def _fmt(value: float, spec: str = ".2f") -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "—" if value is None or np.isnan(value) else f"{value}"
    return format(value, spec)


def _png_target(png: str, path: Path, many: bool) -> Path:
    target = Path(png)
    if many or target.is_dir() or target.suffix.lower() != ".png":
        return target / f"{path.stem}.png"
    return target


def inspect(
    files: Annotated[list[Path], typer.Argument(help="Audio files (WAV/FLAC/OGG, any rate).")],
    png: Annotated[str | None, typer.Option("--png", help="Figure per file: a .png path (one "
                                            "file) or a folder.")] = None,
    json_path: JsonOpt = None,
    vad: Annotated[bool, typer.Option("--vad/--no-vad", help="Ask Silero VAD (extra) for a "
                                      "second opinion on speech.")] = True,
) -> None:
    """Say what each file sounds like (speech, noise, tone, silence, clipped, ...) and why.

    Exit 0 when every file is speech or music, 1 when one is not, 2 when one is unreadable.
    """
    from ..audio import inspect_file
    from ..audio.plots import inspect_figure

    con = _human(json_path)
    results, failed = [], []
    with progress_bar() as bar:
        task = bar.add_task("inspect", total=len(files))
        for path in files:
            try:
                results.append(inspect_file(path, use_vad=vad))
            except InputError as exc:
                failed.append(exc)
            bar.advance(task)
    table = Table(title="audio inspect")
    for column in ("file", "rate Hz", "ch", "dur s", "peak dBFS", "RMS dBFS", "clip %",
                   "flatness", "HF %", "voiced", "f0 Hz", "verdict"):
        table.add_column(column, justify="left" if column in ("file", "verdict") else "right")
    for item in results:
        m, v, c = item.metrics, item.verdict, item.clip
        f0 = "—" if np.isnan(m.f0_median_hz) else f"{m.f0_min_hz:.0f}-{m.f0_max_hz:.0f}"
        style = "green" if v.ok else "red"
        table.add_row(Path(c.path).name, str(c.sr), str(c.channels), f"{c.duration_s:.2f}",
                      _fmt(m.peak_dbfs, ".1f"), _fmt(m.rms_dbfs, ".1f"),
                      f"{100 * max(m.clipped_fraction, m.flat_top_fraction):.2f}",
                      f"{m.spectral_flatness:.3f}", f"{100 * m.high_frequency_ratio:.1f}",
                      f"{m.voiced_fraction:.2f}", f0, f"[{style}]{v.verdict}[/{style}]")
    if results:
        con.print(table)
    for item in results:
        v = item.verdict
        con.print(f"[bold]{Path(item.clip.path).name}[/bold]: {'; '.join(v.reasons)}")
        for note in item.clip.notes + v.findings:
            con.print(f"  - {note}")
        if not v.vad.used:
            con.print(f"  - Silero VAD {v.vad.reason}")
        if png and item.clip.y.size:
            target = _png_target(png, Path(item.clip.path), len(files) > 1)
            inspect_figure(item.clip.y, item.clip.sr, target,
                           f"{Path(item.clip.path).name}: {v.verdict}")
            con.print(f"  figure: {target}")
    status = "error" if failed else checked(all(r.verdict.ok for r in results))
    write_json(json_path, {"status": status, "files": [r.to_dict() for r in results],
                           "errors": [str(e) for e in failed]})
    for exc in failed:
        print(f"audioparity: error: {exc}", file=sys.stderr)  # one unwrapped line per file
    raise typer.Exit(exit_code(status))


def compare(
    ref: Annotated[Path, typer.Argument(help="Reference audio (the PyTorch output).")],
    port: Annotated[Path, typer.Argument(help="The port's audio.")],
    png: Annotated[Path | None, typer.Option("--png", help="Figure: both spectrograms and "
                                             "their difference (a .png path, or a folder: "
                                             "PORT_vs_REF.png in it).")] = None,
    json_path: JsonOpt = None,
    quality: Annotated[bool, typer.Option("--quality/--no-quality", help="Score PESQ-WB and "
                                          "STOI where installed.")] = True,
) -> None:
    """Align the port's audio with the reference's and name what differs.

    Reports lag (samples, ms), gain, polarity, duration ratio, a sample-rate mistake, then
    SNR, log-spectral distance, multi-resolution STFT distance, MCD, PESQ and STOI. Exit 1
    when a cause is named (shift, scale, sign, clipping, reversed, sample_rate, ...) or the
    durations differ by more than 5 %.
    """
    from ..audio import compare_files
    from ..audio.plots import compare_figure

    con = _human(json_path)
    result = compare_files(ref, port, quality=quality)
    table = Table(title=f"audio compare: {ref.name} vs {port.name}", show_header=False)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_row("sample rate (ref / port)", f"{result.ref_sr} / {result.port_sr} Hz")
    table.add_row("duration (ref / port)", f"{result.ref_duration_s:.3f} / "
                                           f"{result.port_duration_s:.3f} s "
                                           f"(ratio {result.duration_ratio:.3f})")
    table.add_row("lag", f"{result.lag_samples:+d} samples ({result.lag_ms:+.2f} ms)")
    table.add_row("gain / polarity", f"{result.gain:.4g} ({result.gain_db:+.2f} dB) / "
                                     f"{'+' if result.polarity > 0 else '-'}")
    table.add_row("peak correlation", f"{result.correlation:.3f}")
    for key, value in result.scores.items():
        if key != "notes":
            table.add_row(key, _fmt(value, ".3f") if isinstance(value, float) else str(value))
    con.print(table)
    for note in result.scores.get("notes", []) + result.findings:
        con.print(f"  - {note}")
    for cause in result.causes:
        con.print(f"[red]{cause['cause']}[/red] ({cause['confidence']:.2f}): "
                      f"{cause['detail']}\n    hint: {cause['hint']}")
    if result.status == "parity":
        con.print("[green]parity[/green]: no lag, gain, polarity, rate, clipping or "
                      "duration difference")
    if png is not None and result.aligned_ref is not None and len(result.aligned_ref):
        target = png / f"{port.stem}_vs_{ref.stem}.png" if png.is_dir() else png
        compare_figure(result.aligned_ref, result.aligned_port, result.ref_sr, target,
                       f"{ref.name} vs {port.name}")
        con.print(f"figure: {target}")
    write_json(json_path, result.to_dict())
    raise typer.Exit(exit_code(result.status))


def _load_tensor(path: Path, name: str | None) -> np.ndarray:
    if path.suffix.lower() == ".npy" and path.is_file():
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise InputError(path, f"not a readable .npy array: {exc}") from None
    from ..trace import open_trace

    with open_trace(path) as trace:
        if not trace.names:
            raise InputError(path, "contains no tensors")
        key = name or trace.names[-1]
        if key not in trace.names:
            raise InputError(path, f"no tensor named {key!r}")
        return np.asarray(trace.read(key))


def mel(
    tensor: Annotated[Path, typer.Argument(help="Mel tensor: .npy, or any trace format with "
                                           "--name.")],
    name: Annotated[str | None, typer.Option("--name", help="Tensor name inside a trace "
                                             "(default: the last one).")] = None,
    json_path: JsonOpt = None,
) -> None:
    """Say whether a tensor looks like a log-mel or like noise / initialisation.

    Exit 0 for a log-mel, 1 otherwise (noise_like, linear_mel, constant, invalid, ...).
    """
    from ..audio import check_mel

    con = _human(json_path)
    array = _load_tensor(tensor, name)
    try:
        report = check_mel(array)
    except ValueError as exc:
        raise InputError(tensor, str(exc)) from None
    style = "green" if report.ok else "red"
    con.print(f"{tensor.name}: shape {report.shape}, mel axis {report.mel_axis} "
                  f"({report.n_mels} bands x {report.n_frames} frames), "
                  f"scale guess {report.scale_guess}")
    con.print(f"[{style}]{report.verdict}[/{style}]: " + "; ".join(report.reasons))
    write_json(json_path, report.to_dict())
    raise typer.Exit(exit_code(checked(report.ok)))


def register(app: typer.Typer) -> None:
    """Add the ``audio`` command group to the CLI."""
    group = typer.Typer(help="Audio: speech or noise, port vs reference, log-mel sanity.",
                        no_args_is_help=True)
    group.command("inspect")(inspect)
    group.command("compare")(compare)
    group.command("mel")(mel)
    app.add_typer(group, name="audio")
