"""The embedding lookup (torch.nn.functional.embedding's math; its checks live in
nn/functional.py)."""
from ..autograd.function import Function
from ..backend import xp_of
from ..backend.kernels.scatter import index_add_at


class Embedding(Function):
    """weight[indices]; the gradient scatters back and skips padding_idx."""

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        ctx.meta = (weight.shape, indices, padding_idx, scale_grad_by_freq)
        return weight[indices]

    @staticmethod
    def backward(ctx, grad):
        shape, indices, padding_idx, by_freq = ctx.meta
        xp = xp_of(grad)
        flat = indices.reshape(-1)
        g2 = grad.reshape(flat.size, shape[1])
        if by_freq:
            counts = xp.bincount(flat, minlength=shape[0]).astype(grad.dtype)
            g2 = g2 / counts[flat][:, None]
        gw = xp.zeros(shape, dtype=grad.dtype)
        index_add_at(gw, flat, g2)
        if padding_idx is not None:
            gw[padding_idx] = 0
        return gw, None, None, None
