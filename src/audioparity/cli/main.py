"""The ``audioparity`` console script.

Every command exits 0 (checked, all fine), 1 (checked, a problem found) or 2 (could not
check: bad input or usage), and on 2 prints exactly one line on stderr naming the file and
the problem — with ``--json -`` also the error document on stdout (docs/json.md). Set
``AUDIOPARITY_DEBUG=1`` to see a traceback for an unexpected failure.

Command groups live in sibling modules, each exposing ``register(app)``; adding a group
means adding its module name to :data:`COMMAND_MODULES`.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated

import typer

try:  # typer >= 0.29 vendors click as typer._click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer on top of click
    from click import ClickException

from ..contract import error_document
from ..errors import InputError
from .json_output import dumps_json, json_on_stdout

_EXIT = (typer.Exit,)
_CLICK_ERROR = (ClickException,)
_ABORT = (typer.Abort,)

COMMAND_MODULES = ("compare", "explain", "weights", "audio", "tokens", "sweep", "demo",
                   "capture", "report", "isolate", "probe", "history")


def build_app(commands: tuple[str, ...] = COMMAND_MODULES) -> typer.Typer:
    """The Typer app with the given command groups registered (each imported on demand)."""
    app = typer.Typer(
        name="audioparity",
        help="Find where a port of a neural audio model first diverges from its PyTorch "
             "reference, why, and whether what it emits is sane.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_root)
    for name in commands:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{name}":
                raise
            continue
        module.register(app)
    return app


def version() -> str:
    """The installed package's version (``importlib.metadata``)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("audioparity")
    except PackageNotFoundError:  # run from a source tree that was never installed
        from .. import __version__

        return __version__


def _print_version(asked: bool) -> None:
    if asked:
        print(f"audioparity {version()}")
        raise typer.Exit(0)


def _root(
    show_version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_print_version,
        help="Print the version and exit.")] = False,
) -> None:
    """Subcommands check a port: compare traces, explain a pair, audit weights, inspect audio."""


def _commands_for(argv: list[str]) -> tuple[str, ...]:
    """Only the invoked command's module: start-up stays small (the audio stack imports
    scipy); ``--version`` needs none; ``--help`` and unknown words get every command, so
    help and errors list them."""
    if argv[:1] == ["--version"]:
        return ()
    return (argv[0],) if argv and argv[0] in COMMAND_MODULES else COMMAND_MODULES


def _json_to_stdout(argv: list[str]) -> bool:
    """Whether ``--json -`` (or ``--json=-``) was asked before any ``--``."""
    for i, arg in enumerate(argv):
        if arg == "--":
            return False
        if arg == "--json=-" or (arg == "--json" and argv[i + 1:i + 2] == ["-"]):
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` and return the exit code (never raises, never exits).

    With ``--json -``, a run that could not check (exit 2) and wrote no JSON itself prints
    ``{"schema_version": 1, "status": "error", "error": "..."}`` on stdout as well.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    json_on_stdout.written = False
    code, problem = _run(argv)
    if code == 2 and _json_to_stdout(argv) and not json_on_stdout.written:
        sys.stdout.write(dumps_json(error_document(problem or "could not check (the reason "
                                                             "is on stderr)")))
        sys.stdout.flush()
    return code


def _run(argv: list[str]) -> tuple[int, str | None]:
    """Exit code and, for exit 2 from an exception, the one-line problem (also on stderr)."""
    try:
        app = build_app(_commands_for(argv))
        result = app(args=argv, prog_name="audioparity", standalone_mode=False)
        return (result if isinstance(result, int) else 0), None
    except _EXIT as exc:
        return exc.exit_code, None
    except _CLICK_ERROR as exc:
        problem = f"{exc.format_message()} (see --help)"
    except _ABORT:
        print("audioparity: aborted", file=sys.stderr)
        return 130, None
    except InputError as exc:
        problem = str(exc)
    except MemoryError:
        problem = "out of memory"
    except Exception as exc:
        if os.environ.get("AUDIOPARITY_DEBUG"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        print(f"audioparity: internal error: {type(exc).__name__}: {first} "
              "(set AUDIOPARITY_DEBUG=1 for a traceback)", file=sys.stderr)
        return 2, f"internal error: {type(exc).__name__}: {first}"
    print(f"audioparity: error: {problem}", file=sys.stderr)
    return 2, problem


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
