"""llama.cpp's ``llama`` architecture on a real run: the converter permutes the Q/K rows for
llama.cpp's interleaved RoPE, so ``Qcur``/``Kcur`` (projection, heads, RoPE output) are the
reference's with the head dimension permuted. The rope_rows convention reads them back where
the values say so; a GGUF permuted twice, or not at all, is still found and named."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from tiny_lm import PROMPT, build_model, capture_generate, capture_reference, write_gguf

from audioparity.compare import compare_traces
from audioparity.compare.conventions import Transform, identity
from audioparity.compare.conventions.rope_rows import with_rows
from audioparity.trace import open_trace
from audioparity.weights.rope_rows import permutation_index

#: pairs before the Q/K nodes were mapped for llama (attention's output and the rest)
PAIRS_WITHOUT_QK = 47
SUMMARY = "stores q/k rows in llama.cpp's RoPE order"


class Llama:
    """The tiny LlamaForCausalLM, its torch capture, and llama.cpp captures of its GGUFs."""

    def __init__(self, root):
        self.root, self.model = root, build_model("llama")
        self.ref = capture_reference(self.model, PROMPT, root / "ref.safetensors")
        self._traces = {}

    def gguf(self, permutations: int = 1, unpermuted_q: tuple[int, ...] = ()):
        """A GGUF whose Q/K rows went through the converter's permutation ``permutations``
        times (1: a correct conversion), but the ``q_proj`` of layers ``unpermuted_q`` not
        at all."""
        path = self.root / f"llama-{permutations}-{'-'.join(map(str, unpermuted_q))}.gguf"
        if not path.exists():
            model = copy.deepcopy(self.model)
            with torch.no_grad():  # write_gguf permutes once: pre-permute (or undo) the rest
                for i, layer in enumerate(model.model.layers):
                    for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj):
                        n = 0 if i in unpermuted_q and proj is layer.self_attn.q_proj \
                            else permutations
                        index = permutation_index(proj.weight.shape[0], model.config.head_dim)
                        for _ in range(n - 1):
                            proj.weight.copy_(proj.weight[index])
                        if n == 0:
                            proj.weight.copy_(proj.weight[np.argsort(index)])
            write_gguf(model, path)
        return path

    def trace(self, permutations: int = 1, unpermuted_q: tuple[int, ...] = ()):
        """The llama.cpp capture of :meth:`gguf` on :data:`PROMPT`."""
        from audioparity.sources.llamacpp import capture_llamacpp

        key = (permutations, unpermuted_q)
        if key not in self._traces:
            gguf = self.gguf(permutations, unpermuted_q)
            out = gguf.with_suffix(".safetensors")
            capture_llamacpp(gguf, PROMPT, out)
            self._traces[key] = out
        return self._traces[key]


@pytest.fixture(scope="module")
def llama(tmp_path_factory, llama_cpp) -> Llama:
    pytest.importorskip("transformers")
    return Llama(tmp_path_factory.mktemp("llama_rows"))


def test_with_rows_undoes_the_converters_permutation():
    """The reading is the inverse of convert_hf_to_gguf.py's LlamaModel.permute, after the
    reading the shapes call for; it refuses a reading that moves the last axis."""
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((5, 3 * 8))  # [T, n_head · head_dim]
    port = ref[:, permutation_index(24, 8)]
    np.testing.assert_array_equal(with_rows(identity(port.shape), 8).apply(port), ref)  # exact
    assert with_rows(identity(port.shape), 16) is None  # 24 is no whole number of heads
    assert with_rows(identity(port.shape), 3) is None  # odd: no pairs to rotate
    transposed = Transform(("channels_last",), (5, 24), (5, 24), (1, 0), (24, 5))
    assert with_rows(transposed, 8) is None


def test_llama_run_is_parity_with_q_k_and_rotary_read_in_rope_row_order(llama):
    port = llama.trace()
    raw = open_trace(port).read("Qcur-0")
    q = open_trace(llama.ref).read("model.layers.0.self_attn.q_proj")[0]
    # as stored, llama.cpp's Q is the reference's only with the head dimension permuted
    assert np.linalg.norm(raw - q) / np.linalg.norm(q) > 0.5
    undone = raw[:, np.argsort(permutation_index(raw.shape[1], 16))]
    assert np.linalg.norm(undone - q) / np.linalg.norm(q) < 1e-5

    result = compare_traces(llama.ref, port)
    assert result.status == "parity", [(e.name, e.port_name) for e in result.failing]
    assert len(result.entries) > PAIRS_WITHOUT_QK
    assert len(result.entries) == 71 and all(e.method == "map" for e in result.entries)
    read = {e.port_name: (e.ref_name, e.convention) for e in result.entries}
    assert read["Qcur-0"] == ("model.layers.0.self_attn.q_proj", "batch_axis+rope_rows")
    assert read["Kcur-3"] == ("model.layers.3.self_attn.k_proj", "batch_axis+rope_rows")
    assert read["Qcur-1#1"] == ("model.layers.1.self_attn.apply_rotary_pos_emb:in0",
                                "batch_axis+tokens_first+rope_rows")
    assert read["Kcur-2#2"] == ("model.layers.2.self_attn.apply_rotary_pos_emb:out1",
                                "batch_axis+tokens_first+rope_rows")
    assert read["Vcur-0"] == ("model.layers.0.self_attn.v_proj", "batch_axis")  # V: as stored
    rows = [line for line in result.conventions if SUMMARY in line]
    assert sorted(int(line.rsplit(": ", 1)[1].split()[0]) for line in rows) == [8, 16]
    assert max(e.rel_l2 for e in result.entries) < 1e-5


def test_generation_steps_read_the_rows_of_one_token_decodes(llama, tmp_path):
    """A decode step drops llama.cpp's token axis (``[n_head, d]``): its Q/K rows are read
    back all the same, step by step, against transformers' generate."""
    from audioparity.sources.llamacpp import capture_llamacpp

    ref = capture_generate(llama.model, tmp_path / "ref-steps.safetensors")
    port = tmp_path / "llama-steps.safetensors"
    capture_llamacpp(llama.gguf(), PROMPT, port, generate=2)
    result = compare_traces(ref, port)
    assert result.status == "parity", [(e.name, e.port_name) for e in result.failing]
    assert len(result.entries) == 3 * 71 - 1  # the prompt's logits: last position only
    read = {e.port_name: e.convention for e in result.entries}
    assert read["@2/Qcur-0#2"] == "batch_axis+rope_rows"  # [n_head, d] for [1, n_head, 1, d]
    assert read["@0/Kcur-1#2"] == "batch_axis+tokens_first+rope_rows"


