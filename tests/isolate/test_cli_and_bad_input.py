"""``audioparity isolate``: the table, JSON, exit codes, and one clear line for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import mini_tts
import pytest

from audioparity.errors import InputError
from audioparity.isolate import isolate

PORTS = Path(__file__).parent / "cli_ports.py"


def test_cli_prints_both_columns_and_writes_json(cli, tts_traces, tmp_path):
    out = tmp_path / "iso.json"
    code, stdout, _ = cli("isolate", tts_traces["clone"], "--port", f"{PORTS}:cloning_bug",
                          "--patch", "speaker_encoder", "--json", out)
    assert code == 1
    assert "end to end" in stdout and "isolated" in stdout
    assert "a victim of speaker_encoder" in stdout
    assert "speaker_encoder is the only culprit" in stdout
    data = json.loads(out.read_text())
    assert data["status"] == "divergent"
    assert data["bugs"] == ["speaker_encoder"]
    assert data["victims"] == ["talker", "code_predictor", "decoder"]
    assert data["first_end_to_end"] == "speaker_encoder"
    assert data["patch"]["recovered"] is True
    rows = {r["component"]: r for r in data["components"]}
    assert rows["talker"]["isolated"]["status"] == "ok"
    assert rows["talker"]["end_to_end"]["status"] == "FAIL"


def test_cli_parity_exits_0(cli, tts_traces):
    code, stdout, _ = cli("isolate", tts_traces["preset"], "--port", f"{PORTS}:cloning_bug")
    assert code == 0
    assert stdout.startswith("parity: all 4 components within tolerance")


def test_a_raising_component_is_reported_in_its_row(cli, tts_traces, tmp_path):
    out = tmp_path / "iso.json"
    code, _stdout, stderr = cli("isolate", tts_traces["clone"], "--port",
                               f"{PORTS}:talker_raises", "--json", out)
    assert code == 1 and stderr == ""
    rows = {r["component"]: r for r in json.loads(out.read_text())["components"]}
    assert rows["talker"]["verdict"] == "error"
    assert "raised ValueError: expected speaker of shape (1, 32)" in rows["talker"]["note"]
    assert [rows[n]["verdict"] for n in ("speaker_encoder", "code_predictor", "decoder")] == \
        ["ok", "ok", "ok"]
    assert json.loads(out.read_text())["status"] == "incomplete"


@pytest.mark.parametrize(("port", "message"), [
    ("everything_raises", ("no component could be checked: speaker_encoder: raised "
                          "RuntimeError: not implemented yet")),
    ("broken_factory", ("cli_ports.py:broken_factory: building the port raised "
                       "FileNotFoundError: weights/talker.safetensors not found")),
    ("absent", "cli_ports.py: has no 'absent'"),
])
def test_a_port_that_cannot_run_is_one_line_and_exit_2(cli, tts_traces, port, message):
    code, _, stderr = cli("isolate", tts_traces["clone"], "--port", f"{PORTS}:{port}")
    assert code == 2
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr


def test_a_component_not_in_the_trace(cli, tts_traces):
    code, _, stderr = cli("isolate", tts_traces["clone"], "--port", f"{PORTS}:cloning_bug",
                          "-c", "speaker_encodr")
    assert code == 2
    assert "clone.safetensors: no component 'speaker_encodr' in this trace (did you mean " \
           "speaker_encoder" in stderr


def test_a_reference_without_recorded_inputs_says_how_to_capture(tts_ref, tmp_path, cli):
    from audioparity.sources.torch_capture import capture

    path = tmp_path / "no_inputs.safetensors"
    with capture(tts_ref, path):
        tts_ref(mini_tts.text_ids(), mini_tts.mel())
    with pytest.raises(InputError, match=r"records no inputs for 'talker' .*inputs=True"):
        isolate(path, mini_tts.NumpyMiniTTS(tts_ref).as_port(), components=["talker"])
    code, _, stderr = cli("isolate", path, "--port", f"{PORTS}:cloning_bug")
    assert code == 2
    assert "no component to isolate" in stderr and "inputs=True" in stderr


@pytest.mark.parametrize("args", [(), ("--port", "no_colon"), ("--port", "x:y", "--outputs",
                                                               "f.safetensors")])
def test_usage_errors(cli, tts_traces, args):
    code, _, stderr = cli("isolate", tts_traces["clone"], *args)
    assert code == 2
    assert stderr.startswith("audioparity: error:")


def test_a_port_whose_run_crashes_keeps_what_it_reached(tts_traces):
    import cli_ports

    from audioparity.isolate import patch

    port = cli_ports.decoder_crashes()
    result = isolate(tts_traces["clone"], port)
    rows = {r.name: r for r in result.rows}
    assert [rows[n].end_to_end.status for n in ("speaker_encoder", "talker",
                                                 "code_predictor")] == ["ok"] * 3
    assert rows["decoder"].verdict == "error"
    assert rows["decoder"].end_to_end.error.startswith("not reached: the port's end-to-end run "
                                                       "raised IndexError")
    assert result.status == "incomplete"
    assert any("raised IndexError" in n for n in result.notes)
    patched = patch(tts_traces["clone"], port, "talker")
    assert [r.after.status for r in patched.rows] == ["ok", "error", "error"]
    assert patched.line.startswith("patching talker: the port's run did not reach decoder")
