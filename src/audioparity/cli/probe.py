"""``audioparity probe``: run an implementation on inputs chosen to expose one kind of bug —
two conditionings (does each layer still depend on the condition?) and a token→audio decoder
fed zero, constant, repeated, random and the reference's tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import InputError, UsageError
from .common import console, progress_bar, write_json

JsonOpt = Annotated[str | None, typer.Option("--json", help="Write the result as JSON "
                                                            "(- for stdout).")]
_EXIT = {"ok": 0, "problem": 1, "error": 2}


def _human(json_path: str | None) -> Console:
    """Where the human-readable report goes: stdout, or nowhere when JSON goes to stdout."""
    return Console(quiet=True) if json_path == "-" else console


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


def conditioning(
    ref: Annotated[tuple[Path, Path] | None, typer.Option(
        "--ref", help="The reference's traces under condition A and under condition B.")
                   ] = None,
    port: Annotated[tuple[Path, Path] | None, typer.Option(
        "--port", help="The port's traces under the same two conditions.")] = None,
    map_file: Annotated[Path | None, typer.Option("--map", help="Map rules pairing port "
                                                  "names with the reference's.")] = None,
    show: Annotated[int, typer.Option("--show", min=0, help="Tensors listed around the "
                                      "first loss (all: a large number).")] = 12,
    json_path: JsonOpt = None,
) -> None:
    """Does each layer depend on the condition as much in the port as in the reference?

    The condition: a prompt, a speaker embedding, mu, the text a DiT cross-attends to.
    Each implementation is run twice, under conditions A and B, and traced; every tensor
    gets the normalised difference between its A and B values. With --ref and --port, the
    first tensor where the reference still depends on the condition and the port does not
    is named (exit 1). With one implementation only, its output must differ between the
    two conditions (exit 1 when it does not).
    """
    from ..probe import probe_conditioning

    con = _human(json_path)
    if ref is None and port is None:
        raise UsageError("give --ref A B and/or --port A B (traces under two conditions)")
    with progress_bar() as bar:
        task = bar.add_task("probe conditioning", total=None)
        result = probe_conditioning(ref, port, map_file)
        bar.update(task, completed=1, total=1)
    _print_conditioning(con, result, show)
    write_json(json_path, {"ref": None if ref is None else [str(p) for p in ref],
                           "port": None if port is None else [str(p) for p in port],
                           **result.to_json()})
    raise typer.Exit(_EXIT[result.status])


def _print_conditioning(con: Console, result, show: int) -> None:
    tensors = result.tensors
    focus = result.first_lost or (None if result.compared else result.enters)
    start = max(0, tensors.index(focus) - show // 2) if focus else len(tensors) - show
    shown = tensors[max(0, start):max(0, start) + show] if show else []
    table = Table(title="dependence on the condition")
    table.add_column("tensor")
    if result.compared:
        table.add_column("ref", justify="right")
    table.add_column("port" if result.compared else "A vs B", justify="right")
    if result.compared:
        table.add_column("verdict")
    for t in shown:
        if result.compared:
            style = "red" if t.verdict in ("lost", "appears") else \
                "yellow" if t.verdict == "weak" else "green"
            table.add_row(escape(t.name), _fmt(t.ref), _fmt(t.port),
                          f"[{style}]{t.verdict}[/{style}]")
        else:
            table.add_row(escape(t.name), _fmt(t.port))
    if shown:
        con.print(table)
        if len(shown) < len(tensors):
            con.print(f"({len(shown)} of {len(tensors)} tensors shown; --show N or --json "
                      "for all)")
    counts = ", ".join(f"{n} {k}" for k, n in result.counts().items())
    con.print(f"tensors: {counts}")
    for note in result.notes:
        con.print(f"  - {escape(note)}")
    style = "green" if result.status == "ok" else "red"
    con.print(f"[{style}]{result.status}[/{style}]: {escape(result.summary())}")
    if result.status == "problem":
        what = "the port computes this tensor" if result.compared else "it is computed"
        con.print(f"    hint: {what} without the condition: check that the conditioning "
                  "input (text embedding, speaker embedding, mu) is passed to it and not "
                  "left at zeros, a default or the unconditional branch")


def _decoder(command: str | None, callable_: str | None, sample_rate: int | None,
             timeout: float, layout: str, side: str):
    from ..probe.decoders import CallableDecoder, CommandDecoder, load_callable

    if command and callable_:
        raise UsageError(f"give the {side} decoder as a command or as a callable, not both")
    if command:
        return CommandDecoder(command, timeout, layout)
    if callable_:
        return CallableDecoder(load_callable(callable_), sample_rate, layout, callable_)
    return None


def _read(path: Path, layout: str | None, codebooks: int | None, codebook_size: int):
    import numpy as np

    from ..probe.probe_tokens import out_of_range
    from ..tokens import as_tokens, read_tokens

    try:
        tokens = as_tokens(read_tokens(path).array, layout, codebooks)
    except ValueError as exc:
        raise InputError(path, str(exc)) from None
    problem = out_of_range(tokens.array, codebook_size)
    if problem:
        raise InputError(path, problem)
    return np.asarray(tokens.array, dtype=np.int64), tokens.layout


def decoder(
    command: Annotated[str | None, typer.Option(
        "--command", help="The port's decoder as a command: reads {tokens} (.npy), writes "
                          "{wav}; e.g. \"port_decode {tokens} {wav}\".")] = None,
    callable_: Annotated[str | None, typer.Option(
        "--callable", help="The port's decoder as MODULE:FUNCTION or FILE.py:FUNCTION: "
                           "tokens in, audio (or (audio, sr)) out.")] = None,
    ref_command: Annotated[str | None, typer.Option(
        "--ref-command", help="The reference decoder as a command (same placeholders).")
                           ] = None,
    ref_callable: Annotated[str | None, typer.Option(
        "--ref-callable", help="The reference decoder as MODULE:FUNCTION.")] = None,
    codebook_size: Annotated[int, typer.Option("--codebook-size", min=1,
                                               help="Ids per codebook.")] = ...,
    tokens: Annotated[Path | None, typer.Option(
        "--tokens", help="The reference's tokens (.npy …): a probe, and the shape of the "
                         "others.")] = None,
    port_tokens: Annotated[Path | None, typer.Option(
        "--port-tokens", help="The port's own tokens for the same input: tells the decoder "
                              "from what feeds it.")] = None,
    codebooks: Annotated[int | None, typer.Option("--codebooks", min=1, help="Codebooks "
                                                  "(without --tokens; with it, picks the "
                                                  "codebook axis).")] = None,
    frames: Annotated[int | None, typer.Option("--frames", min=1, help="Frames per probe "
                                               "(without --tokens).")] = None,
    layout: Annotated[str | None, typer.Option(
        "--layout", help="Axis order of the token files, and of the tokens the decoder is "
                         "given: BQT (default), BTQ, QT, TQ, BT or T.")] = None,
    sample_rate: Annotated[int | None, typer.Option(
        "--sample-rate", min=1, help="Hz, for a callable that returns audio alone.")] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds a command "
                                           "may run for one probe.")] = 60.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random probes.")] = 0,
    vad: Annotated[bool, typer.Option("--vad/--no-vad", help="Ask Silero VAD (extra) for a "
                                      "second opinion on speech.")] = False,
    wav_dir: Annotated[Path | None, typer.Option(
        "--wav-dir", help="Write each probe's audio there to listen to: PROBE.wav, and "
                          "PROBE.ref.wav from the reference decoder.")] = None,
    json_path: JsonOpt = None,
) -> None:
    """Feed a token→audio decoder chosen tokens: is the decoder or its input at fault?

    Probes: all-zero, constant, repeated-pattern, random in-range and the reference's
    tokens; each output judged (silence / periodic / speech-like) or, with a reference
    decoder, compared with its output on the same tokens.

    A command that times out or crashes on a probe is reported on that probe. Exit 0 when
    every probe is as expected, 1 when one is not, 2 when nothing could be checked.
    """
    from ..probe.decoder_probe import probe_decoder
    from ..probe.probe_tokens import probe_set

    con = _human(json_path)
    port_dec = _decoder(command, callable_, sample_rate, timeout, layout or "BQT", "port")
    if port_dec is None:
        raise UsageError("give the port's decoder: --command \"CMD {tokens} {wav}\" or "
                         "--callable MODULE:FUNCTION")
    ref_tokens = port_own = None
    file_layout = layout
    if tokens is not None:
        ref_tokens, file_layout = _read(tokens, layout, codebooks, codebook_size)
    if port_tokens is not None:
        port_own, _ = _read(port_tokens, file_layout, None if file_layout else codebooks,
                            codebook_size)
    shape_from = ref_tokens if ref_tokens is not None else port_own
    if shape_from is not None:
        q, t = int(shape_from.shape[1]), int(shape_from.shape[2])
    elif codebooks is None or frames is None:
        raise UsageError("give --tokens REF.npy, or --codebooks and --frames for the probes' "
                         "shape")
    else:
        q, t = codebooks, frames
    if ref_tokens is not None and port_own is not None and port_own.shape[1] != q:
        raise InputError(port_tokens, f"has {port_own.shape[1]} codebooks, the reference's "
                                      f"tokens {q}")
    layout_used = file_layout or "BQT"
    port_dec.layout = layout_used
    ref_dec = _decoder(ref_command, ref_callable, sample_rate, timeout, layout_used,
                       "reference")
    probes = probe_set(q, t, codebook_size, reference=ref_tokens, port=port_own, seed=seed)
    with progress_bar() as bar:
        task = bar.add_task("probe decoder", total=len(probes))
        result = probe_decoder(port_dec, probes, ref_dec,
                               on_probe=lambda _: bar.advance(task), vad=vad)
    _print_decoder(con, result)
    if wav_dir is not None:
        written = _write_wavs(wav_dir, result)
        con.print(f"audio: {len(written)} WAV files in {escape(str(wav_dir))}")
    write_json(json_path, {"decoder": port_dec.label,
                           "reference_decoder": None if ref_dec is None else ref_dec.label,
                           "tokens": None if tokens is None else str(tokens),
                           "port_tokens": None if port_tokens is None else str(port_tokens),
                           "codebooks": q, "frames": t, "codebook_size": codebook_size,
                           **result.to_json()})
    if result.status == "error":
        first = result.outcomes[0].failure if result.outcomes else "no probe"
        raise InputError(port_dec.label, f"no probe gave audio, nothing could be checked "
                                         f"(first: {first})")
    raise typer.Exit(_EXIT[result.status])


def _write_wavs(folder: Path, result) -> list[Path]:
    """Each decoded probe as float WAV in ``folder`` (written atomically)."""
    import numpy as np
    import soundfile as sf

    from ..atomic import atomic_path

    written = []
    for suffix, decodes in (("", result.audio), (".ref", result.ref_audio)):
        for name, decoded in decodes.items():
            if decoded.audio is None:
                continue
            target = folder / f"{name}{suffix}.wav"
            with atomic_path(target) as tmp:
                sf.write(str(tmp), np.nan_to_num(decoded.audio), decoded.sr, subtype="FLOAT",
                         format="WAV")
            written.append(target)
    return written


def _print_decoder(con: Console, result) -> None:
    table = Table(title="decoder probes" + (" vs the reference decoder" if result.compared
                                            else ""))
    for column in ("probe", "expected", "audio", "verdict", "periodic", "result"):
        table.add_column(column, justify="right" if column in ("audio", "periodic")
                         else "left")
    for o in result.outcomes:
        expected = "= reference decoder" if result.compared else o.expected
        audio = "—" if o.duration_s is None else f"{o.duration_s:.2f} s"
        style = "green" if o.ok else "red"
        mark = "ok" if o.ok else ("failed" if o.failure else "WRONG")
        table.add_row(o.name, escape(expected), audio, o.verdict or "—",
                      "—" if o.periodicity is None else f"{o.periodicity:.3f}",
                      f"[{style}]{mark}[/{style}]: {escape(o.why)}")
    con.print(table)
    for note in result.notes:
        con.print(f"  - {escape(note)}")
    style = "green" if result.status == "ok" else "red"
    con.print(f"[{style}]{result.status}[/{style}] (fault: {result.fault}): "
              f"{escape(result.detail)}")


def register(app: typer.Typer) -> None:
    """Add the ``probe`` command group to the CLI."""
    group = typer.Typer(help="Probes: conditioning reaching each layer; a decoder on "
                             "zero, constant, repeated, random and the reference's tokens.",
                        no_args_is_help=True)
    group.command("conditioning")(conditioning)
    group.command("decoder")(decoder)
    app.add_typer(group, name="probe")
