"""Scans and reductions beyond the core set (dynet.cumprod, cummax/cummin, logcumsumexp,
median/nanmedian, mode, nansum, nanmean, aminmax, bincount, histc, unique), with PyTorch's
argument names and `out=`, plus their Tensor methods (installed on Tensor by `install`).

Index-valued results (cummax, median, mode) pick their indices without autograd and take the
values with gather, so the gradient flows to the chosen elements exactly as in PyTorch.
"""
import builtins

import numpy as np

from .. import dtypes
from ..backend import xp_of
from . import functions as F
from . import scan
from ._out import scalar_name, write_out
from ._util import normalize_dim

ValuesIndices = F.ValuesIndices


class MinMax(tuple):
    """(min, max) with attribute access, like torch.return_types.aminmax."""

    def __new__(cls, min, max):  # noqa: A002 - PyTorch's field names
        return super().__new__(cls, (min, max))

    min = property(lambda self: self[0])  # noqa: A003
    max = property(lambda self: self[1])  # noqa: A003

    def __repr__(self):
        return f"return_types.aminmax(min={self[0]!r}, max={self[1]!r})"


def _index(xp, raw):
    return F.Tensor._make(xp.asarray(raw).astype(np.int64, copy=False), False)


def _at_least_1d(input):
    return input if input._data.ndim else F.reshape(input, 1)


def _restore(result, input):
    """Undoes _at_least_1d on a (values, indices) result for a 0-d input."""
    if input._data.ndim:
        return result
    return ValuesIndices(F.reshape(result[0], ()), F.reshape(result[1], ()))


def _positions(xp, n, ndim, d):
    shape = [1] * ndim
    shape[d] = n
    return xp.arange(n).reshape(shape)


def _float_only(name, input):
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"{name}\" not implemented for "
                                  f"'{scalar_name(input._data.dtype)}'")


# ---------------------------------------------------------------- scans

def cumsum(input, dim, *, dtype=None, out=None):  # noqa: A002 - PyTorch's argument names
    return write_out(F.cumsum(input, dim, dtype=dtype), out, "cumsum")


def cumprod(input, dim, *, dtype=None, out=None):  # noqa: A002
    """Cumulative product along dim (integers and bools accumulate as int64)."""
    if dtype is not None:
        input = input.to(dtypes.get_dtype(dtype))
    elif input._data.dtype.kind in "biu":
        input = input.to(dtypes.int64)
    d = normalize_dim(dim, input._data.ndim)
    x = _at_least_1d(input)
    res = scan.Cumprod.apply(x, d)
    return write_out(res if input._data.ndim else F.reshape(res, ()), out, "cumprod")


def _cumulative_extreme(name, input, dim, op, out):
    d = normalize_dim(dim, input._data.ndim)
    x = _at_least_1d(input)
    raw = x._data
    xp = xp_of(raw)
    running = scan.inclusive_scan(op(xp), raw, d)
    # the index is the last position holding the running extreme (ties take the later one,
    # as PyTorch's >=); once a nan appears it is the last nan, as PyTorch propagates nan
    hit = raw == running
    if raw.dtype.kind == "f":
        hit = hit | xp.isnan(raw)
    pos = _positions(xp, raw.shape[d], raw.ndim, d)
    idx = scan.inclusive_scan(xp.maximum, xp.where(hit, pos, 0), d)
    index = _index(xp, idx)
    result = _restore(ValuesIndices(F.gather(x, d, index), index), input)
    return write_out(result, out, name)


def cummax(input, dim, *, out=None):  # noqa: A002
    """(values, indices) of the running maximum along dim."""
    return _cumulative_extreme("cummax", input, dim, lambda xp: xp.maximum, out)


def cummin(input, dim, *, out=None):  # noqa: A002
    """(values, indices) of the running minimum along dim."""
    return _cumulative_extreme("cummin", input, dim, lambda xp: xp.minimum, out)


def logcumsumexp(input, dim, *, out=None):  # noqa: A002
    """log(cumsum(exp(input))) along dim, computed stably (pairwise logaddexp)."""
    _float_only("logcumsumexp_out_cpu", input)
    d = normalize_dim(dim, input._data.ndim)
    x = _at_least_1d(input)
    res = scan.LogCumSumExp.apply(x, d)
    return write_out(res if input._data.ndim else F.reshape(res, ()), out, "logcumsumexp")


# ---------------------------------------------------------------- order statistics

