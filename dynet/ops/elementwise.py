"""Elementwise ops: arithmetic with broadcasting and the unary math functions."""
import math

import numpy as np

from ..autograd.function import Function
from ..backend import parallel, xp_of
from ._util import has_nan, select, unbroadcast


_ndarray = np.ndarray


def _shape(x):
    return getattr(x, "shape", ())


_ZEROS = {}  # dtype -> a 0-d zero of it: np.maximum(x, zero) skips converting a Python 0


def _zero(dtype):
    z = _ZEROS.get(dtype)
    if z is None:
        z = _ZEROS[dtype] = np.zeros((), dtype)
    return z


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        if True in ctx.needs_input_grad:  # only backward reads them
            ctx.shapes = (getattr(a, "shape", ()), getattr(b, "shape", ()))
        # only large arrays are worth the threads (checked here: a call less per small op)
        if type(a) is _ndarray and a.size >= parallel.MIN_WORK:
            out = parallel.binary(np.add, a, b)
            if out is not None:
                return out
        return a + b

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        return (unbroadcast(grad, sa) if ctx.needs_input_grad[0] else None,
                unbroadcast(grad, sb) if ctx.needs_input_grad[1] else None)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        if True in ctx.needs_input_grad:  # only backward reads them
            ctx.shapes = (getattr(a, "shape", ()), getattr(b, "shape", ()))
        # only large arrays are worth the threads (checked here: a call less per small op)
        if type(a) is _ndarray and a.size >= parallel.MIN_WORK:
            out = parallel.binary(np.subtract, a, b)
            if out is not None:
                return out
        return a - b

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        return (unbroadcast(grad, sa) if ctx.needs_input_grad[0] else None,
                unbroadcast(-grad, sb) if ctx.needs_input_grad[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        # only what backward needs is saved (and version-checked): y * 2 keeps no y, and an
        # unrecorded call (the common tiny op) saves nothing at all, as Add
        need_a, need_b = ctx.needs_input_grad
        if need_a or need_b:
            ctx.save_for_backward(a if need_b else None, b if need_a else None)
            ctx.shapes = (getattr(a, "shape", ()), getattr(b, "shape", ()))
        # only large arrays are worth the threads (checked here: a call less per small op)
        if type(a) is _ndarray and a.size >= parallel.MIN_WORK:
            out = parallel.binary(np.multiply, a, b)
            if out is not None:
                return out
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        return (unbroadcast(grad * b, sa) if ctx.needs_input_grad[0] else None,
                unbroadcast(grad * a, sb) if ctx.needs_input_grad[1] else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad
        if need_a or need_b:  # only backward reads them
            ctx.save_for_backward(a if need_b else None, b)
            ctx.shapes = (getattr(a, "shape", ()), getattr(b, "shape", ()))
        # only large arrays are worth the threads (checked here: a call less per small op)
        if type(a) is _ndarray and a.size >= parallel.MIN_WORK:
            out = parallel.binary(np.divide, a, b)
            if out is not None:
                return out
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = unbroadcast(grad / b, sa)
        if ctx.needs_input_grad[1]:
            gb = unbroadcast(-grad * a / (b * b), sb)
        return ga, gb


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        ga = gb = None
        xp = xp_of(out)
        if ctx.needs_input_grad[0]:
            # PyTorch: 0 where b == 0, also at a == 0 (where b * a^(b-1) is 0 * inf)
            if _is_number(b):
                ga = xp.zeros_like(grad) if b == 0 else grad * b * a ** (b - 1)
            else:
                ga = grad * b * a ** (b - 1)
                ga = xp.where(b == 0, ga.dtype.type(0), ga)
            ga = unbroadcast(ga, _shape(a))
        if ctx.needs_input_grad[1]:
            # d(a^b)/db = a^b log(a); PyTorch: 0 where a == 0 and b >= 0 (-inf for b < 0)
            if _is_number(a):
                log_a = math.log(a) if a > 0 else (-math.inf if a == 0 else math.nan)
            else:
                log_a = xp.log(a)
            gb = grad * out * log_a
            zero_base = a == 0
            if not _is_number(zero_base) or zero_base:
                gb = xp.where(zero_base & (b >= 0), gb.dtype.type(0), gb)
            gb = unbroadcast(gb, _shape(b))
        return ga, gb


def _is_number(x):
    """A Python (or NumPy) scalar operand rather than an array: CuPy's where takes arrays."""
    return not hasattr(x, "ndim") or isinstance(x, np.generic)


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = xp_of(a).exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp_of(a).log(a)

    @staticmethod
    def backward(ctx, grad):
        return grad / ctx.saved_tensors[0]


class Log1p(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp_of(a).log1p(a)

    @staticmethod
    def backward(ctx, grad):
        return grad / (1 + ctx.saved_tensors[0])


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        out = xp_of(a).sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad / (2 * ctx.saved_tensors[0])


class Rsqrt(Function):
    @staticmethod
    def forward(ctx, a):
        out = 1 / xp_of(a).sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out = ctx.saved_tensors[0]
        return grad * (-0.5) * out * out * out


class Abs(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp_of(a).abs(a)

    @staticmethod
    def backward(ctx, grad):
        # grad * sgn(a), where PyTorch's sgn(nan) is 0 (NumPy's sign(nan) is nan)
        a = ctx.saved_tensors[0]
        sgn = (a > 0).astype(grad.dtype)
        sgn -= a < 0
        return grad * sgn


class _PiecewiseConstant(Function):
    """sign, floor, ceil, trunc, round: recorded like PyTorch does, with a zero gradient."""

    @staticmethod
    def backward(ctx, grad):
        return xp_of(grad).zeros_like(grad), None


class NormalSample(Function):
    """mean + std * z for a standard normal z drawn by the caller (normal() with tensor
    arguments): PyTorch records it with a zero gradient for mean and std."""

    @staticmethod
    def forward(ctx, mean, std, z):
        xp = xp_of(z)
        ctx.metas = [(xp.shape(v), getattr(v, "dtype", None)) for v in (mean, std)]
        return (mean + std * z).astype(z.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        xp = xp_of(grad)
        return tuple(xp.zeros(shape, dtype) if need else None for (shape, dtype), need in
                     zip(ctx.metas, ctx.needs_input_grad)) + (None,)


class Sign(_PiecewiseConstant):
    @staticmethod
    def forward(ctx, a):
        return xp_of(a).sign(a)


class Floor(_PiecewiseConstant):
    @staticmethod
    def forward(ctx, a):
        return xp_of(a).floor(a)


class Ceil(_PiecewiseConstant):
    @staticmethod
    def forward(ctx, a):
        return xp_of(a).ceil(a)


class Trunc(_PiecewiseConstant):
    @staticmethod
    def forward(ctx, a):
        return xp_of(a).trunc(a)


class Round(_PiecewiseConstant):
    @staticmethod
    def forward(ctx, a, decimals=0):
        return xp_of(a).round(a, decimals)


class Sin(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp_of(a).sin(a)

    @staticmethod
    def backward(ctx, grad):
        a = ctx.saved_tensors[0]
        return grad * xp_of(a).cos(a)


class Cos(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp_of(a).cos(a)

    @staticmethod
    def backward(ctx, grad):
        a = ctx.saved_tensors[0]
        return -grad * xp_of(a).sin(a)


class Tanh(Function):
    @staticmethod
    def forward(ctx, a):
        out = xp_of(a).tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out = ctx.saved_tensors[0]
        return grad * (1 - out * out)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, a):
        xp = xp_of(a)
        # tanh form: one transcendental, and no overflow warning for large |a|
        out = xp.tanh(a * 0.5)
        out *= 0.5
        out += 0.5
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out = ctx.saved_tensors[0]
        return grad * out * (1 - out)


class Relu(Function):
    @staticmethod
    def forward(ctx, a):
        if type(a) is _ndarray and a.size < parallel.MIN_WORK and a.dtype.kind == "f":
            out = np.maximum(a, _zero(a.dtype))  # small: no out buffer, closure or region
        else:
            xp = xp_of(a)
            out = xp.empty(a.shape, a.dtype)
            parallel.blockwise(lambda o, x: xp.maximum(x, 0, out=o), out, a)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(out)
        return out

    @staticmethod
    def into(a):
        """relu written into the raw array `a` itself: relu_ when nothing is recorded."""
        xp = xp_of(a)
        if xp is np:
            parallel.blockwise(lambda o, x: np.maximum(x, 0, out=o), a, a)
        else:
            with a.device:  # CuPy launches on the current device
                xp.maximum(a, 0, out=a)

    @staticmethod
    def backward(ctx, grad):
        # PyTorch's mask is out <= 0 (0 there, grad elsewhere, so a nan output passes grad)
        out = ctx.saved_tensors[0]
        xp = xp_of(grad)
        if xp is not np:  # one comparison and one where kernel (no ~ pass over the mask)
            return xp.where(out <= 0, grad.dtype.type(0), grad)
        res = np.empty(grad.shape, grad.dtype)

        def block(r, o, g):
            # a float mask then an in-place multiply: 1.0 vs 1.2 ms for g * (o > 0) at
            # (256, 6, 28, 28), whose bool operand makes NumPy run a casting loop; the
            # block is redone by selection (as PyTorch's) where g * 0 made a nan
            np.less_equal(o, 0, out=r)
            np.subtract(1, r, out=r)
            r *= g
            if has_nan(r):
                np.copyto(r, np.where(o <= 0, g.dtype.type(0), g))

        parallel.blockwise(block, res, out, grad)
        return res


class Clamp(Function):
    @staticmethod
    def forward(ctx, a, lo, hi):
        xp = xp_of(a)
        ctx.save_for_backward(a, lo, hi)
        out = a
        if lo is not None:
            out = xp.maximum(out, lo)
        if hi is not None:
            out = xp.minimum(out, hi)
        return out if out is not a else a.copy()

    @staticmethod
    def backward(ctx, grad):
        a, lo, hi = ctx.saved_tensors
        mask = True
        if lo is not None:
            mask = a >= lo
        if hi is not None:
            mask = mask & (a <= hi)
        ga = unbroadcast(select(mask, grad), _shape(a)) if ctx.needs_input_grad[0] else None
        glo = ghi = None
        if ctx.needs_input_grad[1]:
            glo = unbroadcast(select(a < lo, grad), _shape(lo))
        if ctx.needs_input_grad[2]:
            ghi = unbroadcast(select(a > hi, grad), _shape(hi))
        return ga, glo, ghi


class Maximum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp_of(a).maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _split_between(ctx, grad, a, b, a < b, a > b)


class Minimum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp_of(a).minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _split_between(ctx, grad, a, b, a > b, a < b)


def _split_between(ctx, grad, a, b, a_loses, b_loses):
    """Routes grad to the winner; ties share it equally, as PyTorch does (by selection).
    As in PyTorch only a loser is masked, so where a or b is nan both get the gradient."""
    xp = xp_of(grad)
    tie = a == b
    shared = xp.where(tie, grad * grad.dtype.type(0.5), grad)
    ga = gb = None
    if ctx.needs_input_grad[0]:
        ga = unbroadcast(select(~a_loses, shared), _shape(a))
    if ctx.needs_input_grad[1]:
        gb = unbroadcast(select(~b_loses, shared), _shape(b))
    return ga, gb


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        ctx.shapes = (getattr(a, "shape", ()), getattr(b, "shape", ()))
        return xp_of(cond).where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        cond = ctx.saved_tensors[0]
        sa, sb = ctx.shapes
        zero = grad.dtype.type(0)
        xp = xp_of(grad)
        ga = unbroadcast(xp.where(cond, grad, zero), sa) if ctx.needs_input_grad[1] else None
        gb = unbroadcast(xp.where(cond, zero, grad), sb) if ctx.needs_input_grad[2] else None
        return None, ga, gb


class Clone(Function):
    """clone() / contiguous(): a fresh C-contiguous copy; the gradient passes through."""

    @staticmethod
    def forward(ctx, a):
        return xp_of(a).array(a, copy=True, order="C")

    @staticmethod
    def backward(ctx, grad):
        return grad
