"""``audioparity sweep`` end to end: a real generator (espeak-ng speech degraded as in seed
004) run on the process pool, in-process and on Ray; failures; bad usage."""

from __future__ import annotations

import hashlib
import json
import shlex
import sys

import pytest


def _ranked(data: dict) -> list[tuple]:
    return [(j["params"].get("cfg"), j["params"].get("steps")) for j in data["jobs"]]


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_clean_setting_ranks_first_clipped_and_noisy_last(cli, generator, tmp_path):
    runs, report = tmp_path / "runs", tmp_path / "sweep.json"
    code, out, err = cli("sweep", "--grid", "cfg=1,7", "--grid", "steps=10:50:40", "--jobs", 2,
                         "--no-vad", "--out-dir", runs, "--json", report, "--",
                         *generator, "--cfg", "{cfg}", "--steps", "{steps}", "--out", "{out}")
    assert code == 0, err
    assert err == ""  # no progress bar when not on a terminal
    data = json.loads(report.read_text())
    assert data["status"] == "ok" and data["backend"] == "local" and data["workers"] == 2
    assert data["grid"] == {"cfg": [1, 7], "steps": [10, 50]}
    assert data["counts"] == {"scored": 4}
    ranked = _ranked(data)
    assert ranked[0] == (1, 50)
    assert ranked[1] == (7, 50)  # clipped, but clean underneath
    assert set(ranked[2:]) == {(1, 10), (7, 10)}  # noise (and clipped noise) last
    assert [j["rank"] for j in data["jobs"]] == [1, 2, 3, 4]
    best, clipped = data["jobs"][0], data["jobs"][1]
    assert best["audio"]["verdict"] == "speech" and best["score"] == data["best"]["score"]
    assert clipped["audio"]["verdict"] == "clipped"
    assert clipped["audio"]["metrics"]["clipped_fraction"] == pytest.approx(0.07, abs=0.005)
    assert data["jobs"][-1]["audio"]["score"]["band"] == "bad"
    scores = [j["score"] for j in data["jobs"]]
    assert scores == sorted(scores, reverse=True)
    assert best["argv"][-1] == best["out"] and best["out"].startswith(str(runs))
    assert best["exit_code"] == 0 and best["wall_s"] > 0
    assert (runs / "001_cfg-1_steps-50.wav").is_file()
    assert (runs / "001_cfg-1_steps-50.stdout.log").read_text().startswith("wrote ")
    assert "best: cfg=1 steps=50 → speech" in out
    assert out.index("cfg=1 steps=50") < out.index("cfg=7 steps=50") < out.index("steps=10")


def test_reference_and_vad_in_process(cli, generator, clean_wav, tmp_path):
    before = _digest(clean_wav)
    code, out, err = cli("sweep", "-g", "noise=0,0.2", "-j", 1, "--ref", clean_wav,
                         "-o", tmp_path / "runs", "--json", "-", "--",
                         *generator, "--noise", "{noise}", "--out", "{out}")
    assert code == 0, err
    data = json.loads(out)  # --json - prints only the JSON
    assert data["ref"] == str(clean_wav.resolve())
    best, noisy = data["jobs"]
    assert best["params"] == {"noise": 0}
    ref = best["audio"]["reference"]
    assert ref["snr_db_gain_corrected"] == "inf" and ref["pesq_wb"] > 4.0
    # computed floats (STOI, MR-STFT): 1 and 100 up to the last bits on any machine
    assert best["audio"]["score"]["similarity"] == pytest.approx(1.0, abs=1e-9)
    assert best["score"] == pytest.approx(100.0, abs=1e-6)
    assert noisy["audio"]["reference"]["snr_db_gain_corrected"] < 5
    assert noisy["audio"]["score"]["factors"]["noise"] < 0.5 and noisy["score"] < 75
    assert best["audio"]["score"]["similarity"] > noisy["audio"]["score"]["similarity"]
    assert _digest(clean_wav) == before


def test_a_failing_setting_is_reported_and_the_rest_ranked(cli, generator, tmp_path):
    code, out, err = cli("sweep", "-g", "steps=50,fifty", "-j", 1, "--no-vad",
                         "-o", tmp_path / "r", "--json", tmp_path / "r.json", "--",
                         *generator, "--steps", "{steps}", "--out", "{out}")
    assert code == 0, err
    data = json.loads((tmp_path / "r.json").read_text())
    good, bad = data["jobs"]
    assert good["rank"] == 1 and good["status"] == "scored"
    assert bad["rank"] is None and bad["status"] == "failed" and bad["exit_code"] == 2
    assert "invalid int value: 'fifty'" in bad["stderr_tail"]
    assert bad["error"].startswith("exit code 2: ") and bad["audio"] is None
    assert "steps=fifty" in out and "invalid int value" in out