def _nan_count(xp, raw, d):
    if raw.dtype.kind != "f":
        return xp.zeros([1 if i == d else s for i, s in enumerate(raw.shape)], np.int64)
    return xp.isnan(raw).sum(axis=d, keepdims=True)


def _stable_argsort(xp, raw, d):
    return xp.argsort(raw, axis=d, kind="stable") if xp is np else xp.argsort(raw, axis=d)


def _median(name, input, dim, keepdim, ignore_nan):
    if dim is None:
        flat = F.reshape(input, -1)
        if not flat._data.size:
            xp = xp_of(input._data)
            return F.Tensor._make(xp.asarray(xp.nan, dtype=input._data.dtype), False)
        return _median(name, flat, 0, False, ignore_nan).values
    d = normalize_dim(dim, input._data.ndim)
    x = _at_least_1d(input)
    raw = x._data
    n = raw.shape[d]
    if n == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    xp = xp_of(raw)
    order = _stable_argsort(xp, raw, d)  # nan sorts last, in input order
    nans = _nan_count(xp, raw, d)
    if ignore_nan:
        k = xp.maximum((n - nans - 1) // 2, 0)
    else:  # median propagates nan: take the first nan
        k = xp.where(nans > 0, n - nans, (n - 1) // 2)
    index = _index(xp, xp.take_along_axis(order, k.astype(order.dtype), axis=d))
    values = F.gather(x, d, index)
    if not keepdim:
        values, index = F.squeeze(values, d), F.squeeze(index, d)
    return _restore(ValuesIndices(values, index), input)


def median(input, dim=None, keepdim=False, *, out=None):  # noqa: A002
    """The lower median: of all elements (a 0-d tensor), or (values, indices) along dim."""
    return write_out(_median("median", input, dim, keepdim, False), out, "median")


def nanmedian(input, dim=None, keepdim=False, *, out=None):  # noqa: A002
    """median() ignoring nan (nan only where a row is all nan)."""
    return write_out(_median("nanmedian", input, dim, keepdim, True), out, "nanmedian")


def mode(input, dim=-1, keepdim=False, *, out=None):  # noqa: A002
    """(values, indices): the most frequent value along dim (the smallest among equally
    frequent ones) and the index of its last occurrence, as PyTorch."""
    d = normalize_dim(dim, input._data.ndim)
    x = _at_least_1d(input)
    raw = x._data
    n = raw.shape[d]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    xp = xp_of(raw)
    order = xp.moveaxis(_stable_argsort(xp, raw, d), d, -1)
    s = xp.take_along_axis(xp.moveaxis(raw, d, -1), order, axis=-1)
    start = xp.ones(s.shape, dtype=bool)
    start[..., 1:] = s[..., 1:] != s[..., :-1]
    end = xp.ones(s.shape, dtype=bool)
    end[..., :-1] = start[..., 1:]
    pos = xp.arange(n)
    run_start = scan.inclusive_scan(xp.maximum, xp.where(start, pos, 0), -1)
    length = xp.where(end, pos - run_start + 1, 0)
    best = xp.argmax(length, axis=-1)[..., None]  # the first longest run: the smallest value
    index = _index(xp, xp.moveaxis(xp.take_along_axis(order, best, axis=-1), -1, d))
    values = F.gather(x, d, index)
    if not keepdim:
        values, index = F.squeeze(values, d), F.squeeze(index, d)
    return write_out(_restore(ValuesIndices(values, index), input), out, "mode")


# ---------------------------------------------------------------- nan-aware and paired

def nansum(input, dim=None, keepdim=False, *, dtype=None, out=None):  # noqa: A002
    """sum() treating nan as zero (its gradient there is zero)."""
    if input._data.dtype.kind == "f":
        input = F.masked_fill(input, F.isnan(input), 0)
    return write_out(F.sum(input, dim, keepdim, dtype), out, "nansum")


def nanmean(input, dim=None, keepdim=False, *, dtype=None, out=None):  # noqa: A002
    """mean() over the elements that are not nan."""
    if dtype is not None:
        input = input.to(dtypes.get_dtype(dtype))
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex "
                           f"dtype but got {input.dtype}")
    count = F.sum(F.logical_not(F.isnan(input)), dim, keepdim)
    with np.errstate(invalid="ignore"):  # an all-nan slice is 0 / 0 = nan, quietly
        res = F.div(nansum(input, dim, keepdim), count.to(input.dtype))
    return write_out(res, out, "nanmean")


def aminmax(input, *, dim=None, keepdim=False, out=None):  # noqa: A002
    """(min, max) over all elements or along dim; both differentiable."""
    if not input._data.size and (dim is None or input._data.ndim == 0 or
                                 input._data.shape[normalize_dim(dim, input.ndim)] == 0):
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                           "operation has no identity.")
    d = () if dim is None else dim
    return write_out(MinMax(F.amin(input, d, keepdim), F.amax(input, d, keepdim)), out,
                     "aminmax")


