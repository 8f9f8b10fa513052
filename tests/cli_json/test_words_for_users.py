"""What users read — hints, help, errors, notes, the HTML — names the technique, never our
internal debugging-log numbers ("seed 002"). Docstrings and comments may cite them: there
they explain where a check comes from."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import typer

import audioparity
from audioparity.cli.main import build_app

PACKAGE = Path(audioparity.__file__).parent
INTERNAL = re.compile(r"\bseeds?\s*0\d\d\b|\bseed log|\bseed's\b", re.IGNORECASE)


def _docstring_nodes(tree: ast.AST) -> set[int]:
    """ids of string nodes that are docstrings (module, class, function, attribute)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            found.add(id(node.value))
    return found


def _user_strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstring_nodes(tree)
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docs]


def test_the_pattern_finds_what_it_must():
    assert INTERNAL.search("hint: flat vocabulary (seed 003: token + cb * 4096)")
    assert INTERNAL.search("as in the seed log") and INTERNAL.search("seed 002's decoder")
    assert not INTERNAL.search("random weights, seed 0")  # a random seed is a technique


def test_no_string_a_user_reads_cites_a_seed_log():
    found = [f"{path.relative_to(PACKAGE)}:{line}: {text[:80]!r}"
             for path in sorted(PACKAGE.rglob("*.py"))
             for line, text in _user_strings(path) if INTERNAL.search(text)]
    assert not found


def test_no_template_cites_a_seed_log():
    for path in PACKAGE.rglob("templates/*"):
        assert not INTERNAL.search(path.read_text(encoding="utf-8")), path


def _commands(command, path=()):
    yield path, command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _commands(sub, (*path, name))


def test_no_help_text_cites_a_seed_log(cli):
    for path, _ in _commands(typer.main.get_command(build_app())):
        code, out, err = cli(*path, "--help")
        assert code == 0, err
        assert not INTERNAL.search(out), (path, INTERNAL.search(out))
