"""``activation``: an elementwise nonlinearity differs — GELU erf vs tanh, SiLU vs sigmoid,
ReLU vs a leaky slope, ELU with another ``alpha``, Snake with ``alpha`` vs ``exp(alpha)``.

Seed 001: Qwen3-TTS's decoder uses SnakeBeta, ``x + 1/exp(β)·sin²(exp(α)·x)`` (parameters
stored as logs, BigVGAN's ``alpha_logscale``); a port that uses α and β directly gets a
different curve per channel, and a port that exponentiates DAC's plain Snake α does the
reverse. Fitted between the module's input (``NAME:in0``) and each side's output: both
sides are matched against named forms (ELU's ``alpha`` and a leaky slope fitted), and per
channel (axis 1) against Snake/SnakeBeta, and the form that differs is named with the
fitted and the expected parameters.

When the activation was called as a function it has no entry and no input of its own; the
failing tensor is then some module's input and the previous recorded tensor (at parity) is
its pre-activation: the same fits run between the two, and the detail says so.

Example
-------
>>> import torch
>>> x = torch.randn(4, 256)
>>> erf, tanh = torch.nn.GELU(), torch.nn.GELU(approximate="tanh")
>>> ctx = ExplainContext(name="act", get_ref=lambda n: x.numpy() if n == "act:in0" else None)
>>> match(erf(x).numpy(), tanh(x).numpy(), ctx).params["port"]
'gelu_tanh'
>>> elu = torch.nn.ELU(alpha=0.5)
>>> f = match(torch.nn.ELU()(x).numpy(), elu(x).numpy(), ctx)
>>> f.params["port"], round(f.params["alpha_port"], 3)
('elu(alpha=0.5)', 0.5)
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf, expit

from .arrays import clearly_different, crop_around, fit_quality, fmt, paired_sample, residual
from .finding import ExplainContext, Finding
from .registry import signature
from .snake_math import SnakeFit, fit_snake

_NAMED = {
    "identity": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "gelu_erf": lambda x: 0.5 * x * (1.0 + erf(x / np.sqrt(2.0))),
    "gelu_tanh": lambda x: 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi)
                                                     * (x + 0.044715 * x ** 3))),
    "silu": lambda x: x * expit(x),
    "sigmoid": expit,
    "tanh": np.tanh,
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "softplus": lambda x: np.logaddexp(0.0, x),
    "quick_gelu": lambda x: x * expit(1.702 * x),
}
#: Residual up to which a side counts as "this named form" (elementwise fits).
_NAMED_TOL = 0.02
#: Residual up to which a side counts as Snake: from the module's input / the previous tensor.
_SNAKE_TOL = {"input": 0.05, "previous": 0.02}
#: The previous tensor stands for an input only with this much less confidence.
_PREVIOUS_WEIGHT = 0.85


def _named_fit(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Residual of ``y`` against each named form of ``x``, plus the leaky slope and the ELU
    ``alpha`` fitted on the negative inputs (named only when they are not the defaults)."""
    fits = {name: residual(y, f(x)) for name, f in _NAMED.items()}
    neg = x < 0
    if neg.sum() > 4 and (~neg).sum() > 4:
        slope = float(np.dot(x[neg], y[neg]) / np.dot(x[neg], x[neg]))
        if 1e-4 < abs(slope) < 0.9:
            fits[f"leaky_relu({slope:.4g})"] = residual(y, np.where(neg, slope * x, x))
        e = np.expm1(x[neg])
        alpha = float(np.dot(e, y[neg]) / max(float(np.dot(e, e)), 1e-300))
        if 1e-3 < alpha < 100 and abs(alpha - 1.0) > 0.01:
            fits[f"elu(alpha={alpha:.4g})"] = residual(
                y, np.where(neg, alpha * np.expm1(np.minimum(x, 0.0)), x))
    return fits


def _form_params(form: str) -> tuple[str, float] | None:
    """The parameter a named form carries: ``("alpha", 1.0)`` for ELU, ``("slope", 0.0)``
    for ReLU; None for forms without one."""
    if form == "elu":
        return "alpha", 1.0
    if form == "relu":
        return "slope", 0.0
    for prefix, key in (("elu(alpha=", "alpha"), ("leaky_relu(", "slope")):
        if form.startswith(prefix):
            return key, float(form[len(prefix):].rstrip(")"))
    return None


