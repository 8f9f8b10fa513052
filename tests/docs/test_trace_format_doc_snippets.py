"""The C++ in docs/trace-format.md is quoted from the example files the other tests in this
folder compile and run, so the page cannot drift from code that works."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "trace-format.md"
EXAMPLES = ROOT / "docs" / "examples"


def _lines(text: str) -> str:
    """The text with each line's indentation dropped (a quote inside a list is indented)."""
    return "\n".join(line.strip() for line in text.strip().splitlines())


def test_every_cpp_block_is_quoted_from_an_example():
    blocks = re.findall(r"```cpp\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    sources = [_lines(p.read_text()) for p in sorted(EXAMPLES.glob("*.[ch]pp"))]
    assert len(blocks) >= 2 and len(sources) >= 3
    for block in blocks:
        quoted = _lines(block)
        assert any(quoted in source for source in sources), quoted.splitlines()[0]


def test_the_doc_names_every_example_file():
    text = DOC.read_text()
    for path in EXAMPLES.iterdir():
        assert f"examples/{path.name}" in text, path.name
