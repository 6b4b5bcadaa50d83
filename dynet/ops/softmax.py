"""Numerically stable softmax and log-softmax (max-shifted), each one graph node."""
from ..autograd.function import Function
from ..backend import xp_of


class Softmax(Function):
    @staticmethod
    def forward(ctx, a, dim):
        xp = xp_of(a)
        e = xp.exp(a - a.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(e)
        ctx.dim = dim
        return e

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        gy = grad * y
        return gy - y * gy.sum(axis=ctx.dim, keepdims=True)


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, a, dim):
        xp = xp_of(a)
        shifted = a - a.max(axis=dim, keepdims=True)
        out = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad - xp_of(out).exp(out) * grad.sum(axis=ctx.dim, keepdims=True)
