"""Matrix products: matmul (with NumPy's 1-D and batch broadcasting rules) and linear."""
from ..autograd.function import Function
from ..backend import parallel, xp_of
from ._util import unbroadcast


def _as_2d(shape, one_d):
    """The shape matmul gives a 1-D operand: (1, n) on the left, (n, 1) on the right."""
    return one_d if len(shape) == 1 else shape


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        # each operand is needed (and version-checked) only for the other's gradient
        need_a, need_b = ctx.needs_input_grad
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        ctx.shapes = (a.shape, b.shape)
        return parallel.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        # restore the axes that 1-D operands dropped from the output (1-D @ 1-D gives 0-d)
        g = grad
        if len(sa) == 1:
            g = xp_of(g).expand_dims(g, -2 if len(sb) > 1 else 0)
        if len(sb) == 1:
            g = g[..., None]
        ga = gb = None
        if ctx.needs_input_grad[0]:
            b2 = b[:, None] if b.ndim == 1 else b
            ga = parallel.matmul(g, b2.swapaxes(-1, -2))
            ga = unbroadcast(ga, _as_2d(sa, (1,) + sa)).reshape(sa)
        if ctx.needs_input_grad[1]:
            a2 = a[None, :] if a.ndim == 1 else a
            gb = parallel.matmul(a2.swapaxes(-1, -2), g)
            gb = unbroadcast(gb, _as_2d(sb, sb + (1,))).reshape(sb)
        return ga, gb


class Linear(Function):
    """y = x @ w.T + b in one node (the layer behind nn.Linear)."""

    @staticmethod
    def forward(ctx, x, w, b=None):
        # x is needed (and version-checked) only for w's gradient, w only for x's
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None,
                              w if ctx.needs_input_grad[0] else None)
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
