"""The gallery of real ports: the plain documented flow on each, no map, no rewriting.

For every family: the correct port gives ``parity`` (or exactly the port's own real bug),
with and without recorded inputs; each planted bug is the first divergence, at its
component, and (with inputs recorded, where the catalogue can) named by its cause.
"""

from __future__ import annotations

import json

import numpy as np
import port_bark
import port_dac
import port_encodec
import port_llama
import port_llamacpp
import port_mimi
import port_soprano
import port_vocos
import pytest
from port_common import PlantedCrash, compare

from audioparity.trace import open_trace

#: family -> (builder module, where the correct port first diverges: None = parity, else the
#: port's own real bug (see FINDINGS.md) as {inputs recorded: (reference name, port name)})
FAMILIES = {
    "encodec": (port_encodec, None),
    "dac": (port_dac, None),
    "mimi": (port_mimi, port_mimi.OWN_BUG),  # tanh GELU where the reference uses erf
    "bark": (port_bark, port_bark.OWN_BUG),  # float causal mask: added, not applied
    "llama": (port_llama, None),
    "soprano": (port_soprano, {False: ("head", "head"), True: ("head", "head")}),  # ISTFT
    "vocos": (port_vocos, {False: ("head", "head"), True: ("head", "head")}),  # same ISTFT
    "llamacpp": (port_llamacpp, None),
}
#: the cause the catalogue must give the port's own bug (with inputs recorded)
OWN_CAUSE = {"soprano": "scale", "vocos": "scale", "bark": "mask", "mimi": "activation"}
#: the port convention compare must name in its summary (the port's own layout)
CONVENTION = {"encodec": "channels-last", "dac": "channels-last", "soprano": "channels-last",
              "vocos": "channels-last", "llamacpp": "batch axis"}

#: what the tool cannot do yet: (family, bug or None, inputs recorded) -> the missing feature
MISSING: dict[tuple[str, str | None, bool], str] = {}


def _cases(kind: str):
    """pytest params (family, bug, inputs) for the correct ports or the planted bugs; none is
    slow: each builds, captures and compares in about a second once the imports are done."""
    for family, (module, _) in FAMILIES.items():
        bugs = [None] if kind == "correct" else list(module.BUGS)
        for bug in bugs:
            for inputs in (False, True):
                reason = MISSING.get((family, bug, inputs))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                ident = f"{family}-{bug or 'correct'}-{'inputs' if inputs else 'outputs'}"
                yield pytest.param(family, bug, inputs, id=ident, marks=marks)


@pytest.mark.parametrize(("family", "bug", "inputs"), list(_cases("correct")))
def test_correct_port_is_parity_or_its_own_bug(family, bug, inputs, tmp_path):
    module, own_bug_at = FAMILIES[family]
    ref, port = module.build(tmp_path, None, inputs=inputs)
    outcome = compare(ref, port)
    if family in CONVENTION:  # said once in the summary, not hand-rewritten
        assert any(CONVENTION[family] in line for line in outcome.conventions), outcome
    if own_bug_at is None:
        assert outcome.status == "parity", outcome
    else:  # a value divergence at the port's own bug, paired with the same module
        assert (outcome.status, outcome.where, outcome.port_name) == (
            "divergent", *own_bug_at[inputs]), outcome
        assert not outcome.detail.startswith("shape"), outcome
        if inputs and family in OWN_CAUSE:
            assert outcome.causes[:1] == [OWN_CAUSE[family]], outcome


@pytest.mark.parametrize(("family", "bug", "inputs"), list(_cases("bugs")))
def test_planted_bug_is_found_at_its_component(family, bug, inputs, tmp_path):
    module, _ = FAMILIES[family]
    expected = module.BUGS[bug]
    ref, port = module.build(tmp_path, bug, inputs=inputs)
    outcome = compare(ref, port)
    port_name = expected.port or expected.where
    assert (outcome.status, outcome.where, outcome.port_name) == (
        "divergent", expected.where, port_name), outcome
    if not expected.changes_shape:  # compared in one convention, not as a shape mismatch
        assert not outcome.detail.startswith("shape"), outcome
    if inputs and expected.causes:
        assert outcome.causes and outcome.causes[0] in expected.causes, outcome


# --- the builders themselves: the correct ports really are correct (checked by hand) -------

def _read(path, name):
    with open_trace(path) as trace:
        return np.asarray(trace.read(name), np.float64)


def _close(ref, port, rtol=1e-4):
    return np.abs(ref - port).max() <= rtol * np.abs(ref).max() + 1e-6


