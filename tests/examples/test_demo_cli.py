"""``audioparity demo``: finds the planted bug, writes its files, refuses bad options."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")


def test_demo_finds_interleaved_rope_at_the_first_rotary_embedding(cli, tmp_path):
    code, out, err = cli("demo", "--out", tmp_path / "demo-out")
    assert code == 0, err
    assert "FIRST DIVERGES lm.model.layers.0.self_attn.apply_rotary_pos_emb" in out
    assert "last good      lm.model.layers.0.self_attn.v_proj" in out
    files = {p.name for p in (tmp_path / "demo-out").iterdir()}
    assert files == {"weights.safetensors", "ref.safetensors", "port.safetensors",
                     "compare.json", "report.html"}
    report = json.loads((tmp_path / "demo-out" / "compare.json").read_text())
    assert report["status"] == "divergent"
    assert report["first_divergence"]["name"] == "lm.model.layers.0.self_attn.apply_rotary_pos_emb"
    assert isinstance(report["first_divergence"]["causes"], list)
    html = (tmp_path / "demo-out" / "report.html").read_text()
    assert "lm.model.layers.0.self_attn.apply_rotary_pos_emb" in html


def test_demo_without_a_bug_shows_parity_and_json_goes_to_stdout(cli, tmp_path):
    code, out, err = cli("demo", "--bug", "none", "--out", tmp_path, "--json", "-")
    assert code == 0, err
    report = json.loads(out)
    assert report["status"] == "parity"
    assert report["first_divergence"] is None
    assert all(e["ok"] for e in report["entries"])


@pytest.mark.parametrize(("args", "problem"), [
    (("--bug", "typo"), "--bug must be one of"),
    (("--layer", "9"), "--layer must be in 0..3"),
])
def test_demo_bad_options_give_one_line_and_exit_2(cli, tmp_path, args, problem):
    code, _, err = cli("demo", "--out", tmp_path / "d", *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and problem in err
    assert not (tmp_path / "d").exists()
