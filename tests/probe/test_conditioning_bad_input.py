"""``probe conditioning`` on input it cannot check: one line on stderr, exit 2."""

from __future__ import annotations

import numpy as np

from audioparity.trace import write_trace


def _trace(path, **tensors):
    write_trace(path, {k: np.asarray(v, np.float32) for k, v in tensors.items()})
    return path


def test_no_traces_is_a_usage_error(cli):
    code, _, err = cli("probe", "conditioning")
    assert code == 2
    assert "give --ref A B and/or --port A B" in err


def test_missing_trace_names_the_file(cli, tmp_path):
    a = _trace(tmp_path / "a.safetensors", x=[1, 2])
    code, _, err = cli("probe", "conditioning", "--port", a, tmp_path / "absent.safetensors")
    assert code == 2
    assert err.strip() == (f"audioparity: error: {tmp_path / 'absent.safetensors'}: no such "
                           "file or directory")


def test_runs_that_share_no_tensor_are_not_two_conditions(cli, tmp_path):
    a = _trace(tmp_path / "a.safetensors", x=[1, 2])
    b = _trace(tmp_path / "b.safetensors", y=[1, 2])
    code, _, err = cli("probe", "conditioning", "--port", a, b)
    assert code == 2
    assert f"{b}: shares no tensor name with {a}" in err


def test_reference_and_port_of_different_models(cli, tmp_path):
    ra = _trace(tmp_path / "ra.safetensors", x=np.ones((2, 3)))
    rb = _trace(tmp_path / "rb.safetensors", x=np.zeros((2, 3)))
    pa = _trace(tmp_path / "pa.safetensors", z=np.ones(7))
    pb = _trace(tmp_path / "pb.safetensors", z=np.ones(7))
    code, _, err = cli("probe", "conditioning", "--ref", ra, rb, "--port", pa, pb)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "no tensor in common" in err


def test_a_reference_that_ignores_both_conditions_has_nothing_to_probe(cli, tmp_path):
    ra = _trace(tmp_path / "ra.safetensors", x=np.ones((2, 3)), y=np.arange(4))
    rb = _trace(tmp_path / "rb.safetensors", x=np.ones((2, 3)), y=np.arange(4))
    code, _, err = cli("probe", "conditioning", "--ref", ra, rb, "--port", ra, rb)
    assert code == 2
    assert err.strip() == (f"audioparity: error: {rb}: the reference is the same as under "
                           f"{ra} in every tensor: nothing to probe (are A and B the same "
                           "condition?)")
