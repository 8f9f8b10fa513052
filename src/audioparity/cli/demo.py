"""``audioparity demo``: the whole loop on a tiny real model, in seconds.

Builds the demo reference (transformers Qwen3 + a Vocos-style ISTFT head, random weights,
fixed seed), captures it with the torch capture, runs the NumPy port shipped in
:mod:`audioparity.examples` with one planted bug (by default seed 000's interleaved RoPE at
layer 0), compares the two traces and prints the validation table and the first divergence.
Writes ``weights.safetensors``, ``ref.safetensors``, ``port.safetensors``,
``compare.json`` and ``report.html`` under ``--out``.

Exit 0 when the demo found what it planted (the bug at its first affected entry, or parity
for ``--bug none``); 1 when it did not.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError, UsageError
from .common import console, write_json

NO_BUG = "none"


def demo_command(
    out: Annotated[Path, typer.Option(help="Folder for the traces, weights and JSON.")]
        = Path("demo-out"),
    bug: Annotated[str, typer.Option(help="Bug planted in the NumPy port: rope_interleaved, "
                                          "no_qk_norm, norm_eps, mlp_act, attn_no_causal_mask, "
                                          "gqa_tiled, istft_scale, istft_pad, or none.")]
        = "rope_interleaved",
    layer: Annotated[int, typer.Option(help="Decoder layer the bug is planted in.")] = 0,
    json_out: Annotated[str | None, typer.Option("--json", help="Also write the compare "
                                                    "JSON here ('-' = stdout).")] = None,
) -> None:
    """Plant a bug in a NumPy port of a tiny Qwen3 TTS model and watch audioparity find it."""
    from ..examples.numpy_port import BUG_KINDS

    if bug != NO_BUG and bug not in BUG_KINDS:
        raise UsageError(f"--bug must be one of {', '.join([*BUG_KINDS, NO_BUG])} (got {bug!r})")
    result, expected = run_demo(out, bug, layer, quiet=json_out == "-")
    write_json(json_out, result.to_json())
    found = (result.status == "parity" if expected is None
             else result.first_divergence is not None
             and result.first_divergence.name == expected)
    if json_out != "-":
        _summarize(bug, layer, expected, found, out)
    raise typer.Exit(0 if found else 1)


def _make_out_dir(out: Path) -> None:
    """Create ``--out`` or say in one line why it cannot be (a file, no permission)."""
    if out.exists() and not out.is_dir():
        raise InputError(out, "--out is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(out, f"cannot create the --out folder: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise InputError(out, "cannot write into the --out folder: permission denied")


def run_demo(out: Path, bug: str = "rope_interleaved", layer: int = 0, quiet: bool = False):
    """Build, capture, port, compare; return the ``CompareResult`` and the expected entry.

    The expected entry is the name of the first trace entry the planted bug changes
    (``None`` for ``bug="none"``).
    """
    try:
        import torch  # noqa: F401  (the reference and its capture need it)

        from ..examples.reference import (
            DemoConfig,
            as_numpy,
            build_reference,
            demo_input_ids,
            save_weights,
            trace_reference,
        )
    except ImportError as exc:
        raise UsageError(f"the demo needs PyTorch and transformers ({exc.name} is missing): "
                         "pip install 'audioparity[torch]'") from None
    from ..compare import compare_traces
    from ..examples.numpy_port import BUG_KINDS, NumpyPort
    from ..report.html import write_html
    from ..report.table import print_report

    config = DemoConfig()
    if not 0 <= layer < config.num_hidden_layers:
        raise UsageError(f"--layer must be in 0..{config.num_hidden_layers - 1} (got {layer})")
    _make_out_dir(out)
    bugs = {} if bug == NO_BUG else {bug: layer}
    say = (lambda *a, **k: None) if quiet else console.print

    say(f"[bold]1.[/] reference: transformers Qwen3ForCausalLM ({config.num_hidden_layers} "
        f"layers, hidden {config.hidden_size}) + Vocos-style ISTFT head "
        f"(n_fft {config.n_fft}, hop {config.hop_length}), random weights, seed 0")
    model = build_reference(config)
    ids = demo_input_ids(config)
    weights = save_weights(model, out / "weights.safetensors")
    names = trace_reference(model, ids, out / "ref.safetensors", {"model": "demo Qwen3 TTS"})
    say(f"   captured {len(names)} tensors with torch hooks -> {out / 'ref.safetensors'}")

    planted = "no bug" if not bugs else f"bug planted: {bug}" + (
        "" if bug.startswith("istft") else f" at layer {layer}")
    say(f"[bold]2.[/] port: audioparity.examples.numpy_port (pure NumPy, {planted})")
    port = NumpyPort.from_safetensors(weights, config, bugs)
    recorded = port.trace(as_numpy(ids), out / "port.safetensors")
    say(f"   recorded {len(recorded)} tensors -> {out / 'port.safetensors'}")

    say(f"[bold]3.[/] audioparity compare {out / 'ref.safetensors'} {out / 'port.safetensors'}")
    result = compare_traces(out / "ref.safetensors", out / "port.safetensors", progress=True)
    write_json(out / "compare.json", result.to_json())
    write_html(out / "report.html", result)
    if not quiet:
        print_report(result, console)
    expected = BUG_KINDS[bug].format(layer=layer) if bugs else None
    return result, expected


def _summarize(bug: str, layer: int, expected: str | None, found: bool, out: Path) -> None:
    if expected is None:
        verdict = "the faithful port shows parity" if found else "the faithful port diverged"
    elif found:
        verdict = f"found the planted {bug} bug at {expected}"
    else:
        verdict = f"did NOT find the planted {bug} bug at {expected}"
    console.print(f"[{'green' if found else 'red'}]demo: {verdict}[/]  "
                  f"(JSON: {out / 'compare.json'}, HTML: {out / 'report.html'})")
    console.print(f"try: audioparity demo --bug mlp_act --layer 2   |   "
                  f"audioparity compare {out / 'ref.safetensors'} {out / 'port.safetensors'} "
                  "--depth 4", style="dim")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
