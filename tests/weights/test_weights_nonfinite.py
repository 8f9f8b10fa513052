"""NaN/Inf weights are reported by ``weights audit`` and ``weights quant`` — never scored."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from audioparity.trace import write_trace
from audioparity.weights.models import hifigan_vocoder


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("nonfinite")
    model, _ = hifigan_vocoder()
    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    write_trace(root / "ref.safetensors", state)
    broken = dict(state)
    weight = next(k for k, v in state.items() if v.ndim == 3)
    bias = next(k for k, v in state.items() if k.endswith("bias"))
    broken[weight] = state[weight].copy()
    broken[weight].reshape(-1)[[3, 7]] = np.nan
    broken[bias] = state[bias].copy()
    broken[bias][0] = np.inf
    write_trace(root / "broken.safetensors", broken)
    return root, weight, bias


def test_quant_reports_nan_weights_and_exits_1_without_warnings(files, cli):
    root, weight, bias = files
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = cli("weights", "quant", root / "broken.safetensors", "--type", "Q8_0",
                             "--json", root / "q.json")
    assert code == 1, err
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert "RuntimeWarning" not in err
    data = json.loads((root / "q.json").read_text())
    assert data["nonfinite"] == 2
    bad = {t["name"]: t for t in data["tensors"] if t["nonfinite"]}
    assert set(bad) == {weight, bias}
    assert bad[weight]["nonfinite"] == 2 and "nonfinite" in bad[weight]["flags"]
    assert data["tensors"][0]["name"] in bad  # worst first
    assert "NaN/Inf" in out


def test_quant_of_clean_weights_has_no_nonfinite(files, cli):
    root, _, _ = files
    code, out, err = cli("weights", "quant", root / "ref.safetensors", "--type", "Q8_0",
                         "--json", "-")
    assert json.loads(out)["nonfinite"] == 0 and code in (0, 1), err


def test_audit_names_the_nan_tensors(files, cli):
    root, weight, bias = files
    code, out, err = cli("weights", "audit", root / "ref.safetensors",
                         root / "broken.safetensors", "--json", root / "a.json")
    assert code == 1, err
    data = json.loads((root / "a.json").read_text())
    assert data["counts"]["nonfinite"] == 2
    entries = {e["ref"][0]: e for e in data["entries"] if e["status"] == "nonfinite"}
    assert set(entries) == {weight, bias} and entries[weight]["nonfinite"] == 2
    assert any("NaN/Inf" in p for p in data["problems"])
    assert "nonfinite" in out


def test_fix_does_not_claim_to_fix_nan_weights(files, cli):
    root, weight, _ = files
    code, _, err = cli("weights", "fix", root / "ref.safetensors", root / "broken.safetensors",
                       "--out", root / "fixed.safetensors", "--json", root / "fix.json")
    assert code == 1, err
    log = json.loads((root / "fix.json").read_text())
    assert weight in [n["ref"][0] for n in log["not_fixed"]]
