"""Shape ops: views (reshape, permute, expand), tiling, flipping, concatenation, padding."""
from ..autograd.function import Function
from ..backend import xp_of
from ..backend.kernels.scatter import index_add_at
from ._util import unbroadcast


class Reshape(Function):
    def name(self):
        return "ViewBackward0"  # what PyTorch prints for view() and reshape()

    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape)


class Permute(Function):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return a.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return grad.transpose(inverse)


class Expand(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        return xp_of(a).broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.in_shape)


class Repeat(Function):
    @staticmethod
    def forward(ctx, a, repeats):
        shape = (1,) * (len(repeats) - a.ndim) + a.shape
        ctx.meta = (a.shape, shape, repeats)
        return xp_of(a).tile(a.reshape(shape), repeats)

    @staticmethod
    def backward(ctx, grad):
        in_shape, shape, repeats = ctx.meta
        split = []
        for r, s in zip(repeats, shape):
            split += [r, s]
        g = grad.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return g.reshape(in_shape)


class Flip(Function):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return xp_of(a).flip(a, dims)

    @staticmethod
    def backward(ctx, grad):
        return xp_of(grad).flip(grad, ctx.dims)


class Cat(Function):
    @staticmethod
    def forward(ctx, *arrays, dim=0):
        ctx.meta = (dim, [a.shape[dim] for a in arrays])
        return xp_of(arrays[0]).concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        dim, sizes = ctx.meta
        grads = []
        start = 0
        index = [slice(None)] * grad.ndim
        for i, size in enumerate(sizes):
            if ctx.needs_input_grad[i]:
                index[dim] = slice(start, start + size)
                grads.append(grad[tuple(index)])
            else:
                grads.append(None)
            start += size
        return tuple(grads)


class Stack(Function):
    @staticmethod
    def forward(ctx, *arrays, dim=0):
        ctx.dim = dim
        return xp_of(arrays[0]).stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        xp = xp_of(grad)
        return tuple(xp.take(grad, i, axis=ctx.dim) if need else None
                     for i, need in enumerate(ctx.needs_input_grad))


class IndexSelect(Function):
    """a.index_select(dim, index): also the building block of reflect/replicate padding."""

    @staticmethod
    def forward(ctx, a, dim, index):
        ctx.meta = (a.shape, dim, index)
        return xp_of(a).take(a, index, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        shape, dim, index = ctx.meta
        out = xp_of(grad).zeros(shape, dtype=grad.dtype)
        key = (slice(None),) * dim + (index,)
        return index_add_at(out, key, grad), None, None


class ConstantPad(Function):
    """Constant padding; `pad` is PyTorch's (last_lo, last_hi, prev_lo, prev_hi, ...).

    Negative widths crop, as in PyTorch.
    """

    @staticmethod
    def forward(ctx, a, pad, value=0.0):
        xp = xp_of(a)
        widths = pad_widths(a.ndim, pad)
        out_shape = tuple(s + lo + hi for s, (lo, hi) in zip(a.shape, widths))
        if any(s < 0 for s in out_shape):
            raise RuntimeError(f"The input size {tuple(a.shape)}, plus negative padding "
                               f"{tuple(pad)} resulted in a negative output size, which is "
                               f"invalid. Check dimension of your input.")
        out = xp.full(out_shape, value, dtype=a.dtype)
        # the part of `a` that survives (cropped by negative widths) and where it goes
        src = tuple(slice(max(-lo, 0), s - max(-hi, 0)) for s, (lo, hi) in zip(a.shape, widths))
        dst = tuple(slice(max(lo, 0), max(lo, 0) + max(sl.stop - sl.start, 0))
                    for sl, (lo, _) in zip(src, widths))
        out[dst] = a[src]
        ctx.meta = (a.shape, src, dst)
        return out

    @staticmethod
    def backward(ctx, grad):
        shape, src, dst = ctx.meta
        out = xp_of(grad).zeros(shape, dtype=grad.dtype)
        out[src] = grad[dst]
        return out, None, None


def pad_widths(ndim, pad):
    if len(pad) % 2 or len(pad) // 2 > ndim:
        raise RuntimeError(f"Padding length must be divisible by 2 and at most twice the "
                           f"number of dimensions ({ndim}), got {len(pad)}")
    widths = [(0, 0)] * ndim
    for i in range(len(pad) // 2):
        widths[ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return widths


def padding_index(xp, size, lo, hi, mode):
    """Source positions along one axis for reflect / replicate / circular padding."""
    pos = xp.arange(-lo, size + hi)
    if mode == "replicate":
        return xp.clip(pos, 0, size - 1)
    if mode == "circular":
        if lo > size or hi > size:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        return pos % size
    if mode == "reflect":
        if lo >= size or hi >= size:
            raise RuntimeError(f"Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({lo}, {hi}) at dimension of "
                               f"size {size}")
        period = 2 * (size - 1) if size > 1 else 1
        pos = xp.abs(pos) % period
        return xp.where(pos >= size, period - pos, pos)
    raise NotImplementedError(f"padding mode {mode!r} is not supported")



class Roll(Function):
    @staticmethod
    def forward(ctx, a, shifts, dims):
        ctx.meta = (shifts, dims)
        return xp_of(a).roll(a, shifts, axis=dims)

    @staticmethod
    def backward(ctx, grad):
        shifts, dims = ctx.meta
        return xp_of(grad).roll(grad, tuple(-s for s in shifts), axis=dims), None, None


def diagonal_index(n_rows, n_cols, offset, xp):
    """(rows, cols) of the `offset` diagonal of an n_rows x n_cols matrix."""
    length = max(0, min(n_rows + min(offset, 0), n_cols - max(offset, 0)))
    i = xp.arange(length)
    return i - min(offset, 0), i + max(offset, 0)


class Diagonal(Function):
    """The `offset` diagonal over (dim1, dim2), appended as the last dim (a copy)."""

    @staticmethod
    def forward(ctx, a, offset, dim1, dim2):
        ctx.meta = (a.shape, offset, dim1, dim2)
        return xp_of(a).diagonal(a, offset, dim1, dim2).copy()

    @staticmethod
    def backward(ctx, grad):
        shape, offset, dim1, dim2 = ctx.meta
        xp = xp_of(grad)
        out = xp.zeros(shape, dtype=grad.dtype)
        rows, cols = diagonal_index(shape[dim1], shape[dim2], offset, xp)
        xp.moveaxis(out, (dim1, dim2), (-2, -1))[..., rows, cols] = grad
        return out, None, None, None


class DiagEmbed(Function):
    """Places the last dim of `a` on the `offset` diagonal of new dims (dim1, dim2)."""

    @staticmethod
    def forward(ctx, a, offset, dim1, dim2):
        xp = xp_of(a)
        m = a.shape[-1] + abs(offset)
        out = xp.zeros(a.shape[:-1] + (m, m), dtype=a.dtype)
        rows, cols = diagonal_index(m, m, offset, xp)
        out[..., rows, cols] = a
        ctx.meta = (offset, dim1, dim2)
        return xp.moveaxis(out, (-2, -1), (dim1, dim2))

    @staticmethod
    def backward(ctx, grad):
        offset, dim1, dim2 = ctx.meta
        return xp_of(grad).diagonal(grad, offset, dim1, dim2).copy(), None, None, None
