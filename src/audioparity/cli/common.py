"""Helpers shared by the command modules: output, JSON (the contract of
:mod:`audioparity.contract`), progress."""

from __future__ import annotations

import sys

from rich.console import Console

from ..progress import err_console, progress_bar
from .json_output import dumps_json, json_on_stdout, write_json

__all__ = ["console", "dumps_json", "err_console", "json_on_stdout", "progress_bar",
           "write_json"]

# piped output gets a fixed, table-friendly width instead of rich's 80 columns
console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
