"""More elementwise ops: trigonometric, hyperbolic, error/gamma functions, exp/log variants,
logaddexp, atan2, hypot, copysign, xlogy, nan_to_num.

Each op is one Function on raw arrays. The unary ones share `_Unary`: a subclass gives the
value `f(xp, a)` and the gradient `df(xp, a, out, grad)`. Domain errors give nan/inf quietly,
as in PyTorch (no NumPy warnings).
"""
import math

import numpy as np

from ..autograd.function import Function
from ..backend import xp_of
from . import special_math as sm
from ._util import unbroadcast

_QUIET = dict(divide="ignore", invalid="ignore", over="ignore", under="ignore")
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _shape(x):
    return getattr(x, "shape", ())


class _Unary(Function):
    """out = f(a); the gradient is df(xp, a, out, grad)."""

    @staticmethod
    def forward(ctx, a):
        xp = xp_of(a)
        with np.errstate(**_QUIET):
            out = xp.asarray(ctx.f(xp, a))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        with np.errstate(**_QUIET):
            return ctx.df(xp_of(grad), a, out, grad)


def _unary(name, f, df, doc):
    cls = type(name, (_Unary,), {"f": staticmethod(f), "df": staticmethod(df), "__doc__": doc})
    return cls


Tan = _unary("Tan", lambda xp, a: xp.tan(a), lambda xp, a, o, g: g * (1 + o * o), "tan")
Asin = _unary("Asin", lambda xp, a: xp.arcsin(a),
              lambda xp, a, o, g: g / xp.sqrt(1 - a * a), "arcsin")
Acos = _unary("Acos", lambda xp, a: xp.arccos(a),
              lambda xp, a, o, g: -g / xp.sqrt(1 - a * a), "arccos")
Atan = _unary("Atan", lambda xp, a: xp.arctan(a), lambda xp, a, o, g: g / (1 + a * a), "arctan")
Sinh = _unary("Sinh", lambda xp, a: xp.sinh(a), lambda xp, a, o, g: g * xp.cosh(a), "sinh")
Cosh = _unary("Cosh", lambda xp, a: xp.cosh(a), lambda xp, a, o, g: g * xp.sinh(a), "cosh")
Asinh = _unary("Asinh", lambda xp, a: xp.arcsinh(a),
               lambda xp, a, o, g: g / xp.sqrt(a * a + 1), "arcsinh")
Acosh = _unary("Acosh", lambda xp, a: xp.arccosh(a),
               lambda xp, a, o, g: g / xp.sqrt(a * a - 1), "arccosh")
Atanh = _unary("Atanh", lambda xp, a: xp.arctanh(a),
               lambda xp, a, o, g: g / (1 - a * a), "arctanh")
Erf = _unary("Erf", lambda xp, a: sm.erf(a),
             lambda xp, a, o, g: g * (_TWO_OVER_SQRT_PI * xp.exp(-a * a)), "erf")
Erfc = _unary("Erfc", lambda xp, a: sm.erfc(a),
              lambda xp, a, o, g: g * (-_TWO_OVER_SQRT_PI * xp.exp(-a * a)), "erfc")
Erfcx = _unary("Erfcx", lambda xp, a: sm.erfcx(a),
               lambda xp, a, o, g: g * (2 * a * o - _TWO_OVER_SQRT_PI), "erfcx")
Erfinv = _unary("Erfinv", lambda xp, a: sm.erfinv(a),
                lambda xp, a, o, g: g * (_SQRT_PI_OVER_2 * xp.exp(o * o)), "erfinv")
Exp2 = _unary("Exp2", lambda xp, a: xp.exp2(a), lambda xp, a, o, g: g * o * _LN2, "exp2")
Expm1 = _unary("Expm1", lambda xp, a: xp.expm1(a), lambda xp, a, o, g: g * (o + 1), "expm1")
Log2 = _unary("Log2", lambda xp, a: xp.log2(a), lambda xp, a, o, g: g / (a * _LN2), "log2")
Log10 = _unary("Log10", lambda xp, a: xp.log10(a), lambda xp, a, o, g: g / (a * _LN10),
               "log10")
Frac = _unary("Frac", lambda xp, a: a - xp.trunc(a), lambda xp, a, o, g: g, "frac")
Lgamma = _unary("Lgamma", lambda xp, a: sm.lgamma(a),
                lambda xp, a, o, g: g * sm.digamma(a), "lgamma")
