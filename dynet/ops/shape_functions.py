"""Shape functions beyond the core set (dynet.tril, triu, diag, diagonal, diag_embed, roll,
rot90, meshgrid, repeat_interleave, tile, broadcast_tensors, atleast_1d/2d/3d, Tensor.unfold,
view(dtype)), with PyTorch's argument names, plus their Tensor methods and in-place forms
(installed on Tensor by `install`).
"""
import builtins

import numpy as np

from .. import dtypes
from ..backend import xp_of
from . import functions as F
from . import shape as shape_ops
from ._out import scalar_name as _scalar, write_out
from ._util import inplace_method as _inplace, normalize_dim


def _need_dims(name, input, n):
    if input._data.ndim < n:
        raise RuntimeError(f"{name}: input tensor must have at least {n} dimensions")


# ---------------------------------------------------------------- triangles and diagonals

def _triangle(name, input, diagonal, lower, out):
    _need_dims(name, input, 2)
    xp = xp_of(input._data)
    rows, cols = input._data.shape[-2:]
    keep = xp.tri(rows, cols, k=diagonal if lower else diagonal - 1, dtype=bool)
    keep = keep if lower else ~keep
    zero = F.Tensor._make(xp.zeros((), dtype=input._data.dtype), False)
    return write_out(F.where(F.Tensor._make(keep, False), input, zero), out, name)


def tril(input, diagonal=0, *, out=None):  # noqa: A002 - PyTorch's argument names
    """The lower triangle (on and below `diagonal`) of the last two dims; zeros elsewhere."""
    return _triangle("tril", input, diagonal, True, out)


def triu(input, diagonal=0, *, out=None):  # noqa: A002
    """The upper triangle (on and above `diagonal`) of the last two dims; zeros elsewhere."""
    return _triangle("triu", input, diagonal, False, out)


def diagonal(input, offset=0, dim1=0, dim2=1):  # noqa: A002
    """The `offset` diagonal over dims (dim1, dim2), appended as the last dim."""
    _need_dims("diagonal", input, 2)
    d1, d2 = normalize_dim(dim1, input.ndim), normalize_dim(dim2, input.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return shape_ops.Diagonal.apply(input, builtins.int(offset), d1, d2)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):  # noqa: A002
    """A tensor whose (dim1, dim2) `offset` diagonals hold input's last dim."""
    _need_dims("diag_embed", input, 1)
    n = input.ndim + 1
    d1, d2 = normalize_dim(dim1, n), normalize_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return shape_ops.DiagEmbed.apply(input, builtins.int(offset), d1, d2)


def diag(input, diagonal=0, *, out=None):  # noqa: A002
    """1-D input: a square matrix with it on the `diagonal`; 2-D input: that diagonal."""
    if input.ndim == 1:
        res = shape_ops.DiagEmbed.apply(input, builtins.int(diagonal), 0, 1)
    elif input.ndim == 2:
        res = shape_ops.Diagonal.apply(input, builtins.int(diagonal), 0, 1)
    else:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")
    return write_out(res, out, "diag")


# ---------------------------------------------------------------- rolling and rotating

def _int_tuple(x):
    return (builtins.int(x),) if isinstance(x, (builtins.int, np.integer)) else \
        tuple(builtins.int(v) for v in x)


def roll(input, shifts, dims=None):  # noqa: A002
    """Rolls elements along dims (the flattened tensor when dims is None)."""
    shifts = _int_tuple(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                               "dims:0")
        flat = F.reshape(input, -1)
        return F.reshape(shape_ops.Roll.apply(flat, shifts, (0,)), input.shape)
    dims = _int_tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    if input.ndim == 0:
        return F.clone(input)
    dims = tuple(normalize_dim(d, input.ndim) for d in dims)
    return shape_ops.Roll.apply(input, shifts, dims)


def rot90(input, k=1, dims=(0, 1)):  # noqa: A002
    """Rotates by 90 degrees k times in the plane of dims, from dims[0] towards dims[1]."""
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = normalize_dim(dims[0], input.ndim), normalize_dim(dims[1], input.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and "
                           f"dim1 = {d1}")
    k %= 4
    if k == 1:
        return F.transpose(F.flip(input, (d1,)), d0, d1)
    if k == 2:
        return F.flip(input, (d0, d1))
    if k == 3:
        return F.transpose(F.flip(input, (d0,)), d0, d1)
    return F.clone(input)


# ---------------------------------------------------------------- grids, repeats, broadcasts

