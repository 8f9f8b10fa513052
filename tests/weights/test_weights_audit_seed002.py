"""Seed 002 rebuilt: the audit names every bug of the buggy MLX conversion."""

from __future__ import annotations

import json

from audioparity.weights import audit_checkpoints, open_checkpoint


def _audit(ref, port):
    with open_checkpoint(ref) as r, open_checkpoint(port) as p:
        return audit_checkpoints(r, p)


def _entry(report, ref_name):
    return next(e for e in report.entries if ref_name in e.ref)


def test_prefix_that_drops_the_decoder_is_named_with_its_count(seed002):
    report = _audit(seed002["ref"], seed002["port"])
    rule = report.prefix_rules[0]
    assert (rule["ref_prefix"], rule["port_prefix"]) == ("decoder.estimator.", "decoder.")
    assert rule["count"] == 12  # every tensor of the decoder
    assert not [e for e in report.entries if e.status in ("missing", "unexpected")]


def test_mixed_conv_layouts_are_counted_and_the_odd_one_named(seed002):
    report = _audit(seed002["ref"], seed002["port"])
    summary = report.layout_summary
    assert (summary["mlx"], summary["pytorch"]) == (11, 1)
    assert summary["convention"] == "mlx"
    assert summary["inconsistent"] == ["decoder.mid.weight"]
    assert any("mixed conv layouts: 11 tensors in [out,k,in] (MLX), 1 in [out,in,k] (PyTorch)"
               in p and "decoder.mid.weight" in p for p in report.problems)


def test_conv_transpose_layout_is_told_apart_from_conv(seed002):
    report = _audit(seed002["ref"], seed002["port"])
    ups = _entry(report, "vocoder.ups.0.parametrizations.weight.original1")
    assert ups.perm == [1, 2, 0] and "ConvTranspose1d" in ups.layout
    down = _entry(report, "decoder.estimator.down.weight")
    assert down.perm == [0, 2, 1] and "MLX Conv1d" in down.layout


def test_square_and_in_equals_kernel_shapes_are_resolved_by_values(seed002):
    report = _audit(seed002["ref"], seed002["port"])
    square_k = _entry(report, "decoder.estimator.square_k.weight")  # [32, 3, 3]
    assert square_k.perm == [0, 2, 1]
    assert "ambiguous by shape" in square_k.layout_note and "resolved by values" in \
        square_k.layout_note
    odd = _entry(report, "decoder.estimator.mid.weight")  # [32, 32, 3] left in torch layout
    assert odd.perm == [0, 1, 2] and "resolved by values" in odd.layout_note
    pointwise = _entry(report, "decoder.estimator.pointwise.weight")  # kernel_size=1
    assert pointwise.perm == [0, 2, 1] and pointwise.status == "ok"


def test_weight_norm_three_spellings_are_matched_and_fused_weight_verified(seed002):
    report = _audit(seed002["ref"], seed002["port"])
    g = _entry(report, "vocoder.conv_pre.parametrizations.weight.original0")
    assert g.how == "weight_norm_spelling" and g.port == ["vocoder.conv_pre.weight_g"]
    fused = _entry(report, "vocoder.ups.0.parametrizations.weight.original1")
    assert fused.how == "weight_norm_fused" and fused.port == ["vocoder.ups.0.weight"]
    assert fused.status == "ok" and "matches" in fused.detail
    same = _entry(report, "vocoder.conv_post.parametrizations.weight.original1")
    assert same.how == "exact"
    assert all(e.status == "ok" for e in report.entries)


def test_unloaded_decoder_is_reported_at_init_with_its_module(seed002):
    report = _audit(seed002["ref"], seed002["unloaded"])
    at_init = [e for e in report.entries if e.status == "init"]
    assert {e.component for e in at_init} == {"decoder"}
    assert len(at_init) == 12  # every decoder weight and bias
    assert all("reset_parameters" in e.detail for e in at_init)
    assert any("12 tensors at initial values" in p and "decoder (12)" in p
               for p in report.problems)
    assert all(e.status == "ok" for e in report.entries if e.component != "decoder")


def test_cli_audit_exit_codes_and_json(seed002, cli, tmp_path):
    out = tmp_path / "audit.json"
    code, stdout, err = cli("weights", "audit", seed002["ref"], seed002["port"], "--json", out)
    assert code == 1 and err == ""
    assert "decoder.estimator." in stdout and "MLX" in stdout
    data = json.loads(out.read_text())
    assert data["status"] == "divergent" and data["counts"]["ok"] == len(data["entries"])
    code, _, _ = cli("weights", "audit", seed002["ref"], seed002["ref"])
    assert code == 0