def _form(name: str):
    """The function a form name stands for (named, or fitted: ``elu(alpha=0.5)``)."""
    if name in _NAMED:
        return _NAMED[name]
    key, value = _form_params(name)
    if key == "alpha":
        return lambda x: np.where(x > 0, x, value * np.expm1(np.minimum(x, 0.0)))
    return lambda x: np.where(x < 0, value * x, x)


def _source(ctx: ExplainContext, shape: tuple[int, ...], port: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, str] | None:
    """(ref-side x, port-side x, where): the module's recorded input on each side, else the
    previous recorded tensor when it is at parity and has the same shape (an activation
    called as a function between the two)."""
    x = ctx.input(0, "ref")
    if x is not None and x.shape == shape and x.dtype.kind == "f":
        # each side's output against its own input (they differ past a first divergence);
        # a port "input" equal to the port output is a pairing slip (order-aligned names
        # one tensor off), not evidence: then the reference's input stands for both
        x_port = ctx.input(0, "port")
        if (x_port is None or x_port.shape != shape or x_port.dtype.kind != "f"
                or np.array_equal(x_port, port)):
            x_port = x
        return x, x_port, "input"
    prev = ctx.previous_name
    if not prev or prev == ctx.name or ctx.previous_ok is not True:
        return None
    try:
        x_ref, x_port = ctx.get_ref(prev), ctx.get_port(prev)
    except (KeyError, OSError, ValueError):
        return None
    if x_ref is None:
        return None
    x_ref = np.asarray(x_ref)
    x_port = x_ref if x_port is None else np.asarray(x_port)
    if x_ref.shape != shape or x_port.shape != shape or x_ref.dtype.kind != "f":
        return None
    if np.array_equal(x_port, port):  # the same port tensor paired twice: no evidence
        return None
    return x_ref, x_port, "previous"


def _between(ctx: ExplainContext, where: str) -> str:
    if where == "input":
        return "input"
    return f"{ctx.previous_name} (the previous recorded tensor)"


def _named(x_r: np.ndarray, x_p: np.ndarray, r: np.ndarray, p: np.ndarray,
           ctx: ExplainContext, where: str) -> tuple[Finding | None, bool]:
    """(finding, both sides are named forms): a finding when each side fits a different
    named form that the other side clearly does not."""
    fits_r, fits_p = _named_fit(x_r, r), _named_fit(x_p, p)
    f_r, f_p = min(fits_r, key=fits_r.get), min(fits_p, key=fits_p.get)
    res_r, res_p = fits_r[f_r], fits_p[f_p]
    both = res_r < _NAMED_TOL and res_p < _NAMED_TOL
    if f_r == f_p or not both:
        return None, both
    # how badly each side fits the other side's form, parameters included
    cross = min(residual(r, _form(f_p)(x_r)), residual(p, _form(f_r)(x_p)))
    if cross <= 5 * max(res_r, res_p):
        return None, both
    res = max(res_r, res_p)
    arg = "input" if where == "input" else "x"
    params: dict = {"ref": f_r, "port": f_p, "residual": res, "fitted_between": where}
    hint = f"use {f_r} in the port as the reference does"
    pr, pp = _form_params(f_r), _form_params(f_p)
    if pr and pp and pr[0] == pp[0]:
        key = pr[0]
        params[f"{key}_ref"], params[f"{key}_port"] = pr[1], pp[1]
        hint = (f"the reference's {key} is {fmt(pr[1])}, the port's {fmt(pp[1])}: "
                f"use {key}={fmt(pr[1])} as the reference does")
    if where == "previous":
        params["previous"] = ctx.previous_name
        hint += " (no entry of its own: an activation called as a function)"
    conf = 0.9 * fit_quality(res / max(cross, 1e-300), 0.2)
    if where == "previous":
        conf *= _PREVIOUS_WEIGHT
    return Finding("activation", conf,
                   f"ref = {f_r}({arg}), port = {f_p}({arg})"
                   + ("" if where == "input" else f" with x = {_between(ctx, where)}")
                   + f" (each side's residual {fmt(res_r)} / {fmt(res_p)}; the other "
                   f"side's form leaves {fmt(cross)})", params, hint), both


def _vals(a: np.ndarray, n: int = 3) -> str:
    shown = ", ".join(fmt(float(v)) for v in a[:n])
    return shown + (", …" if a.size > n else "")


