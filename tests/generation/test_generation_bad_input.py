"""Bad generation input is one line on stderr naming the file, exit 2: steps of different
lengths, a missing step, a reference without draws when replay is asked for, a port without
a generation record, another vocabulary. A loop that raises keeps what it recorded."""

from __future__ import annotations

import numpy as np
import pytest

from audioparity.errors import InputError
from audioparity.generation import Replay, record_generation
from audioparity.trace import TraceWriter, open_trace


def _copy(src, dst, change=None, drop=()):
    """``src``'s tensors (and meta) into ``dst``, ``change[name](array)`` applied."""
    trace = open_trace(src)
    meta = {k: v for k, v in trace.meta.items() if k not in ("notes", "file_metadata")}
    with TraceWriter(dst, meta) as w:
        for name in trace.names:
            if name in drop:
                continue
            array = np.array(trace.read(name))
            w.add(name, (change or {}).get(name, lambda a: a)(array))
    return dst


def _one_line_exit_2(cli, *args):
    code, out, err = cli(*args)
    assert code == 2, out + err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_steps_of_different_lengths(cli, talker, tmp_path):
    port = _copy(talker.port("bad_len"), tmp_path / "port.safetensors",
                 {"@3/gen.logits": lambda a: a[:, :-7]})
    err = _one_line_exit_2(cli, "compare", talker.greedy_ref, port)
    assert str(port) in err and "steps of different lengths" in err
    assert "@3/gen.logits" in err


def test_a_missing_step(cli, talker, tmp_path):
    port = _copy(talker.port("bad_gap"), tmp_path / "gap.safetensors",
                 drop=("@2/gen.token",))
    err = _one_line_exit_2(cli, "compare", talker.greedy_ref, port)
    assert str(port) in err and "step 2 has none" in err


def test_replay_asked_of_a_reference_without_draws(cli, talker):
    err = _one_line_exit_2(cli, "compare", talker.greedy_ref, talker.port("bad_replay"),
                           "--replay")
    assert str(talker.greedy_ref) in err and "recorded no draws" in err
    with pytest.raises(InputError, match="no recorded draws"):
        Replay.from_trace(talker.greedy_ref)


def test_a_port_without_a_generation_record(cli, talker, tmp_path):
    source = talker.port("bad_none")
    port = _copy(source, tmp_path / "layers_only.safetensors",
                 drop=tuple(n for n in open_trace(source).names if "/gen." in n))
    err = _one_line_exit_2(cli, "compare", talker.greedy_ref, port)
    assert "has none" in err and "record_generation" in err


def test_another_vocabulary(cli, talker, tmp_path):
    source = talker.port("bad_vocab")
    cut = {n: (lambda a: a[:, :100]) for n in open_trace(source).names
           if n.endswith("/gen.logits")}
    port = _copy(source, tmp_path / "vocab.safetensors", cut)
    err = _one_line_exit_2(cli, "compare", talker.greedy_ref, port)
    assert "not the same vocabulary" in err


def test_logits_without_a_batch_axis_read_as_one_sequence(cli, talker, tmp_path):
    source = talker.port("flat_logits")
    flat = {n: (lambda a: a[0]) for n in open_trace(source).names if n.endswith("/gen.logits")}
    code, out, err = cli("compare", talker.greedy_ref,
                         _copy(source, tmp_path / "flat.safetensors", flat))
    assert code == 0, out + err


def test_a_loop_that_raises_keeps_its_steps_marked_incomplete(cli, talker, tmp_path):
    path = tmp_path / "crashed.safetensors"
    with pytest.raises(RuntimeError, match="out of memory"), \
            record_generation(path, eos_token_id=talker.eos, max_new_tokens=16) as gen:
        for k in range(3):
            ref_logits = open_trace(talker.greedy_ref).read(f"@{k}/gen.logits")
            gen.end_step(logits=ref_logits, token=ref_logits.argmax(-1))
        raise RuntimeError("out of memory")
    trace = open_trace(path)
    assert trace.meta["incomplete"] and trace.meta["steps"] == 3  # exact: a count
    code, out, _ = cli("compare", talker.greedy_ref, path)
    assert code == 1 and "ended after 3 steps without EOS" in out
