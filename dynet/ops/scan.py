"""Scans along one axis: a log-step inclusive scan usable with any binary elementwise op, and
the differentiable cumprod and logcumsumexp built on it.

NumPy's ufunc.accumulate has no CuPy counterpart for every op (logaddexp, segmented scans),
so both devices run the same Hillis-Steele scan: ceil(log2(n)) elementwise passes.
"""
import numpy as np

from ..autograd.function import Function
from ..backend import xp_of


def inclusive_scan(op, a, axis, segments=None):
    """out[..., i] = a[..., 0] op a[..., 1] op ... op a[..., i] along `axis`.

    With `segments` (an array of a's shape, equal values contiguous along `axis`), the scan
    restarts wherever the segment changes.
    """
    xp = xp_of(a)
    out = xp.moveaxis(a, axis, -1).copy()
    seg = None if segments is None else xp.moveaxis(segments, axis, -1)
    n = out.shape[-1]
    shift = 1
    while shift < n:
        combined = op(out[..., :-shift], out[..., shift:])  # computed before the write below
        if seg is not None:
            combined = xp.where(seg[..., shift:] == seg[..., :-shift], combined,
                                out[..., shift:])
        out[..., shift:] = combined
        shift *= 2
    return xp.moveaxis(out, -1, axis)


def reverse_cumsum(xp, a, axis):
    return xp.flip(xp.cumsum(xp.flip(a, axis), axis=axis), axis)


class Cumprod(Function):
    @staticmethod
    def forward(ctx, a, dim):
        out = xp_of(a).cumprod(a, axis=dim)
        ctx.save_for_backward(a, out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, grad):
        # d out_j / d a_k = prod_{i <= j, i != k} a_i. Where a_k != 0 that is out_j / a_k;
        # at the first zero of a row it is the cumprod with that zero replaced by 1; after
        # the first zero every such product holds a zero. Selected with where, never 0 * inf.
        a, out = ctx.saved_tensors
        dim = ctx.dim
        xp = xp_of(a)
        zero = a == 0
        first_zero = zero & (xp.cumsum(zero, axis=dim) == 1)
        safe = xp.where(zero, 1, a)
        by_division = reverse_cumsum(xp, grad * out, dim) / safe
        at_first_zero = reverse_cumsum(xp, grad * xp.cumprod(xp.where(first_zero, 1, a),
                                                              axis=dim), dim)
        return xp.where(first_zero, at_first_zero, xp.where(zero, 0, by_division)), None


class LogCumSumExp(Function):
    @staticmethod
    def forward(ctx, a, dim):
        xp = xp_of(a)
        out = inclusive_scan(xp.logaddexp, a, dim) if a.size else a.copy()
        ctx.save_for_backward(a, out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, grad):
        # grad_k = sum_{j >= k} g_j exp(a_k - out_j), summed in log space separately for the
        # positive and the negative g_j so that no exp overflows
        a, out = ctx.saved_tensors
        dim = ctx.dim
        xp = xp_of(a)
        if not a.size:
            return grad.copy(), None
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            log_pos = xp.where(grad > 0, xp.log(xp.where(grad > 0, grad, 1)), -xp.inf) - out
            log_neg = xp.where(grad < 0, xp.log(xp.where(grad < 0, -grad, 1)), -xp.inf) - out
            return (xp.exp(_reverse_logcumsumexp(xp, log_pos, dim) + a)
                    - xp.exp(_reverse_logcumsumexp(xp, log_neg, dim) + a)), None


def _reverse_logcumsumexp(xp, v, dim):
    return xp.flip(inclusive_scan(xp.logaddexp, xp.flip(v, dim), dim), dim)
