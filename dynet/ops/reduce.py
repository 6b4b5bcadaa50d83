"""Reductions: sum, mean, var, prod, amax/amin, logsumexp, norm, cumsum."""
import warnings

import numpy as np

from ..autograd.function import Function
from ..backend import xp_of
from ._util import expand_reduced, normalize_dims, select


def _reduced_axes(a, dim):
    return normalize_dims(dim, a.ndim)


_ndarray = np.ndarray
_add_reduce = np.add.reduce
_ALL_AXES = tuple(tuple(range(n)) for n in range(8))  # dim=None, by ndim


class Sum(Function):
    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False, dtype=None):
        axes = _ALL_AXES[a.ndim] if dim is None and a.ndim < 8 else _reduced_axes(a, dim)
        if ctx.needs_input_grad[0]:
            ctx.meta = (a.shape, axes, keepdim)
        # a NumPy scalar result becomes a 0-d array in Function.apply
        if type(a) is _ndarray and dim is None and dtype is None and not keepdim:
            return _add_reduce(a, None)  # what a.sum() runs, without NumPy's Python wrapper
        return a.sum(axis=axes, keepdims=keepdim, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        shape, axes, keepdim = ctx.meta
        g = expand_reduced(grad, shape, axes, keepdim)
        return xp_of(grad).broadcast_to(g, shape)


class Mean(Function):
    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        axes = _reduced_axes(a, dim)
        ctx.meta = (a.shape, axes, keepdim)
        if a.size == 0:  # NumPy warns about empty means; PyTorch quietly gives nan
            with warnings.catch_warnings(), np.errstate(invalid="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                return xp_of(a).asarray(a.mean(axis=axes, keepdims=keepdim))
        return xp_of(a).asarray(a.mean(axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, grad):
        shape, axes, keepdim = ctx.meta
        count = 1
        for ax in axes:
            count *= shape[ax]
        g = expand_reduced(grad, shape, axes, keepdim) / grad.dtype.type(max(count, 1))
        return xp_of(grad).broadcast_to(g, shape)


class Var(Function):
    @staticmethod
    def forward(ctx, a, dim=None, correction=1, keepdim=False):
        axes = _reduced_axes(a, dim)
        xp = xp_of(a)
        mean = a.mean(axis=axes, keepdims=True)
        centered = a - mean
        count = 1
        for ax in axes:
            count *= a.shape[ax]
        denom = max(count - correction, 0)
        ctx.save_for_backward(centered)
        ctx.meta = (a.shape, axes, keepdim, denom)
        sq = (centered * centered).sum(axis=axes, keepdims=keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.asarray(sq / a.dtype.type(denom) if denom else sq * xp.nan)

    @staticmethod
    def backward(ctx, grad):
        (centered,) = ctx.saved_tensors
        shape, axes, keepdim, denom = ctx.meta
        g = expand_reduced(grad, shape, axes, keepdim)
        return g * centered * grad.dtype.type(2.0 / denom if denom else float("nan"))


class Prod(Function):
    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        axes = _reduced_axes(a, dim)
        ctx.save_for_backward(a)
        ctx.meta = (axes, keepdim)
        return xp_of(a).asarray(a.prod(axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        axes, keepdim = ctx.meta
        xp = xp_of(a)
        g = expand_reduced(grad, a.shape, axes, keepdim)
        # product of all other elements, exact with zeros: exclusive cumprods from both sides
        # along the flattened reduced axes
        moved = xp.moveaxis(a, axes, tuple(range(a.ndim - len(axes), a.ndim)))
        flat = moved.reshape(moved.shape[:a.ndim - len(axes)] + (-1,))
        ones = xp.ones(flat.shape[:-1] + (1,), dtype=a.dtype)
        left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        right = xp.flip(xp.cumprod(xp.concatenate(
            [ones, xp.flip(flat, -1)[..., :-1]], axis=-1), axis=-1), -1)
        others = (left * right).reshape(moved.shape)
        others = xp.moveaxis(others, tuple(range(a.ndim - len(axes), a.ndim)), axes)
        return g * others


class Amax(Function):
    """amax/amin (and full max()/min()): ties share the gradient evenly, as in PyTorch."""

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False, largest=True):
        axes = _reduced_axes(a, dim)
        xp = xp_of(a)
        out = a.max(axis=axes, keepdims=True) if largest else a.min(axis=axes, keepdims=True)
        ctx.save_for_backward(a, out)
        ctx.meta = (axes, keepdim)
        return xp.asarray(out if keepdim else out.reshape(
            [s for i, s in enumerate(a.shape) if i not in axes]))

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        axes, keepdim = ctx.meta
        xp = xp_of(a)
        # nan is the extreme of a slice holding one: its nans share the gradient, as in
        # PyTorch's max()/min() (its amax multiplies 0 by the count's 1/0 and gives nan)
        mask = (a == out) | (xp.isnan(a) & xp.isnan(out)) if a.dtype.kind in "fc" \
            else a == out
        count = mask.sum(axis=axes, keepdims=True)
        share = expand_reduced(grad, a.shape, axes, keepdim) / count.astype(grad.dtype)
        return select(mask, share)  # the others get 0, also where the gradient is inf


class LogSumExp(Function):
    @staticmethod
    def forward(ctx, a, dim, keepdim=False):
        xp = xp_of(a)
        axes = _reduced_axes(a, dim)
        m = a.max(axis=axes, keepdims=True) if a.size else xp.zeros((1,) * a.ndim, a.dtype)
        m = xp.where(xp.isfinite(m), m, 0)
        out = xp.log(xp.exp(a - m).sum(axis=axes, keepdims=True)) + m
        ctx.save_for_backward(a, out)
        ctx.meta = (axes, keepdim)
        return out if keepdim else out.reshape(
            [s for i, s in enumerate(a.shape) if i not in axes])

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        axes, keepdim = ctx.meta
        return expand_reduced(grad, a.shape, axes, keepdim) * xp_of(a).exp(a - out)


class Norm(Function):
    """p-norm over `dim` (p=2 default; 'fro' is 2; inf and -inf supported)."""

    @staticmethod
    def forward(ctx, a, p=2, dim=None, keepdim=False):
        xp = xp_of(a)
        axes = _reduced_axes(a, dim)
        absa = xp.abs(a)
        if p == float("inf"):
            out = absa.max(axis=axes, keepdims=True)
        elif p == float("-inf"):
            out = absa.min(axis=axes, keepdims=True)
        elif p == 0:
            out = (a != 0).sum(axis=axes, keepdims=True).astype(a.dtype)
        elif p == 1:
            out = absa.sum(axis=axes, keepdims=True)
        elif p == 2:
            out = xp.sqrt((a * a).sum(axis=axes, keepdims=True))
        else:
            with np.errstate(divide="ignore"):  # negative p: 0 ** p is inf, the norm 0
                out = (absa ** p).sum(axis=axes, keepdims=True) ** (1.0 / p)
        ctx.save_for_backward(a, out)
        ctx.meta = (p, axes, keepdim)
        return xp.asarray(out if keepdim else out.reshape(
            [s for i, s in enumerate(a.shape) if i not in axes]))

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        p, axes, keepdim = ctx.meta
        xp = xp_of(a)
        g = expand_reduced(grad, a.shape, axes, keepdim)
        if p == 0:
            return xp.zeros_like(a)
        if p in (float("inf"), float("-inf")):
            mask = xp.abs(a) == out
            return g * xp.sign(a) * mask / mask.sum(axis=axes, keepdims=True)
        if p == 1:
            return g * xp.sign(a)
        safe = xp.where(out == 0, 1, out)
        if p == 2:
            return xp.where(out == 0, 0, g * a / safe)
        # zero entries get a zero gradient (|a|^(p-1) is inf there for p < 1), as PyTorch
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.where((out == 0) | (a == 0), 0,
                            g * xp.sign(a) * xp.abs(a) ** (p - 1) / safe ** (p - 1))


def _cumsum(xp, a, axis):
    """cumsum with PyTorch's CPU accumulator (at::acc_type): float64 for float32, float32
    for float16, each partial sum rounded back. A float32 running sum of 2e6 values of 0.1
    is 1.5% off; this one is PyTorch's 0.003 (the rounding of the exact sums)."""
    if a.ndim == 0:  # NumPy's cumsum flattens a 0-d input to shape (1,)
        return a.copy()
    acc = _CUMSUM_ACC.get(a.dtype.char)
    if acc is None:
        return xp.cumsum(a, axis=axis)
    return xp.cumsum(a, axis=axis, dtype=acc).astype(a.dtype, copy=False)


_CUMSUM_ACC = {"f": np.float64, "e": np.float32}


class Cumsum(Function):
    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        return _cumsum(xp_of(a), a, dim)

    @staticmethod
    def backward(ctx, grad):
        xp = xp_of(grad)
        return xp.flip(_cumsum(xp, xp.flip(grad, ctx.dim), ctx.dim), ctx.dim)
