"""Conditioning probe on real conditioned models: diffusers ``StableAudioDiTModel`` with the
cross-attention fed zeros instead of the text, and a transformers ``T5EncoderModel`` port
that ignores the prompt (different prompts, same embedding)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

import conditioned_models as conditioned

from audioparity.probe import probe_conditioning


@pytest.fixture(scope="module")
def dit_traces(tmp_path_factory):
    """Traces of the reference DiT, a correct port and a port whose cross-attention attends
    to zeros, each under two prompts: ``{side: (A, B)}``."""
    out = tmp_path_factory.mktemp("dit")
    ref = conditioned.dit()
    models = {"ref": ref, "correct": conditioned.correct_dit_port(ref),
              "zeroed": conditioned.cross_attention_zeroed(ref)}
    return {side: tuple(conditioned.trace_dit(model, conditioned.prompt_embedding(k),
                                              out / f"{side}_{k}.safetensors")
                        for k in (0, 1))
            for side, model in models.items()}


@pytest.fixture(scope="module")
def t5_models():
    ref = conditioned.t5()
    return ref, conditioned.empty_prompt_port(ref)


def test_correct_dit_port_keeps_the_conditioning_everywhere(dit_traces):
    result = probe_conditioning(dit_traces["ref"], dit_traces["correct"])
    assert result.status == "ok", result.summary()
    assert result.first_lost is None
    counts = result.counts()
    assert counts["kept"] > 30 and counts["independent"] > 10
    assert set(counts) == {"kept", "independent"}
    to_q = next(t for t in result.tensors if t.name == "transformer_blocks.0.attn2.to_q")
    assert to_q.verdict == "independent"  # the queries come from the latent, not the text


def test_cross_attention_fed_zeros_is_named_at_the_first_cross_attention(dit_traces):
    result = probe_conditioning(dit_traces["ref"], dit_traces["zeroed"])
    assert result.status == "problem"
    lost = result.first_lost
    assert lost.name == "transformer_blocks.0.attn2.to_k"
    assert result.component == "transformer_blocks.0.attn2"
    assert lost.ref > 0.5 and lost.port < 1e-6
    # the text still reaches the port's projection: the loss is in the attention, not before
    assert result.last_kept.name == "cross_attention_proj"
    assert result.output.verdict == "lost"


def test_cli_names_the_layer_and_exits_1(dit_traces, cli, tmp_path):
    ref_a, ref_b = dit_traces["ref"]
    port_a, port_b = dit_traces["zeroed"]
    code, out, err = cli("probe", "conditioning", "--ref", ref_a, ref_b, "--port", port_a,
                         port_b, "--json", tmp_path / "c.json")
    assert code == 1, err
    assert "transformer_blocks.0.attn2.to_k (in transformer_blocks.0.attn2)" in out
    payload = json.loads((tmp_path / "c.json").read_text())
    assert payload["status"] == "problem"
    assert payload["first_lost"]["name"] == "transformer_blocks.0.attn2.to_k"
    assert payload["first_lost"]["port_dependence"] < 1e-6
    port_a, port_b = dit_traces["correct"]
    code, out, _ = cli("probe", "conditioning", "--ref", ref_a, ref_b, "--port", port_a,
                       port_b)
    assert code == 0
    assert "ok" in out


def test_different_prompts_give_different_embeddings_in_the_reference(t5_models):
    ref, _ = t5_models
    a, b = conditioned.prompt_ids(0), conditioned.prompt_ids(1)
    result = probe_conditioning((conditioned.embed(ref, a), conditioned.embed(ref, b)))
    assert result.status == "ok"
    assert result.output.ref > 0.1


def test_text_encoder_port_that_ignores_the_prompt_gives_one_embedding(t5_models):
    _, port = t5_models
    a, b = conditioned.prompt_ids(0), conditioned.prompt_ids(1)
    result = probe_conditioning(None, (conditioned.embed(port, a), conditioned.embed(port, b)))
    assert result.status == "problem"
    assert "the condition is ignored" in result.summary()


def test_text_encoder_port_loses_the_prompt_at_its_embedding(t5_models, tmp_path):
    ref, port = t5_models
    traces = {side: tuple(conditioned.trace_t5(model, conditioned.prompt_ids(k),
                                               tmp_path / f"{side}_{k}.safetensors")
                          for k in (0, 1))
              for side, model in (("ref", ref), ("port", port))}
    result = probe_conditioning(traces["ref"], traces["port"])
    assert result.status == "problem"
    assert result.first_lost.name == "encoder.embed_tokens"
    assert result.last_kept is None  # the prompt never reaches the port at all


def test_one_implementation_cli_says_where_the_condition_enters(t5_models, cli, tmp_path):
    ref, port = t5_models
    for side, model in (("ref", ref), ("port", port)):
        for k in (0, 1):
            conditioned.trace_t5(model, conditioned.prompt_ids(k),
                                 tmp_path / f"{side}_{k}.safetensors")
    code, out, _ = cli("probe", "conditioning", "--ref", tmp_path / "ref_0.safetensors",
                       tmp_path / "ref_1.safetensors")
    assert code == 0
    assert "the condition enters at encoder.embed_tokens" in out
    code, out, _ = cli("probe", "conditioning", "--port", tmp_path / "port_0.safetensors",
                       tmp_path / "port_1.safetensors")
    assert code == 1
    assert "the condition is ignored" in out


def test_callables_traced_in_memory_name_the_lost_layer(t5_models):
    from audioparity.probe import run_under
    from audioparity.sources.torch_capture import capture

    def traced(model):
        def run(ids):
            with conditioned.torch.no_grad(), capture(model) as rec:
                model(input_ids=ids)
            return rec.tensors
        return run

    ref, port = t5_models
    a, b = conditioned.prompt_ids(0), conditioned.prompt_ids(1)
    result = probe_conditioning((run_under(traced(ref), a, "ref A"),
                                 run_under(traced(ref), b, "ref B")),
                                (run_under(traced(port), a, "port A"),
                                 run_under(traced(port), b, "port B")))
    assert result.first_lost.name == "encoder.embed_tokens"
    assert result.counts()["lost"] == len(result.tensors) - result.counts().get(
        "independent", 0)


def test_port_names_are_paired_by_compares_alignment(dit_traces, tmp_path):
    """A port that dumps ``.npz`` under a wrapper prefix (``dit.transformer_blocks.0…``)
    is paired with the reference by compare's matchers, not by exact names."""
    import numpy as np

    from audioparity.trace import open_trace

    renamed = []
    for k, path in enumerate(dit_traces["zeroed"]):
        with open_trace(path) as trace:
            arrays = {f"dit.{name}": np.asarray(trace.read(name)) for name in trace.names}
        np.savez(tmp_path / f"port_{k}.npz", **arrays)
        renamed.append(tmp_path / f"port_{k}.npz")
    result = probe_conditioning(dit_traces["ref"], tuple(renamed))
    assert result.first_lost.name == "transformer_blocks.0.attn2.to_k"
    assert result.first_lost.port_name == "dit.transformer_blocks.0.attn2.to_k"
    assert result.first_lost.aligned_by != "name"
