"""Indexing: __getitem__ (basic and advanced), index_put for __setitem__, gather."""
import numpy as np

from ..autograd.function import Function
from ..backend import xp_of
from ..backend.kernels.scatter import index_add_at
from ._util import unbroadcast


def has_int_array(index):
    """True when the index holds an integer array (repeats then must accumulate)."""
    for k in index if isinstance(index, tuple) else (index,):
        dt = getattr(k, "dtype", None)
        if dt is not None and dt.kind in "iu":
            return True
    return False


class GetItem(Function):
    is_view = True  # basic indexing; advanced indexing copies (see views.make_view)
    @staticmethod
    def forward(ctx, a, index):
        ctx.meta = (a.shape, index)
        out = a[index]
        if isinstance(out, np.generic):  # NumPy gives a scalar for x[i, j]: take a 0-d view
            out = a[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)]
        return out

    @staticmethod
    def backward(ctx, grad):
        shape, index = ctx.meta
        out = xp_of(grad).zeros(shape, dtype=grad.dtype)
        if has_int_array(index):
            index_add_at(out, index, grad)
        else:
            out[index] = grad
        return out, None


class IndexPut(Function):
    """out = a with out[index] = value (the differentiable form of __setitem__)."""

    @staticmethod
    def forward(ctx, a, index, value):
        out = a.copy()
        out[index] = value
        ctx.meta = (index, getattr(value, "shape", ()))
        return out

    @staticmethod
    def backward(ctx, grad):
        index, vshape = ctx.meta
        ga = gv = None
        if ctx.needs_input_grad[0]:
            ga = grad.copy()
            ga[index] = 0
        if ctx.needs_input_grad[2]:
            gv = unbroadcast(grad[index], vshape)
        return ga, None, gv


def gather_index(xp, index, dim):
    """A full advanced-index tuple that picks index[...] along `dim` (PyTorch's gather)."""
    grids = list(xp.ogrid[tuple(slice(0, s) for s in index.shape)]) if index.ndim else []
    grids[dim] = index
    return tuple(grids)


class Gather(Function):
    @staticmethod
    def forward(ctx, a, dim, index):
        key = gather_index(xp_of(a), index, dim)
        ctx.meta = (a.shape, key)
        return a[key]

    @staticmethod
    def backward(ctx, grad):
        shape, key = ctx.meta
        out = xp_of(grad).zeros(shape, dtype=grad.dtype)
        return index_add_at(out, key, grad), None, None
