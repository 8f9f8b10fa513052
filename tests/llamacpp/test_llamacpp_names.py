"""llama.cpp node names in a trace: repeats as NAME#n, unnamed nodes by their position after
the last named one, counted afresh each step."""

from __future__ import annotations

from audioparity.sources.llamacpp.node_names import NodeNamer, is_unnamed


def test_reused_names_become_repeats_in_execution_order():
    namer = NodeNamer()
    names = [namer.name(n) for n in ["Qcur-0", "Qcur-0", "Qcur_normed-0", "Qcur-0", "norm-0",
                                     "norm-0"]]
    assert names == ["Qcur-0", "Qcur-0#1", "Qcur_normed-0", "Qcur-0#2", "norm-0", "norm-0#1"]


def test_unnamed_nodes_are_named_after_the_last_named_one_not_the_graph_index():
    """ggml's node_<index> moves with every setting that adds a node; the position after
    the last named node does not."""
    a, b = NodeNamer(), NodeNamer()
    first = [a.name(n) for n in ["kqv_out-0", "node_32", "ffn_inp-0"]]
    second = [b.name(n) for n in ["kqv_out-0", "node_29", "ffn_inp-0"]]
    assert first == second == ["kqv_out-0", "kqv_out-0+1", "ffn_inp-0"]


def test_unnamed_repeats_and_leading_unnamed_nodes():
    namer = NodeNamer()
    names = [namer.name(n) for n in ["node_0", "x", "node_5", "node_6", "x", "node_9"]]
    assert names == ["start+1", "x", "x+1", "x+2", "x#1", "x+1#1"]


def test_a_new_step_counts_repeats_from_zero():
    namer = NodeNamer()
    assert [namer.name(n) for n in ["l_out-0", "l_out-0"]] == ["l_out-0", "l_out-0#1"]
    namer.reset()
    assert namer.name("l_out-0") == "l_out-0"


def test_only_ggml_placeholders_count_as_unnamed():
    assert is_unnamed("node_12") and is_unnamed("")
    assert not is_unnamed("node_12 (view)") and not is_unnamed("Qcur-0")
