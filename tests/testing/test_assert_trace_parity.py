"""``assert_trace_parity`` on the demo's real reference and its NumPy port."""

from __future__ import annotations

import numpy as np
import pytest

from audioparity.testing import TraceParityError, assert_trace_parity
from audioparity.trace import open_trace

ROPE_LAYER = "lm.model.layers.0.self_attn.apply_rotary_pos_emb"


@pytest.mark.slow
def test_interleaved_rope_fails_naming_the_layer_and_the_cause(demo, tmp_path):
    port = demo.port(tmp_path / "port.safetensors", {"rope_interleaved": 0})
    with pytest.raises(AssertionError) as info:
        assert_trace_parity(demo.ref_trace, port)
    message = str(info.value)
    first_line = message.splitlines()[0]
    assert ROPE_LAYER in first_line
    assert f"ref name:  {ROPE_LAYER}" in message and f"port name: {ROPE_LAYER}" in message
    assert "last good: lm.model.layers.0.self_attn.v_proj" in message
    causes = message.split("likely causes")[1].split("validation")[0]
    top = causes.splitlines()[1].split()
    assert top[0] == "rope_variant" and float(top[1]) >= 0.5
    assert "fix:" in causes
    assert info.value.result.first_divergence.causes[0].cause == "rope_variant"


@pytest.mark.slow
def test_the_table_in_the_message_is_a_few_rows_around_the_divergence(demo, tmp_path):
    port = demo.port(tmp_path / "port.safetensors", {"rope_interleaved": 2})
    with pytest.raises(TraceParityError) as info:
        assert_trace_parity(demo.ref_trace, port, context_rows=2)
    lines = str(info.value).splitlines()
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("validation")):]
    assert len(table) == 2 + 5  # title, header, 2 before, the divergence, 2 after
    marked = [line for line in table if line.startswith("  > ")]
    assert len(marked) == 1 and "layers.2.self_attn.apply_rotary_pos_emb" in marked[0]
    assert "FAIL" in marked[0] and "ok" in table[2]
    assert len(info.value.result.entries) > 40  # the full table would be far longer


@pytest.mark.slow
def test_faithful_port_passes_and_returns_the_comparison(demo, tmp_path):
    port = demo.port(tmp_path / "port.safetensors")
    result = assert_trace_parity(demo.ref_trace, port)
    assert result.status == "parity" and len(result.entries) > 40


@pytest.mark.slow
def test_a_dict_of_arrays_is_a_port_trace(demo, tmp_path):
    """What a port's Python binding returns: name -> array, in execution order."""
    port = demo.port(tmp_path / "port.safetensors", {"mlp_act": 1})
    with open_trace(port) as trace:
        tensors = {name: np.array(trace.read(name)) for name in trace.names}
    with pytest.raises(AssertionError, match=r"at lm\.model\.layers\.1\.mlp\.act_fn") as info:
        assert_trace_parity(demo.ref_trace, tensors)
    assert "activation" in str(info.value)


@pytest.mark.slow
def test_tolerances_given_to_the_assertion_are_used(demo, tmp_path):
    port = demo.port(tmp_path / "port.safetensors", {"rope_interleaved": 3})
    with pytest.raises(TraceParityError) as info:
        assert_trace_parity(demo.ref_trace, port)
    worst = max(e.max_abs for e in info.value.result.entries if e.max_abs is not None)
    assert worst > 0.1
    result = assert_trace_parity(demo.ref_trace, port, atol=1.5 * worst, rtol=0)
    assert result.status == "parity"
    with pytest.raises(TraceParityError):
        assert_trace_parity(demo.ref_trace, port, atol=0.5 * worst, rtol=0)


@pytest.mark.slow
def test_a_port_trace_that_stops_early_fails_as_incomplete(demo, tmp_path):
    port = demo.port(tmp_path / "port.safetensors")
    with open_trace(port) as trace:
        names = trace.names
        kept = {n: np.array(trace.read(n)) for n in names[: len(names) // 2]}
    with pytest.raises(AssertionError) as info:
        assert_trace_parity(demo.ref_trace, kept)
    message = str(info.value)
    assert message.startswith("port trace is incomplete: ")
    assert f"last aligned: {names[len(names) // 2 - 1]}" in message
    assert f"all {len(kept)} aligned pairs are within tolerance" in message


def test_map_rules_given_as_a_dict_pair_the_port_names():
    """A port that names its tensors its own way; the map says which is which."""
    rng = np.random.default_rng(0)
    h = rng.standard_normal((1, 16, 32)).astype(np.float32)
    y = np.tanh(h @ rng.standard_normal((32, 8)).astype(np.float32))
    ref = {"net.encoder": h, "net.decoder": y, "output": y}
    port = {"enc_out": h, "dec_out": y, "result": y}
    rules = {"pairs": {"enc_out": "net.encoder", "dec_out": "net.decoder", "result": "output"}}
    result = assert_trace_parity(ref, port, map=rules)
    assert [(e.port_name, e.method) for e in result.entries] == [
        ("enc_out", "map"), ("dec_out", "map"), ("result", "map")]
    port["dec_out"] = -y  # a sign flip: the message shows both names and the pairing
    with pytest.raises(AssertionError) as info:
        assert_trace_parity(ref, port, map=rules)
    message = str(info.value)
    assert "port diverges from the reference at net.decoder" in message
    assert "port name: dec_out (aligned by map)" in message
    assert "dec_out (map)" in message and "  sign  " in message
