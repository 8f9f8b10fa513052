"""docs/examples/llama_dump.cpp, built against the pinned llama-cpp-python's headers and
libraries, runs a tiny random Qwen3 GGUF in llama.cpp and writes a trace that compares at
parity with the transformers reference (no map file); with llama.cpp's default settings
(flash attention, F16 KV cache) the first divergence is the first attention output.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow
SOURCE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "llama_dump.cpp"


def _llama_dirs() -> tuple[Path, Path]:
    """(include, lib) of the installed llama-cpp-python (the llamacpp extra)."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or spec.origin is None:
        pytest.skip("llama-cpp-python is not installed (the llamacpp extra)")
    package = Path(spec.origin).parent
    include, lib = package.parent / "include", package / "lib"
    if not (include / "llama.h").is_file() or not any(lib.glob("libllama.*")):
        pytest.skip(f"no llama.h / libllama beside {package}")
    return include, lib


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    include, lib = _llama_dirs()
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("g++ is not installed")
    binary = tmp_path_factory.mktemp("llama_cpp") / "llama_dump"
    subprocess.run([compiler, "-std=c++17", "-O1", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                    "-I", str(include), "-o", str(binary), str(SOURCE), "-L", str(lib),
                    "-lllama", "-lggml", "-lggml-base", f"-Wl,-rpath,{lib}"],
                   check=True, capture_output=True, timeout=180)
    return binary


@pytest.fixture(scope="module")
def model_files(tmp_path_factory) -> dict:
    """The tiny Qwen3 as a GGUF and its torch capture (tests/llamacpp's helpers)."""
    pytest.importorskip("gguf")
    pytest.importorskip("transformers")
    sys.path.insert(0, str(Path(__file__).parents[1] / "llamacpp"))
    import tiny_lm

    out = tmp_path_factory.mktemp("tiny_qwen3")
    model = tiny_lm.build_model()
    return {"gguf": tiny_lm.write_gguf(model, out / "tiny.gguf"),
            "ref": tiny_lm.capture_reference(model, tiny_lm.PROMPT, out / "ref.safetensors"),
            "prompt": tiny_lm.PROMPT}


def _run(program: Path, files: dict, out: Path, *flags: str) -> Path:
    done = subprocess.run([str(program), str(files["gguf"]), str(out),
                           *map(str, files["prompt"]), *flags], check=False,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return out


def test_llama_cpp_nodes_are_read_through_their_strides(program, model_files, tmp_path):
    from audioparity.trace import open_trace

    trace = open_trace(_run(program, model_files, tmp_path / "port.safetensors"))
    names = trace.names
    for expected in ("attn_norm-0", "Qcur-0", "Qcur-0#1", "Qcur-0#2", "kqv_out-0+1",
                     "result_output"):
        assert expected in names
    assert trace.meta["modules"]["output"] == "llama.cpp:qwen3"
    assert trace.meta["modules"]["Qcur-0#2"] == "ROPE"
    # a PERMUTE node is a view of its source: read through its strides it is the transpose
    source, permuted = (np.asarray(trace.read(n)) for n in ("kqv-0", "kqv-0 (permuted)"))
    assert source.shape == (4, 12, 16)
    assert np.array_equal(permuted, source.transpose(1, 0, 2))  # exact: same values moved


def test_llama_cpp_trace_compares_at_parity(program, model_files, tmp_path, cli):
    port = _run(program, model_files, tmp_path / "port.safetensors")
    code, out, err = cli("compare", model_files["ref"], port, "--json", "-")
    assert code == 0, err
    data = json.loads(out)
    assert data["status"] == "parity"
    by_ref = {e["ref_name"]: e for e in data["entries"]}
    assert by_ref["output"]["port_name"] == "result_output"
    assert by_ref["model.layers.0.self_attn.o_proj"]["port_name"] == "kqv_out-0+1"
    assert len(data["entries"]) > 70


def test_llama_cpp_default_settings_diverge_at_attention(program, model_files, tmp_path, cli):
    port = _run(program, model_files, tmp_path / "port.safetensors", "--defaults")
    code, out, err = cli("compare", model_files["ref"], port, "--json", "-")
    assert code == 1, err
    data = json.loads(out)
    assert data["status"] == "divergent"
    assert data["first_divergence"]["name"].startswith("model.layers.0.self_attn.")
    ok = {e["ref_name"]: e["ok"] for e in data["entries"]}
    assert ok["model.layers.0.self_attn.q_proj"] and ok["model.layers.0.input_layernorm"]
