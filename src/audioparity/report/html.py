"""HTML report of a comparison (a single self-contained file)."""

from __future__ import annotations

from pathlib import Path

import jinja2

from ..atomic import write_text_atomic
from ..compare.result import CompareResult, safe_text
from .table import _fmt

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("audioparity.report", "templates"),
                          autoescape=True, undefined=jinja2.StrictUndefined)


def render_html(result: CompareResult) -> str:
    # tensor names that were not valid UTF-8 carry lone surrogates: U+FFFD in the file
    return safe_text(_ENV.get_template("compare.html.j2").render(result=result, fmt=_fmt))


def write_html(path: str | Path, result: CompareResult) -> None:
    """Write the report atomically."""
    write_text_atomic(path, render_html(result))
