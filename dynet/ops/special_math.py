"""Special functions on raw float arrays (NumPy or CuPy): erfc, erfcx, erfinv, lgamma, digamma.

NumPy has no special functions and scipy is not a dependency, so these are vectorised
rational/series approximations written with array ops only: one code path for both devices.
Narrow floats (float16/float32) are evaluated in float64 and rounded back, so every dtype
gets a correctly rounded-or-nearly result; float64 is accurate to a few ulps.
"""
import math

import numpy as np

from ..backend import xp_of
from .activation import _ERF_T, _ERF_U, _ERFC_P, _ERFC_Q, _p1evl, _polevl

# Cephes' erfc rational approximation for x >= 8 (ndtr.c)
_ERFC_R = (5.64189583547755073984E-1, 1.27536670759978104416E0, 5.01905042251180477414E0,
           6.16021097993053585195E0, 7.40974269950448939160E0, 2.97886665372100240670E0)
_ERFC_S = (2.26052863220117276590E0, 9.39603524938001434673E0, 1.20489539808096656605E1,
           1.70814450747565897222E1, 9.60896809063285878198E0, 3.36907645100081516050E0)

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _wide(x):
    """x as float64 for evaluation, and the dtype to round the result back to."""
    return x.astype(np.float64, copy=False), x.dtype


def _erf_small(xp, x):
    z = xp.minimum(x * x, 1.0)
    return xp.clip(x, -1.0, 1.0) * _polevl(z, _ERF_T) / _p1evl(z, _ERF_U)


def _erfcx_pos(xp, ax):
    """exp(x^2) erfc(x) for x >= 1 (the tail ratio, no exp)."""
    mid = xp.clip(ax, 1.0, 8.0)
    big = xp.clip(ax, 8.0, 1e8)
    huge = xp.maximum(ax, 1e8)
    # beyond 1e8 erfcx(x) = 1 / (x sqrt(pi)) to double precision (next term: 1 / (2x^2))
    return xp.where(ax < 8.0, _polevl(mid, _ERFC_P) / _p1evl(mid, _ERFC_Q),
                    xp.where(ax < 1e8, _polevl(big, _ERFC_R) / _p1evl(big, _ERFC_S),
                             (_TWO_OVER_SQRT_PI * 0.5) / huge))


def erf(x):
    """Error function, float64 precision for every input dtype."""
    xp = xp_of(x)
    w, dt = _wide(x)
    ax = xp.abs(w)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        tail = 1.0 - xp.exp(-w * w) * _erfcx_pos(xp, xp.maximum(ax, 1.0))
        out = xp.where(ax <= 1.0, _erf_small(xp, w), xp.copysign(tail, w))
    return out.astype(dt, copy=False)


def erfc(x):
    """1 - erf(x) without cancellation in the right tail."""
    xp = xp_of(x)
    w, dt = _wide(x)
    ax = xp.abs(w)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        tail = xp.exp(-w * w) * _erfcx_pos(xp, xp.maximum(ax, 1.0))
        out = xp.where(ax <= 1.0, 1.0 - _erf_small(xp, w), xp.where(w < 0, 2.0 - tail, tail))
    return out.astype(dt, copy=False)


def erfcx(x):
    """Scaled complementary error function exp(x^2) erfc(x)."""
    xp = xp_of(x)
    w, dt = _wide(x)
    ax = xp.abs(w)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        e2 = xp.exp(xp.minimum(w * w, 1.0))
        pos = _erfcx_pos(xp, xp.maximum(ax, 1.0))
        small = e2 * (1.0 - _erf_small(xp, w))
        # erfcx(-x) = 2 exp(x^2) - erfcx(x)
        neg = 2.0 * xp.exp(w * w) - pos
        out = xp.where(ax <= 1.0, small, xp.where(w < 0, neg, pos))
    return out.astype(dt, copy=False)


def erfinv(y):
    """Inverse error function: Giles' approximation, then Halley steps in float64."""
    xp = xp_of(y)
    w, dt = _wide(y)
    a = xp.abs(w)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inner = xp.minimum(a, 1.0)
        lw = -xp.log1p(-inner * inner)
        t = lw - 2.5
        p1 = _horner(t, (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                         0.00021858087, -0.00125372503, -0.00417768164, 0.246640727,
                         1.50140941))
        s = xp.sqrt(xp.where(xp.isfinite(lw), lw, 1.0)) - 3.0
        p2 = _horner(s, (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
                         0.00573950773, -0.0076224613, 0.00943887047, 1.00167406,
                         2.83297682))
        x = xp.where(lw < 5.0, p1, p2) * inner
        # near 0: Halley steps on erf(x) - y; in the tail (|y| >= 0.5): Newton steps on
        # log erfc(x) - log(1 - y) = -x^2 + log erfcx(x) - log(1 - y), which converge from
        # Giles' guess even where it is poor (1 - y below float32's epsilon)
        log_tail = xp.log(1.0 - inner)  # 1 - inner is exact for inner >= 0.5 (Sterbenz)
        tail = inner >= 0.5
        for _ in range(4):
            f = erf(x) - inner
            step = f / (_TWO_OVER_SQRT_PI * xp.exp(-x * x))
            halley = x - step / (1.0 + x * step)
            cx = erfcx(x)
            newton = x + (xp.log(cx) - x * x - log_tail) * (cx / _TWO_OVER_SQRT_PI)
            x = xp.where(tail, newton, halley)
        x = xp.where(inner >= 1.0, xp.inf, xp.where(inner == 0.0, 0.0, x))
        x = xp.where(a > 1.0, xp.nan, x)
        out = xp.copysign(x, w)
    return out.astype(dt, copy=False)


