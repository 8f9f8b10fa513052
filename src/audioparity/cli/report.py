"""``audioparity report RESULTS... --out F``: one HTML page over several results.

Inputs are the ``--json`` files of ``compare``, ``weights audit``, ``audio inspect`` and
``audio compare``, and audio files (WAV/FLAC/OGG) to play and draw, in any order; the page
shows them in the order given, after one verdict over all of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import console


def report_command(
    results: Annotated[list[Path], typer.Argument(
        help="Result JSON files (compare, weights audit, audio inspect, audio compare) and "
             "audio files (.wav/.flac/.ogg).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")],
) -> None:
    """Write one self-contained HTML report of compare, weights and audio results.

    Exit 0 when every result is good (parity, no weight problem, audio ok), 1 when one is
    not, 2 when an input cannot be read or the report cannot be written (nothing written).
    """
    from ..report.html import write_report
    from ..report.results import load_results

    all_good = write_report(out, load_results(results))
    console.print(f"report: {out}", markup=False)
    raise typer.Exit(0 if all_good else 1)


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
