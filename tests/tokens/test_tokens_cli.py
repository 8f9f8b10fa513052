"""``audioparity tokens check`` end to end: exit codes 0/1/2, the JSON shape, every input
format, and bad input (one line on stderr naming the file, never a traceback)."""

from __future__ import annotations

import hashlib
import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tokens_data import CODEBOOK_SIZE, VOCAB

TOP_KEYS = {"schema_version", "file", "ref_file", "status", "layout", "codebook_size", "codebooks_expected",
            "codebooks", "offset", "eos", "ref", "logits", "problems", "notes"}
CODEBOOK_KEYS = {"index", "count", "min", "max", "negative", "over", "unique", "entropy",
                 "top_token", "top_share", "longest_run", "repeat", "flags"}


def _json(cli, *args):
    code, out, err = cli("tokens", "check", *args, "--json", "-")
    return code, json.loads(out), err


def test_real_codes_exit_0_with_a_table(cli, codes, save):
    code, out, err = cli("tokens", "check", save(codes), "--codebook-size", CODEBOOK_SIZE)
    assert code == 0, out + err
    assert "read as BQT" in out and "guessed" in out and "ok:" in out
    assert out.count("│") > 8 * 10  # one table row per codebook


def test_flat_vocabulary_exits_1_with_json_naming_the_offset(cli, codes, save, tmp_path):
    flat = save(codes.transpose(0, 2, 1) + np.arange(8) * CODEBOOK_SIZE)
    target = tmp_path / "out" / "check.json"
    code, out, _ = cli("tokens", "check", flat, "--codebook-size", CODEBOOK_SIZE,
                       "--codebooks-expected", 8, "--json", target)
    assert code == 1 and "offset" in out and "subtract cb × 256" in out
    result = json.loads(target.read_text())
    assert set(result) == TOP_KEYS and result["status"] == "problem"
    assert set(result["codebooks"][0]) == CODEBOOK_KEYS
    assert result["layout"]["layout"] == "BTQ" and result["layout"]["codebooks"] == 8
    assert result["offset"]["offsets"] == [q * CODEBOOK_SIZE for q in range(8)]
    [problem] = result["problems"]
    assert set(problem) == {"check", "cause", "detail", "hint", "params"}
    assert (problem["check"], problem["cause"]) == ("offset", "offset")


def test_json_to_stdout_is_only_json_with_ref_eos_and_logits(cli, greedy, save, tmp_path):
    ids, logits = greedy
    ref_logits = tmp_path / "ref_logits.npy"
    np.save(ref_logits, logits)
    code, result, _ = _json(cli, save(ids), "--codebook-size", VOCAB, "--layout", "BT",
                            "--ref", save(ids, "ref.npy"), "--eos", VOCAB - 1,
                            "--logits", ref_logits, ref_logits)
    assert code == 0 and result["status"] == "ok" and result["problems"] == []
    assert result["ref"]["matches"] and result["ref"]["layout"]["layout"] == "BT"
    assert result["logits"]["agrees"] and result["logits"]["top1_agreement"] == 1.0  # exact: n/n
    assert [s["stop_reason"] for s in result["eos"]["sequences"]] == ["length", "length"]


def test_swapped_codebooks_in_another_layout_exit_1_as_permutation(cli, codes, save):
    port = save(codes[:, [1, 0, 2, 3, 4, 5, 6, 7]].transpose(0, 2, 1), "port.npy")
    code, result, _ = _json(cli, port, "--codebook-size", CODEBOOK_SIZE,
                            "--ref", save(codes, "ref.npy"))
    assert code == 1
    [problem] = result["problems"]
    assert problem["cause"] == "permutation"
    assert problem["params"]["order"] == [1, 0, 2, 3, 4, 5, 6, 7]


def _formats(tmp_path, codes):
    import torch
    from safetensors.numpy import save_file

    rows = codes[0]
    paths = {}
    paths["npz"] = tmp_path / "codes.npz"
    np.savez(paths["npz"], codes=codes)
    paths["pt"] = tmp_path / "codes.pt"
    torch.save(torch.from_numpy(codes), paths["pt"])
    paths["safetensors"] = tmp_path / "codes.safetensors"
    save_file({"audio_codes": codes}, str(paths["safetensors"]))
    paths["txt"] = tmp_path / "codes.txt"
    paths["txt"].write_text("\n".join(", ".join(map(str, r)) for r in rows) + "\n")
    paths["json"] = tmp_path / "codes.json"
    paths["json"].write_text(json.dumps({"codes": codes.tolist()}))
    paths["float32"] = tmp_path / "codes_f32.npy"
    np.save(paths["float32"], codes.astype(np.float32))
    return paths


