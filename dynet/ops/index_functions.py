"""Indexing functions beyond the core set (dynet.masked_select, masked_scatter, argwhere,
take, index_add, index_copy, index_fill, scatter, scatter_add, scatter_reduce), with
PyTorch's argument names and checks, plus their Tensor methods and in-place forms
(installed on Tensor by `install`).
"""
import builtins

import numpy as np

from ..backend import xp_of
from . import functions as F
from . import indexing
from ._out import write_out
from ._util import inplace_method as _inplace, normalize_dim


def _index_array(name, index, input, *, one_d=False):
    if not isinstance(index, F.Tensor):
        index = F.Tensor._make(xp_of(input._data).asarray(index), False)
    if index._data.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    if index.device != input.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {input.device} and {index.device}!")
    if one_d and index.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    return index._data.reshape(-1) if one_d else index._data


def _in_range(idx, n, d, kind, prefix="", lo=0):
    """idx checked against [lo, n) along dim d, with PyTorch's error (F.check_range: at once
    on the CPU, at the next host sync on CUDA); NumPy and CuPy would wrap a negative index."""
    def fail(value):
        raise kind(f"{prefix}index {value} is out of bounds for dimension {d} with size {n}")
    return F.check_range(idx, lo, n, fail)


def _value_tensor(value, like):
    if isinstance(value, F.Tensor):
        return value.to(like.dtype)
    return F.Tensor._make(xp_of(like._data).asarray(value, dtype=like._data.dtype), False)


# ---------------------------------------------------------------- masks

def _bool_mask(name, mask):
    if mask._data.dtype.kind != "b":
        raise RuntimeError(f"{name}: expected BoolTensor for mask")
    return mask


def masked_select(input, mask, *, out=None):  # noqa: A002 - PyTorch's argument names
    """The elements of input where mask (broadcast with it) is True, as a 1-D tensor."""
    _bool_mask("masked_select", mask)
    a, m = input, mask
    if input.shape != mask.shape:
        shape = np.broadcast_shapes(tuple(input.shape), tuple(mask.shape))
        a, m = F.expand(input, *shape), F.expand(mask, *shape)
    return write_out(F.getitem(a, (m._data,)), out, "masked_select")


def masked_scatter(input, mask, source):  # noqa: A002
    """input with its mask positions filled, in row-major order, from source's elements."""
    _bool_mask("masked_scatter_", mask)
    if source.dtype != input.dtype:
        raise RuntimeError(f"masked_scatter_: expected self and source to have same dtypes but "
                           f"got {input.dtype} and {source.dtype}")
    if mask.ndim > input.ndim or builtins.any(
            m != s and m != 1 for m, s in zip(mask.shape[::-1], input.shape[::-1])):
        raise RuntimeError(f"masked_scatter: mask of shape {tuple(mask.shape)} does not "
                           f"broadcast to input of shape {tuple(input.shape)}")
    return indexing.MaskedScatter.apply(input, mask, source)


def argwhere(input):  # noqa: A002
    """The indices of the non-zero elements, one row per element (as nonzero())."""
    return F.nonzero(input)


def take(input, index):  # noqa: A002
    """input treated as 1-D, indexed by `index` (the result has index's shape)."""
    idx = _index_array("take", index, input)
    if idx.dtype.kind not in "iu":
        raise RuntimeError("take(): Expected a long tensor for index")
    n = input.numel()
    if idx.size and not n:
        raise IndexError("take(): tried to take from an empty tensor")

    def fail(value):
        raise IndexError(f"out of range: tried to access index {value} on a tensor of {n} "
                         f"elements.")
    idx = F.check_range(idx, -n, n, fail)
    return indexing.GetItem.apply(F.reshape(input, -1), (idx,))


# ---------------------------------------------------------------- index_* along a dim

def _check_source(name, input, dim, n_index, source):
    expect = list(input.shape)
    if input.ndim:
        expect[dim] = n_index
    ok = list(source.shape) == expect or (input.ndim == 0 and source.numel() == n_index)
    if not ok:
        raise RuntimeError(f"{name}(): Source/destination tensor must have same slice shapes. "
                           f"Destination slice shape: {tuple(input.shape)} at dimension {dim} "
                           f"and source slice shape: {tuple(source.shape)} and index length "
                           f"{n_index}")
    if source.dtype != input.dtype:
        raise RuntimeError(f"{name}(): self ({input.dtype}) and source ({source.dtype}) must "
                           "have the same scalar type")


def _along_dim(input, dim):
    """(a at least 1-d, normalised dim, undo) for the index_* functions."""
    d = normalize_dim(dim, input.ndim)
    if input.ndim:
        return input, d, lambda t: t
    return F.reshape(input, 1), 0, lambda t: F.reshape(t, ())


def index_add(input, dim, index, source, *, alpha=1, out=None):  # noqa: A002
    """input with alpha * source added at `index` along dim (repeated indices accumulate)."""
    idx = _index_array("index_add", index, input, one_d=True)
    a, d, undo = _along_dim(input, dim)
    _check_source("index_add", input, d, idx.shape[0], source)
    idx = _in_range(idx, a.shape[d], d, RuntimeError)
    src = F.reshape(source, a.shape[:d] + (idx.shape[0],) + a.shape[d + 1:])
    if alpha != 1:
        src = F.mul(src, alpha)
    return write_out(undo(indexing.IndexAdd.apply(a, idx, src, d)), out, "index_add")


