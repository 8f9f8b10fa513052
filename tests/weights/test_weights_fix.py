"""``weights fix``: the corrected copy loads into the reference module and gives parity."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import torch
from weights_seed002 import S3GenLike

from audioparity.trace import open_trace
from audioparity.weights import audit_checkpoints, open_checkpoint
from audioparity.weights.weight_norm import fuse


def _load_into_reference(path) -> torch.nn.Module:
    model = S3GenLike().eval()
    with open_trace(path) as trace:
        state = {n: torch.from_numpy(trace.read(n).copy()) for n in trace.names}
    model.load_state_dict(state, strict=True)
    return model


def test_fixed_port_loads_strictly_and_matches_reference_forward(seed002, cli, tmp_path):
    out = tmp_path / "fixed.safetensors"
    digest = hashlib.sha256(seed002["port"].read_bytes()).hexdigest()
    code, _, err = cli("weights", "fix", seed002["ref"], seed002["port"], "--out", out)
    assert code == 0, err
    assert hashlib.sha256(seed002["port"].read_bytes()).hexdigest() == digest
    with torch.no_grad():
        want = seed002["model"](seed002["tokens"])
        got = _load_into_reference(out)(seed002["tokens"])
    assert torch.allclose(got, want, atol=1e-5, rtol=1e-5)
    log = json.loads((tmp_path / "fixed.safetensors.fixlog.json").read_text())
    actions = [a for c in log["changes"] for a in c["actions"]]
    assert any("renamed decoder.mid.weight -> decoder.estimator.mid.weight" in a
               for a in actions)
    assert any("layout (0, 2, 1) -> (0, 1, 2)" in a for a in actions)
    assert any("unfused" in a for a in actions)
    with open_checkpoint(seed002["ref"]) as r, open_checkpoint(out) as f:
        assert not audit_checkpoints(r, f).problems


def test_layout_port_makes_the_odd_conv_consistent_and_fuses_weight_norm(seed002, cli,
                                                                          tmp_path):
    out = tmp_path / "mlx.safetensors"
    code, _, err = cli("weights", "fix", seed002["ref"], seed002["port"], "--out", out,
                       "--layout", "port", "--weight-norm", "fused")
    assert code == 0, err
    with open_checkpoint(seed002["ref"]) as r, open_checkpoint(out) as f:
        report = audit_checkpoints(r, f)
        assert "vocoder.ups.0.weight" in f and "vocoder.conv_pre.weight" in f
        assert not any(".parametrizations." in n or n.endswith("_g") for n in f.names)
    assert report.layout_summary["pytorch"] == 0 and report.layout_summary["mlx"] == 12
    assert not report.problems


def test_fix_refuses_existing_out_without_force_and_never_writes_in_place(seed002, cli,
                                                                         tmp_path):
    out = tmp_path / "exists.safetensors"
    out.write_bytes(b"keep me")
    code, _, err = cli("weights", "fix", seed002["ref"], seed002["port"], "--out", out)
    assert code == 2 and err.count("\n") == 1 and "--force" in err
    assert out.read_bytes() == b"keep me"
    code, _, err = cli("weights", "fix", seed002["ref"], seed002["port"], "--out",
                       seed002["port"], "--force")
    assert code == 2 and "in place" in err and err.count("\n") == 1
    code, _, err = cli("weights", "fix", seed002["ref"], seed002["port"], "--out", out,
                       "--force")
    assert code == 0 and out.read_bytes() != b"keep me"


def test_weight_norm_old_spelling_gives_the_same_fused_weights(seed002, cli, tmp_path):
    out = tmp_path / "old.safetensors"
    code, _, err = cli("weights", "fix", seed002["ref"], seed002["port"], "--out", out,
                       "--weight-norm", "weight_g")
    assert code == 0, err
    with open_trace(out) as fixed, open_trace(seed002["ref"]) as ref:
        assert "vocoder.ups.0.weight_g" in fixed and "vocoder.conv_pre.weight_v" in fixed
        assert not any(".parametrizations." in n for n in fixed.names)
        for module in ("vocoder.ups.0", "vocoder.conv_pre", "vocoder.conv_post"):
            want = fuse(ref.read(f"{module}.parametrizations.weight.original0"),
                        ref.read(f"{module}.parametrizations.weight.original1"))
            got = fuse(fixed.read(f"{module}.weight_g"), fixed.read(f"{module}.weight_v"))
            assert np.allclose(got, want, atol=1e-6)
