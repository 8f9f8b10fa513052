"""Fuzzed readers of audio (WAV/FLAC), token files, map files and sharded-checkpoint indexes.

See :mod:`fuzzing` for the property and the budget (``AUDIOPARITY_FUZZ_EXAMPLES``). Result
JSON files are read back by ``audioparity report`` (:mod:`audioparity.report.results`),
fuzzed here where that module exists.
"""

from __future__ import annotations

import pytest
import seeds
from fuzzing import FUZZ, Workdir, mutated, read_or_refuse
from hypothesis import given

from audioparity.audio.io import load_audio
from audioparity.compare import load_rules
from audioparity.tokens.load import read_tokens
from audioparity.weights import open_checkpoint

pytestmark = pytest.mark.slow

WORK = Workdir()


def _fuzz(name: str, seed: bytes, read, hot: int = 256):
    @FUZZ
    @given(data=mutated(seed, hot))
    def run(data: bytes) -> None:
        path = WORK.path(name)
        path.write_bytes(data)
        read_or_refuse(path, read)

    return run


def _audio(path) -> None:
    clip = load_audio(path)
    assert clip.y.ndim == 1


def _tokens(path) -> None:
    tokens = read_tokens(path, name="codes" if path.suffix == ".json" else None)
    assert tokens.array.dtype.kind == "i"


test_fuzz_wav = _fuzz("a.wav", seeds.wav(), _audio, 128)
test_fuzz_wav_float = _fuzz("a.wav", seeds.wav("WAV", "FLOAT"), _audio, 128)
test_fuzz_flac = _fuzz("a.flac", seeds.wav("FLAC", "PCM_16"), _audio, 512)
test_fuzz_tokens_txt = _fuzz("codes.txt", seeds.TOKENS_TXT, _tokens)
test_fuzz_tokens_json = _fuzz("codes.json", seeds.TOKENS_JSON, _tokens)
test_fuzz_tokens_npy = _fuzz("codes.npy", seeds.npy_ids(), _tokens, 128)
test_fuzz_map_yaml = _fuzz("map.yaml", seeds.MAP_YAML, load_rules, 512)
test_fuzz_map_toml = _fuzz("map.toml", seeds.MAP_TOML, load_rules, 512)
test_fuzz_map_arrow_lines = _fuzz("map.txt", seeds.MAP_ARROW, load_rules)


SHARD = seeds.stock_safetensors()


def _index(path) -> None:
    (path.parent / "model-00001-of-00001.safetensors").write_bytes(SHARD)
    try:
        with open_checkpoint(path) as ckpt:
            for name in ckpt.names:
                ckpt.read(name)
    finally:
        (path.parent / "model-00001-of-00001.safetensors").unlink()


test_fuzz_checkpoint_index = _fuzz("model.safetensors.index.json", seeds.INDEX_JSON, _index)


try:  # the reader of ``audioparity report``'s inputs
    from audioparity.report import results as report_results
except ImportError:  # pragma: no cover - an install without the report command
    report_results = None


def _results(path) -> None:
    loaded = report_results.load_result(path)
    assert loaded.kind in report_results.KINDS


test_fuzz_results_json = pytest.mark.skipif(
    report_results is None, reason="no results reader (audioparity.report.results)")(
    _fuzz("compare.json", seeds.COMPARE_JSON, _results, 4096))
