"""Every command's JSON keeps one contract: ``schema_version`` first, one top-level ``status``
from one vocabulary, and the exit code that status means (docs/json.md)."""

from __future__ import annotations

import json
import sys

import pytest

from audioparity.contract import SCHEMA_VERSION, STATUSES, exit_code

NOISE_MAKER = ("import sys, numpy as np, soundfile as sf; sf.write(sys.argv[2], "
               "float(sys.argv[1]) * np.random.default_rng(0).standard_normal(16000), 16000)")

#: id -> (argv builder, the status these inputs must give, or None: any word of the vocabulary)
CASES = {
    "compare-divergent": (lambda i, t: ["compare", i.ref_trace, i.port_trace], "divergent"),
    "compare-parity": (lambda i, t: ["compare", i.ref_trace, i.ref_trace], "parity"),
    "explain": (lambda i, t: ["explain", i.ref_trace, i.port_trace, "--ref-name", "layers.2"],
                "divergent"),
    "explain-parity": (lambda i, t: ["explain", i.mel, i.mel], "parity"),
    "audio-inspect-noise": (lambda i, t: ["audio", "inspect", i.noise, "--no-vad"], "problem"),
    "audio-inspect-unreadable": (lambda i, t: ["audio", "inspect", i.noise, i.mel, "--no-vad"],
                                 "error"),
    "audio-compare": (lambda i, t: ["audio", "compare", i.noise, i.noise, "--no-quality"],
                      "parity"),
    "audio-mel": (lambda i, t: ["audio", "mel", i.mel], "problem"),
    "tokens-check": (lambda i, t: ["tokens", "check", i.tokens, "--codebook-size", 256], None),
    "tokens-check-out-of-range": (lambda i, t: ["tokens", "check", i.tokens,
                                                "--codebook-size", 100], "problem"),
    "weights-audit": (lambda i, t: ["weights", "audit", i.ref_ckpt, i.port_ckpt], None),
    "weights-fix": (lambda i, t: ["weights", "fix", i.ref_ckpt, i.port_ckpt, "--out",
                                  t / "fixed.safetensors"], None),
    "weights-quant": (lambda i, t: ["weights", "quant", i.ref_ckpt, "--type", "Q8_0"], None),
    "sweep": (lambda i, t: ["sweep", "-g", "level=0.1", "-j", 1, "--no-vad", "-o", t / "runs",
                            "--", sys.executable, "-c", NOISE_MAKER, "{level}", "{out}"],
              "problem"),
}


def _with_speech(inputs):
    if inputs.speech is None:
        pytest.skip("espeak-ng is not installed (make espeak)")
    return ["audio", "inspect", inputs.speech, "--no-vad"]


CASES["audio-inspect-speech"] = (lambda i, t: _with_speech(i), "ok")


def _check(code: int, doc: dict, expected: str | None) -> None:
    assert list(doc)[:2] == ["schema_version", "status"]
    assert doc["schema_version"] == SCHEMA_VERSION and doc["status"] in STATUSES
    if expected is not None:
        assert doc["status"] == expected
    assert code == exit_code(doc["status"])


@pytest.mark.parametrize("case", sorted(CASES))
def test_json_on_stdout_keeps_the_contract(cli, inputs, tmp_path, case):
    build, expected = CASES[case]
    argv = build(inputs, tmp_path)
    at = argv.index("--") if "--" in argv else len(argv)
    code, out, err = cli(*argv[:at], "--json", "-", *argv[at:])
    assert out.startswith("{"), err
    _check(code, json.loads(out), expected)  # stdout holds the JSON and nothing else


def test_json_file_and_human_output_together(cli, inputs, tmp_path):
    code, out, _ = cli("compare", inputs.ref_trace, inputs.port_trace, "--json",
                       tmp_path / "r.json")
    _check(code, json.loads((tmp_path / "r.json").read_text()), "divergent")
    assert "layers.2" in out


def test_history_json_keeps_the_contract(cli, inputs, tmp_path):
    db = tmp_path / "h.sqlite"
    for port in (inputs.port_trace, inputs.ref_trace):
        cli("compare", inputs.ref_trace, port, "--history", db)
    code, out, _ = cli("history", db, "--json", "-")
    _check(code, json.loads(out), "ok")  # divergent, then parity: moved later
