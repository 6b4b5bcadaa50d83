"""Indexing: __getitem__ (basic and advanced), index_put for __setitem__, gather, and the
writes along one dim: index_add/index_copy, masked_scatter, scatter/scatter_reduce."""
import numpy as np

from ..autograd.function import Function
from ..backend import xp_of
from ..backend.kernels.scatter import index_add_at
from ._util import unbroadcast
from .scan import inclusive_scan


def has_int_array(index):
    """True when the index holds an integer array (repeats then must accumulate)."""
    for k in index if isinstance(index, tuple) else (index,):
        dt = getattr(k, "dtype", None)
        if dt is not None and dt.kind in "iu":
            return True
    return False


class Staged(tuple):
    """An index PyTorch applies in two steps, as NumPy's a[pre][self]: `pre` holds the
    integers (and the slices, None and Ellipsis), self the index arrays."""

    pre = ()


def _is_int(k):
    """A Python/NumPy integer or a 0-d integer array (a 0-d index tensor)."""
    if isinstance(k, (int, np.integer)):
        return not isinstance(k, bool)
    return getattr(k, "ndim", None) == 0 and k.dtype.kind in "iu"


def _is_bool(k):
    """A Python/NumPy bool or a 0-d bool array (a 0-d bool tensor)."""
    return isinstance(k, (bool, np.bool_)) or (
        getattr(k, "ndim", None) == 0 and k.dtype.kind == "b")


def torch_key(key):
    """`key` (a tuple of raw index items) with PyTorch's meaning.

    PyTorch applies integer indices (Python ints and 0-d integer tensors) first, as
    select(), and then the rest by NumPy's rules. NumPy instead counts an integer next to an
    index array as one more advanced index, so x[1, :, d] puts d's dimensions first (the
    advanced indices are separated by a slice) where PyTorch keeps them in place. A key with
    both becomes a Staged one; any other key is returned unchanged."""
    ints = arrays = False
    for k in key:
        if k is None or k is Ellipsis or isinstance(k, slice):
            continue
        if _is_int(k):
            ints = True
        elif _is_bool(k):
            continue
        elif getattr(k, "ndim", 0) == 0:  # what NumPy rejects, with its error
            return key
        else:
            arrays = True
    if not (ints and arrays):
        return key
    pre, rest = [], []
    xp = xp_of(next(k for k in key if getattr(k, "ndim", 0)))
    for k in key:
        if k is None:
            pre.append(None)
            rest.append(slice(None))  # the new axis exists after `pre`
        elif k is Ellipsis:
            pre.append(k)
            rest.append(k)
        elif isinstance(k, slice):
            pre.append(k)
            rest.append(slice(None))
        elif _is_int(k):
            pre.append(int(k))  # a 0-d index tensor is read, as PyTorch's item() does
        elif _is_bool(k):  # PyTorch: a new axis, indexed by [0] (True) or [] (False)
            pre.append(None)
            rest.append(xp.zeros(1 if k else 0, dtype=np.intp))
        else:
            pre.extend([slice(None)] * (k.ndim if k.dtype.kind == "b" else 1))
            rest.append(k)
    staged = Staged(rest)
    staged.pre = tuple(pre)
    return staged


def map_index_arrays(a, index, fn):
    """The raw key `index` (from torch_key) on the array a with each integer index array k
    replaced by fn(dim, size, k): the dim of a that k indexes and that dim's size."""
    pre = index.pre if type(index) is Staged else None
    if pre is not None:
        a, index = a[pre], tuple(index)  # a[pre] is basic indexing: a view
    key = index if isinstance(index, tuple) else (index,)

    def width(k):  # the dims of `a` that k consumes
        if k is None or k is Ellipsis or isinstance(k, (bool, np.bool_)):
            return 0
        return k.ndim if getattr(k, "dtype", None) is not None and k.dtype.kind == "b" else 1
    used = sum(width(k) for k in key)
    d, out = 0, []
    for k in key:
        if k is Ellipsis:
            d += a.ndim - used
        elif (d < a.ndim and not isinstance(k, np.generic) and hasattr(k, "ndim")
              and k.dtype.kind in "iu"):
            k = fn(d, a.shape[d], k)
        out.append(k)
        d += width(k)
    if pre is not None:
        out = Staged(out)
        out.pre = pre
        return out
    return tuple(out) if isinstance(index, tuple) else out[0]


def apply_key(a, index):
    """a[index] for a raw key from torch_key."""
    if type(index) is Staged:
        return a[index.pre][tuple(index)]
    return a[index]


def write_target(a, index):
    """(view, key): writing view[key] writes a[index] (a[pre] is a basic-indexing view)."""
    if type(index) is Staged:
        return a[index.pre], tuple(index)
    return a, index