@pytest.mark.slow
def test_every_job_failing_exits_1(cli, tmp_path):
    script = ("case {k} in fail) echo boom >&2; exit 3;; hang) sleep 30;; "
              "none) true;; text) echo not audio > {out};; esac")
    code, out, err = cli("sweep", "-g", "k=fail,hang,none,text", "--timeout", 1, "--shell",
                         "-j", 2, "-o", tmp_path / "runs", "--json", tmp_path / "r.json",
                         "--", script)
    assert code == 1, err
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["status"] == "problem" and data["best"] is None
    assert data["problem"] == "no job produced readable audio"
    by_k = {j["params"]["k"]: j for j in data["jobs"]}
    assert by_k["fail"]["status"] == "failed" and by_k["fail"]["stderr_tail"] == "boom"
    assert by_k["fail"]["error"] == "exit code 3: boom"
    assert by_k["hang"]["status"] == "timeout" and by_k["hang"]["timed_out"]
    assert 1.0 <= by_k["hang"]["wall_s"] < 10
    assert by_k["none"]["status"] == "no_audio"
    assert by_k["text"]["status"] == "unreadable" and "not readable as audio" in \
        by_k["text"]["error"]
    assert "no job produced readable audio" in out


def test_noise_only_exits_1(cli, tmp_path):
    maker = ("import sys, numpy as np, soundfile as sf; "
             "sf.write(sys.argv[2], float(sys.argv[1]) * "
             "np.random.default_rng(0).standard_normal(16000), 16000)")
    code, out, err = cli("sweep", "-g", "level=0.1,0.3", "-j", 1, "--no-vad",
                         "-o", tmp_path / "runs", "--",
                         sys.executable, "-c", maker, "{level}", "{out}")
    assert code == 1, err
    assert "no setting produced speech or music" in out and "noise" in out