def test_permutation_applied_twice_is_found_at_the_first_q_projection(llama):
    """Neither reading brings these rows to the reference's: compared as stored, the first
    Q projection diverges, named a permutation of llama.cpp's Q/K row order, with the fix."""
    result = compare_traces(llama.ref, llama.trace(permutations=2))
    assert result.status == "divergent"
    first = result.first_divergence
    assert first.name == "model.layers.0.self_attn.q_proj"
    assert first.entry.port_name == "Qcur-0" and first.entry.convention == "batch_axis"
    cause = first.causes[0]
    assert cause.cause == "permutation"
    assert cause.params["row_order"] == "permuted_twice" and cause.params["head_dim"] == 16
    assert "re-convert" in cause.hint and "audioparity weights fix" in cause.hint
    assert not any(SUMMARY in line for line in result.conventions)
    assert any("not in llama.cpp's RoPE row order" in note and "0 match" in note
               for note in result.notes)


def test_missing_permutation_is_found_at_the_rotary_output(llama):
    """Rows left in the reference's order are the reference's projections as stored; llama.cpp's
    interleaved RoPE on them is the first divergence, named as such."""
    result = compare_traces(llama.ref, llama.trace(permutations=0))
    first = result.first_divergence
    assert first.name == "model.layers.0.self_attn.apply_rotary_pos_emb"
    assert first.causes[0].cause == "rope_variant"
    assert "interleaved" in first.causes[0].detail
    ok = {e.port_name for e in result.entries if e.ok}
    assert {"Qcur-0", "Kcur-0", "Qcur-0#1"} <= ok
    assert not any(SUMMARY in line for line in result.conventions)


def test_one_layer_left_unpermuted_is_compared_as_stored_and_found_at_its_rope(llama):
    """Layer 2's q_proj rows left as the reference has them (a partial conversion): that
    projection matches as stored, against the port's other Q/K tensors, and is compared so,
    with a note; llama.cpp's pairwise RoPE on it is the first divergence."""
    result = compare_traces(llama.ref, llama.trace(unpermuted_q=(2,)))
    q2 = "model.layers.2.self_attn.q_proj"
    entry = next(e for e in result.entries if e.name == q2)
    assert entry.ok and entry.convention == "batch_axis"
    assert "reference's row order" in entry.convention_note
    assert any(note.startswith(f"'{q2}' (port 'Qcur-2') is stored in the reference's row "
                               "order") for note in result.notes)
    assert any(SUMMARY in line and "except 1" in line for line in result.conventions)
    first = result.first_divergence
    assert first.name == "model.layers.2.self_attn.apply_rotary_pos_emb"
    assert first.causes[0].cause == "rope_variant"


def test_the_rows_are_read_only_where_the_trace_records_a_permuting_architecture(
        llama, tmp_path):
    """The same llama.cpp tensors recorded as a ``qwen2`` run (whose converter keeps the
    rows): nothing declares the row order, so Q/K compare as stored and diverge."""
    from audioparity.trace import write_trace

    trace = open_trace(llama.trace())
    meta = dict(trace.meta)
    meta["modules"] = {**meta["modules"], "output": "llama.cpp:qwen2"}
    port = write_trace(tmp_path / "as-qwen2.safetensors",
                       {name: trace.read(name) for name in trace.names}, meta)
    result = compare_traces(llama.ref, port)
    first = result.first_divergence
    assert (first.name, first.entry.port_name) == ("model.layers.0.self_attn.q_proj", "Qcur-0")
    assert first.causes[0].params["row_order"] == "permuted"
    assert not any(SUMMARY in line for line in result.conventions)


def test_a_qwen3_run_is_unaffected(tiny):
    """Qwen3's converter keeps the rows (NEOX RoPE): nothing is read in another order."""
    result = compare_traces(tiny.ref, tiny.trace())
    assert result.status == "parity"
    assert len(result.entries) == 79
    assert not any("rope_rows" in (e.convention or "") for e in result.entries)
    assert not any(SUMMARY in line for line in result.conventions)