class GetItem(Function):
    is_view = True  # basic indexing; advanced indexing copies (see views.make_view)
    @staticmethod
    def forward(ctx, a, index):
        ctx.meta = (a.shape, index)
        out = a[index] if type(index) is not Staged else apply_key(a, index)
        if isinstance(out, np.generic) and type(index) is not Staged:  # x[i, j]: a 0-d view
            out = a[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)]
        return out

    @staticmethod
    def backward(ctx, grad):
        shape, index = ctx.meta
        out = xp_of(grad).zeros(shape, dtype=grad.dtype)
        view, key = write_target(out, index)
        if has_int_array(key):
            index_add_at(view, key, grad)
        else:
            view[key] = grad
        return out, None


class IndexPut(Function):
    """out = a with out[index] = value (the differentiable form of __setitem__)."""

    @staticmethod
    def forward(ctx, a, index, value):
        out = a.copy()
        view, key = write_target(out, index)
        view[key] = value
        ctx.meta = (index, getattr(value, "shape", ()))
        return out

    @staticmethod
    def backward(ctx, grad):
        index, vshape = ctx.meta
        ga = gv = None
        if ctx.needs_input_grad[0]:
            ga = grad.copy()
            view, key = write_target(ga, index)
            view[key] = 0
        if ctx.needs_input_grad[2]:
            gv = unbroadcast(apply_key(grad, index), vshape)
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


# ---------------------------------------------------------------- index_* along one dim

def _along(dim, index):
    return (slice(None),) * dim + (index,)


class IndexAdd(Function):
    """out = a with source's slices added at `index` along dim (repeats accumulate)."""

    @staticmethod
    def forward(ctx, a, index, source, dim):
        out = a.copy()
        index_add_at(out, _along(dim, index), source)
        ctx.meta = (index, dim)
        return out

    @staticmethod
    def backward(ctx, grad):
        index, dim = ctx.meta
        return grad, None, xp_of(grad).take(grad, index, axis=dim), None


class IndexCopy(Function):
    """out = a with its slices at `index` along dim replaced by source's."""

    @staticmethod
    def forward(ctx, a, index, source, dim):
        out = a.copy()
        out[_along(dim, index)] = source
        ctx.meta = (index, dim)
        return out

    @staticmethod
    def backward(ctx, grad):
        index, dim = ctx.meta
        ga = grad.copy()
        ga[_along(dim, index)] = 0
        return ga, None, xp_of(grad).take(grad, index, axis=dim), None


class MaskedScatter(Function):
    """out = a with the True positions of mask filled, in order, from source's elements."""

    @staticmethod
    def forward(ctx, a, mask, source):
        xp = xp_of(a)
        mask = xp.broadcast_to(mask, a.shape)
        n = int(mask.sum())  # the count decides how many source elements are read
        if source.size < n:
            raise RuntimeError("masked_scatter: expected source to have at least as many "
                               f"elements as the ones in mask ({n}), got {source.size}")
        out = a.copy()
        out[mask] = source.reshape(-1)[:n]
        ctx.meta = (mask, n, source.shape)
        return out

    @staticmethod
    def backward(ctx, grad):
        mask, n, src_shape = ctx.meta
        xp = xp_of(grad)
        gsrc = xp.zeros(src_shape, dtype=grad.dtype).reshape(-1)
        gsrc[:n] = grad[mask]
        return xp.where(mask, 0, grad), None, gsrc.reshape(src_shape)


# ---------------------------------------------------------------- scatter along dim

def scatter_key(xp, index, dim):
    """(advanced-index key into the target, basic slice of src) for scatter at `index`."""
    return gather_index(xp, index, dim), tuple(slice(0, s) for s in index.shape)