def test_existing_outputs_are_kept_unless_forced(cli, generator, tmp_path):
    runs = tmp_path / "runs"
    args = ("sweep", "-g", "cfg=1", "--no-vad", "-o", runs, "--", *generator,
            "--cfg", "{cfg}", "--out", "{out}")
    assert cli(*args)[0] == 0
    wav = runs / "000_cfg-1.wav"
    before = _digest(wav)
    code, out, err = cli(*args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "already exists" in err and "--force" in err
    assert _digest(wav) == before
    code, out, err = cli(*args[:1], "--force", *args[1:])
    assert code == 0, err


@pytest.mark.parametrize("args, problem", [
    (["--", "gen", "{out}"], "no --grid given"),
    (["-g", "cfg=1"], "no command to run"),
    (["-g", "cfg=1", "--", "gen", "{cfg}", "{steps}", "{out}"], "uses {steps} but no --grid"),
    (["-g", "cfg=1", "-g", "seed=1,2", "--", "gen", "{cfg}", "{out}"], "seed is never used"),
    (["-g", "cfg=1", "--", "gen", "{cfg}"], "no {out} placeholder"),
    (["-g", "cfg=1:x", "--", "gen", "{cfg}", "{out}"], "must be numbers"),
    (["-g", "cfg=1", "--ref", "missing.wav", "--", "gen", "{cfg}", "{out}"],
     "missing.wav: no such file"),
    (["-g", "cfg=1", "--ref", "notes.txt", "--", "gen", "{cfg}", "{out}"],
     "notes.txt: not readable as audio"),
    (["-g", "cfg=1", "--jobs", "0", "--", "gen", "{cfg}", "{out}"], "--jobs"),
    (["-g", "cfg=1", "--ray-address", "127.0.0.1:1", "--", "gen", "{cfg}", "{out}"],
     "--ray-address 127.0.0.1:1: nothing answers there"),
])
def test_bad_usage_exits_2_with_one_line(cli, tmp_path, monkeypatch, args, problem):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not audio")
    code, out, err = cli("sweep", "-o", tmp_path / "runs", *args)
    assert code == 2 and out == ""
    assert err.startswith("audioparity: error: ") and err.count("\n") == 1
    assert problem in err
    assert not (tmp_path / "runs").exists()  # nothing was run or created


def test_out_dir_that_is_a_file(cli, tmp_path):
    target = tmp_path / "runs"
    target.write_text("mine")
    code, _, err = cli("sweep", "-g", "a=1", "-o", target, "--", "true", "{a}", "{out}")
    assert code == 2 and "not a directory" in err and target.read_text() == "mine"


@pytest.mark.slow
def test_ray_runs_the_same_sweep(cli, generator, tmp_path):
    pytest.importorskip("ray")
    code, out, err = cli("sweep", "--ray", "-j", 2, "-g", "cfg=1,7", "--no-vad",
                         "-o", tmp_path / "runs", "--json", tmp_path / "r.json", "--",
                         *generator, "--cfg", "{cfg}", "--out", "{out}")
    assert code == 0, err
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["backend"] == "ray" and data["counts"] == {"scored": 2}
    assert _ranked(data) == [(1, None), (7, None)]
    assert data["jobs"][1]["audio"]["verdict"] == "clipped"
    assert "on ray" in out


def test_an_analysis_error_is_one_crashed_job(generator, tmp_path, monkeypatch):
    from audioparity.sweep import run_sweep, runner

    real = runner.assess_wav

    def fragile(path, ref, use_vad):
        if "cfg-7" in str(path):
            raise FloatingPointError("overflow in pitch tracker")
        return real(path, ref, use_vad)

    monkeypatch.setattr(runner, "assess_wav", fragile)
    result = run_sweep(["cfg=1,7"], [*generator, "--cfg", "{cfg}", "--out", "{out}"],
                       tmp_path / "runs", workers=1, use_vad=False)
    good, broken = result.jobs
    assert good.rank == 1 and good.status == "scored" and result.ok
    assert broken.status == "crashed" and broken.rank is None
    assert broken.error == "analysis failed: FloatingPointError: overflow in pitch tracker"
    assert broken.run.exit_code == 0


def test_with_ref_the_take_closest_to_the_reference_ranks_first(cli, generator, clean_wav,
                                                                 tmp_path):
    """Clean speech of the wrong sentence (about -3 dB against the reference) below a
    clipped take of the right one (about 23 dB): similarity to the reference leads."""
    script = (f"case {{take}} in wrong) {shlex.join(generator)} --text 'A rainbow appears "
              f"after the storm has passed.' --out {{out}};; clipped) "
              f"{shlex.join(generator)} --cfg 2.4 --out {{out}};; esac")
    code, out, err = cli("sweep", "-g", "take=wrong,clipped", "--shell", "-j", 1, "--no-vad",
                         "--ref", clean_wav, "-o", tmp_path / "runs", "--json", "-",
                         "--", script)
    assert code == 0, err
    data = json.loads(out)
    first, second = data["jobs"]
    assert first["params"] == {"take": "clipped"} and second["params"] == {"take": "wrong"}
    assert first["audio"]["verdict"] == "clipped" and second["audio"]["verdict"] == "speech"
    assert first["audio"]["reference"]["snr_db_gain_corrected"] > 20
    assert second["audio"]["reference"]["snr_db_gain_corrected"] < 1
    assert second["audio"]["score"]["audio_score"] > first["audio"]["score"]["audio_score"]
    assert first["score"] > second["score"]
    assert data["status"] == "ok" and data["problem"] is None


@pytest.mark.parametrize("command, problem", [
    (["no-such-generator-xyz", "{k}", "{out}"],
     "no-such-generator-xyz: command not found (not on PATH)"),
    (["./gen.py", "{k}", "{out}"], "./gen.py: is not executable"),
    (["./missing/gen", "{k}", "{out}"], "./missing/gen: no such file"),
])
def test_a_command_that_cannot_start_exits_2_before_any_job(cli, tmp_path, monkeypatch,
                                                             command, problem):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gen.py").write_text("print('hi')\n")  # not executable
    code, out, err = cli("sweep", "-g", "k=1,2", "-o", tmp_path / "runs", "--json", "-",
                         "--", *command)
    assert code == 2
    assert err.startswith("audioparity: error: ") and err.count("\n") == 1 and problem in err
    assert not (tmp_path / "runs").exists()  # refused before anything ran
    assert json.loads(out)["status"] == "error"


def test_a_shell_command_the_shell_cannot_find_exits_2(cli, tmp_path):
    code, _, err = cli("sweep", "-g", "k=1,2", "--shell", "-j", 1, "-o", tmp_path / "runs",
                       "--", "no-such-generator-xyz {k} {out}")
    assert code == 2 and err.count("\n") == 1
    assert "could not start: exit code 127" in err and "no-such-generator-xyz" in err
    assert "not found" in err
