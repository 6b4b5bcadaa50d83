"""Dropout: multiply by a pre-scaled keep mask drawn from the device's generator."""
from ..autograd.function import Function
from ..random import generator_for
from ._util import unbroadcast


def keep_mask(x, p, mask_shape, generator=None):
    """A raw mask of `mask_shape` in x's dtype: 1 / (1 - p) with probability 1 - p, else 0."""
    gen = generator if generator is not None else generator_for(x.device)
    dtype = x._data.dtype
    u = gen.stream.uniform(mask_shape, 0.0, 1.0, dtype)
    mask = (u >= p).astype(dtype)  # P(u >= p) = 1 - p
    # p == 1 drops everything; 1 / (1 - p) would be inf and 0 * inf = nan
    mask *= 0.0 if p >= 1.0 else 1.0 / (1.0 - p)
    return mask


class Dropout(Function):
    """x * mask, where mask broadcasts against x (whole channels for dropout2d)."""

    @staticmethod
    def forward(ctx, x, mask):
        ctx.save_for_backward(mask)
        ctx.shape = x.shape
        return x * mask

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return unbroadcast(grad * mask, ctx.shape), None