class Scatter(Function):
    """out = a with out[index[i][j]][j] = src[i][j] (for dim 0), src a tensor or a number."""

    @staticmethod
    def forward(ctx, a, index, src, dim):
        xp = xp_of(a)
        key, sub = scatter_key(xp, index, dim)
        out = a.copy()
        is_array = hasattr(src, "shape")
        out[key] = src[sub] if is_array else src
        ctx.meta = (key, sub, src.shape if is_array else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        key, sub, src_shape = ctx.meta
        xp = xp_of(grad)
        ga = grad.copy()
        ga[key] = 0
        gsrc = None
        if src_shape is not None and ctx.needs_input_grad[2]:
            gsrc = xp.zeros(src_shape, dtype=grad.dtype)
            gsrc[sub] = grad[key]  # every src element at an index gets its gradient (PyTorch)
        return ga, None, gsrc, None


def _flat_positions(xp, key, shape, index_shape):
    """Row-major positions in a tensor of `shape` of the advanced-index `key` (whose parts
    broadcast to `index_shape`), flattened."""
    lin = 0
    stride = 1
    for axis in range(len(shape) - 1, -1, -1):
        lin = lin + key[axis] * stride
        stride *= shape[axis]
    return xp.broadcast_to(xp.asarray(lin), index_shape).reshape(-1).astype(np.int64)


def segment_reduce(op, positions, values):
    """(targets, reduced): `values` combined with `op` per distinct position (sorted)."""
    xp = xp_of(values)
    order = xp.argsort(positions, kind="stable") if xp is np else xp.argsort(positions)
    pos, vals = positions[order], values[order]
    scanned = inclusive_scan(op, vals, 0, segments=pos)
    last = xp.ones(pos.shape, dtype=bool)
    last[:-1] = pos[1:] != pos[:-1]
    return pos[last], scanned[last]


_REDUCERS = {"prod": "multiply", "amax": "maximum", "amin": "minimum"}


class ScatterReduce(Function):
    """scatter_reduce: src values at index along dim reduced into a copy of `a` with sum,
    prod, mean, amax or amin; include_self=False leaves a's old value out where something
    is scattered. Ties of amax/amin share the gradient evenly, as in PyTorch."""

    @staticmethod
    def forward(ctx, a, index, src, dim, reduce, include_self):
        xp = xp_of(a)
        key, sub = scatter_key(xp, index, dim)
        lin = _flat_positions(xp, key, a.shape, index.shape)
        v = xp.ascontiguousarray(src[sub]).reshape(-1)
        flat = a.reshape(-1)
        hit = xp.zeros(flat.shape, dtype=bool)
        hit[lin] = True
        if reduce in ("sum", "mean"):
            base = flat.copy() if include_self else xp.where(hit, 0, flat).astype(a.dtype)
            out = index_add_at(base, lin, v)
            if reduce == "mean":
                count = xp.bincount(lin, minlength=flat.size) + int(include_self)
                safe = xp.maximum(count, 1).astype(a.dtype)
                mean = out / safe if a.dtype.kind == "f" else out // safe
                out = xp.where(count > 0, mean, flat).astype(a.dtype)
        else:
            op = getattr(xp, _REDUCERS[reduce])
            targets, reduced = segment_reduce(op, lin, v)
            out = flat.copy()
            out[targets] = op(flat[targets], reduced) if include_self else reduced
        ctx.save_for_backward(flat, v, out)
        ctx.meta = (a.shape, src.shape, sub, lin, hit, reduce, include_self)
        return out.reshape(a.shape)

    @staticmethod
    def backward(ctx, grad):
        flat, v, out = ctx.saved_tensors
        shape, src_shape, sub, lin, hit, reduce, include_self = ctx.meta
        xp = xp_of(grad)
        g = grad.reshape(-1)
        size = flat.size
        if reduce == "sum":
            ga, gv = (g if include_self else xp.where(hit, 0, g)), g[lin]
        elif reduce == "mean":
            count = (xp.bincount(lin, minlength=size) + int(include_self)).astype(g.dtype)
            share = g / xp.maximum(count, 1)
            ga = xp.where(hit, share if include_self else 0, g)
            gv = share[lin]
        elif reduce in ("amax", "amin"):
            self_tie = hit & (flat == out) if include_self else xp.zeros(size, dtype=bool)
            v_tie = v == out[lin]
            ties = xp.bincount(lin, weights=v_tie.astype(g.dtype), minlength=size) + self_tie
            share = g / xp.where(ties > 0, ties, 1)
            ga = xp.where(hit, xp.where(self_tie, share, 0), g)
            gv = xp.where(v_tie, share[lin], 0)
        else:  # prod: the product of the other contributors, exact with zeros
            zeros = xp.bincount(lin, weights=(v == 0).astype(g.dtype), minlength=size)
            nonzero = xp.ones(size, dtype=g.dtype)
            targets, reduced = segment_reduce(xp.multiply, lin, xp.where(v == 0, 1, v))
            nonzero[targets] = reduced
            if include_self:
                zeros = zeros + (hit & (flat == 0))
                nonzero = nonzero * xp.where(hit & (flat != 0), flat, 1)

            def others(x, at):
                z, p = zeros[at], nonzero[at]
                return xp.where(x != 0, xp.where(z == 0, p / xp.where(x == 0, 1, x), 0),
                                xp.where(z == 1, p, 0))
            ga = xp.where(hit, g * others(flat, slice(None)) if include_self else 0, g)
            gv = g[lin] * others(v, lin)
        gsrc = None
        if ctx.needs_input_grad[2]:
            gsrc = xp.zeros(src_shape, dtype=grad.dtype)
            gsrc[sub] = gv.reshape(gsrc[sub].shape)
        return ga.reshape(shape), None, gsrc, None, None, None