Digamma = _unary("Digamma", lambda xp, a: sm.digamma(a),
                 lambda xp, a, o, g: g * sm.trigamma(a), "digamma")


def _no_tetragamma(xp, a, o, g):
    raise NotImplementedError("the derivative of polygamma(1, x) (polygamma(2, x)) is not "
                              "implemented")


Trigamma = _unary("Trigamma", lambda xp, a: sm.trigamma(a), _no_tetragamma, "polygamma(1, x)")
Ndtr = _unary("Ndtr", lambda xp, a: 0.5 * sm.erfc(-a * _SQRT_HALF),
              lambda xp, a, o, g: g * (_INV_SQRT_2PI * xp.exp(-0.5 * a * a)), "ndtr")
Ndtri = _unary("Ndtri", lambda xp, a: sm.erfinv(2 * a - 1) / _SQRT_HALF,
               lambda xp, a, o, g: g * (_SQRT_2PI * xp.exp(0.5 * o * o)), "ndtri")
Entr = _unary("Entr", lambda xp, a: xp.where(a > 0, -a * xp.log(xp.where(a > 0, a, 1)),
                                             xp.where(a == 0, 0, -xp.inf)).astype(a.dtype),
              lambda xp, a, o, g: g * -(1 + xp.log(a)), "-x log x")


def _sinc(xp, a):
    pa = a * math.pi
    safe = xp.where(a == 0, 1, pa)
    return xp.where(a == 0, 1, xp.sin(safe) / safe).astype(a.dtype, copy=False)


def _sinc_grad(xp, a, o, g):
    safe = xp.where(a == 0, 1, a)
    return xp.where(a == 0, 0, g * ((xp.cos(math.pi * a) - o) / safe)).astype(g.dtype)


Sinc = _unary("Sinc", _sinc, _sinc_grad, "sin(pi x) / (pi x)")


def _log_ndtr(xp, a):
    # left tail: log(erfcx(-x/sqrt2) / 2) - x^2/2, without erfc's underflow
    t = xp.minimum(a, -1.0)
    left = xp.log(0.5 * sm.erfcx(-t * _SQRT_HALF)) - 0.5 * t * t
    right = xp.log1p(-0.5 * sm.erfc(xp.maximum(a, -1.0) * _SQRT_HALF))
    return xp.where(a < -1.0, left, right).astype(a.dtype, copy=False)


LogNdtr = _unary("LogNdtr", _log_ndtr,
                 lambda xp, a, o, g: g * (_INV_SQRT_2PI * xp.exp(-0.5 * a * a - o)),
                 "log(ndtr(x))")


class Logit(Function):
    """log(a / (1 - a)), a first clamped to [eps, 1 - eps] when eps is given."""

    @staticmethod
    def forward(ctx, a, eps):
        xp = xp_of(a)
        x = a if eps is None else xp.clip(a, eps, 1.0 - eps)
        ctx.save_for_backward(a)
        ctx.eps = eps
        with np.errstate(**_QUIET):
            return xp.log(x / (1 - x))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        xp = xp_of(a)
        with np.errstate(**_QUIET):
            g = grad / (a * (1 - a))
        if ctx.eps is None:
            return g, None
        outside = (a < ctx.eps) | (a > 1.0 - ctx.eps)
        return xp.where(outside, 0, g).astype(grad.dtype, copy=False), None


class NanToNum(Function):
    @staticmethod
    def forward(ctx, a, nan, posinf, neginf):
        xp = xp_of(a)
        ctx.save_for_backward(a)
        if a.dtype.kind != "f":
            return a.copy()
        info = np.finfo(a.dtype)
        out = xp.where(xp.isnan(a), a.dtype.type(nan), a)
        out = xp.where(out == xp.inf, a.dtype.type(info.max if posinf is None else posinf), out)
        out = xp.where(out == -xp.inf, a.dtype.type(info.min if neginf is None else neginf),
                       out)
        return out.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        xp = xp_of(a)
        return xp.where(xp.isfinite(a), grad, grad.dtype.type(0)), None, None, None


class _Binary(Function):
    """out = f(xp, a, b); gradients (da, db) from df(xp, a, b, out, grad), unbroadcast."""

    @staticmethod
    def forward(ctx, a, b):
        xp = xp_of(a) if hasattr(a, "shape") else xp_of(b)
        with np.errstate(**_QUIET):
            out = xp.asarray(ctx.f(xp, a, b))
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        xp = xp_of(grad)
        need_a, need_b = ctx.needs_input_grad[:2]
        with np.errstate(**_QUIET):
            ga, gb = ctx.df(xp, a, b, out, grad, need_a, need_b)
        return (unbroadcast(ga, _shape(a)) if need_a else None,
                unbroadcast(gb, _shape(b)) if need_b else None)


