"""Adaptive max pooling (1-D and 2-D): PyTorch's bins, values and flat indices, and a
gradient that scatters to each bin's first maximum."""
import numpy as np

from ..autograd.function import Function
from ..backend import xp_of
from ..backend.kernels.scatter import index_add_rows
from ..tensor import Tensor
from ._out import scalar_name


def _bins(size, out):
    """PyTorch's adaptive bins: [floor(i * size / out), ceil((i + 1) * size / out))."""
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def adaptive_argmax(x, out_h, out_w):
    """Flat (h * W + w) index of each adaptive bin's first maximum in an (N, C, H, W) array
    (a nan wins, as in PyTorch)."""
    xp = xp_of(x)
    n, c, h, w = x.shape
    index = xp.empty((n, c, out_h, out_w), dtype=np.int64)
    # one vectorised argmax per output cell: bins differ in size, and there are few cells
    for i, (h0, h1) in enumerate(_bins(h, out_h)):
        for j, (w0, w1) in enumerate(_bins(w, out_w)):
            arg = xp.argmax(x[:, :, h0:h1, w0:w1].reshape(n, c, (h1 - h0) * (w1 - w0)), axis=-1)
            index[:, :, i, j] = (h0 + arg // (w1 - w0)) * w + w0 + arg % (w1 - w0)
    return index


class GatherSpatial(Function):
    """x (N, C, H, W) at flat spatial indices (N, C, oh, ow); the gradient scatter-adds."""

    @staticmethod
    def forward(ctx, x, index):
        n, c, h, w = x.shape
        ctx.index, ctx.shape = index, x.shape
        flat = index.reshape(n, c, index.shape[2] * index.shape[3])
        return xp_of(x).take_along_axis(x.reshape(n, c, h * w), flat, -1).reshape(index.shape)

    @staticmethod
    def backward(ctx, grad):
        n, c, h, w = ctx.shape
        xp = xp_of(grad)
        k = grad.shape[2] * grad.shape[3]
        # bins may overlap, so two cells can pick one element: an accumulating scatter
        keys = (xp.arange(n * c)[:, None] * (h * w) + ctx.index.reshape(n * c, k)).reshape(-1)
        gx = index_add_rows(xp.zeros((n * c * h * w, 1), dtype=grad.dtype), keys,
                            grad.reshape(-1, 1))
        return gx.reshape(ctx.shape), None


def _output_size(output_size, spatial, nd):
    size = (output_size,) * nd if isinstance(output_size, (int, np.integer)) or \
        output_size is None else tuple(output_size)
    if len(size) != nd:
        raise RuntimeError(f"adaptive_max_pool{nd}d(): internal error: output_size.size() must "
                           f"be {nd}")
    return tuple(s if o is None else int(o) for o, s in zip(size, spatial))


def _adaptive_max_pool(nd, input, output_size, return_indices):  # noqa: A002
    name = f"adaptive_max_pool{nd}d"
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: "
                           f"{list(input.shape)}")
    for d in range(1, input.ndim):
        if input.shape[d] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {d} being empty")
    if input._data.dtype.kind != "f":
        dtype = scalar_name(input._data.dtype)
        raise RuntimeError(f"\"{name}\" not implemented for '{dtype}'")
    spatial = tuple(input.shape[-nd:])
    out = _output_size(output_size, spatial, nd)
    if any(o < 0 for o in out):
        raise RuntimeError(f"{name}(): Expected output_size to be non-negative, got {list(out)}")
    lead = tuple(input.shape[:-nd])
    batched = input.ndim == nd + 2
    x = input.reshape((lead if batched else (1,) + lead) + ((1,) if nd == 1 else ()) + spatial)
    oh, ow = (1, out[0]) if nd == 1 else out
    index = adaptive_argmax(x._data, oh, ow)
    values = GatherSpatial.apply(x, index).reshape(lead + out)
    if not return_indices:
        return values
    return values, Tensor._make(index.reshape(lead + out), False)


def adaptive_max_pool2d(input, output_size, return_indices=False):  # noqa: A002
    """Max over adaptive bins of the last two dims of a (N, C, H, W) or (C, H, W) input."""
    return _adaptive_max_pool(2, input, output_size, return_indices)


def adaptive_max_pool1d(input, output_size, return_indices=False):  # noqa: A002
    """Max over adaptive bins of the last dim of an (N, C, L) or (C, L) input."""
    return _adaptive_max_pool(1, input, output_size, return_indices)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):  # noqa: A002
    return _adaptive_max_pool(2, input, output_size, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):  # noqa: A002
    return _adaptive_max_pool(1, input, output_size, True)