@pytest.mark.parametrize("module", [port_encodec, port_dac], ids=["encodec", "dac"])
def test_builder_mlx_codec_port_reproduces_the_reference_audio(module, tmp_path):
    ref, port = module.build(tmp_path)
    audio = _read(ref, "decoder")  # [1, 1, T]
    assert _close(audio, _read(port, "decoder").transpose(0, 2, 1))  # MLX [1, T, 1]


def test_builder_llamacpp_dump_reproduces_the_reference_logits(tmp_path):
    ref, port = port_llamacpp.build(tmp_path)
    assert _close(_read(ref, "lm_head")[0], _read(port, "result_output"))
    assert (port / "order.txt").read_text().split().count("Qcur-0") == 2


@pytest.mark.parametrize("module", [port_soprano, port_vocos], ids=["soprano", "vocos"])
def test_mlx_audio_istft_head_is_torch_once_normalised_like_torch(module, tmp_path):
    """Evidence for the README finding: the MLX head differs from torch's by the window-sum
    normalisation (×0.75 inside the signal), the symmetric window and the DC/Nyquist bins;
    with only those three changed it matches."""
    import mlx.core as mx
    import torch

    if module is port_soprano:
        ref = port_soprano.reference()
        port = port_soprano.port(ref)
        x = port_soprano.features()
        run = lambda: np.array(port(mx.array(x.numpy().transpose(0, 2, 1))))
    else:
        ref = port_vocos.reference()
        port = port_vocos.port(ref, tmp_path / "mlx-vocos")
        x = port_vocos.mel()
        run = lambda: np.array(port.decode(mx.array(x.numpy())))
    with torch.no_grad():
        audio = ref(x).numpy().reshape(-1)
    as_is = run().reshape(-1)
    n_fft = port.head.n_fft
    inside = slice(n_fft, -n_fft)  # away from the edges, where the window sums taper
    assert np.median(as_is[inside] / audio[inside]) == pytest.approx(0.75, abs=0.01)
    port_soprano.fix_istft_head(port.head)
    assert _close(audio, run().reshape(-1))


def test_mlx_audio_mimi_gelu_is_tanh_where_the_reference_is_erf(tmp_path):
    """Evidence for the README finding: same weights, same codes; the audio differs beyond
    float32 noise with mlx-audio's default GELU and matches once ``gelu="erf"``."""
    import mlx.core as mx
    import torch

    ref = port_mimi.reference()
    x = port_mimi.audio()
    with torch.no_grad():
        codes = ref.encode(x).audio_codes
        audio = ref.decode(codes).audio_values.numpy()
    for gelu, matches in ((None, False), ("erf", True)):
        port = port_mimi.port(ref, tmp_path / str(gelu), gelu=gelu)
        port_codes = port.encode(mx.array(x.numpy()))
        assert np.array_equal(np.array(port_codes), codes.numpy())
        assert bool(_close(audio, np.array(port.decode(port_codes)))) is matches


@pytest.mark.parametrize("module", [port_encodec, port_dac], ids=["encodec", "dac"])
def test_crashing_port_leaves_a_partial_trace_that_compares_incomplete(module, tmp_path):
    """The port raises half-way through its decoder: the MLX capture still writes what it
    recorded (marked incomplete), and compare says ``incomplete``, never ``parity``."""
    with pytest.raises(PlantedCrash):
        module.build(tmp_path, "crash")
    outcome = compare(tmp_path / "ref.safetensors", tmp_path / "port.safetensors")
    assert outcome.status == "incomplete", outcome


def test_cli_compare_on_a_real_mlx_port(cli, tmp_path):
    """``audioparity compare ref port`` (no map): EnCodec at parity exits 0 (``layout`` at the
    first conv with ``--strict-layout``); the same port with a planted ConvTranspose trim
    exits 1 and names the layer in its JSON and HTML."""
    ref, port = port_encodec.build(tmp_path / "ok")
    code, out, _ = cli("compare", ref, port)
    assert code == 0 and "parity" in out
    # --strict-layout infers no convention: the first MLX conv output is a layout mismatch
    code, _, _ = cli("compare", ref, port, "--strict-layout", "--json", tmp_path / "strict.json")
    strict = json.loads((tmp_path / "strict.json").read_text())["first_divergence"]
    assert code == 1 and strict["name"] == "encoder.layers.0.conv"
    assert strict["causes"][0]["cause"] == "layout"
    ref, port = port_encodec.build(tmp_path / "bug", "trim_left", inputs=True)
    code, _, _ = cli("compare", ref, port, "--json", tmp_path / "bug.json",
                     "--html", tmp_path / "bug.html")
    report = json.loads((tmp_path / "bug.json").read_text())
    assert code == 1
    assert "decoder.layers.3" in (tmp_path / "bug.html").read_text()
    assert report["first_divergence"]["name"] == "decoder.layers.3"
    assert report["first_divergence"]["causes"][0]["cause"] == "shift"


