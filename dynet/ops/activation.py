"""Activation functions, each one graph node with a closed-form backward.

Hyperparameters (slopes, alphas) arrive as Python floats, so float32 inputs stay float32
under NumPy's and CuPy's scalar promotion rules.
"""
import math

from ..autograd.function import Function
from ..backend import xp_of
from ._util import select

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_TANH_C = 0.044715

# Cephes' rational approximations of erf (|x| <= 1) and erfc (1 < |x| < 8): about 1e-16
# relative error in float64. NumPy has no erf and scipy is not a dependency.
_ERF_T = (9.60497373987051638749E0, 9.00260197203842689217E1, 2.23200534594684319226E3,
          7.00332514112805075473E3, 5.55923013010394962768E4)
_ERF_U = (3.35617141647503099647E1, 5.21357949780152679795E2, 4.59432382970980127987E3,
          2.26290000613890934246E4, 4.92673942608635921086E4)
_ERFC_P = (2.46196981473530512524E-10, 5.64189564831068821977E-1, 7.46321056442269912687E0,
           4.86371970985681366614E1, 1.96520832956077098242E2, 5.26445194995477358631E2,
           9.34528527171957607540E2, 1.02755188689515710272E3, 5.57535335369399327526E2)
_ERFC_Q = (1.32281951154744992508E1, 8.67072140885989742329E1, 3.54937778887819891062E2,
           9.75708501743205489753E2, 1.82390916687909736289E3, 2.24633760818710981792E3,
           1.65666309194161350182E3, 5.57535340817727675546E2)


# Eigen's / XLA's single rational approximation for float32 (clamped to [-4, 4], where erf
# is +-1 in float32): ~1e-7 absolute error with no branches, so it vectorises well.
_ERF32_ALPHA = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
                -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
                -1.60960333262415e-02)
_ERF32_BETA = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
               -7.37332916720468e-03, -1.42647390514189e-02)


def _polevl(x, coefs):
    """Horner's rule, in place on one temporary."""
    out = x * coefs[0]
    out += coefs[1]
    for c in coefs[2:]:
        out *= x
        out += c
    return out


def _p1evl(x, coefs):
    """Polynomial with an implicit leading coefficient of 1."""
    out = x + coefs[0]
    for c in coefs[1:]:
        out *= x
        out += c
    return out


def erf(x):
    """Elementwise error function of a raw float array (NumPy or CuPy)."""
    xp = xp_of(x)
    if x.dtype.itemsize <= 4:
        c = xp.clip(x, -4.0, 4.0)
        c2 = c * c
        p = _polevl(c2, _ERF32_ALPHA)
        p *= c
        p /= _polevl(c2, _ERF32_BETA)
        return p
    ax = xp.abs(x)
    z = xp.minimum(x * x, 1.0)  # the small branch is only used for |x| <= 1
    small = xp.clip(x, -1.0, 1.0) * _polevl(z, _ERF_T) / _p1evl(z, _ERF_U)
    # erfc(8) ~ 1e-29: clipping there loses nothing and keeps exp() from underflowing
    ac = xp.clip(ax, 1.0, 8.0)
    big = 1.0 - xp.exp(-ac * ac) * _polevl(ac, _ERFC_P) / _p1evl(ac, _ERFC_Q)
    return xp.where(ax <= 1.0, small, xp.copysign(big, x))


# np.where with a data-dependent mask is ~10x slower than arithmetic on NumPy (branch
# mispredictions), so the hot activations below blend with max/min and float masks instead.

def _float_mask(mask, dtype, scale, offset):
    """mask * scale + offset as an array of `dtype` (no float64 upcast of the bool mask)."""
    m = mask.astype(dtype)
    if scale != 1.0:
        m *= scale
    if offset:
        m += offset
    return m


class LeakyRelu(Function):
    """a if a > 0 else slope * a."""

    @staticmethod
    def forward(ctx, a, slope):
        xp = xp_of(a)
        pos = a > 0
        ctx.save_for_backward(pos)
        ctx.slope = slope
        if 0.0 <= slope <= 1.0:
            return xp.maximum(a, a * slope)
        return xp.where(pos, a, a * slope)

    @staticmethod
    def backward(ctx, grad):
        (pos,) = ctx.saved_tensors
        slope = ctx.slope
        return grad * _float_mask(pos, grad.dtype, 1.0 - slope, slope)


