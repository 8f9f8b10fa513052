"""Per-tensor quantization error with gguf's own quantizers, and stored GGUF quantization."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from gguf import GGMLQuantizationType, quants
from weights_files import write_gguf

from audioparity.trace import write_trace
from audioparity.weights import audit_checkpoints, open_checkpoint
from audioparity.weights.models import hifigan_vocoder
from audioparity.weights.quant import expected_rel_error, quant_table, roundtrip


@pytest.fixture(scope="module")
def vocoder_ckpt(tmp_path_factory):
    model, _ = hifigan_vocoder()
    path = tmp_path_factory.mktemp("quant") / "vocoder.safetensors"
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    state["code_embedding.weight"] = np.random.default_rng(0).standard_normal(
        (256, 64)).astype(np.float32)
    write_trace(path, state)
    return path


def test_roundtrip_is_gguf_own_quantizer_and_errors_order_by_bits():
    x = np.random.default_rng(0).standard_normal((64, 256)).astype(np.float32)
    deq, note = roundtrip(x, "Q8_0")
    t = GGMLQuantizationType.Q8_0
    assert note == "" and np.array_equal(deq, quants.dequantize(quants.quantize(x, t), t))
    rel = {q: np.linalg.norm(roundtrip(x, q)[0] - x) / np.linalg.norm(x)
           for q in ("F16", "BF16", "Q8_0", "Q5_0", "Q4_0")}
    assert rel["F16"] < rel["BF16"] < rel["Q8_0"] < rel["Q5_0"] < rel["Q4_0"]
    assert 3e-3 < rel["Q8_0"] < 8e-3 and 5e-2 < rel["Q4_0"] < 0.12


def test_rows_not_multiple_of_block_are_quantized_flat_and_say_so():
    x = np.random.default_rng(1).standard_normal((16, 16, 7)).astype(np.float32)
    deq, note = roundtrip(x, "Q8_0")
    assert deq.shape == x.shape and "blocks span rows" in note
    assert np.linalg.norm(deq - x) / np.linalg.norm(x) < 1e-2


def test_k_quants_are_refused_not_reimplemented():
    with pytest.raises(ValueError, match="cannot quantize Q4_K"):
        roundtrip(np.zeros((1, 256), np.float32), "Q4_K")


def test_quant_table_flags_fragile_kinds_worst_first(vocoder_ckpt):
    with open_checkpoint(vocoder_ckpt) as ck:
        rows = quant_table(ck, "Q4_0", min_sqnr_db=25.0)
    assert [r.sqnr_db for r in rows] == sorted(r.sqnr_db for r in rows)
    by_name = {r.name: r for r in rows}
    assert "embedding" in by_name["code_embedding.weight"].flags
    assert "1-D" in by_name["conv_pre.bias"].flags
    assert "small conv" in by_name["conv_post.parametrizations.weight.original1"].flags
    assert any(r.damaged for r in rows) and not all(r.damaged for r in rows)


def test_cli_quant_table_exit_codes_and_json(vocoder_ckpt, cli, tmp_path):
    out = tmp_path / "q.json"
    code, stdout, err = cli("weights", "quant", vocoder_ckpt, "--type", "Q8_0", "--json", out,
                            "--min-sqnr", "20")
    assert code == 0 and err == "" and "SQNR" in stdout
    data = json.loads(out.read_text())
    assert data["qtype"] == "Q8_0" and data["damaged"] == 0
    code, _, _ = cli("weights", "quant", vocoder_ckpt, "--type", "Q4_0", "--min-sqnr", "30")
    assert code == 1
    code, _, err = cli("weights", "quant", vocoder_ckpt, "--type", "Q6_K")
    assert code == 2 and err.count("\n") == 1 and "K-quants" in err


def test_stored_gguf_quantization_measured_against_float_reference(tmp_path, cli):
    rng = np.random.default_rng(2)
    ref = {"lm.w": rng.standard_normal((32, 128)).astype(np.float32),
           "voc.w": rng.standard_normal((16, 64)).astype(np.float32),
           "norm": 1 + 0.1 * rng.standard_normal(64).astype(np.float32)}
    write_trace(tmp_path / "ref.safetensors", ref)
    write_gguf(tmp_path / "m.gguf", ref, {"lm.w": "Q8_0", "voc.w": "Q4_0"})
    out = tmp_path / "stored.json"
    code, _, err = cli("weights", "quant", tmp_path / "m.gguf", "--ref",
                       tmp_path / "ref.safetensors", "--json", out, "--min-sqnr", "30")
    assert code == 1, err  # the Q4_0 tensor is below 30 dB
    rows = {r["name"]: r for r in json.loads(out.read_text())["tensors"]}
    assert set(rows) == {"lm.w", "voc.w"}  # plain float tensors are not quantized
    assert rows["lm.w"]["qtype"] == "Q8_0" and rows["voc.w"]["qtype"] == "Q4_0"
    for name, q in (("lm.w", "Q8_0"), ("voc.w", "Q4_0")):
        want = np.linalg.norm(roundtrip(ref[name], q)[0] - ref[name]) / np.linalg.norm(ref[name])
        assert rows[name]["rel_l2"] == pytest.approx(want, rel=1e-5)


def test_audit_compares_quantized_and_half_tensors_with_the_error_their_type_should_give(
        tmp_path):
    rng = np.random.default_rng(3)
    ref = {"a": rng.standard_normal((32, 64)).astype(np.float32),
           "b": rng.standard_normal((32, 64)).astype(np.float32)}
    write_trace(tmp_path / "ref.safetensors", ref)
    write_gguf(tmp_path / "q8.gguf", ref, {"a": "Q8_0", "b": "Q8_0"})
    broken = {"a": ref["a"], "b": ref["b"] + 0.05 * rng.standard_normal((32, 64))}
    write_gguf(tmp_path / "broken.gguf", broken, {"a": "Q8_0", "b": "Q8_0"})
    half = {"a": torch.tensor(ref["a"]).half(), "b": torch.tensor(ref["b"]).bfloat16()}
    torch.save(half, tmp_path / "half.pt")
    with open_checkpoint(tmp_path / "ref.safetensors") as r:
        with open_checkpoint(tmp_path / "q8.gguf") as p:
            report = audit_checkpoints(r, p)
        assert all(e.status == "ok" and e.qtype == "Q8_0" for e in report.entries)
        a = report.entries[0]
        assert a.expected_rel == pytest.approx(1.5 * expected_rel_error("Q8_0", ref["a"]))
        with open_checkpoint(tmp_path / "broken.gguf") as p:
            bad = {e.ref[0]: e.status for e in audit_checkpoints(r, p).entries}
        assert bad == {"a": "ok", "b": "mismatch"}
        with open_checkpoint(tmp_path / "half.pt") as p:
            entries = audit_checkpoints(r, p).entries
        assert [(e.port_dtype, e.status) for e in entries] == [("float16", "ok"),
                                                                ("bfloat16", "ok")]
        assert entries[0].rel_l2 < 2.0 ** -11 and entries[1].rel_l2 < 2.0 ** -8
