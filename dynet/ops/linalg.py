"""Matrix products: matmul (with NumPy's 1-D and batch broadcasting rules) and linear."""
from ..autograd.function import Function
from ..backend import parallel, xp_of
from ._util import unbroadcast


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return parallel.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        # restore the axes that 1-D operands dropped from the output (1-D @ 1-D gives 0-d)
        g = grad
        if a.ndim == 1:
            g = xp_of(g).expand_dims(g, -2 if b.ndim > 1 else 0)
        if b.ndim == 1:
            g = g[..., None]
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = parallel.matmul(g, b2.swapaxes(-1, -2))
            ga = unbroadcast(ga, a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            gb = parallel.matmul(a2.swapaxes(-1, -2), g)
            gb = unbroadcast(gb, b2.shape).reshape(b.shape)
        return ga, gb


class Linear(Function):
    """y = x @ w.T + b in one node (the layer behind nn.Linear)."""

    @staticmethod
    def forward(ctx, x, w, b=None):
        ctx.save_for_backward(x, w)
        out = parallel.matmul(x, w.T)
        if b is not None:
            out += b
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = parallel.matmul(grad, w)
        g2 = grad.reshape(-1, grad.shape[-1])
        if ctx.needs_input_grad[1]:
            gw = parallel.matmul(g2.T, x.reshape(-1, x.shape[-1]))
        if ctx.needs_input_grad[2]:
            gb = g2.sum(axis=0)
        return gx, gw, gb
