"""`audioparity capture llamacpp`: a trace that compares at parity, and bad input as one
line on stderr with exit 2 (never a traceback, never a crash in the callback)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from tiny_lm import PROMPT

from audioparity.trace import open_trace

TOKENS = " ".join(map(str, PROMPT))


def one_line_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2, (out, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_capture_then_compare_is_parity(cli, tiny, tmp_path):
    out = tmp_path / "llama.safetensors"
    code, stdout, err = cli("capture", "llamacpp", tiny.gguf(), "--tokens", TOKENS, "-o", out)
    assert code == 0, err
    assert "recorded 166 nodes of qwen3 (12 tokens)" in stdout
    assert "flash attention off, KV cache f32/f32" in stdout
    code, stdout, err = cli("compare", tiny.ref, out)
    assert code == 0, stdout + err
    assert stdout.startswith("parity: all 79 aligned pairs within tolerance")


def test_tokens_from_a_text_file_or_an_npy_array(cli, tiny, tmp_path):
    text = tmp_path / "ids.txt"
    text.write_text(",".join(map(str, PROMPT[:4])) + "\n")
    ids = tmp_path / "ids.npy"
    np.save(ids, np.array([PROMPT[:4]], np.int64))
    for source in (text, ids):
        out = tmp_path / f"{source.suffix[1:]}.safetensors"
        code, _, err = cli("capture", "llamacpp", tiny.gguf(), "--tokens-file", source,
                           "-o", out, "--include", "result_output")
        assert code == 0, err
        assert open_trace(out).meta["tokens"] == PROMPT[:4]


def test_defaults_flag_keeps_llama_cpp_settings(cli, tiny, tmp_path):
    out = tmp_path / "d.safetensors"
    code, stdout, err = cli("capture", "llamacpp", tiny.gguf(), "--tokens", TOKENS, "-o", out,
                            "--llama-defaults", "--include", "l_out-*")
    assert code == 0, err
    assert "(llama.cpp defaults)" in stdout
    assert open_trace(out).meta["settings"]["exact"] is False


@pytest.mark.parametrize(("content", "needle"), [
    (b"hello, I am text", "not a GGUF file llama.cpp can load (GGUF magic invalid)"),
    (None, "not a GGUF file llama.cpp can load"),  # the tiny GGUF cut in half
])
def test_a_file_that_is_no_loadable_gguf_is_one_line(cli, tiny, write, content, needle):
    data = tiny.gguf().read_bytes()
    path = write("bad.gguf", content if content is not None else data[: len(data) // 2])
    one_line_error(*cli("capture", "llamacpp", path, "--tokens", "1", "-o",
                        path.with_suffix(".safetensors")), "bad.gguf", needle)
    assert not path.with_suffix(".safetensors").exists()


def test_an_architecture_llama_cpp_does_not_know_is_one_line(cli, llama_cpp, tmp_path):
    import gguf

    path = tmp_path / "arch.gguf"
    writer = gguf.GGUFWriter(str(path), "nosucharch")
    writer.add_block_count(1)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    one_line_error(*cli("capture", "llamacpp", path, "--tokens", "1", "-o",
                        tmp_path / "t.safetensors"),
                   "arch.gguf: llama.cpp cannot load it", "unknown model architecture")


@pytest.mark.parametrize(("tokens", "needle"), [
    ("3 17 256", "token id 256 outside the vocabulary (0 … 255)"),
    ("-1", "token id -1 outside the vocabulary"),
])
def test_token_ids_outside_the_vocabulary_are_one_line(cli, tiny, tmp_path, tokens, needle):
    one_line_error(*cli("capture", "llamacpp", tiny.gguf(), "--tokens", tokens, "-o",
                        tmp_path / "t.safetensors"), needle)


def test_a_model_above_the_memory_bound_is_refused_before_loading(cli, tiny, tmp_path):
    one_line_error(*cli("capture", "llamacpp", tiny.gguf(), "--tokens", TOKENS,
                        "--memory-limit", "256KiB", "-o", tmp_path / "t.safetensors"),
                   "f32.gguf: needs about", "above the memory bound of 256.0 KiB")


@pytest.mark.parametrize("args", [
    [],  # no prompt
    ["--tokens", "1 2", "--tokens-file", "ids.txt"],  # two prompts
    ["--tokens", "1 two"],
    ["--tokens", "1", "--max-bytes", "lots"],
])
def test_usage_errors_are_one_line(cli, tmp_path, args):
    one_line_error(*cli("capture", "llamacpp", tmp_path / "m.gguf", *args, "-o",
                        tmp_path / "t.safetensors"))


def test_the_extra_missing_is_one_line(cli, tmp_path, monkeypatch):
    """A build that failed (or was never installed): import llama_cpp fails."""
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    one_line_error(*cli("capture", "llamacpp", tmp_path / "m.gguf", "--tokens", "1", "-o",
                        tmp_path / "t.safetensors"),
                   "llama-cpp-python is not installed", "audioparity[llamacpp]")


def test_metadata_that_contradicts_the_tensors_is_one_line(cli, tiny, tmp_path):
    """A GGUF claiming 8 heads for 4 heads' weights: llama.cpp refuses it at load."""
    from tiny_lm import write_gguf

    tiny.model.config.num_attention_heads = 8
    try:
        path = write_gguf(tiny.model, tmp_path / "heads.gguf")
    finally:
        tiny.model.config.num_attention_heads = 4
    one_line_error(*cli("capture", "llamacpp", path, "--tokens", "1 2", "-o",
                        tmp_path / "t.safetensors"),
                   "heads.gguf: llama.cpp cannot load it", "has wrong shape")


def test_sizes_and_token_lists_parse():
    from audioparity.cli.capture import parse_size, parse_tokens

    assert parse_size("2GiB", "--x") == 2 * 1024**3  # exact: integer bytes
    assert parse_size("512M", "--x") == 512 * 1024**2  # exact
    assert parse_size("1048576", "--x") == 1048576  # exact
    assert parse_tokens(" 1, 2\n3 ") == [1, 2, 3]  # exact: parsed literals
