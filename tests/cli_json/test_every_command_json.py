"""Every command's JSON keeps one contract: ``schema_version`` first, one top-level ``status``
from one vocabulary, and the exit code that status means (docs/json.md)."""

from __future__ import annotations

import json
import re
import sys

import pytest
from contract_inputs import conditioning_traces, decoder_file, isolation_case

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



def _isolate(inputs, tmp):
    ref, port_outputs = isolation_case(tmp)
    return ["isolate", ref, "--outputs", port_outputs]


def _conditioning(inputs, tmp):
    ref_a, ref_b, port_a, port_b = conditioning_traces(tmp)
    return ["probe", "conditioning", "--ref", ref_a, ref_b, "--port", port_a, port_b]


def _decoder(inputs, tmp):
    module, tokens = decoder_file(tmp)
    return ["probe", "decoder", "--callable", f"{module}:scaled", "--ref-callable",
            f"{module}:decode", "--tokens", tokens, "--codebook-size", 16]


CASES["isolate"] = (_isolate, "divergent")  # the last Linear's weight doubled
CASES["probe-conditioning"] = (_conditioning, "problem")  # the port embeds zeros
CASES["probe-decoder"] = (_decoder, "problem")  # the port decoder is off by 1/1024


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


def _section(title: str) -> str:
    """The text of docs/json.md from the heading ``title`` to the next heading."""
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "json.md").read_text(encoding="utf-8")
    return doc.split(title, 1)[1].split("\n#", 1)[0]


def _documented() -> dict[str, tuple[str, set[str]]]:
    """docs/json.md §4: command -> (its status-words cell, every `word` of its keys cell)."""
    rows = {}
    for line in _section("## 4. Commands").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        names = re.findall(r"`([^`]+)`", cells[0]) if len(cells) == 3 else []
        if names:
            rows[names[0]] = (cells[1], set(re.findall(r"`([^`]+)`", cells[2])))
    return rows


@pytest.mark.parametrize("case", sorted(CASES))
def test_docs_list_the_real_keys_and_status(cli, inputs, tmp_path, case):
    """The command's row in docs/json.md names its status word and every top-level key
    this real run wrote."""
    build, _ = CASES[case]
    argv = [str(a) for a in build(inputs, tmp_path)]
    at = argv.index("--") if "--" in argv else len(argv)
    _, out, err = cli(*argv[:at], "--json", "-", *argv[at:])
    assert out.startswith("{"), err
    doc = json.loads(out)
    rows = _documented()
    command = next((c for c in sorted(rows, key=len, reverse=True)
                    if argv[:len(c.split())] == c.split()), None)
    assert command is not None, f"no row for {argv[:2]} in docs/json.md §4"
    words, keys = rows[command]
    assert doc["status"] in words, (command, doc["status"])
    assert set(list(doc)[2:]) <= keys, (command, sorted(set(list(doc)[2:]) - keys))
    if command == "compare":  # and each pair's keys in §4.1
        pair_keys = set(re.findall(r"`([^`]+)`", _section("### 4.1")))
        assert set(doc["entries"][0]) <= pair_keys, sorted(set(doc["entries"][0]) - pair_keys)