def test_every_format_reads_the_same_codes(cli, codes, tmp_path):
    expected = None
    for fmt, path in _formats(tmp_path, codes).items():
        code, result, err = _json(cli, path, "--codebook-size", CODEBOOK_SIZE)
        assert code == 0, (fmt, err)
        stats = [(c["min"], c["max"], c["unique"], c["longest_run"]) for c in result["codebooks"]]
        expected = expected or stats
        assert stats == expected and len(stats) == 8, fmt
        assert any("whole numbers" in n for n in result["notes"]) == (fmt == "float32")


@pytest.mark.parametrize("make, problem", [
    (lambda d: d / "missing.npy", "no such file"),
    (lambda d: _np(d / "logits.npy", np.random.default_rng(0).normal(size=(4, 9))),
     "not whole numbers"),
    (lambda d: _np(d / "scalar.npy", np.array(7)), "0-d"),
    (lambda d: _np(d / "empty.npy", np.zeros((1, 8, 0), np.int64)), "empty"),
    (lambda d: _np(d / "four_d.npy", np.zeros((1, 1, 8, 4), np.int64)), "1-3 dims"),
    (lambda d: _write(d / "evil.pt", pickle.dumps({"codes": object()})), "unpickle"),
    (lambda d: _write(d / "junk.npy", b"\x93NUMPY garbage"), "not a readable .npy"),
    (lambda d: _write(d / "ragged.txt", b"1 2 3\n4 5\n"), "different numbers"),
    (lambda d: _write(d / "words.json", b'["a", "b"]'), "integer ids"),
    (lambda d: _write(d / "blank.txt", b"\n"), "no token ids"),
    (lambda d: _write(d / "nothing.txt", b""), "no token ids"),
    (lambda d: _write(d / "deep.json", b"[" * 100000 + b"]" * 100000), "not readable JSON"),
])
def test_bad_input_exits_2_with_one_line_naming_the_file(cli, tmp_path, make, problem):
    path = make(tmp_path)
    before = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
    code, out, err = cli("tokens", "check", path, "--codebook-size", 64)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and path.name in err and problem in err, err
    assert "Traceback" not in err
    if before is not None:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_blank_lines_between_codebooks_are_skipped(cli, tmp_path):
    path = _write(tmp_path / "codes.txt", b"1 2 3 4\n\n5 6 7 8\n\n")
    code, out, err = cli("tokens", "check", path, "--codebook-size", 64, "--json", "-")
    assert code in (0, 1), err
    assert len(json.loads(out)["codebooks"]) == 2


def test_arguments_that_cannot_work_exit_2(cli, codes, save, greedy, tmp_path):
    tokens = save(codes)
    cases = [
        (("--layout", "QT"), "does not fit shape"),
        (("--layout", "BQT", "--codebooks", 8), "not both"),
        (("--codebook-size", 0), "--codebook-size"),
    ]
    for extra, problem in cases:
        args = extra if "--codebook-size" in extra else ("--codebook-size", 256, *extra)
        code, _, err = cli("tokens", "check", tokens, *args)
        assert code == 2 and problem in err and err.count("\n") == 1, err
    small, big = tmp_path / "small.npy", tmp_path / "big.npy"
    np.save(small, greedy[1][..., :100])
    np.save(big, greedy[1])
    code, _, err = cli("tokens", "check", save(greedy[0]), "--codebook-size", VOCAB,
                       "--logits", small, big)
    assert code == 2 and "big.npy" in err and "vocabulary" in err


def _np(path, array):
    np.save(path, array)
    return path


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_a_multi_tensor_file_needs_name(cli, codes, tmp_path):
    both = tmp_path / "dump.npz"
    np.savez(both, codes=codes, flat=codes + np.arange(8)[None, :, None] * CODEBOOK_SIZE)
    code, _, err = cli("tokens", "check", both, "--codebook-size", CODEBOOK_SIZE)
    assert code == 2 and "holds 2 tensors" in err and "--name" in err
    assert cli("tokens", "check", both, "--codebook-size", CODEBOOK_SIZE, "--name", "codes"
               )[0] == 0
    assert cli("tokens", "check", both, "--codebook-size", CODEBOOK_SIZE, "--name", "flat"
               )[0] == 1


@pytest.mark.slow
def test_console_script_refuses_a_pickle_in_exactly_one_line(tmp_path):
    """In a real process torch's unpickler warning would reach stderr; it must not."""
    evil = _write(tmp_path / "evil.pt", pickle.dumps({"codes": object()}))
    script = Path(sys.executable).with_name("audioparity")
    run = subprocess.run([str(script), "tokens", "check", str(evil), "--codebook-size", "8"],
                         check=False, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "evil.pt: refusing to unpickle" in run.stderr
