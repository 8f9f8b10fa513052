"""``--json -`` on a run that could not check (exit 2) prints the error document on stdout
for every command: ``{"schema_version": 1, "status": "error", "error": "<the stderr line>"}``."""

from __future__ import annotations

import json

import pytest
import typer

from audioparity.cli.main import build_app
from audioparity.contract import SCHEMA_VERSION


def _json_commands() -> list[list[str]]:
    """Every command (path of words) that has a ``--json`` option."""
    found = []

    def walk(command, path):
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
        elif any("--json" in getattr(p, "opts", ()) for p in command.params):
            found.append(path)

    walk(typer.main.get_command(build_app()), [])
    return found


JSON_COMMANDS = _json_commands()


def _error_line(err: str) -> str:
    assert err.count("\n") == 1, err
    return err.removeprefix("audioparity: error: ").strip()


def test_the_commands_are_found():
    for expected in (["compare"], ["explain"], ["audio", "inspect"], ["tokens", "check"],
                     ["weights", "audit"], ["sweep"], ["history"]):
        assert expected in JSON_COMMANDS


@pytest.mark.parametrize("form", ["--json -", "--json=-"])
@pytest.mark.parametrize("command", JSON_COMMANDS, ids=" ".join)
def test_a_usage_error_prints_the_error_document(cli, command, form):
    code, out, err = cli(*command, *form.split(), "--no-such-option")
    assert code == 2
    doc = json.loads(out)
    assert doc == {"schema_version": SCHEMA_VERSION, "status": "error",
                   "error": _error_line(err)}
    assert "--no-such-option" in doc["error"]


def test_bad_input_names_the_file_in_the_error_document(cli, tmp_path):
    missing = tmp_path / "ref.npy"
    code, out, err = cli("explain", missing, missing, "--json", "-")
    assert code == 2
    doc = json.loads(out)
    assert doc["status"] == "error" and str(missing) in doc["error"]
    assert doc["error"] == _error_line(err)


def test_json_to_a_file_leaves_stdout_empty_on_exit_2(cli, tmp_path):
    code, out, err = cli("explain", tmp_path / "a.npy", tmp_path / "b.npy", "--json",
                         tmp_path / "r.json")
    assert code == 2 and out == "" and not (tmp_path / "r.json").exists()
    assert "a.npy" in err


def test_json_after_double_dash_belongs_to_the_swept_command(cli, tmp_path):
    code, out, err = cli("sweep", "-o", tmp_path / "runs", "--", "gen", "--json", "-")
    assert code == 2 and out == ""  # no --grid: a usage error, and sweep's --json not asked
    assert "grid" in err


def test_a_command_that_wrote_its_json_adds_no_second_document(cli, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    code, out, _ = cli("audio", "inspect", bad, "--json", "-", "--no-vad")
    assert code == 2
    doc = json.loads(out)  # one document: audio inspect's own, with the file's error
    assert doc["status"] == "error" and doc["files"] == [] and "bad.wav" in doc["errors"][0]


def test_an_internal_error_prints_the_error_document(cli, inputs, monkeypatch):
    import audioparity.cli.explain as explain_cli

    def broken(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.delenv("AUDIOPARITY_DEBUG", raising=False)
    monkeypatch.setattr(explain_cli, "explain_pair", broken)
    code, out, err = cli("explain", inputs.mel, inputs.mel, "--json", "-")
    assert code == 2 and err.count("\n") == 1 and "AUDIOPARITY_DEBUG" in err
    assert json.loads(out) == {"schema_version": SCHEMA_VERSION, "status": "error",
                               "error": "internal error: RuntimeError: boom"}
