"""The command template: placeholders, no shell by default, quote-safe --shell."""

from __future__ import annotations

import subprocess

import pytest

from audioparity.errors import UsageError
from audioparity.sweep.command import CommandTemplate, check_template, render

NASTY = "a b'c\"; touch PWNED $(id) `id` *"


def test_argv_substitution_inside_words():
    t = CommandTemplate(("gen", "--cfg={cfg}", "--out", "{out}", "run_{cfg}_{steps}"))
    assert render(t, {"cfg": "7", "steps": "30"}, "/o/x.wav") == [
        "gen", "--cfg=7", "--out", "/o/x.wav", "run_7_30"]


def test_other_braces_pass_through_and_double_braces_escape():
    t = CommandTemplate(("gen", '{"guidance": {cfg}}', "{{cfg}}", "${HOME}", "{0}", "{out}"))
    assert t.placeholders == {"cfg", "out"}
    assert render(t, {"cfg": "3"}, "o.wav") == ["gen", '{"guidance": 3}', "{cfg}", "${HOME}",
                                               "{0}", "o.wav"]


def test_argv_mode_passes_a_hostile_value_as_one_argument(tmp_path):
    t = CommandTemplate(("python3", "-c", "import sys; open(sys.argv[2], 'w').write(sys.argv[1])",
                         "{v}", "{out}"))
    out = tmp_path / "v.txt"
    subprocess.run(render(t, {"v": NASTY}, str(out)), check=True, cwd=tmp_path, timeout=30)
    assert out.read_text() == NASTY
    assert not (tmp_path / "PWNED").exists()


def test_shell_mode_quotes_values(tmp_path):
    t = CommandTemplate(("printf", "%s", "{v}", ">", "{out}", "&&", "echo", "done"), shell=True)
    out = tmp_path / "my out.txt"
    argv = render(t, {"v": NASTY}, str(out))
    assert argv[:2] == ["/bin/sh", "-c"]
    done = subprocess.run(argv, check=True, cwd=tmp_path, capture_output=True, text=True,
                          timeout=30)
    assert out.read_text() == NASTY and done.stdout == "done\n"
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("words, grid, problem", [
    ((), ["cfg"], "no command to run"),
    (("gen", "{cfg}", "{steps}", "{out}"), ["cfg"], "uses {steps} but no --grid steps"),
    (("gen", "{cfg}"), ["cfg"], "no {out} placeholder"),
    (("gen", "{cfg}", "{out}"), ["cfg", "seed"], "--grid seed is never used"),
    (("gen", "{{cfg}}", "{out}"), ["cfg"], "--grid cfg is never used"),
])
def test_template_errors(words, grid, problem):
    with pytest.raises(UsageError, match=problem.replace("{", r"\{").replace("}", r"\}")):
        check_template(CommandTemplate(words), grid)