class Hardtanh(Function):
    """clip(a, lo, hi); relu6 is hardtanh(0, 6). The gradient is 0 at the corners and
    passes where a is nan (PyTorch's mask is a <= lo or a >= hi, false for nan)."""

    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.save_for_backward(~((a <= lo) | (a >= hi)))
        return xp_of(a).clip(a, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        return select(ctx.saved_tensors[0], grad)


class Elu(Function):
    """scale * (a if a > 0 else alpha * (exp(a * input_scale) - 1)): elu, selu and celu."""

    @staticmethod
    def forward(ctx, a, alpha, scale, input_scale):
        xp = xp_of(a)
        # expm1 on min(a, 0): exact near 0, no overflow for large a, and 0 where a > 0, so
        # the two branches just add up
        neg = xp.expm1(xp.minimum(a, 0.0) * input_scale)
        neg *= alpha * scale
        out = xp.maximum(a, 0.0)
        if scale != 1.0:
            out *= scale
        out += neg
        ctx.save_for_backward(~(a <= 0), neg)  # nan takes the positive branch, as in PyTorch
        ctx.params = (alpha, scale, input_scale)
        return out

    @staticmethod
    def backward(ctx, grad):
        pos, neg = ctx.saved_tensors
        alpha, scale, input_scale = ctx.params
        # slope: (neg + alpha * scale) * input_scale where a <= 0, scale elsewhere (selected:
        # neg is nan where a is nan)
        slope = neg + alpha * scale
        slope *= input_scale
        slope = xp_of(grad).where(pos, grad.dtype.type(scale), slope)
        slope *= grad
        return slope


class Gelu(Function):
    """x * Phi(x) ('none') or its tanh approximation ('tanh'), as PyTorch computes them."""

    @staticmethod
    def forward(ctx, a, approximate):
        xp = xp_of(a)
        ctx.approximate = approximate
        if approximate == "tanh":
            t = xp.tanh((a + _GELU_TANH_C * a * a * a) * _SQRT_2_OVER_PI)
            ctx.save_for_backward(a, t)
            return 0.5 * a * (1.0 + t)
        cdf = erf(a * _SQRT_HALF)
        cdf += 1.0
        cdf *= 0.5
        ctx.save_for_backward(a, cdf)
        return a * cdf

    @staticmethod
    def backward(ctx, grad):
        a, saved = ctx.saved_tensors
        xp = xp_of(a)
        if ctx.approximate == "tanh":
            t = saved
            dt = (1.0 - t * t) * (_SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_TANH_C * a * a))
            return grad * (0.5 * (1.0 + t) + 0.5 * a * dt)
        slope = a * a
        slope *= -0.5
        slope = xp.exp(slope, out=slope)
        slope *= a
        slope *= _INV_SQRT_2PI
        slope += saved  # Phi(a) + a * phi(a)
        slope *= grad
        return slope


def _sigmoid(xp, a):
    # tanh form: one transcendental, no overflow warning for large |a|
    s = xp.tanh(a * 0.5)
    s *= 0.5
    s += 0.5
    return s


class Silu(Function):
    """a * sigmoid(a)."""

    @staticmethod
    def forward(ctx, a):
        s = _sigmoid(xp_of(a), a)
        ctx.save_for_backward(a, s)
        return a * s

    @staticmethod
    def backward(ctx, grad):
        a, s = ctx.saved_tensors
        return grad * (s * (1.0 + a * (1.0 - s)))


def _softplus(xp, a):
    """log(1 + exp(a)) without overflow: max(a, 0) + log1p(exp(-|a|))."""
    return xp.maximum(a, 0.0) + xp.log1p(xp.exp(-xp.abs(a)))


class Softplus(Function):
    """log(1 + exp(beta * a)) / beta, linear where beta * a > threshold (as PyTorch)."""

    @staticmethod
    def forward(ctx, a, beta, threshold):
        xp = xp_of(a)
        ba = a * beta
        linear = ba > threshold
        ctx.save_for_backward(ba, linear)
        return xp.where(linear, a, _softplus(xp, ba) / beta)

    @staticmethod
    def backward(ctx, grad):
        ba, linear = ctx.saved_tensors
        xp = xp_of(grad)
        return xp.where(linear, grad, grad * _sigmoid(xp, ba))


class LogSigmoid(Function):
    """log(sigmoid(a)) = -softplus(-a), without overflow."""

    @staticmethod
    def forward(ctx, a):
        xp = xp_of(a)
        ctx.save_for_backward(a)
        return -_softplus(xp, -a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * _sigmoid(xp_of(a), -a)


class Mish(Function):
    """a * tanh(softplus(a))."""

    @staticmethod
    def forward(ctx, a):
        xp = xp_of(a)
        t = xp.tanh(_softplus(xp, a))
        ctx.save_for_backward(a, t)
        return a * t

    @staticmethod
    def backward(ctx, grad):
        a, t = ctx.saved_tensors
        return grad * (t + a * _sigmoid(xp_of(a), a) * (1.0 - t * t))


class Hardsigmoid(Function):
    """clip(a / 6 + 1/2, 0, 1)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward((a > -3.0) & (a < 3.0))
        return xp_of(a).clip(a / 6.0 + 0.5, 0.0, 1.0)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0] / 6.0


class Hardswish(Function):
    """a * clip(a / 6 + 1/2, 0, 1)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * xp_of(a).clip(a / 6.0 + 0.5, 0.0, 1.0)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        xp = xp_of(a)
        # PyTorch's choice at the kinks: 0 up to and including -3, 1 from 3 on
        one, zero = a.dtype.type(1), a.dtype.type(0)  # typed: no float64 upcast in where
        slope = xp.where(a <= -3.0, zero, xp.where(a < 3.0, a / 3.0 + 0.5, one))
        return grad * slope


class Threshold(Function):
    """value where a <= threshold, else a (so nan stays nan, as in PyTorch)."""

    @staticmethod
    def forward(ctx, a, threshold, value):
        keep = ~(a <= threshold)
        ctx.save_for_backward(keep)
        return xp_of(a).where(keep, a, a.dtype.type(value))

    @staticmethod
    def backward(ctx, grad):
        return select(ctx.saved_tensors[0], grad)