def _horner(x, coefs):
    out = x * 0.0 + coefs[0]
    for c in coefs[1:]:
        out = out * x + c
    return out


# Lanczos approximation (g = 7, n = 9), as in Numerical Recipes / Boost's lanczos13 family
_LANCZOS_G = 7.0
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012,
            9.9843695780195716e-6, 1.5056327351493116e-7)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _lgamma_pos(xp, x):
    """log Gamma(x) for x >= 0.5."""
    z = x - 1.0
    s = z * 0.0 + _LANCZOS[0]
    for i, c in enumerate(_LANCZOS[1:], start=1):
        s = s + c / (z + i)
    t = z + _LANCZOS_G + 0.5
    return _HALF_LOG_2PI + (z + 0.5) * xp.log(t) - t + xp.log(s)


def lgamma(x):
    """log |Gamma(x)|; +inf at the poles (0, -1, -2, ...), as torch.lgamma."""
    xp = xp_of(x)
    w, dt = _wide(x)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pos = _lgamma_pos(xp, xp.maximum(w, 0.5))
        refl_arg = xp.maximum(1.0 - w, 0.5)
        sinpi = xp.abs(xp.sin(math.pi * _frac_half(xp, w)))
        neg = math.log(math.pi) - xp.log(sinpi) - _lgamma_pos(xp, refl_arg)
        out = xp.where(w >= 0.5, pos, neg)
        pole = (w <= 0) & (w == xp.floor(w))
        out = xp.where(pole, xp.inf, out)
        out = xp.where((w == 1.0) | (w == 2.0), 0.0, out)  # exact zeros
        out = xp.where(xp.isinf(w), xp.inf, out)
    return out.astype(dt, copy=False)


def _frac_half(xp, x):
    """x reduced mod 2 (sin(pi x) keeps its value; exact zeros at the integers)."""
    return x - 2.0 * xp.floor(x * 0.5)


_DIGAMMA_B = (1.0 / 12, -1.0 / 120, 1.0 / 252, -1.0 / 240, 1.0 / 132, -691.0 / 32760,
              1.0 / 12)
_SHIFT = 8


def _digamma_pos(xp, x):
    """digamma(x) for x > 0: recurrence up to x >= 8, then the asymptotic series."""
    acc = x * 0.0
    for _ in range(_SHIFT):
        small = x < _SHIFT
        acc = acc - xp.where(small, 1.0 / x, 0.0)
        x = xp.where(small, x + 1.0, x)
    inv2 = 1.0 / (x * x)
    series = inv2 * _horner(inv2, tuple(reversed(_DIGAMMA_B)))
    return acc + xp.log(x) - 0.5 / x - series


def digamma(x):
    """psi(x) = d/dx log Gamma(x); -inf at 0 and nan at the negative integers, as torch."""
    xp = xp_of(x)
    w, dt = _wide(x)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pos = _digamma_pos(xp, xp.where(w > 0, w, 1.0))
        r = xp.where(w > 0, 1.0, 1.0 - w)
        # psi(x) = psi(1 - x) - pi / tan(pi x)
        neg = _digamma_pos(xp, r) - math.pi / xp.tan(math.pi * _frac_half(xp, w))
        out = xp.where(w > 0, pos, neg)
        out = xp.where(w == 0, -xp.inf, out)
        out = xp.where((w < 0) & (w == xp.floor(w)), xp.nan, out)
        out = xp.where(w == xp.inf, xp.inf, out)
    return out.astype(dt, copy=False)


_TRIGAMMA_B = (1.0 / 6, -1.0 / 30, 1.0 / 42, -1.0 / 30, 5.0 / 66, -691.0 / 2730, 7.0 / 6)


def _trigamma_pos(xp, x):
    acc = x * 0.0
    for _ in range(_SHIFT):
        small = x < _SHIFT
        acc = acc + xp.where(small, 1.0 / (x * x), 0.0)
        x = xp.where(small, x + 1.0, x)
    inv = 1.0 / x
    inv2 = inv * inv
    # 1/x + 1/(2x^2) + sum B_2k / x^(2k+1)
    series = inv * inv2 * _horner(inv2, tuple(reversed(_TRIGAMMA_B)))
    return acc + inv + 0.5 * inv2 + series


def trigamma(x):
    """psi'(x), the derivative of digamma (polygamma(1, x))."""
    xp = xp_of(x)
    w, dt = _wide(x)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pos = _trigamma_pos(xp, xp.where(w > 0, w, 1.0))
        # psi1(1 - x) + psi1(x) = pi^2 / sin^2(pi x)
        s = xp.sin(math.pi * _frac_half(xp, w))
        neg = (math.pi * math.pi) / (s * s) - _trigamma_pos(xp, xp.where(w > 0, 1.0, 1.0 - w))
        out = xp.where(w > 0, pos, neg)
        out = xp.where((w <= 0) & (w == xp.floor(w)), xp.inf, out)
        out = xp.where(w == xp.inf, 0.0, out)
    return out.astype(dt, copy=False)