def _exp_of(target: np.ndarray, source: np.ndarray, signed: bool) -> bool:
    """``target ≈ exp(source)`` per channel (``signed=False``: ``source`` is a magnitude
    whose sign the fit cannot see, so ``exp(-source)`` also counts)."""
    close = np.isclose(target, np.exp(source), rtol=0.03, atol=1e-3)
    if not signed:
        close |= np.isclose(target, np.exp(-source), rtol=0.03, atol=1e-3)
    return bool(np.all(close))


def _snake_relation(fr: SnakeFit, fp: SnakeFit) -> tuple[str, str, str] | None:
    """(how, which parameter, hint) relating the two sides' fits, None when they agree."""
    same_a = np.allclose(np.abs(fr.a), np.abs(fp.a), rtol=0.02, atol=1e-3)
    same_b = np.allclose(fr.b, fp.b, rtol=0.02, atol=1e-3)
    if same_a and same_b:
        return None
    signed = fr.tied and fp.tied
    log_hint = ("apply exp() to Snake's parameters as the reference does (alpha_logscale: "
                "they are stored as logs)")
    raw_hint = "use Snake's alpha as stored (the reference does not exponentiate it)"
    if _exp_of(np.abs(fr.a), fp.a, signed) and (same_b or fr.tied
                                                 or _exp_of(fr.b, fp.b, True)):
        return "port uses α where ref uses exp(α)", "α", log_hint
    if _exp_of(np.abs(fp.a), fr.a, signed) and (same_b or fp.tied
                                                 or _exp_of(fp.b, fr.b, True)):
        return "port uses exp(α) where ref uses α", "α", raw_hint
    if same_a and _exp_of(fr.b, fp.b, True):
        return "port uses β where ref uses exp(β)", "β", log_hint
    if same_a and _exp_of(fp.b, fr.b, True):
        return "port uses exp(β) where ref uses β", "β", raw_hint
    return "Snake α differs per channel", "α", "load Snake's alpha (and beta) for each channel"


def _snake(x_r: np.ndarray, x_p: np.ndarray, r: np.ndarray, p: np.ndarray,
           ctx: ExplainContext, where: str) -> Finding | None:
    """Snake / SnakeBeta per channel of axis 1, parameters fitted on each side."""
    if x_r.ndim < 2 or x_r.size // x_r.shape[1] < 16:
        return None
    fr, fp = fit_snake(x_r, r), fit_snake(x_p, p)
    if fr.tied != fp.tied:  # relate them in the same family
        fr, fp = fit_snake(x_r, r, tied=False), fit_snake(x_p, p, tied=False)
    res = max(fr.residual, fp.residual)
    if res > _SNAKE_TOL[where] or not (np.any(fr.a) or np.any(fp.a)):
        return None
    relation = _snake_relation(fr, fp)
    if relation is None:
        return None
    how, which, hint = relation
    form = "snake" if fr.tied else "snakebeta"
    got = fp.a if which == "α" else fp.b
    want = fr.a if which == "α" else fr.b
    detail = (f"{'Snake' if fr.tied else 'SnakeBeta'} on {_between(ctx, where)}: {how} "
              f"(fitted {which} per channel, ref {_vals(want)}; port {_vals(got)}; "
              f"{fr.channels.size} channels, residual {fmt(res)})")
    known = not how.startswith("Snake α differs")
    conf = (0.9 if known else 0.6) * fit_quality(res, 0.1)
    if where == "previous":
        conf *= _PREVIOUS_WEIGHT
        hint += " (no entry of its own: an activation called as a function)"
    return Finding("activation", conf, detail,
                   {"ref": form, "port": form, "relation": how,
                    "alpha_ref": fr.a.tolist(), "alpha_port": fp.a.tolist(),
                    "beta_ref": fr.b.tolist(), "beta_port": fp.b.tolist(),
                    "channels": fr.channels.tolist(), "residual": res,
                    "fitted_between": where}, hint)


@signature("activation", dtypes="float")
def match(ref: np.ndarray, port: np.ndarray, ctx: ExplainContext) -> Finding | None:
    source = _source(ctx, ref.shape, port)
    if source is None:
        return None
    x_r, x_p, where = source
    xs_r, r = paired_sample(x_r, ref)
    xs_p, p = paired_sample(x_p, port)
    if not clearly_different(r, p):
        return None
    finding, both_named = _named(xs_r, xs_p, r, p, ctx, where)
    if finding is not None or both_named or x_r.ndim < 2:
        return finding
    return _snake(crop_around(x_r, 1), crop_around(x_p, 1), crop_around(ref, 1),
                  crop_around(port, 1), ctx, where)