def index_copy(input, dim, index, source, *, out=None):  # noqa: A002
    """input with the slices at `index` along dim replaced by source's slices."""
    idx = _index_array("index_copy", index, input, one_d=True)
    a, d, undo = _along_dim(input, dim)
    _check_source("index_copy", input, d, idx.shape[0], source)
    idx = _in_range(idx, a.shape[d], d, IndexError, "index_copy_(): ")
    src = F.reshape(source, a.shape[:d] + (idx.shape[0],) + a.shape[d + 1:])
    return write_out(undo(indexing.IndexCopy.apply(a, idx, src, d)), out, "index_copy")


def index_fill(input, dim, index, value):  # noqa: A002
    """input with the slices at `index` along dim set to value (a number or a 0-d tensor,
    which gets the gradient of every filled element)."""
    idx = _index_array("index_fill", index, input, one_d=True)
    if isinstance(value, F.Tensor) and value.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value.ndim} dimension(s).")
    a, d, undo = _along_dim(input, dim)
    xp = xp_of(a._data)
    n = a.shape[d]
    idx = _in_range(idx, n, d, IndexError, lo=-n)
    chosen = xp.zeros(n, dtype=bool)
    chosen[idx] = True
    chosen = chosen.reshape((n,) + (1,) * (a.ndim - d - 1))
    return undo(F.where(F.Tensor._make(chosen, False), _value_tensor(value, a), a))


# ---------------------------------------------------------------- scatter

def _check_scatter(name, input, dim, index, src):
    idx = _index_array(name, index, input)
    if idx.dtype != np.int64:
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    if idx.ndim != input.ndim and not (idx.ndim <= 1 and input.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self "
                           "tensor")
    d = normalize_dim(dim, input.ndim)
    src_shape = src.shape if isinstance(src, F.Tensor) else None
    for i, s in enumerate(idx.shape):
        too_big = (i != d and input.ndim and s > input.shape[i]) or (
            src_shape is not None and len(src_shape) == idx.ndim and s > src_shape[i])
        if too_big:
            raise RuntimeError(f"Expected index {list(idx.shape)} to be no larger than self "
                               f"{list(input.shape)} apart from dimension {d}" +
                               ("" if src_shape is None else
                                f" and to be no larger size than src {list(src_shape)}"))
    if src_shape is not None and src.dtype != input.dtype:
        raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype")
    return _in_range(idx, input.shape[d] if input.ndim else 1, d, RuntimeError), d


def _scatter_1d(input, idx):
    """0-d inputs and indices scatter as 1-element 1-d ones."""
    a = input if input.ndim else F.reshape(input, 1)
    return a, idx.reshape(-1) if idx.ndim == 0 else idx


def _undo(result, input):
    return result if input.ndim else F.reshape(result, ())


def scatter(input, dim, index, src=None, *, value=None, reduce=None):  # noqa: A002
    """input with src's (or value's) elements written at `index` along dim; reduce='add' or
    'multiply' combines instead (the legacy form of scatter_reduce)."""
    if src is None and value is None:
        raise TypeError("scatter(): expected a src tensor or a value")
    source = src if src is not None else value
    idx, d = _check_scatter("scatter", input, dim, index, source)
    if reduce is not None:
        how = {"add": "sum", "multiply": "prod"}.get(reduce)
        if how is None:
            raise RuntimeError(f"reduce argument must be either add or multiply. Got {reduce}")
        if not isinstance(source, F.Tensor):
            source = F.Tensor._make(xp_of(input._data).full(idx.shape, source,
                                                            dtype=input._data.dtype), False)
        return scatter_reduce(input, dim, index, source, how)
    a, idx = _scatter_1d(input, idx)
    if isinstance(source, F.Tensor):
        source = source if source.ndim else F.reshape(source, 1)
    return _undo(indexing.Scatter.apply(a, idx, source, d), input)


def scatter_add(input, dim, index, src):  # noqa: A002
    """input with src's elements added at `index` along dim (repeats accumulate)."""
    return scatter_reduce(input, dim, index, src, "sum")


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):  # noqa: A002
    """src's elements reduced into input at `index` along dim with 'sum', 'prod', 'mean',
    'amax' or 'amin'; include_self=False leaves input's value out where anything lands."""
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)  # PyTorch takes these too
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    idx, d = _check_scatter("scatter_reduce", input, dim, index, src)
    a, idx = _scatter_1d(input, idx)
    s = src if src.ndim else F.reshape(src, 1)
    return _undo(indexing.ScatterReduce.apply(a, idx, s, d, reduce, builtins.bool(include_self)),
                 input)


# ---------------------------------------------------------------- Tensor methods

_METHODS = ("masked_select masked_scatter argwhere take index_add index_copy index_fill "
            "scatter scatter_add scatter_reduce").split()


def install(Tensor):
    for name in _METHODS:
        setattr(Tensor, name, globals()[name])
    for name in ("masked_scatter", "index_add", "index_copy", "index_fill", "scatter",
                 "scatter_add", "scatter_reduce"):
        setattr(Tensor, name + "_", _inplace(globals()[name]))


install(F.Tensor)