# ---------------------------------------------------------------- counting

def bincount(input, weights=None, minlength=0):  # noqa: A002
    """Counts (or sums `weights`) per non-negative integer value; not differentiable."""
    raw = input._data
    xp = xp_of(raw)
    if raw.ndim != 1 or raw.dtype.kind not in "biu" or (raw.size and builtins.int(raw.min())
                                                          < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    w = None
    if weights is not None:
        if weights.shape != input.shape:
            raise RuntimeError("weights should be 1-d and have the same length as input")
        w = weights._data
        # float weights keep their dtype; integer weights are summed as float64, as PyTorch
        w = w if w.dtype.kind == "f" else w.astype(np.float64)
    counts = xp.bincount(raw.astype(np.int64, copy=False), weights=w, minlength=minlength)
    return F.Tensor._make(counts.astype(np.int64 if w is None else w.dtype, copy=False), False)


def histc(input, bins=100, min=0, max=0, *, out=None):  # noqa: A002
    """Histogram of `bins` equal bins over [min, max] (the data's range when min == max);
    values outside are ignored, the last bin includes max. Not differentiable."""
    raw = input._data
    if raw.dtype.kind != "f":
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for "
                                  f"'{scalar_name(raw.dtype)}'")
    if bins <= 0:
        raise RuntimeError("torch.histc: bins must be > 0")
    xp = xp_of(raw)
    lo, hi = builtins.float(min), builtins.float(max)
    if lo == hi and raw.size:
        lo, hi = builtins.float(raw.min()), builtins.float(raw.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo}, {hi}] is not finite")
    flat = raw.reshape(-1)
    keep = (flat >= lo) & (flat <= hi)  # nan compares False: ignored
    # PyTorch's bin rule: floor((x - min) * bins / (max - min)), max itself in the last bin
    pos = ((flat[keep] - lo) * (bins / (hi - lo))).astype(np.int64)
    pos = xp.minimum(pos, bins - 1)
    counts = xp.bincount(pos, minlength=bins)[:bins]
    return write_out(F.Tensor._make(counts.astype(raw.dtype), False), out, "histc")


def unique(input, sorted=True, return_inverse=False, return_counts=False,  # noqa: A002
           dim=None):
    """Sorted unique values (always sorted, which sorted=False allows), optionally with the
    inverse indices (input's shape, or dim's length) and the counts."""
    raw = input._data
    xp = xp_of(raw)
    if dim is None:
        values, inverse, counts = xp.unique(raw.reshape(-1), return_inverse=True,
                                            return_counts=True)
        inverse = inverse.reshape(raw.shape)
    else:
        d = normalize_dim(dim, raw.ndim)
        values, inverse, counts = xp.unique(xp.moveaxis(raw, d, 0), axis=0,
                                            return_inverse=True, return_counts=True)
        values = xp.moveaxis(values, 0, d)
        inverse = inverse.reshape(-1)
    out = [F.Tensor._make(values, False)]
    if return_inverse:
        out.append(_index(xp, inverse))
    if return_counts:
        out.append(_index(xp, counts))
    return out[0] if len(out) == 1 else tuple(out)


# ---------------------------------------------------------------- Tensor methods

_METHODS = ("cumsum cumprod cummax cummin logcumsumexp median nanmedian mode nansum nanmean "
            "aminmax bincount histc unique").split()


def _inplace_scan(fn):
    def method(self, dim, *, dtype=None):
        return self._inplace(lambda s: fn(s, dim, dtype=dtype))
    method.__name__ = method.__qualname__ = fn.__name__ + "_"
    method.__doc__ = f"In-place {fn.__name__}."
    return method


def install(Tensor):
    for name in _METHODS:
        setattr(Tensor, name, globals()[name])
    Tensor.cumsum_ = _inplace_scan(cumsum)
    Tensor.cumprod_ = _inplace_scan(cumprod)


install(F.Tensor)
