"""The ``audioparity`` console script.

Every command exits 0 (checked, all fine), 1 (checked, a problem found) or 2 (could not
check: bad input or usage), and on 2 prints exactly one line on stderr naming the file and
the problem. Set ``AUDIOPARITY_DEBUG=1`` to see a traceback for an unexpected failure.

Command groups live in sibling modules, each exposing ``register(app)``; adding a group
means adding its module name to :data:`COMMAND_MODULES`.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

try:  # typer >= 0.29 vendors click as typer._click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer on top of click
    from click import ClickException

_EXIT = (typer.Exit,)
_CLICK_ERROR = (ClickException,)
_ABORT = (typer.Abort,)

from ..errors import InputError

COMMAND_MODULES = ("compare", "explain", "weights", "audio", "tokens", "sweep", "demo")

app = typer.Typer(
    name="audioparity",
    help="Find where a port of a neural audio model first diverges from its PyTorch "
         "reference, why, and whether what it emits is sane.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)



@app.callback()
def _root() -> None:
    """Subcommands check a port: compare traces, explain a pair, audit weights, inspect audio."""


for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"{__package__}.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"{__package__}.{_name}":
            raise
        continue
    _module.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` and return the exit code (never raises, never exits)."""
    try:
        result = app(args=argv, prog_name="audioparity", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except _EXIT as exc:
        return exc.exit_code
    except _CLICK_ERROR as exc:
        print(f"audioparity: error: {exc.format_message()} (see --help)", file=sys.stderr)
        return 2
    except _ABORT:
        print("audioparity: aborted", file=sys.stderr)
        return 130
    except InputError as exc:
        print(f"audioparity: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("audioparity: error: out of memory", file=sys.stderr)
        return 2
    except Exception as exc:
        if os.environ.get("AUDIOPARITY_DEBUG"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        print(f"audioparity: internal error: {type(exc).__name__}: {first} "
              "(set AUDIOPARITY_DEBUG=1 for a traceback)", file=sys.stderr)
        return 2


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