def _binary(name, f, df, doc):
    return type(name, (_Binary,), {"f": staticmethod(f), "df": staticmethod(df),
                                    "__doc__": doc})


def _atan2_grad(xp, a, b, o, g, need_a, need_b):
    # 0 at the origin, as PyTorch has it (selected: 0 / 0 would be nan)
    denom = a * a + b * b
    origin = denom == 0
    safe = xp.where(origin, 1, denom)
    zero = g.dtype.type(0)
    return (xp.where(origin, zero, g * b / safe) if need_a else None), \
        (xp.where(origin, zero, -g * a / safe) if need_b else None)


Atan2 = _binary("Atan2", lambda xp, a, b: xp.arctan2(a, b), _atan2_grad, "atan2")


def _logaddexp_grad(base_exp):
    def df(xp, a, b, o, g, need_a, need_b):
        # exp(a - out); nan where a = b = +-inf, as in PyTorch
        return (g * base_exp(xp, a - o) if need_a else None), \
            (g * base_exp(xp, b - o) if need_b else None)
    return df


LogAddExp = _binary("LogAddExp", lambda xp, a, b: xp.logaddexp(a, b),
                    _logaddexp_grad(lambda xp, d: xp.exp(d)), "log(exp(a) + exp(b))")
LogAddExp2 = _binary("LogAddExp2", lambda xp, a, b: xp.logaddexp2(a, b),
                     _logaddexp_grad(lambda xp, d: xp.exp2(d)),
                     "log2(2**a + 2**b)")


def _hypot_grad(xp, a, b, o, g, need_a, need_b):
    return (g * a / o if need_a else None), (g * b / o if need_b else None)


Hypot = _binary("Hypot", lambda xp, a, b: xp.hypot(a, b), _hypot_grad, "hypot")


def _copysign_grad(xp, a, b, o, g, need_a, need_b):
    # d|a|*sign(b)/da = out / a, and 0 where a == 0 (PyTorch's convention)
    safe = xp.where(a == 0, 1, a)
    ga = xp.where(a == 0, 0, g * (o / safe)).astype(g.dtype, copy=False) if need_a else None
    return ga, (xp.zeros_like(g) if need_b else None)


Copysign = _binary("Copysign", lambda xp, a, b: xp.copysign(a, b), _copysign_grad,
                   "copysign")


def _xlogy(xp, a, b):
    # 0 where a == 0 unless b is nan: selected, never 0 * log(0)
    return xp.where((a == 0) & ~xp.isnan(b), 0, a * xp.log(b))


def _xlogy_grad(xp, a, b, o, g, need_a, need_b):
    ga = gb = None
    if need_a:
        ga = xp.where((a == 0) & (b <= 0), 0, _xlogy(xp, g, b))
    if need_b:
        gb = g * a / b
    return ga, gb


Xlogy = _binary("Xlogy", _xlogy, _xlogy_grad, "x * log(y), 0 where x == 0")


def _xlog1py(xp, a, b):
    return xp.where((a == 0) & ~xp.isnan(b), 0, a * xp.log1p(b))


def _xlog1py_grad(xp, a, b, o, g, need_a, need_b):
    ga = gb = None
    if need_a:
        ga = xp.where((a == 0) & (b <= -1), 0, _xlog1py(xp, g, b))
    if need_b:
        gb = g * a / (1 + b)
    return ga, gb


Xlog1py = _binary("Xlog1py", _xlog1py, _xlog1py_grad, "x * log1p(y), 0 where x == 0")


def _fextreme_grad(pick_a):
    def df(xp, a, b, o, g, need_a, need_b):
        # the chosen operand takes the gradient (a on ties, like torch's fmax/fmin)
        wa = pick_a(xp, a, b)
        zero = g.dtype.type(0)
        return (xp.where(wa, g, zero) if need_a else None), \
            (xp.where(wa, zero, g) if need_b else None)
    return df


Fmax = _binary("Fmax", lambda xp, a, b: xp.fmax(a, b),
               _fextreme_grad(lambda xp, a, b: (a >= b) | xp.isnan(b)), "fmax")
Fmin = _binary("Fmin", lambda xp, a, b: xp.fmin(a, b),
               _fextreme_grad(lambda xp, a, b: (a <= b) | xp.isnan(b)), "fmin")
