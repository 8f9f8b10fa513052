"""The zoo: every seed bug reproduced on a real architecture, compared end to end.

Each :class:`ZooCase` builds a reference (a real library class, small random config) and a
port carrying exactly one bug, writes both traces, and runs ``compare_traces`` on them. The
pytest cases (``test_zoo.py``) and the README table (``bench/zoo_table.py``) both run these.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from audioparity.compare import compare_traces


@dataclass(frozen=True)
class ZooCase:
    """One reproduction: ``build(workdir) -> (ref_trace, port_trace)``.

    ``where`` is the expected first divergent entry (None: the pair must be at parity),
    ``cause`` the expected top cause, ``params`` fitted parameters that must match (numbers
    within 1%, anything else exactly). ``needs`` lists importable modules the case needs.
    """

    id: str
    seed: str
    bug: str
    runtime: str
    build: Callable[[Path], tuple[Path, Path]]
    where: str | None
    cause: str | None
    params: dict[str, Any] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    slow: bool = False
    rules: dict[str, Any] | None = None
    #: expected status when not parity/divergent: ``incomplete`` for a port that covers
    #: only the front of the reference (its final output has no counterpart)
    status: str | None = None

    def missing(self) -> list[str]:
        return [m for m in self.needs if importlib.util.find_spec(m) is None]


@dataclass
class ZooOutcome:
    """What audioparity said about one case."""

    case: ZooCase
    status: str
    where: str | None
    causes: list[Any]

    @property
    def top(self):
        return self.causes[0] if self.causes else None

    def problems(self) -> list[str]:
        """Why this outcome is not the expected one (empty: it is)."""
        c = self.case
        found = []
        if self.where != c.where:
            found.append(f"first divergence {self.where!r}, expected {c.where!r}")
        if c.cause is not None:
            top = self.top
            if top is None or top.cause != c.cause:
                ranked = [(f.cause, round(f.confidence, 2)) for f in self.causes]
                found.append(f"top cause {ranked}, expected {c.cause!r}")
            else:
                found += _param_problems(c.params, top.params)
        return found


def _param_problems(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    out = []
    for key, want in expected.items():
        have = got.get(key)
        if _numbers(want) and _numbers(have) and np.shape(want) == np.shape(have):
            if not np.allclose(have, want, rtol=0.01, atol=0):
                out.append(f"param {key}={have}, expected {want} (1%)")
        elif have != want:
            out.append(f"param {key}={have!r}, expected {want!r}")
    return out


def _numbers(value: Any) -> bool:
    """A float, or a list of numbers with at least one float (compared within 1%)."""
    if isinstance(value, float):
        return True
    return (isinstance(value, list) and all(isinstance(v, (int, float)) for v in value)
            and any(isinstance(v, float) for v in value))


def run_case(case: ZooCase, workdir: Path) -> ZooOutcome:
    """Build both traces of ``case`` in ``workdir`` and compare them through the public API."""
    from audioparity.compare import rules_from_dict

    ref, port = case.build(workdir)
    rules = rules_from_dict(case.rules) if case.rules else None
    result = compare_traces(ref, port, rules=rules)
    first = result.first_divergence
    return ZooOutcome(case, result.status, first.name if first else None,
                      list(first.causes) if first else [])


def _qwen3(**bug: Any) -> Callable[[Path], tuple[Path, Path]]:
    def build(workdir: Path) -> tuple[Path, Path]:
        import zoo_qwen3

        return zoo_qwen3.build(workdir, **bug)

    return build


def _vocoder(builder: str, **bug: Any) -> Callable[[Path], tuple[Path, Path]]:
    def build(workdir: Path) -> tuple[Path, Path]:
        import zoo_vocoders

        return getattr(zoo_vocoders, builder)(workdir, **bug)

    return build


def _code2wav(**bug: Any) -> Callable[[Path], tuple[Path, Path]]:
    def build(workdir: Path) -> tuple[Path, Path]:
        import zoo_code2wav

        return zoo_code2wav.build(workdir, **bug)

    return build


def _code2wav_decoder(bug: str | None) -> Callable[[Path], tuple[Path, Path]]:
    def build(workdir: Path) -> tuple[Path, Path]:
        import zoo_code2wav

        return zoo_code2wav.build_decoder(workdir, bug)

    return build


def _dac(**bug: Any) -> Callable[[Path], tuple[Path, Path]]:
    def build(workdir: Path) -> tuple[Path, Path]:
        import zoo_dac

        return zoo_dac.build(workdir, **bug)

    return build


def _stable_audio(bug: str | None) -> Callable[[Path], tuple[Path, Path]]:
    def build(workdir: Path) -> tuple[Path, Path]:
        import zoo_stable_audio

        return zoo_stable_audio.build(workdir, bug)

    return build


def _hifigan(workdir: Path) -> tuple[Path, Path]:
    import zoo_hifigan

    return zoo_hifigan.build(workdir)


_ORT = ("transformers", "onnxruntime", "onnxscript")
_SOPRANO = ("soprano", "mlx_audio", "mlx")
_TORCH_SOPRANO = ("soprano",)
_DIFFUSERS_ORT = ("diffusers", "onnxruntime", "onnxscript")

CASES: list[ZooCase] = [
    ZooCase("qwen3-parity", "000", "none (NumPy Qwen3 port, same weights)", "NumPy",
            _qwen3(), None, None, needs=("transformers",)),
    ZooCase("qwen3-missing-qk-norm", "000", "Qwen2-style attention: no q/k RMSNorm", "NumPy",
            _qwen3(qk_norm=False), "model.layers.0.self_attn.q_norm", "missing_norm",
            needs=("transformers",)),
    ZooCase("qwen3-interleaved-rope", "000", "RoPE interleaved instead of half-split",
            "NumPy", _qwen3(rope="interleaved"),
            "model.layers.0.self_attn.apply_rotary_pos_emb", "rope_variant",
            needs=("transformers",)),
    ZooCase("istft-parity", "000", "none (NumPy ISTFT head, same padding)", "NumPy",
            _vocoder("build_istft"), None, None, needs=_TORCH_SOPRANO),
    ZooCase("istft-divides-by-nfft", "000", "ISTFT normalised by 1/n_fft", "NumPy",
            _vocoder("build_istft", divide_by_nfft=True), "istft", "scale",
            {"c": 1 / 2048}, needs=_TORCH_SOPRANO),
    ZooCase("istft-pad-win-half", "000", "ISTFT trims win/2 = 1024 instead of (win-hop)/2 = 768",
            "NumPy", _vocoder("build_istft", pad=1024), "istft", "shift", {"k": -256, "axis": 1},
            needs=_TORCH_SOPRANO),
    ZooCase("peak-normalise-0.5", "000", "soprano-rs normalize_audio: peak 0.5 (tanh > 0.8 never fires)",
            "NumPy", _vocoder("build_istft", peak=0.5), "output", "scale", needs=_TORCH_SOPRANO),
    ZooCase("peak-normalise-tanh-clip", "000", "normalise to peak 2.0, tanh above 0.8", "NumPy",
            _vocoder("build_istft", peak=2.0), "output", "clipping", needs=_TORCH_SOPRANO),
    ZooCase("soprano-mlx-audio", "000", "none injected: mlx-audio's Soprano decoder as is",
            "MLX (mlx-audio)", _vocoder("build_soprano"), "head", None, needs=_SOPRANO),
    ZooCase("soprano-mlx-audio-head-fixed", "000",
            "none: mlx-audio's Soprano decoder with its ISTFT head fixed (Σw², periodic, DC)",
            "MLX (mlx-audio)", _vocoder("build_soprano", fix_head=True), None, None,
            needs=_SOPRANO),
    ZooCase("vocos-mlx-audio", "000", "none injected: mlx-audio's Vocos.from_pretrained as is",
            "MLX (mlx-audio)", _vocoder("build_vocos"), "head", None, needs=_SOPRANO),
    ZooCase("vocos-head-not-loaded", "002",
            "key prefix mismatch (head. -> istft_head.): head left at init by strict=False",
            "MLX (mlx-audio)", _vocoder("build_vocos", rename=("head.", "istft_head.")),
            "head.out", "weights_not_loaded", needs=_SOPRANO),
    ZooCase("vocos-bogus-mel-affine", "002", "port feeds mel * 0.75 - 5.0 to the vocoder",
            "MLX (mlx-audio)", _vocoder("build_vocos", mel_affine=(0.75, -5.0)),
            "backbone:in0", "affine", {"a": 0.75, "b": -5.0}, needs=_SOPRANO),
    ZooCase("soprano-mlx-bf16", "001",
            "port computes in bf16 (mlx-audio decoder, head fixed), reference in f32",
            "MLX (mlx-audio)", _vocoder("build_soprano", fix_head=True, bf16=True),
            "decoder.embed", "precision", needs=_SOPRANO),
    ZooCase("code2wav-parity", "003", "none (NumPy token front-end of Qwen3OmniMoeCode2Wav; "
            "it stops before the waveform: incomplete, every aligned pair within tolerance)",
            "NumPy", _code2wav(), None, None, needs=("transformers",), status="incomplete"),
    ZooCase("code2wav-no-codebook-offset", "003",
            "flat index without + cb × codebook_size (all codebooks read table 0)", "NumPy",
            _code2wav(offset=False), "code_embedding:in0", "offset",
            {"axis": 1, "offsets": [0, -64, -128, -192]}, needs=("transformers",)),
    ZooCase("code2wav-codebook-order", "003", "codebooks 0 and 1 swapped", "NumPy",
            _code2wav(order=(1, 0, 2, 3)), "output:in0", "permutation",
            {"axis": 1, "order": [1, 0, 2, 3]}, needs=("transformers",)),
    ZooCase("dac-rvq-parity", "003", "none (NumPy RVQ from_codes of DacModel, espeak codes)",
            "NumPy", _dac(), None, None, needs=("transformers",)),
    ZooCase("dac-flat-vocab-tokens", "003",
            "talker's flat vocab token + cb × codebook_size handed to the codec unchanged",
            "NumPy", _dac(flat_vocab=True), "output:in0", "offset",
            {"axis": 1, "offsets": [0, 64, 128, 192]}, needs=("transformers",)),
    ZooCase("dac-codebook-order", "003", "codebooks 1 and 2 arrive swapped", "NumPy",
            _dac(order=(0, 2, 1, 3)), "output:in0", "permutation",
            {"axis": 1, "order": [0, 2, 1, 3]}, needs=("transformers",)),
    ZooCase("code2wav-decoder-ort-parity", "001", "none (Code2Wav decoder exported to ONNX)",
            "ONNX Runtime", _code2wav_decoder(None), None, None, needs=_ORT, slow=True),
    ZooCase("code2wav-snakebeta-alpha", "001", "SnakeBeta with alpha instead of exp(alpha)",
            "ONNX Runtime", _code2wav_decoder("snake_alpha"), "decoder.1.block.0",
            "activation", needs=_ORT, slow=True),
    ZooCase("code2wav-transconv-trim-left", "001",
            "CausalTransConv1d trims kernel-stride on the left only", "ONNX Runtime",
            _code2wav_decoder("trim_left"), "decoder.1.block.1", "shift", {"k": -2, "axis": 2}, needs=_ORT,
            slow=True),
    ZooCase("stable-audio-ort-parity", "004",
            "none (DiT CFG step + Oobleck decode exported to ONNX)", "ONNX Runtime",
            _stable_audio(None), None, None, needs=_DIFFUSERS_ORT, slow=True),
    ZooCase("stable-audio-text-ignored", "004",
            "the port's glue never passes the T5 output: the DiT cross-attends to zeros",
            "ONNX Runtime", _stable_audio("ignore_text"), "transformer.cross_attention_proj.0",
            "dropped", {"axis": None, "value": 0.0}, needs=_DIFFUSERS_ORT, slow=True),
    ZooCase("stable-audio-cfg7-clip", "004",
            "CFG 7 drives the audio past full scale; the port clamps it to [-1, 1]",
            "ONNX Runtime", _stable_audio("clip"), "output", "clipping",
            {"kind": "hard", "level": [-1.0, 1.0]}, needs=_DIFFUSERS_ORT, slow=True),
    ZooCase("hifigan-conv-mlx-layout", "002",
            "one Conv1d weight stored [out, k, in] (MLX) among [out, in, k] (PyTorch)",
            "weight file", _hifigan, "resblocks.0.convs1.1.weight", "layout",
            {"perm": [0, 2, 1]}, needs=("transformers",)),
]
