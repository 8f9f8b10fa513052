"""Per-layer end-to-end quantization study on real models (HiFi-GAN-style, Qwen3)."""

from __future__ import annotations

import json

import pytest

from audioparity.weights.sensitivity import layer_sensitivity

VOCODER = "audioparity.weights.models:hifigan_vocoder"
LM = "audioparity.weights.models:qwen3_lm"


@pytest.fixture(scope="module")
def vocoder_q8():
    return layer_sensitivity(VOCODER, "Q8_0", unit="component", target_snr_db=40.0, workers=1)


def test_components_are_ranked_by_measured_damage(vocoder_q8):
    units = vocoder_q8.units
    assert [u.unit for u in units] and {u.unit for u in units} == {
        "conv_pre", "ups", "resblocks", "conv_post"}
    assert [u.snr_db for u in units] == sorted(u.snr_db for u in units)
    assert [u.rank for u in units] == list(range(1, len(units) + 1))
    # quantizing everything hurts more than any one component alone
    assert vocoder_q8.all_quantized_snr_db < units[0].snr_db


def test_greedy_keep_list_reaches_the_target(vocoder_q8):
    assert vocoder_q8.all_quantized_snr_db < 40.0
    assert vocoder_q8.reached and vocoder_q8.keep_snr_db >= 40.0
    assert vocoder_q8.keep == [u.unit for u in vocoder_q8.units[: len(vocoder_q8.keep)]]
    assert 0 < vocoder_q8.kept_params < vocoder_q8.total_params


def test_audio_output_gets_audio_metrics(vocoder_q8):
    audio = vocoder_q8.all_quantized_audio
    assert audio is not None and audio.get("log_spectral_distance_db", 0) > 0


def test_cli_study_on_qwen3_components(cli, tmp_path):
    out = tmp_path / "study.json"
    code, stdout, err = cli("weights", "quant", "--model", LM, "--type", "Q8_0", "--unit",
                            "component", "--target-snr", "60", "--workers", "1", "--json", out)
    assert code == 1, err  # 60 dB is out of reach for Q8_0 everywhere: a keep list is given
    data = json.loads(out.read_text())
    assert data["status"] == "problem" and data["outcome"] == "keep_list" and data["keep"]
    assert {u["unit"] for u in data["units"]} == {"model.embed_tokens", "model.layers.0",
                                                  "model.layers.1", "lm_head"}
    assert "keep in F16/F32 (greedy" in stdout


@pytest.mark.slow
def test_process_pool_gives_the_same_measurements(vocoder_q8):
    pooled = layer_sensitivity(VOCODER, "Q8_0", unit="component", target_snr_db=40.0,
                               workers=2)
    assert pooled.runner.startswith("process pool")
    assert [u.unit for u in pooled.units] == [u.unit for u in vocoder_q8.units]
    # other processes may use other torch thread counts: same result up to summation order
    assert [u.snr_db for u in pooled.units] == pytest.approx(
        [u.snr_db for u in vocoder_q8.units], abs=1e-3)
    assert pooled.keep == vocoder_q8.keep


@pytest.mark.slow
def test_ray_runs_the_same_jobs(vocoder_q8):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = layer_sensitivity(VOCODER, "Q8_0", unit="component", target_snr_db=40.0,
                                   workers=1, ray_address="local")
    finally:
        ray.shutdown()
    assert on_ray.runner == "ray (local)"
    assert [u.unit for u in on_ray.units] == [u.unit for u in vocoder_q8.units]
    assert [u.snr_db for u in on_ray.units] == pytest.approx(
        [u.snr_db for u in vocoder_q8.units], abs=1e-3)
