"""Fixtures for the sweep tests: a real generation command in the spirit of seed 004.

The generator is a small Python script written into a temporary folder. It speaks a
sentence with espeak-ng and degrades it the way seed 004's Stable Audio port did: ``cfg``
scales the signal before it is clipped to [-1, 1] (calibrated so cfg=7 puts 7 % of the
samples past full scale, seed 004's figure), few ``steps`` leave it noisy (SNR = steps - 10
dB), ``noise`` mixes in white noise of that standard deviation.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GENERATOR = '''\
"""Seed 004 in miniature: espeak-ng speech, scaled by --cfg and clipped, noisy at few --steps."""
import argparse
import subprocess
import tempfile

import numpy as np
import soundfile as sf

parser = argparse.ArgumentParser()
parser.add_argument("--cfg", type=float, default=1.0)
parser.add_argument("--steps", type=int, default=50)
parser.add_argument("--noise", type=float, default=0.0)
parser.add_argument("--text", default="The quick brown fox jumps over the lazy dog.")
parser.add_argument("--out", required=True)
args = parser.parse_args()
with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
    subprocess.run(["espeak-ng", "-w", tmp.name, args.text], check=True)
    y, sr = sf.read(tmp.name, dtype="float32")
rng = np.random.default_rng(0)
y = args.cfg * y / np.quantile(np.abs(y), 0.93) / 7  # cfg 7: 7 % of samples past 1.0
y = y + np.sqrt(np.mean(y ** 2)) * 10 ** (-(args.steps - 10) / 20) * rng.standard_normal(len(y))
y = y + args.noise * rng.standard_normal(len(y))
sf.write(args.out, np.clip(y, -1.0, 1.0), sr, subtype="FLOAT")
print(f"wrote {args.out}: cfg {args.cfg}, steps {args.steps}")
'''


@pytest.fixture(scope="session")
def generator(tmp_path_factory) -> list[str]:
    """The argv prefix that runs the generator: ``[python, gen.py]``."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make espeak)")
    script = tmp_path_factory.mktemp("generator") / "gen.py"
    script.write_text(GENERATOR)
    return [sys.executable, str(script)]


@pytest.fixture(scope="session")
def clean_wav(tmp_path_factory, generator) -> Path:
    """What the generator makes at its best setting (cfg 1, 50 steps): a reference."""
    out = tmp_path_factory.mktemp("reference") / "ref.wav"
    subprocess.run([*generator, "--cfg", "1", "--steps", "50", "--out", str(out)], check=True,
                   capture_output=True, timeout=60)
    return out
