"""Sampled generation: a correct port shows parity when it takes the reference's recorded
draws; a temperature applied twice does not; without replay the comparison says the tokens
are not comparable instead of calling either port divergent."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from qwen3_numpy import SAMPLING, sample_probs
from safetensors.numpy import load_file

from audioparity.generation import Replay, ReplayError, inverse_cdf
from audioparity.trace import open_trace


def _compare(cli, talker, port, *extra):
    code, out, err = cli("compare", talker.sampled_ref, port, "--json", "-", *extra)
    return code, json.loads(out), err


def test_correct_sampled_port_is_parity_under_replay(cli, talker):
    code, result, err = _compare(cli, talker, talker.port("s_ok", sampled=True, replay=True))
    gen = result["generation"]
    assert code == 0, gen["headline"] + err
    assert gen["status"] == "parity" and gen["sampled"] and gen["replayed"]
    assert "uniforms equal" in gen["replay_source"]
    assert gen["compared_steps"] == gen["ref_steps"]


def test_temperature_bug_is_divergent_under_replay(cli, talker):
    code, result, _ = _compare(cli, talker, talker.port("s_temp", "temperature_twice",
                                                        sampled=True, replay=True))
    gen = result["generation"]
    assert code == 1 and result["status"] == "divergent" and gen["status"] == "divergent"
    assert gen["first_argmax_mismatch"] is None  # the logits are right ...
    mismatch = gen["first_token_mismatch"]  # ... the draw from them is not
    assert mismatch is not None
    assert gen["steps"][mismatch["step"]]["kl"] < gen["kl_tol"]
    assert any("sampling differs" in w for w in gen["why"])


@pytest.mark.parametrize("bug", [None, "temperature_twice"])
def test_without_replay_the_tokens_are_not_meaningful(cli, talker, bug):
    code, result, _ = _compare(cli, talker, talker.port(f"s_own_{bug}", bug, sampled=True))
    gen = result["generation"]
    assert gen["status"] == "not_meaningful" and not gen["replayed"]
    assert result["status"] == "incomplete" and code == 1  # not parity, not divergent
    assert "not comparable" in result["headline"]
    assert any("Replay" in n for n in gen["notes"])
    assert gen["first_argmax_mismatch"] is None  # the steps fed the same tokens agree


def test_replay_hands_out_draws_in_order_and_refuses_more(talker):
    trace = open_trace(talker.sampled_ref)
    replay = Replay(trace)
    n = replay.available("uniform")
    assert n == trace.meta["steps"]  # exact: a count
    with pytest.raises(ReplayError, match=r"shape \(2,\)"):
        replay.next("uniform", (2,))
    first = replay.torch("uniform", (1,))
    assert isinstance(first, torch.Tensor)
    assert first.item() == trace.read("@0/draws.uniform")[0]  # exact: the recorded value
    second = replay.mlx("uniform")
    assert float(np.array(second)[0]) == pytest.approx(trace.read("@1/draws.uniform")[0])
    for _ in range(n - 2):
        replay.next("uniform")
    with pytest.raises(ReplayError, match="draws more often"):
        replay.next("uniform")
    tokens = Replay(trace)
    tokens.next("token")
    with pytest.raises(ReplayError, match="stopped drawing early"):
        tokens.check_done()


def test_other_languages_read_the_draws_with_a_stock_safetensors_reader(talker):
    tensors = load_file(str(talker.sampled_ref))  # what a Rust/C++/Swift port does
    uniforms = sorted((int(k[1:k.index("/")]), v) for k, v in tensors.items()
                      if k.endswith("/draws.uniform"))
    assert [k for k, _ in uniforms] == list(range(len(uniforms)))
    assert all(v.dtype == np.float64 and v.shape == (1,) for _, v in uniforms)
    # the documented scheme: the reference's logits, its sampler settings and the recorded
    # uniform give the recorded token
    for k, u in uniforms:
        probs = sample_probs(tensors[f"@{k}/gen.logits"], SAMPLING["temperature"],
                             SAMPLING["top_k"], None)
        assert inverse_cdf(probs, u)[0] == tensors[f"@{k}/gen.token"][0]  # exact: ids


def test_inverse_cdf_samples_the_distribution():
    probs = np.array([0.1, 0.0, 0.6, 0.3])
    u = np.random.default_rng(0).random(20000)
    counts = np.bincount(inverse_cdf(np.broadcast_to(probs, (u.size, 4)), u), minlength=4)
    assert counts[1] == 0  # exact: a zero-probability id is never drawn
    np.testing.assert_allclose(counts / u.size, probs, atol=0.015)


def test_a_port_written_by_a_stock_writer_without_meta_is_understood(cli, talker, tmp_path):
    """What a Rust/C++ port writes: the documented names, no audioparity metadata."""
    from safetensors.numpy import save_file

    port = open_trace(talker.port("s_foreign", sampled=True, replay=True))
    bare = tmp_path / "foreign.safetensors"
    save_file({n: np.ascontiguousarray(port.read(n)) for n in port.names}, str(bare))
    code, out, _ = cli("compare", talker.sampled_ref, bare, "--json", "-")
    gen = json.loads(out)["generation"]
    assert code == 0 and gen["status"] == "parity"
    assert "uniforms equal" in gen["replay_source"]
    assert gen["stop"]["port"] == gen["stop"]["ref"]  # EOS id and length limit: the ref's
