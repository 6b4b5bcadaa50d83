"""Differentiable dtype casts and device moves."""
from ..autograd.function import Function
from ..backend import device_of, move


class Cast(Function):
    @staticmethod
    def forward(ctx, a, np_dtype):
        ctx.in_dtype = a.dtype
        return a.astype(np_dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.in_dtype), None


class ToDevice(Function):
    """Copies data to another device; the gradient travels back to the source device."""

    @staticmethod
    def forward(ctx, a, device):
        ctx.source = device_of(a)
        return move(a, device)

    @staticmethod
    def backward(ctx, grad):
        return move(grad, ctx.source), None
