"""``norm_eps``: the same normalization with a different epsilon — rows with a small
variance come out different, the rest agree.

Seed 002: the Chatterbox port's LayerNorms had to be checked for ``eps=1e-12`` (encoder) vs
the decoder's value. With the input recorded (``NAME:in0``) the two epsilons are fitted from
``(p/r)² = (ms + eps_ref) / (ms + eps_port)`` per row (``ms`` = the row's mean square for
RMSNorm, variance for LayerNorm); from outputs only, the per-row factor is near 1 on
high-energy rows and departs on low-energy ones.

Example
-------
>>> import torch
>>> x = torch.randn(64, 48) * torch.logspace(-3, 0, 64)[:, None]
>>> a, b = torch.nn.LayerNorm(48, eps=1e-5), torch.nn.LayerNorm(48, eps=1e-3)
>>> ctx = ExplainContext(name="ln", get_ref=lambda n: x.numpy() if n == "ln:in0" else None)
>>> f = match(a(x).detach().numpy(), b(x).detach().numpy(), ctx)
>>> round(f.params["eps_port"], 6)
0.001
"""

from __future__ import annotations

import numpy as np

from .arrays import crop_around, fit_quality, fit_tol, fmt, rel_l2
from .finding import ExplainContext, Finding
from .norms import norm_rows, row_scale
from .registry import signature

_HINT = "use the reference's eps for this normalization (check the config and each layer)"


def fit_eps(ms: np.ndarray, s: np.ndarray) -> tuple[float, float, float]:
    """Least-squares ``eps_ref, eps_port`` from ``s² (ms + eps_port) = ms + eps_ref``;
    returns them and the relative residual on ``s``."""
    s2 = s * s
    a = np.stack([-np.ones_like(s2), s2], axis=1)
    b = ms * (1.0 - s2)
    w = 1.0 / np.maximum(ms, 1e-30)  # relative weighting: small rows carry the signal
    (eps_r, eps_p), *_ = np.linalg.lstsq(a * w[:, None], b * w, rcond=None)
    eps_r, eps_p = max(float(eps_r), 0.0), max(float(eps_p), 0.0)
    pred = np.sqrt((ms + eps_r) / np.maximum(ms + eps_p, 1e-300))
    dev = np.abs(s - 1.0)
    res = float(np.sqrt(np.sum((pred - s) ** 2)) / max(np.sqrt(np.sum(dev * dev)), 1e-300))
    return eps_r, eps_p, res


@signature("norm_eps", dtypes="float")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    rows = norm_rows(ref, port)
    if rows is None:
        return None
    r, p = rows
    s, res = row_scale(r, p)
    tol = fit_tol(rel_l2(r, p))
    if res > tol or s.size < 4 or s.min() <= 0 or np.all(np.abs(s - 1) < 1e-4):
        return None
    x = ctx.input(0, "ref")
    if x is not None and x.shape == ref.shape:
        xc = crop_around(x, -1).reshape(-1, x.shape[-1])
        rows = np.sum(r.reshape(-1, r.shape[-1]) ** 2, axis=1) > 0
        xc = xc[rows]
        best = None
        for kind, ms in (("RMSNorm", np.mean(xc * xc, axis=1)), ("LayerNorm", np.var(xc, axis=1))):
            fit = fit_eps(ms, s)
            if best is None or fit[2] < best[3]:
                best = (kind, *fit)
        kind, eps_r, eps_p, fit_res = best
        if fit_res > 0.1 or eps_r == eps_p:
            return None
        return Finding("norm_eps", 0.9 * fit_quality(fit_res, 0.1),
                       f"{kind} eps differs: ref ≈ {eps_r:.3g}, port ≈ {eps_p:.3g} (fitted "
                       f"from the recorded input, residual {fmt(fit_res)}; rows scaled "
                       f"×{fmt(float(s.min()))}..×{fmt(float(s.max()))})",
                       {"norm": kind, "eps_ref": eps_r, "eps_port": eps_p,
                        "residual": fit_res, "method": "input"}, _HINT)
    if s.min() < 0.2 or s.max() > 5:
        return None  # too far from 1 for an eps alone without the input to prove it
    rows_r = np.sqrt(np.mean(r.reshape(-1, r.shape[-1]) ** 2, axis=1))
    rows_r = rows_r[rows_r > 0]
    dev = np.abs(np.log(s))
    if rows_r.size != s.size or float(np.std(rows_r)) == 0 or float(np.std(dev)) == 0:
        return None
    corr = float(np.corrcoef(dev, rows_r)[0, 1])
    if not np.isfinite(corr) or corr > -0.5:
        return None
    return Finding("norm_eps", 0.6 * fit_quality(res, tol),
                   f"port = ref × a per-row factor ×{fmt(float(s.min()))}..×"
                   f"{fmt(float(s.max()))} that departs from 1 on the low-energy rows "
                   f"(corr {fmt(corr)}): a normalization eps differs (no input recorded to "
                   "fit it)", {"norm": "unknown", "residual": res, "correlation": corr,
                               "method": "outputs"}, _HINT)