def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D tensors; indexing 'ij' (matrix, the default) or 'xy'
    (Cartesian: the first two output dims swapped)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got: {t.shape}")
    sizes = [t.numel() for t in tensors]
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        axes[0], axes[1] = 1, 0
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for t, ax in zip(tensors, axes):
        view = [1] * len(tensors)
        view[ax] = -1
        out.append(F.expand(F.reshape(t, view), *sizes))
    return tuple(out)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):  # noqa: A002
    """Repeats each element `repeats` times (an int, or one count per element) along dim
    (the flattened input when dim is None); repeat_interleave(counts) alone gives the
    indices repeated."""
    if repeats is None:  # the overload repeat_interleave(repeats)
        counts = input
        xp = xp_of(counts._data)
        return F.Tensor._make(xp.repeat(xp.arange(counts.shape[0]), _counts(counts)), False)
    x = F.reshape(input, -1) if dim is None else input
    d = 0 if dim is None else normalize_dim(dim, x.ndim)
    if x.ndim == 0:
        x = F.reshape(x, 1)
    xp = xp_of(x._data)
    n = x.shape[d]
    if isinstance(repeats, F.Tensor) and repeats.ndim == 1:
        if repeats.shape[0] != n:
            raise RuntimeError("repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {repeats.shape[0]} and input.size({d}) = "
                               f"{n}")
        reps = _counts(repeats)
    else:
        reps = builtins.int(repeats)
        if reps < 0:
            raise RuntimeError("repeats can not be negative")
    index = xp.repeat(xp.arange(n), reps)
    if output_size is not None and index.shape[0] != output_size:
        raise RuntimeError(f"allocated size does not match required size ({output_size} vs "
                           f"{index.shape[0]})")
    return shape_ops.IndexSelect.apply(x, d, index)


def _counts(repeats):
    counts = repeats.tolist()  # CuPy's repeat takes host counts; the output size needs them
    if builtins.any(c < 0 for c in counts):
        raise RuntimeError("repeats can not be negative")
    return counts


def tile(input, dims):  # noqa: A002
    """repeat() with dims padded by leading ones to input's number of dims."""
    dims = _int_tuple(dims)
    dims = (1,) * (input.ndim - len(dims)) + dims
    return F.repeat(input, dims)


def broadcast_shapes(*shapes):
    """The broadcast of shapes (ints or sequences), as a Size."""
    from ..tensor import Size
    shapes = [(s,) if isinstance(s, (builtins.int, np.integer)) else tuple(s) for s in shapes]
    try:
        return Size(np.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(f"shape mismatch: objects cannot be broadcast to a single shape "
                           f"({', '.join(str(list(s)) for s in shapes)})") from None


def broadcast_tensors(*tensors):
    """Expands all tensors to their common broadcast shape (views)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t if t.shape == shape else F.expand(t, *shape) for t in tensors)


# where a tensor of fewer dims puts its sizes: atleast_3d views (n,) as (1, n, 1)
_ATLEAST = {(1, 0): lambda s: (1,), (2, 0): lambda s: (1, 1), (2, 1): lambda s: (1,) + s,
            (3, 0): lambda s: (1, 1, 1), (3, 1): lambda s: (1,) + s + (1,),
            (3, 2): lambda s: s + (1,)}


def _atleast(n, tensors):
    single = len(tensors) == 1 and isinstance(tensors[0], F.Tensor)
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    out = [F.reshape(t, _ATLEAST[n, t.ndim](tuple(t.shape))) if t.ndim < n else t
           for t in tensors]
    return out[0] if single else tuple(out)


def atleast_1d(*tensors):
    """Each tensor viewed with at least one dim (0-d becomes shape (1,))."""
    return _atleast(1, tensors)


def atleast_2d(*tensors):
    """Each tensor viewed with at least two dims ((n,) becomes (1, n))."""
    return _atleast(2, tensors)


def atleast_3d(*tensors):
    """Each tensor viewed with at least three dims ((n,) -> (1, n, 1), (m, n) -> (m, n, 1))."""
    return _atleast(3, tensors)


# ---------------------------------------------------------------- windows and bit views

def unfold(self, dimension, size, step):
    """Tensor.unfold: all windows of `size` along `dimension` with stride `step`, the window
    as a new last dim."""
    d = normalize_dim(dimension, self.ndim)
    x = self if self.ndim else F.reshape(self, 1)
    length = x.shape[d]
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {length} but size is "
                           f"{size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    xp = xp_of(x._data)
    windows = (length - size) // step + 1
    index = xp.arange(windows)[:, None] * step + xp.arange(size)[None, :]
    out = F.movedim(shape_ops.IndexSelect.apply(x, d, index), d + 1, -1)
    return F.reshape(out, (size,)) if self.ndim == 0 else out


def view_dtype(self, dtype):
    """Tensor.view(dtype): the same bytes read as another dtype (not differentiable); a
    different element size rescales the last dim, which must then be contiguous."""
    target = dtypes.get_dtype(dtype).np
    raw = self._data
    old, new = raw.dtype.itemsize, target.itemsize
    if old != new:
        how = f"to view {_scalar(raw.dtype)} as {_scalar(target)} (different element sizes)"
        if raw.ndim == 0:
            raise RuntimeError(f"self.dim() cannot be 0 {how}")
        if raw.shape[-1] != 1 and raw.strides[-1] != old:
            raise RuntimeError(f"self.stride(-1) must be 1 {how}")
        if new > old and (raw.shape[-1] * old) % new:
            raise RuntimeError(f"self.size(-1) must be divisible by {new // old} {how}, but "
                               f"got {raw.shape[-1]}")
    return F.Tensor._make(raw.view(target), False)


# ---------------------------------------------------------------- Tensor methods

_METHODS = ("tril triu diagonal diag_embed diag roll rot90 repeat_interleave tile "
            "unfold").split()


def install(Tensor):
    for name in _METHODS:
        setattr(Tensor, name, globals()[name])
    Tensor.tril_ = _inplace(tril)
    Tensor.triu_ = _inplace(triu)


install(F.Tensor)