def test_mlx_audio_bark_causal_mask_is_added_not_applied():
    """Evidence for the FINDINGS.md entry: mlx-audio's Bark GPT passes its causal mask as a
    float 0/1 array, which ``mx.fast.scaled_dot_product_attention`` adds to the scores; with
    the same mask as booleans the last-position logits match the reference, and so do they
    when the tokens go in one at a time through the KV cache (only a prefill is wrong)."""
    import mlx.core as mx
    import torch

    ref = port_bark.reference()
    ids = port_bark.input_ids()
    with torch.no_grad():
        last = ref(ids).logits.numpy()[:, -1:]
    for boolean_mask, matches in ((False, False), (True, True)):
        port = port_bark.port(ref, boolean_mask=boolean_mask)
        logits = np.array(port(mx.array(ids.numpy()))[0])  # the port keeps the last position
        assert bool(_close(last, logits)) is matches
    # one token at a time through the KV cache, the float mask is one row of ones: harmless
    port, cache, tokens = port_bark.port(ref), None, mx.array(ids.numpy())
    for t in range(tokens.shape[1]):
        logits, cache = port(tokens[:, t:t + 1], past_kv=cache, use_cache=True)
    assert _close(last, np.array(logits))


def test_bark_float_mask_is_named_as_a_mask_added_not_applied(tmp_path):
    """The plain flow on the correct Bark port with inputs recorded: the first divergence is
    named ``mask`` from the layer's fused q|k|v projection (``att_proj``), as the 0/1 mask
    added to the scores, with the fix (-inf where masked, or booleans)."""
    from audioparity.compare import compare_traces

    ref, port = port_bark.build(tmp_path, inputs=True)
    first = compare_traces(ref, port).to_json()["first_divergence"]
    top = first["causes"][0]
    assert (first["name"], top["cause"], top["params"]["kind"]) == (
        "layers.0.attn.out_proj:in0", "mask", "float_added")
    assert top["confidence"] > 0.85 and "-inf" in top["hint"]


def test_cli_suggested_map_of_a_llamacpp_dump_round_trips(cli, tmp_path):
    """``--suggest-map`` on the llama.cpp-style dump writes the pairing it found; comparing
    again with that map gives the same verdict, and a planted bug is still found there."""
    ref, port = port_llamacpp.build(tmp_path / "ok", inputs=True)
    code, _, _ = cli("compare", ref, port, "--suggest-map", tmp_path / "map.yaml")
    assert code == 0 and "ffn_up-0" in (tmp_path / "map.yaml").read_text()
    code, out, _ = cli("compare", ref, port, "--map", tmp_path / "map.yaml")
    assert code == 0 and "parity" in out
    ref, port = port_llamacpp.build(tmp_path / "bug", "ffn_up_scale", inputs=True)
    code, _, _ = cli("compare", ref, port, "--map", tmp_path / "map.yaml", "--json",
                     tmp_path / "bug.json")
    first = json.loads((tmp_path / "bug.json").read_text())["first_divergence"]
    assert code == 1 and (first["name"], first["port_name"]) == (
        "model.layers.3.mlp.up_proj", "ffn_up-3")


def test_a_tensor_breaking_the_ports_majority_convention_is_reported(tmp_path):
    """mlx-audio's DAC encoder returns ``[1, 16, 32]`` channels-first (it moves the axis
    back) while 83 other tensors are channels-last: compare pairs it as stored and says so
    in the summary, the notes and on the pair."""
    from audioparity.compare import compare_traces

    ref, port = port_dac.build(tmp_path)
    report = compare_traces(ref, port).to_json()
    assert report["status"] == "parity"
    lines = [str(line) for line in report.get("conventions", []) + report.get("notes", [])]
    assert any("'encoder'" in line or " encoder " in line for line in lines), lines
    # on the pair too, with the evidence: the port's own tensor of that shape, moved
    encoder = next(e for e in report["entries"] if e["name"] == "encoder")
    assert "channels-first" in encoder["convention_note"]
    assert "'encoder.conv2' (port 'encoder.block.4') [1, 16, 32] as [1, 32, 16]" in \
        encoder["convention_note"]
    # the tensors the port does move are not flagged
    assert not any(e["convention_note"] for e in report["entries"] if e["convention"])
