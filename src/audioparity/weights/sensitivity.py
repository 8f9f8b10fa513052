"""Per-layer quantization sensitivity, end to end, on a PyTorch model.

Each job quantizes (quantize -> dequantize with ``gguf``, :func:`.quant.roundtrip`) the
weights of one unit — a tensor, a module or a top-level component — on a fresh copy of the
float weights, runs the model on its example inputs and measures the SNR (dB) of the final
output against the float run. Units are ranked by the damage they do alone.

The keep list is **greedy**: units are taken out of quantization (kept in F16/F32) in
ranking order, most damaging first, until the output with everything else quantized reaches
the target SNR. It is not guaranteed minimal; it is what one ranked pass gives.

As GGUF conversions do, weight norm is fused before quantizing and 1-D tensors (norms,
biases) stay in float. Jobs run on a local process pool (spawn, ``workers`` processes),
in this process (``workers <= 1``), or on a Ray cluster (``ray_address``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context

import numpy as np

from ..errors import UsageError
from .quant import roundtrip, sqnr_db

UNITS = ("tensor", "module", "component")
_CACHE: dict[str, _Prepared] = {}


def load_factory(spec: str) -> Callable:
    """Import ``module:function`` (a model factory returning ``(model, example_inputs)``)."""
    module_name, sep, func = spec.partition(":")
    if not sep or not module_name or not func:
        raise UsageError(f"--model {spec!r}: expected 'module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"--model {spec!r}: cannot import {module_name} ({exc})") from None
    factory = getattr(module, func, None)
    if not callable(factory):
        raise UsageError(f"--model {spec!r}: {module_name} has no callable {func!r}")
    return factory


@dataclass
class _Prepared:
    model: object
    inputs: tuple
    state: dict
    kinds: dict[str, str]
    reference: np.ndarray
    sample_rate: int | None


def _output_array(out: object) -> np.ndarray:
    """The final output as float64: ``.logits`` of a transformers output, else output 0."""
    logits = getattr(out, "logits", None)
    if logits is not None:
        out = logits
    if isinstance(out, (tuple, list)):
        out = out[0]
    return out.detach().double().cpu().numpy()


def _prepare(spec: str) -> _Prepared:
    if spec in _CACHE:
        return _CACHE[spec]
    import torch
    from torch.nn.utils import parametrize

    result = load_factory(spec)()
    if not (isinstance(result, tuple) and len(result) == 2):
        raise UsageError(f"--model {spec!r}: factory must return (nn.Module, example_inputs)")
    model, inputs = result
    if not isinstance(model, torch.nn.Module):
        raise UsageError(f"--model {spec!r}: factory returned a {type(model).__name__}, "
                         "not an nn.Module")
    inputs = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
    for module in model.modules():  # fuse weight norm, as a GGUF conversion does
        if parametrize.is_parametrized(module, "weight"):
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    model.eval()
    kinds = {}
    for mod_name, module in model.named_modules():
        for p_name, p in module.named_parameters(recurse=False):
            if p.ndim >= 2:
                kinds[f"{mod_name}.{p_name}" if mod_name else p_name] = type(module).__name__
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        reference = _output_array(model(*inputs))
    prepared = _Prepared(model, tuple(inputs), state, kinds, reference,
                         getattr(model, "sample_rate", None))
    _CACHE[spec] = prepared
    return prepared


def run_job(spec: str, qtype: str, names: list[str]) -> dict:
    """Quantize ``names`` (parameter names) of the model from ``spec``, run it, and return
    ``{"snr_db", "audio"}`` for its output against the float output."""
    import torch

    prep = _prepare(spec)
    state = dict(prep.state)
    for name in names:
        w = prep.state[name]
        deq, _ = roundtrip(w.float().numpy(), qtype)
        state[name] = torch.from_numpy(deq).to(w.dtype)
    prep.model.load_state_dict(state)
    with torch.no_grad():
        out = _output_array(prep.model(*prep.inputs))
    prep.model.load_state_dict(prep.state)
    return {"snr_db": sqnr_db(prep.reference, out),
            "audio": _audio_metrics(prep.reference, out, prep.sample_rate)}


def _audio_metrics(ref: np.ndarray, out: np.ndarray, sr: int | None) -> dict | None:
    if sr is None:
        return None
    try:
        from ..audio.distances import log_spectral_distance_db, multi_resolution_stft_distance
    except ImportError:
        return {"not used": "audioparity.audio is not available"}
    r, o = ref.reshape(-1).astype(np.float32), out.reshape(-1).astype(np.float32)
    return {"log_spectral_distance_db": float(log_spectral_distance_db(r, o, sr)),
            "mr_stft_distance": float(multi_resolution_stft_distance(r, o, sr))}


def quantizable_units(spec: str, unit: str = "tensor") -> dict[str, list[str]]:
    """Unit name -> the parameter names (ndim >= 2) it quantizes, in model order."""
    if unit not in UNITS:
        raise UsageError(f"--unit {unit!r}: expected one of {', '.join(UNITS)}")
    units: dict[str, list[str]] = {}
    for name in _prepare(spec).kinds:
        parts = name.split(".")
        key = {"tensor": name, "module": ".".join(parts[:-1]),
               "component": _component(parts)}[unit]
        units.setdefault(key, []).append(name)
    return units


def _component(parts: list[str]) -> str:
    """Top-level child, one level deeper under a transformers ``model`` (``model.layers.3``)."""
    if parts[0] == "model" and len(parts) > 2:
        return ".".join(parts[:3] if parts[1] in ("layers", "h", "blocks") else parts[:2])
    return parts[0]


@dataclass
class UnitResult:
    unit: str
    kind: str
    params: int
    snr_db: float
    audio: dict | None = None
    rank: int = 0


@dataclass
class SensitivityReport:
    """Result of :func:`layer_sensitivity`; ``to_json()`` is the ``--json`` shape."""

    model: str
    qtype: str
    unit: str
    target_snr_db: float
    all_quantized_snr_db: float
    all_quantized_audio: dict | None
    units: list[UnitResult]
    keep: list[str]
    keep_snr_db: float
    reached: bool
    total_params: int
    kept_params: int
    runner: str
    method: str = "greedy: keep units in order of isolated damage until the target is reached"
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        quantized_ok = self.all_quantized_snr_db >= self.target_snr_db
        outcome = "all_quantized_ok" if quantized_ok else (
            "keep_list" if self.reached else "target_unreachable")
        return {"status": "ok" if quantized_ok else "problem", "outcome": outcome,
                **asdict(self)}

    def by_kind(self) -> dict[str, dict]:
        """Median / min isolated-unit SNR per module type (``Conv1d``, ``Linear`` ...)."""
        kinds: dict[str, list[float]] = {}
        for u in self.units:
            kinds.setdefault(u.kind, []).append(u.snr_db)
        return {k: {"units": len(v), "median_snr_db": float(np.median(v)),
                    "min_snr_db": float(np.min(v))} for k, v in kinds.items()}


class _Runner:
    """Runs jobs in this process, on a spawn process pool, or on Ray."""

    def __init__(self, spec: str, workers: int, ray_address: str | None):
        self.spec, self.workers, self.ray_address = spec, workers, ray_address
        self.pool = None
        self.ray_fn = None
        if ray_address is not None:
            try:
                import ray
            except ImportError:
                raise UsageError("--ray needs the ray extra: pip install 'audioparity[ray]'") \
                    from None
            if not ray.is_initialized():
                if ray_address == "local":
                    ray.init(num_cpus=max(1, workers), include_dashboard=False,
                             log_to_driver=False)
                else:
                    ray.init(address=ray_address, log_to_driver=False)
            self.ray_fn = ray.remote(run_job)
            self.name = f"ray ({ray_address})"
        elif workers > 1:
            self.pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
            self.name = f"process pool ({workers} workers)"
        else:
            self.name = "in process"

    def map(self, qtype: str, jobs: Iterable[list[str]]) -> list[dict]:
        jobs = list(jobs)
        if self.ray_fn is not None:
            import ray

            return ray.get([self.ray_fn.remote(self.spec, qtype, j) for j in jobs])
        if self.pool is not None:
            return list(self.pool.map(run_job, [self.spec] * len(jobs), [qtype] * len(jobs),
                                      jobs))
        return [run_job(self.spec, qtype, j) for j in jobs]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def layer_sensitivity(spec: str, qtype: str = "Q8_0", unit: str = "tensor",
                      target_snr_db: float = 40.0, workers: int = 2,
                      ray_address: str | None = None) -> SensitivityReport:
    """Rank the units of a model by the output damage their quantization alone causes, and
    find a greedy keep list reaching ``target_snr_db``.

    Parameters
    ----------
    spec : str
        Model factory ``module:function`` returning ``(nn.Module, example_inputs)``.
    qtype : str
        A type ``gguf`` can quantize (``Q8_0``, ``Q5_0``, ``Q4_0``, ``F16``, ...).
    unit : str
        ``tensor``, ``module`` or ``component`` (top-level child; ``model.layers.N`` and
        ``model.embed_tokens`` under a transformers ``model``).
    target_snr_db : float
        Output SNR (dB, against the float run) the keep list must reach.
    workers : int
        Local worker processes (spawn); 0 or 1 runs in this process.
    ray_address : str, optional
        Run the jobs on Ray instead (``local`` starts a local instance).
    """
    roundtrip(np.zeros(32, np.float32), qtype)  # unknown / unsupported type: fail first
    units = quantizable_units(spec, unit)
    prep = _prepare(spec)
    names = list(units)
    runner = _Runner(spec, workers, ray_address)
    try:
        every = [p for n in names for p in units[n]]
        results = runner.map(qtype, [units[n] for n in names] + [every])
        everything = results.pop()
        rows = [UnitResult(n, prep.kinds[units[n][0]], sum(prep.state[p].numel()
                                                             for p in units[n]),
                           r["snr_db"], r["audio"]) for n, r in zip(names, results)]
        ranking = sorted(rows, key=lambda r: r.snr_db)
        for i, r in enumerate(ranking, 1):
            r.rank = i
        keep, keep_snr = [], everything["snr_db"]
        if keep_snr < target_snr_db:
            keep, keep_snr = _greedy_keep(runner, qtype, units, ranking, target_snr_db)
    finally:
        runner.close()
    total = sum(r.params for r in rows)
    kept = sum(r.params for r in rows if r.unit in keep)
    return SensitivityReport(spec, qtype, unit, target_snr_db, everything["snr_db"],
                             everything["audio"], ranking, keep, keep_snr,
                             keep_snr >= target_snr_db, total, kept, runner.name)


def _greedy_keep(runner: _Runner, qtype: str, units: dict[str, list[str]],
                 ranking: list[UnitResult], target: float) -> tuple[list[str], float]:
    order = [r.unit for r in ranking]
    batch = max(2, runner.workers)
    snr = float("-inf")
    for start in range(1, len(order) + 1, batch):
        ks = list(range(start, min(start + batch, len(order) + 1)))
        jobs = [[p for n in order[k:] for p in units[n]] for k in ks]
        for k, res in zip(ks, runner.map(qtype, jobs)):
            snr = res["snr_db"]
            if snr >= target:
                return order[:k], snr
    return order, snr
