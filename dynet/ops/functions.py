"""Tensor-level functions (dynet.add, dynet.cat, ...): argument handling around the ops.

Each function normalises PyTorch-style arguments, promotes dtypes the way PyTorch does, and
calls one Function. Tensor methods delegate here.
"""
import builtins

import numpy as np

from .. import dtypes
from ..autograd import grad_mode, views
from ..autograd.function import apply1, apply2
from ..backend import deferred, move, xp_of
from . import elementwise as ew
from .. import random
from . import convert, indexing, linalg, reduce
from . import softmax as softmax_ops
from . import shape as shape_ops
from ._util import normalize_dim, normalize_dims

_PY_NUMBER = (int, float, bool)


# ---------------------------------------------------------------- promotion helpers

def _is_float(dtype):
    return dtype.kind == "f"


def promote_types(d1, d2):
    """torch.promote_types on NumPy dtypes: an integer or bool meeting a float takes the float.

    (NumPy would widen int64 + float16 to float64; PyTorch keeps float16.)
    """
    if d1 == d2:
        return d1
    f1, f2 = d1.kind == "f", d2.kind == "f"
    if f1 != f2:
        return d1 if f1 else d2
    return np.promote_types(d1, d2)


_BOOL, _INT64 = np.dtype(np.bool_), np.dtype(np.int64)


def _combine(higher, lower):
    # PyTorch's combine_categories: a lower-priority operand only matters when it is of a
    # higher category (bool < integer < float) than the higher-priority one
    if higher is None:
        return lower
    if lower is None or higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return promote_types(higher, lower)
    return higher


def result_type(*operands):
    """PyTorch's result dtype: tensors with dims > 0-d tensors > Python numbers, by category.

    So int64 + float32 -> float32, int tensor * 1.5 -> float32 (the default dtype), and
    float32 tensor + float64 0-d tensor -> float32. None operands are ignored.
    """
    dim = zero = scalar = None
    for x in operands:
        if isinstance(x, Tensor):
            d = x._data.dtype
            if x._data.ndim:
                dim = d if dim is None else promote_types(dim, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
        elif x is not None:
            d = _BOOL if isinstance(x, bool) else _INT64 if isinstance(x, int) else \
                dtypes.get_default_dtype().np
            scalar = d if scalar is None else promote_types(scalar, d)
    return _combine(dim, _combine(zero, scalar))


def _cast(x, np_dtype):
    if isinstance(x, Tensor) and x._data.dtype != np_dtype:
        return cast(x, np_dtype)
    return x


def _promote_pair(a, b):
    """Casts tensor operands to PyTorch's result dtype; Python numbers stay as they are.

    NumPy treats Python numbers as weakly typed (NEP 50), so float32 array * 2.5 stays float32.
    """
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if a._data.dtype == b._data.dtype:
            return a, b
    elif isinstance(a, Tensor):
        if a._data.dtype.kind == "f":
            return a, b  # the common case: a float tensor with a Python number
    elif isinstance(b, Tensor):
        if b._data.dtype.kind == "f":
            return a, b
    dt = result_type(a, b)
    return _cast(a, dt), _cast(b, dt)


def _operand(x):
    if isinstance(x, Tensor):
        return x
    # np.float64 subclasses float: turn NumPy scalars into Python numbers before the check
    # below, so that they are weakly typed, as PyTorch treats them
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, _PY_NUMBER):
        return x
    if isinstance(x, (list, tuple, np.ndarray)):
        return Tensor._make(np.asarray(x), False) if not isinstance(x, np.ndarray) else \
            Tensor._make(x, False)
    raise TypeError(f"unsupported operand type: {type(x).__name__}")


def _binary(fn, a, b):
    # Fast path, no promotion needed: two tensors of one dtype, or a float tensor with a
    # Python float or int (weakly typed, NEP 50). Everything else goes through _operand.
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            da, db = a._data.dtype, b._data.dtype
            if da is db or da == db:
                return fn.apply(a, b)
        elif type(b) in _FLOAT_INT and a._data.dtype.kind == "f":
            return fn.apply(a, b)
    elif type(a) in _FLOAT_INT and isinstance(b, Tensor) and b._data.dtype.kind == "f":
        return fn.apply(a, b)
    a, b = _promote_pair(_operand(a), _operand(b))
    return fn.apply(a, b)


_FLOAT_INT = (float, int)  # exact types: bool and NumPy scalars take the general path


def _check_broadcast(name, a, b):
    sa, sb = getattr(a, "shape", ()), getattr(b, "shape", ())
    try:
        np.broadcast_shapes(tuple(sa), tuple(sb))
    except ValueError:
        raise RuntimeError(f"{name}: the size of tensor a {tuple(sa)} must match the size of "
                           f"tensor b {tuple(sb)} (shapes cannot be broadcast)") from None


# ---------------------------------------------------------------- arithmetic

def add(input, other, alpha=1):
    if alpha != 1:
        other = mul(other, alpha)
    try:
        return _binary(ew.Add, input, other)
    except ValueError:
        _check_broadcast("add", input, other)
        raise


def sub(input, other, alpha=1):
    if _is_bool(input) or _is_bool(other):  # PyTorch's errors (NumPy's differ, or none)
        if _is_bool(input) and _is_bool(other):
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                               "supported. Use the `^` or `logical_xor()` operator instead.")
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not "
                           "supported. If you are trying to invert a mask, use the `~` or "
                           "`logical_not()` operator instead.")
    if alpha != 1:
        other = mul(other, alpha)
    try:
        return _binary(ew.Sub, input, other)
    except ValueError:
        _check_broadcast("sub", input, other)
        raise


def _is_bool(x):
    if isinstance(x, Tensor):
        return x._data.dtype.kind == "b"
    return isinstance(x, (bool, np.bool_))


def mul(input, other):
    try:
        return _binary(ew.Mul, input, other)
    except ValueError:
        _check_broadcast("mul", input, other)
        raise


def div(input, other, rounding_mode=None):
    input, other = _operand(input), _operand(other)
    dt = result_type(input, other)
    if rounding_mode is not None:
        return _rounded_div(_cast(input, dt), _cast(other, dt), dt, rounding_mode)
    if dt.kind != "f":
        dt = dtypes.get_default_dtype().np  # true division always gives a float, as in PyTorch
    input, other = _cast(input, dt), _cast(other, dt)
    try:
        return ew.Div.apply(input, other)
    except ValueError:
        _check_broadcast("div", input, other)
        raise


def _operator(fn, general, kinds=None):
    """Tensor.__add__ and friends: operands of one dtype (of one of `kinds` if given: no
    bools for sub, floats for div), or a float tensor with an exact Python float or int, go
    straight to fn.apply, one Python frame for the whole call; anything else (promotion,
    lists, PyTorch's errors) takes `general`."""
    def op(self, other):
        dt = self._data.dtype
        if isinstance(other, Tensor):
            do = other._data.dtype
            if (dt is do or dt == do) and (kinds is None or dt.kind in kinds):
                try:
                    return apply2(fn, self, other)
                except ValueError:
                    pass  # shapes that do not broadcast: general() raises PyTorch's error
        elif type(other) in _FLOAT_INT and dt.kind == "f":
            return apply2(fn, self, other)
        return general(self, other)
    op.__name__ = op.__qualname__ = f"__{general.__name__}__"
    return op


# Tensor's arithmetic operators (installed by tensor.py): alpha and rounding_mode at their
# defaults
OPERATORS = {"__add__": _operator(ew.Add, add), "__sub__": _operator(ew.Sub, sub, "iufc"),
             "__mul__": _operator(ew.Mul, mul), "__truediv__": _operator(ew.Div, div, "f")}


def _rounded_div(a, b, dt, mode):
    """div with rounding_mode 'floor' (Python's //) or 'trunc'; not differentiable."""
    ra = a._data if isinstance(a, Tensor) else a
    rb = b._data if isinstance(b, Tensor) else b
    xp = xp_of(ra if isinstance(a, Tensor) else rb)
    if dt.kind in "iu" and mode in ("floor", "trunc"):
        _check_divisor(xp, ra, rb)
    if mode == "floor":
        q = xp.floor_divide(ra, rb)
    elif mode == "trunc":
        if dt.kind == "f":
            q = xp.trunc(ra / rb)
        else:  # exact for integers: floor, then step towards zero where it rounded down
            q = xp.floor_divide(ra, rb)
            q = q + ((q < 0) & (q * rb != ra))
    else:
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or "
                           f"'floor' but found '{mode}'")
    return Tensor._make(xp.asarray(q).astype(dt, copy=False), False)


def _check_divisor(xp, ra, rb):
    """PyTorch's RuntimeError for an integer division with a zero divisor in some element
    of the result (NumPy warns and gives 0): at once on the CPU, at the next host sync on
    CUDA (backend/deferred.py)."""
    if getattr(ra, "size", 1) == 0 or getattr(rb, "size", 1) == 0:
        return
    bad = (xp.asarray(rb) == 0).any()

    def fail():
        raise RuntimeError("ZeroDivisionError")
    if xp is np:
        if bad:
            fail()
    else:
        deferred.defer(bad, fail)


def pow(input, exponent):  # noqa: A001 - PyTorch's name
    input, exponent = _operand(input), _operand(exponent)
    if result_type(input, exponent).kind in "biu":
        return _integer_pow(input, exponent)
    return _binary(ew.Pow, input, exponent)


def _integer_pow(a, b):
    """Integer powers, not differentiable: a negative Python exponent raises, as PyTorch;
    negative exponents in a tensor give 1 / a**|b| rounded towards zero (1, -1 or 0)."""
    if isinstance(b, builtins.int) and not isinstance(b, builtins.bool) and b < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    a, b = _promote_pair(a, b)
    ra = a._data if isinstance(a, Tensor) else a
    rb = b._data if isinstance(b, Tensor) else b
    xp = xp_of(ra if isinstance(a, Tensor) else rb)
    ra, rb = xp.asarray(ra), xp.asarray(rb)
    neg = rb < 0
    out = ra ** xp.where(neg, 0, rb).astype(rb.dtype)
    if rb.dtype.kind == "i":
        odd = (rb % 2) != 0
        inv = xp.where(ra == 1, 1, xp.where(ra == -1, xp.where(odd, -1, 1), 0))
        out = xp.where(neg, inv.astype(out.dtype), out)
    dt = result_type(a, b)
    return Tensor._make(xp.asarray(out).astype(dt, copy=False), False)


def neg(input):
    return ew.Neg.apply(input)


def _float_unary(fn):
    def op(input):
        if not _is_float(input._data.dtype):
            input = input.to(dtypes.get_default_dtype())
        return fn.apply(input)
    op.__name__ = fn.__name__.lower()
    op.__doc__ = f"Elementwise {op.__name__}."
    return op


exp = _float_unary(ew.Exp)
log = _float_unary(ew.Log)
log1p = _float_unary(ew.Log1p)
sqrt = _float_unary(ew.Sqrt)
rsqrt = _float_unary(ew.Rsqrt)
sin = _float_unary(ew.Sin)
cos = _float_unary(ew.Cos)
tanh = _float_unary(ew.Tanh)
sigmoid = _float_unary(ew.Sigmoid)


def abs(input):  # noqa: A001
    return ew.Abs.apply(input)


def relu(input):
    return apply1(ew.Relu, input)


def sign(input):
    return ew.Sign.apply(input)


def square(input):
    return mul(input, input)


def clamp(input, min=None, max=None):  # noqa: A002 - PyTorch's argument names
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    lo = _operand(min) if min is not None else None
    hi = _operand(max) if max is not None else None
    dt = result_type(input, lo, hi)
    return ew.Clamp.apply(_cast(input, dt), _cast(lo, dt), _cast(hi, dt))


clip = clamp


def maximum(input, other):
    return _binary(ew.Maximum, input, other)


def minimum(input, other):
    return _binary(ew.Minimum, input, other)


def where(condition, input=None, other=None):
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    input, other = _operand(input), _operand(other)
    dt = result_type(input, other)
    xp = xp_of(condition._data)
    # Python numbers become 0-d arrays of the result dtype: where() has no weak scalars on
    # every backend
    input = _cast(input, dt) if isinstance(input, Tensor) else \
        Tensor._make(xp.asarray(input, dtype=dt), False)
    other = _cast(other, dt) if isinstance(other, Tensor) else \
        Tensor._make(xp.asarray(other, dtype=dt), False)
    return ew.Where.apply(condition, input, other)


def lerp(start, end, weight):
    return add(start, mul(sub(end, start), weight))


# ---------------------------------------------------------------- comparisons (no grad)

def _compare(ufunc_name):
    def op(input, other):
        input, other = _operand(input), _operand(other)
        ra = input._data if isinstance(input, Tensor) else input
        rb = other._data if isinstance(other, Tensor) else other
        if isinstance(input, Tensor) and isinstance(other, Tensor) and input.device != other.device:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at "
                               f"least two devices, {input.device} and {other.device}!")
        xp = xp_of(ra if isinstance(input, Tensor) else rb)
        return Tensor._make(getattr(xp, ufunc_name)(ra, rb), False)
    op.__name__ = ufunc_name
    return op


eq = _compare("equal")
ne = _compare("not_equal")
lt = _compare("less")
le = _compare("less_equal")
gt = _compare("greater")
ge = _compare("greater_equal")
logical_and = _compare("logical_and")
logical_or = _compare("logical_or")
logical_xor = _compare("logical_xor")


def logical_not(input):
    return Tensor._make(xp_of(input._data).logical_not(input._data), False)


def isnan(input):
    return Tensor._make(xp_of(input._data).isnan(input._data), False)


def isinf(input):
    return Tensor._make(xp_of(input._data).isinf(input._data), False)


def isfinite(input):
    return Tensor._make(xp_of(input._data).isfinite(input._data), False)


def equal(input, other):
    """True if both have the same shape and elements (one host sync)."""
    return input.shape == other.shape and builtins.bool((input._data == other._data).all())


def allclose(input, other, rtol=1e-5, atol=1e-8, equal_nan=False):
    return builtins.bool(xp_of(input._data).allclose(input._data, other._data, rtol=rtol, atol=atol,
                                                 equal_nan=equal_nan))


def isclose(input, other, rtol=1e-5, atol=1e-8, equal_nan=False):
    other = other._data if isinstance(other, Tensor) else other
    return Tensor._make(xp_of(input._data).isclose(input._data, other, rtol=rtol, atol=atol,
                                               equal_nan=equal_nan), False)


# ---------------------------------------------------------------- reductions

def _dims(dim, axis):
    if dim is not None and axis is not None:  # axis is NumPy's name for dim, as in PyTorch
        raise TypeError("got multiple values for argument 'dim' (axis is its alias)")
    return axis if dim is None else dim


def sum(input, dim=None, keepdim=False, dtype=None, axis=None):  # noqa: A001
    if dim is None and axis is None and dtype is None and not keepdim \
            and input._data.dtype.kind == "f":
        return apply1(reduce.Sum, input)  # x.sum(): one argument, no keywords
    dim = _dims(dim, axis)
    np_dtype = dtypes.get_dtype(dtype).np if dtype is not None else None
    if np_dtype is None and input._data.dtype.kind in "biu":
        np_dtype = np.int64  # PyTorch sums bools and integers as int64
    return reduce.Sum.apply(input, dim, keepdim, np_dtype)


def mean(input, dim=None, keepdim=False, dtype=None, axis=None):
    dim = _dims(dim, axis)
    if dtype is not None:
        input = input.to(dtypes.get_dtype(dtype))
    if not _is_float(input._data.dtype):
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either "
                           f"a floating point or complex dtype. Got: {input.dtype}")
    return reduce.Mean.apply(input, dim, keepdim)


def var(input, dim=None, unbiased=None, keepdim=False, correction=None):
    if isinstance(dim, bool):  # the overload var(input, unbiased)
        dim, unbiased = None, dim
    if not _is_float(input._data.dtype):
        raise RuntimeError(f"std and var only support floating point and complex dtypes "
                           f"(got {input.dtype})")
    if unbiased is not None and correction is None:
        correction = 1 if unbiased else 0
    if correction is None:
        correction = 1
    return reduce.Var.apply(input, dim, correction, keepdim)


def std(input, dim=None, unbiased=None, keepdim=False, correction=None):
    return sqrt(var(input, dim, unbiased, keepdim, correction))


def var_mean(input, dim=None, unbiased=None, keepdim=False, correction=None):
    return var(input, dim, unbiased, keepdim, correction), mean(input, dim, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, correction=None):
    return std(input, dim, unbiased, keepdim, correction), mean(input, dim, keepdim)


def prod(input, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        input = input.to(dtypes.get_dtype(dtype))
    return reduce.Prod.apply(input, dim, keepdim)


def amax(input, dim=(), keepdim=False):
    dim = None if dim == () else dim
    _check_reducible("amax", input, dim)
    return reduce.Amax.apply(input, dim, keepdim, True)


def amin(input, dim=(), keepdim=False):
    dim = None if dim == () else dim
    _check_reducible("amin", input, dim)
    return reduce.Amax.apply(input, dim, keepdim, False)


def _check_reducible(name, a, dim):
    """PyTorch's errors for max/min/argmax-like reductions of an empty input (NumPy has
    no identity for them): IndexError for an empty reduced dim, RuntimeError (IndexError
    for argmax/argmin) for a full reduction of an empty tensor."""
    shape = a._data.shape
    if dim is None:
        if a._data.size == 0:
            if name.startswith("arg"):
                raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                                 f"input.numel() == 0.")
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               f"input.numel() == 0. Specify the reduction dim with the 'dim' "
                               f"argument.")
        return
    for d in normalize_dims(dim, a.ndim):
        if shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


class ValuesIndices(tuple):
    """(values, indices) pair with attribute access, like torch.return_types."""

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])

    def __repr__(self):
        return f"return_types(values={self[0]!r}, indices={self[1]!r})"


def _extreme(a, dim, keepdim, largest):
    if isinstance(dim, Tensor):  # max(a, b) elementwise
        return maximum(a, dim) if largest else minimum(a, dim)
    name = "max" if largest else "min"
    if dim is None:
        _check_reducible(name, a, None)
        return reduce.Amax.apply(a, None, False, largest)
    d = normalize_dim(dim, a.ndim)
    _check_reducible(name, a, d)
    xp = xp_of(a._data)
    raw = a._data if a._data.ndim else a._data.reshape(1)
    arg = (xp.argmax if largest else xp.argmin)(raw, axis=d if a._data.ndim else 0)
    idx = xp.expand_dims(arg, d if a._data.ndim else 0)
    values = _gather(a if a._data.ndim else a.reshape(1), d if a._data.ndim else 0,
                     Tensor._make(idx, False))
    if not keepdim or not a._data.ndim:
        values = values.squeeze(d if a._data.ndim else 0)
        idx = arg
    return ValuesIndices(values, Tensor._make(xp.asarray(idx).astype(np.int64, copy=False),
                                              False))


def max(input, dim=None, keepdim=False, *, other=None):  # noqa: A001
    """The largest element, (values, indices) along dim, or maximum(input, other)."""
    return _extreme(input, dim if other is None else other, keepdim, True)


def min(input, dim=None, keepdim=False, *, other=None):  # noqa: A001
    """The smallest element, (values, indices) along dim, or minimum(input, other)."""
    return _extreme(input, dim if other is None else other, keepdim, False)


def argmax(input, dim=None, keepdim=False):
    return _argext(input, dim, keepdim, True)


def argmin(input, dim=None, keepdim=False):
    return _argext(input, dim, keepdim, False)


def _argext(a, dim, keepdim, largest):
    xp = xp_of(a._data)
    f = xp.argmax if largest else xp.argmin
    _check_reducible("argmax" if largest else "argmin", a, dim)
    if dim is None:
        out = xp.asarray(f(a._data.reshape(-1)))
        if keepdim:
            out = out.reshape((1,) * a.ndim)
    else:
        d = normalize_dim(dim, a.ndim)
        out = f(a._data, axis=d) if a.ndim else xp.asarray(0)
        if keepdim and a.ndim:
            out = xp.expand_dims(out, d)
    return Tensor._make(out.astype(np.int64, copy=False), False)


def logsumexp(input, dim, keepdim=False):
    return reduce.LogSumExp.apply(input, dim, keepdim)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        input = input.to(dtypes.get_dtype(dtype))
    if p in ("fro", None):
        p = 2
    if p == "nuc":
        from .linalg_functions import matrix_norm
        return matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim)
    return reduce.Norm.apply(input, float(p), dim, keepdim)


def cumsum(input, dim, dtype=None):
    if dtype is not None:
        input = input.to(dtypes.get_dtype(dtype))
    elif input._data.dtype.kind in "biu":
        input = input.to(dtypes.int64)  # PyTorch accumulates integers and bools as int64
    d = normalize_dim(dim, input.ndim)
    if input.ndim == 0:
        return reshape(reduce.Cumsum.apply(reshape(input, 1), 0), ())
    return reduce.Cumsum.apply(input, d)


def any(input, dim=None, keepdim=False):  # noqa: A001
    axes = None if dim is None else normalize_dims(dim, input.ndim)
    return Tensor._make(xp_of(input._data).asarray(input._data.any(axis=axes, keepdims=keepdim)),
                        False)


def all(input, dim=None, keepdim=False):  # noqa: A001
    axes = None if dim is None else normalize_dims(dim, input.ndim)
    return Tensor._make(xp_of(input._data).asarray(input._data.all(axis=axes, keepdims=keepdim)),
                        False)


def count_nonzero(input, dim=None):
    axes = None if dim is None else normalize_dims(dim, input.ndim)
    xp = xp_of(input._data)
    return Tensor._make(xp.asarray(xp.count_nonzero(input._data, axis=axes)).astype(np.int64),
                        False)


def nonzero(input, *, out=None, as_tuple=False):  # noqa: A002
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one per dim."""
    from ._out import write_out
    xp = xp_of(input._data)
    raw = input._data if input._data.ndim else input._data.reshape(1)  # NumPy 2 refuses 0-d
    idx = xp.nonzero(raw)
    if as_tuple:
        return tuple(Tensor._make(i.astype(np.int64), False) for i in idx)
    rows = xp.stack(idx, axis=1).astype(np.int64)
    if not input._data.ndim:
        rows = rows[:, :0]
    return write_out(Tensor._make(rows, False), out, "nonzero")


def sort(input, dim=-1, descending=False, stable=False):
    xp = xp_of(input._data)
    d = normalize_dim(dim, input.ndim)
    key = -input._data if descending and input._data.dtype.kind != "b" else input._data
    idx = xp.argsort(key, axis=d, kind="stable") if xp is np else xp.argsort(key, axis=d)
    if descending and input._data.dtype.kind == "b":
        idx = xp.flip(idx, d)
    idx = Tensor._make(idx.astype(np.int64, copy=False), False)
    return ValuesIndices(_gather(input, d, idx), idx)


def argsort(input, dim=-1, descending=False, stable=False):
    return sort(input, dim, descending, stable).indices


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    d = normalize_dim(dim, input.ndim)
    if k > input.shape[d]:
        raise RuntimeError(f"selected index k out of range: k={k} but dimension {d} of input "
                           f"shape {tuple(input.shape)} has size {input.shape[d]}")
    _, idx = sort(input, d, descending=largest)
    idx = idx.narrow(d, 0, k)
    return ValuesIndices(_gather(input, d, idx), idx)


# ---------------------------------------------------------------- linear algebra

def matmul(input, other):
    sa, sb = input._data.shape, other._data.shape  # raw shapes: no Size objects on the hot path
    na, nb = len(sa), len(sb)
    if na == 0 or nb == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{na}D and {nb}D")
    k_a = sa[-1]
    k_b = sb[0] if nb == 1 else sb[-2]
    if k_a != k_b:
        if na <= 2 and nb <= 2:
            ra = "x".join(map(str, sa if na == 2 else (1,) + sa))
            rb = "x".join(map(str, sb if nb == 2 else sb + (1,)))
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({ra} and {rb})")
        raise RuntimeError(f"matmul: shapes {tuple(sa)} and {tuple(sb)} cannot be multiplied "
                           f"(inner dimensions {k_a} and {k_b} differ)")
    if input._data.dtype != other._data.dtype:
        _same_dtype(input, other)
    try:
        return apply2(linalg.MatMul, input, other)
    except ValueError:
        raise RuntimeError(f"matmul: batch dimensions of shapes {tuple(sa)} and {tuple(sb)} "
                           f"cannot be broadcast") from None


def mm(input, mat2):
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got shapes {tuple(input.shape)} and "
                           f"{tuple(mat2.shape)}")
    return matmul(input, mat2)


def bmm(input, mat2):
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: expected 3-D tensors with equal batch size, got shapes "
                           f"{tuple(input.shape)} and {tuple(mat2.shape)}")
    return matmul(input, mat2)


def mv(input, vec):
    return matmul(input, vec)


def dot(input, tensor):
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D tensors")
    return matmul(input, tensor)


def linear(x, weight, bias=None):
    """y = x @ weight.T + bias (torch.nn.functional.linear)."""
    if x.ndim == 0 or weight.ndim == 0:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are "
                           f"{x.ndim}D and {weight.ndim}D")
    if x.shape[-1] != weight.shape[-1]:
        rows = 1
        for s in x.shape[:-1]:
            rows *= s
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1]} "
                           f"and {weight.shape[1]}x{weight.shape[0]})")
    _same_dtype(x, weight)
    return linalg.Linear.apply(x, weight, bias)


def _same_dtype(a, b):
    """Matrix products never promote, as in PyTorch: a silent float64 path would be slow."""
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype} != "
                           f"{b.dtype} (shapes {tuple(a.shape)} and {tuple(b.shape)})")


# ---------------------------------------------------------------- shapes

def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    if len(shape) == 1 and hasattr(shape[0], "__iter__"):
        return tuple(shape[0])
    return tuple(shape)


def reshape(input, *shape, **kwargs):
    if kwargs:  # reshape(input, shape=...)
        shape = (_keyword("reshape", kwargs, "shape"),)
    shape = tuple(builtins.int(s) for s in _shape_arg(shape))
    if shape == input.shape:
        return Tensor._alias(input)
    try:
        return shape_ops.Reshape.apply(input, shape)
    except ValueError:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size "
                           f"{input.numel()}") from None


def flatten(input, start_dim=0, end_dim=-1):
    if input.ndim == 0:
        return reshape(input, 1)
    s = normalize_dim(start_dim, input.ndim)
    e = normalize_dim(end_dim, input.ndim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    new = (input.shape[:s] + (-1 if input.numel() else _prod(input.shape[s:e + 1]),) +
           input.shape[e + 1:])
    return reshape(input, new)


def unflatten(input, dim, sizes):  # noqa: A002
    """Expands dim into `sizes` (one of them may be -1)."""
    d = normalize_dim(dim, input.ndim)
    sizes = tuple(builtins.int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if -1 in sizes:
        known = _prod(s for s in sizes if s != -1)
        if sizes.count(-1) > 1 or (known == 0 or input.shape[d] % known):
            raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to "
                               f"the size of dim {dim} ({input.shape[d]}) in the input tensor")
        sizes = tuple(input.shape[d] // known if s == -1 else s for s in sizes)
    if _prod(sizes) != input.shape[d]:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {dim} ({input.shape[d]}) in the input tensor")
    return reshape(input, input.shape[:d] + sizes + input.shape[d + 1:])


def _prod(xs):
    out = 1
    for x in xs:
        out *= x
    return out


def squeeze(input, dim=None):
    if dim is None:
        new = tuple(s for s in input.shape if s != 1)
    else:
        dims = normalize_dims(dim, input.ndim)
        new = tuple(s for i, s in enumerate(input.shape) if not (i in dims and s == 1))
    return reshape(input, new)


def unsqueeze(input, dim):
    d = normalize_dim(dim, input.ndim + 1)
    return reshape(input, input.shape[:d] + (1,) + input.shape[d:])


def permute(input, *dims, **kwargs):
    if kwargs:  # permute(input, dims=...)
        dims = (_keyword("permute", kwargs, "dims"),)
    dims = _shape_arg(dims)
    if len(dims) != input.ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {input.ndim} is not equal to len(dims) = {len(dims)}")
    dims = tuple(normalize_dim(d, input.ndim) for d in dims)
    if sorted(dims) != list(range(input.ndim)):
        raise RuntimeError(f"permute(): duplicate dims are not allowed: {dims}")
    return shape_ops.Permute.apply(input, dims)


def transpose(input, dim0, dim1):
    if input.ndim == 0:
        return Tensor._alias(input)
    d0, d1 = normalize_dim(dim0, input.ndim), normalize_dim(dim1, input.ndim)
    dims = list(range(input.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return shape_ops.Permute.apply(input, tuple(dims))


swapdims = transpose


def swapaxes(input, axis0, axis1):  # noqa: A002
    """transpose() under NumPy's name and argument names."""
    return transpose(input, axis0, axis1)


def _keyword(name, kwargs, expected):
    """The one keyword argument `expected` of a varargs function (reshape(shape=...))."""
    if list(kwargs) != [expected]:
        raise TypeError(f"{name}() got an unexpected keyword argument "
                        f"'{next(k for k in kwargs if k != expected)}'")
    return kwargs[expected]


def t(input):
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return transpose(input, 0, 1) if input.ndim == 2 else Tensor._alias(input)


def movedim(input, source, destination):  # noqa: A002
    """Moves dims `source` (an int or a sequence) to positions `destination`."""
    src = (source,) if isinstance(source, builtins.int) else tuple(source)
    dst = (destination,) if isinstance(destination, builtins.int) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} "
                           f"dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    src = [normalize_dim(d, input.ndim) for d in src]
    dst = [normalize_dim(d, input.ndim) for d in dst]
    if len(set(src)) != len(src):
        raise RuntimeError(f"movedim: repeated dim in `source` ({list(source)})")
    if len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({list(destination)})")
    if input.ndim == 0:
        return Tensor._alias(input)
    rest = iter(d for d in range(input.ndim) if d not in src)
    where = dict(zip(dst, src))
    return permute(input, [where[i] if i in where else next(rest) for i in range(input.ndim)])


moveaxis = movedim


def expand(input, *sizes):
    sizes = _shape_arg(sizes)
    lead = len(sizes) - input.ndim
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be "
                           f"greater or equal to the number of dimensions in the tensor "
                           f"({input.ndim})")
    target = tuple(input.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    for i, s in enumerate(input.shape):
        if s != 1 and s != target[i + lead]:
            raise RuntimeError(f"The expanded size of the tensor ({target[i + lead]}) must "
                               f"match the existing size ({s}) at non-singleton dimension "
                               f"{i + lead}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                               f"{list(input.shape)}")
    return shape_ops.Expand.apply(input, target)


def broadcast_to(input, size):  # noqa: A002
    return expand(input, *size)


def repeat(input, *repeats):
    repeats = _shape_arg(repeats)
    if len(repeats) < input.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                           "number of dimensions of tensor")
    return shape_ops.Repeat.apply(input, repeats)


def flip(input, dims):
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    dims = tuple(normalize_dim(d, input.ndim) for d in dims)
    for i, d in enumerate(dims):
        if d in dims[:i]:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    if input.ndim == 0:
        return Tensor._alias(input)
    return shape_ops.Flip.apply(input, dims)


def cat(tensors, dim=0):
    tensors = [x for x in tensors if not (x.ndim == 1 and x.shape[0] == 0)] or list(tensors)
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    ref = tensors[0]
    d = normalize_dim(dim, ref.ndim)
    for i, x in enumerate(tensors):
        if x.ndim != ref.ndim or builtins.any(x.shape[j] != ref.shape[j] for j in range(ref.ndim)
                                     if j != d):
            raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. "
                               f"Expected size {list(ref.shape)} but got size "
                               f"{list(x.shape)} for tensor number {i} in the list.")
    tensors = _common_dtype(tensors)
    return shape_ops.Cat.apply(*tensors, dim=d)


concat = concatenate = cat


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, x in enumerate(tensors):
        if x.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(tensors[0].shape)} at entry 0 and {list(x.shape)} at "
                               f"entry {i}")
    d = normalize_dim(dim, tensors[0].ndim + 1)
    return shape_ops.Stack.apply(*_common_dtype(tensors), dim=d)


def _common_dtype(tensors):
    first = tensors[0]._data.dtype
    if builtins.all(x._data.dtype == first for x in tensors):
        return tensors
    target = result_type(*tensors)
    return [_cast(x, target) for x in tensors]


def narrow(input, dim, start, length):  # noqa: A002
    """input sliced to [start, start + length) along dim (start may be negative or a 0-d
    integer tensor)."""
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = normalize_dim(dim, input.ndim)
    size = input.shape[d]
    start, length = builtins.int(start), builtins.int(length)
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], "
                         f"but got {start})")
    if start < 0:
        start += size
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}).")
    index = (slice(None),) * d + (slice(start, start + length),)
    return getitem(input, index)


def split(tensor, split_size_or_sections, dim=0):
    d = normalize_dim(dim, tensor.ndim)
    size = tensor.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        sizes = [builtins.min(step, size - s) for s in range(0, size, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
    out, start = [], 0
    for s in sizes:
        out.append(narrow(tensor, d, start, s))
        start += s
    views.mark_multi_output(out, "Split" if isinstance(split_size_or_sections, int)
                            else "SplitWithSizes")
    return tuple(out)


def chunk(input, chunks, dim=0):
    d = normalize_dim(dim, input.ndim)
    step = -(-input.shape[d] // chunks)
    return split(input, builtins.max(step, 1), d)


def unbind(input, dim=0):
    d = normalize_dim(dim, input.ndim)
    out = tuple(select(input, d, i) for i in range(input.shape[d]))
    views.mark_multi_output(out, "Unbind")
    return out


def select(input, dim, index):
    d = normalize_dim(dim, input.ndim)
    return getitem(input, (slice(None),) * d + (index,))


def index_select(input, dim, index, *, out=None):  # noqa: A002
    """The slices of input at `index` (a 1-D or 0-d integer tensor) along dim."""
    from ._out import write_out
    d = normalize_dim(dim, input.ndim)
    idx = index._data if isinstance(index, Tensor) else xp_of(input._data).asarray(index)
    if idx.dtype.kind not in "iu":
        raise IndexError("index_select(): Expected dtype int32 or int64 for index")
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    size = input.shape[d] if input.ndim else 1
    if input.ndim > 1 and idx.size and not input.numel():
        raise RuntimeError("index_select(): self indexing axis dim should be positive")

    def fail(value):
        # PyTorch's CPU kernel for dim 1 of a matrix (or more) words it otherwise
        if input.ndim > 1 and d == 1:
            raise RuntimeError(f"INDICES element is out of DATA bounds, id={value} "
                               f"axis_dim={size}")
        raise IndexError("index out of range in self")
    idx = check_range(idx, 0, size, fail)  # NumPy and CuPy would wrap a negative index
    if input.ndim == 0:
        return write_out(reshape(shape_ops.IndexSelect.apply(reshape(input, 1), 0,
                                                             idx.reshape(-1)), idx.shape),
                         out, "index_select")
    return write_out(shape_ops.IndexSelect.apply(input, d, idx.reshape(-1)), out,
                     "index_select")


def pad(input, pad, mode="constant", value=None):  # noqa: A002
    """torch.nn.functional.pad: constant, reflect, replicate and circular modes; negative
    widths crop (before the other widths pad, as in PyTorch)."""
    pad = tuple(builtins.int(p) for p in pad)
    if mode == "constant":
        return shape_ops.ConstantPad.apply(input, pad, 0.0 if value is None else value)
    widths = shape_ops.pad_widths(input.ndim, pad)
    out = input
    if builtins.any(lo < 0 or hi < 0 for lo, hi in widths):
        out = getitem(out, tuple(slice(builtins.max(-lo, 0), s - builtins.max(-hi, 0))
                                 for s, (lo, hi) in zip(input.shape, widths)))
    xp = xp_of(input._data)
    for d, (lo, hi) in enumerate(widths):
        lo, hi = builtins.max(lo, 0), builtins.max(hi, 0)
        if lo or hi:
            idx = shape_ops.padding_index(xp, out.shape[d], lo, hi, mode)
            out = shape_ops.IndexSelect.apply(out, d, idx)
    return out


# ---------------------------------------------------------------- indexing

def _raw_index(a, index):
    """Replaces tensors and lists in an index by raw arrays on `a`'s device."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    xp = None
    for k in index:
        if isinstance(k, Tensor):
            if k.device != a.device:
                if k.device.type != "cpu":
                    raise RuntimeError(f"indices should be either on cpu or on the same device "
                                       f"as the indexed tensor ({a.device}), got {k.device}")
                k = move(k._data, a.device)  # PyTorch accepts CPU indices for GPU tensors
            else:
                k = k._data
        elif isinstance(k, np.ndarray) and type(a._data) is not np.ndarray:
            k = move(k, a.device)  # CuPy indexes with device arrays only
        elif isinstance(k, list):
            xp = xp or xp_of(a._data)
            k = xp.asarray(k)
            if k.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool "
                                 "tensors")
        out.append(k)
    return indexing.torch_key(tuple(out))


def check_range(raw, lo, hi, fail):
    """`raw` (an integer array) if every element is in [lo, hi), else fail(first bad value):
    at once on the CPU; on CUDA at the next host sync (backend/deferred.py), and meanwhile
    the index returned is clipped into range, so nothing reads out of bounds or wraps."""
    if not raw.size:
        return raw
    if hi <= lo:  # every index is bad: an error either way, so the host read costs nothing
        fail(int(raw.reshape(-1)[0]))
    bad = (raw < lo) | (raw >= hi)

    def report():
        fail(int(raw.reshape(-1)[int(bad.reshape(-1).argmax())]))
    if type(raw) is np.ndarray:
        if bad.any():
            report()
        return raw
    deferred.defer(bad.any(), report)
    return raw.clip(lo, hi - 1)


def _check_device_key(a, key):
    """`key` with PyTorch's IndexError for an out-of-range index array on CUDA, where CuPy
    would wrap it (x[[5]] of 3 rows reads row 2): read at the next host sync; NumPy raises
    its own at once on the CPU."""
    if type(a) is np.ndarray or not indexing.has_int_array(key):
        return key

    def check(d, size, k):
        def fail(value):
            raise IndexError(f"index {value} is out of bounds for dimension {d} with size "
                             f"{size}")
        return check_range(k, -size, size, fail)
    return indexing.map_index_arrays(a, key, check)


def _torch_words(e, shape=None):
    """NumPy's IndexError in PyTorch's words ("dimension", not "axis")."""
    message = str(e).replace(" for axis ", " for dimension ")
    return IndexError(message if shape is None else
                      f"{message} (indexing a tensor of shape {tuple(shape)})")


def getitem(input, index):
    # an int or a slice needs no conversion (the common x[i], x[:n])
    if type(index) is int or type(index) is slice:
        key = index
    else:
        key = _check_device_key(input._data, _raw_index(input, index))
    try:
        return apply2(indexing.GetItem, input, key)
    except IndexError as e:
        raise _torch_words(e, input.shape) from None


def setitem(input, index, value):
    key = _check_device_key(input._data, _raw_index(input, index))
    value = _operand(value)
    is_tensor = isinstance(value, Tensor)
    if is_tensor and value.device != input.device:
        raise RuntimeError(f"setitem: value is on {value.device} but the tensor is on "
                           f"{input.device}")
    if not (grad_mode._state.enabled and (input.requires_grad or
                                          views.base_requires_grad(input) or
                                          is_tensor and value._requires_grad)):
        views.check_overlap(input)
        view, key = indexing.write_target(input._data, key)
        try:
            view[key] = value._data if is_tensor else value
        except IndexError as e:
            raise _torch_words(e) from None
        views.bump(input)
        return
    views.check_inplace(input)
    # recorded out of place, then written into `input`, which gets the new node: the
    # overwritten part of the old graph gets a zero gradient
    try:
        out = indexing.IndexPut.apply(input, key, value.to(input.dtype) if is_tensor else value)
    except IndexError as e:
        raise _torch_words(e) from None
    views.commit_inplace(input, out)


def gather(input, dim, index):
    d = normalize_dim(dim, input.ndim)
    if index.ndim != input.ndim:
        raise RuntimeError(f"Index tensor must have the same number of dimensions as input "
                           f"tensor (index shape {tuple(index.shape)}, input shape "
                           f"{tuple(input.shape)})")
    size, raw = input._data.shape[d] if input.ndim else 1, index._data
    if raw.size:
        # NumPy raises IndexError above the size and wraps negative indices; CuPy wraps
        # both. PyTorch raises a RuntimeError naming the first bad index (check_range),
        # on CUDA at the next host sync, the index clipped meanwhile.
        def fail(value):
            raise RuntimeError(f"index {value} is out of bounds for dimension {d} with size "
                               f"{size}")
        safe = check_range(raw, 0, size, fail)
        if safe is not raw:
            index = Tensor._make(safe, False)
    return _gather(input, d, index)


def _gather(a, d, index):
    """gather along a normalized dim, with indices known to be in range."""
    return indexing.Gather.apply(a, d, index._data)


def take_along_dim(input, indices, dim=None, *, out=None):  # noqa: A002
    """gather() with input and indices broadcast against each other except along dim (the
    flattened input and indices when dim is None)."""
    from ._out import write_out
    if dim is None:
        return write_out(gather(reshape(input, -1), 0, reshape(indices, -1)), out,
                         "take_along_dim")
    if input.ndim != indices.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {input.ndim} dimensions for input, "
                           f"and {indices.ndim} dimensions for indices")
    d = normalize_dim(dim, input.ndim)
    shape = list(np.broadcast_shapes(
        tuple(s for i, s in enumerate(input.shape) if i != d),
        tuple(s for i, s in enumerate(indices.shape) if i != d)))
    a_shape, i_shape = list(shape), list(shape)
    a_shape.insert(d, input.shape[d])
    i_shape.insert(d, indices.shape[d])
    a = input if list(input.shape) == a_shape else expand(input, *a_shape)
    idx = indices if list(indices.shape) == i_shape else expand(indices, *i_shape)
    return write_out(gather(a, d, idx), out, "take_along_dim")


def masked_fill(input, mask, value):
    mask = mask if isinstance(mask, Tensor) else Tensor._make(xp_of(input._data).asarray(mask),
                                                              False)
    if isinstance(value, Tensor):
        value = value.to(input.dtype)
    else:
        value = Tensor._make(xp_of(input._data).asarray(value, dtype=input._data.dtype), False)
    return ew.Where.apply(mask, value, input)



# ---------------------------------------------------------------- copies, casts, rounding

def reshape_alias(input):
    return shape_ops.Reshape.apply(input, input._data.shape)


def clone(input):
    return ew.Clone.apply(input)


def contiguous(input):
    return ew.Clone.apply(input)


def cast(input, np_dtype):
    if input._requires_grad and np.dtype(np_dtype).kind != "f":
        return Tensor._make(input._data.astype(np_dtype), False)
    return convert.Cast.apply(input, np_dtype)


def to_device(input, device):
    return convert.ToDevice.apply(input, device)


def copy_into(input, src):
    """src broadcast to a's shape and dtype, as a new tensor (the value of a.copy_(src))."""
    xp = xp_of(input._data)
    raw = src._data if isinstance(src, Tensor) else src
    return Tensor._make(xp.broadcast_to(xp.asarray(raw, dtype=input._data.dtype),
                                        input._data.shape),
                        False)


def sample_into(input, kind, p0, p1, generator):
    """Fills `a` in place from U[p0, p1) or N(p0, p1) on its own device's generator."""
    if grad_mode._state.enabled and input.requires_grad:
        views.check_inplace(input)
    gen = generator if generator is not None else random.generator_for(input.device)
    draw = gen.stream.uniform if kind == "uniform" else gen.stream.normal
    views.write(input, draw(input._data.shape, builtins.float(p0), builtins.float(p1),
                            input._data.dtype))
    return input


def normal_elementwise(mean, std, generator):
    """N(mean, std) per element of mean and std broadcast (tensors or numbers, one at least
    a tensor); a negative std element raises at once on the CPU, at the next host sync on
    CUDA (backend/deferred.py)."""
    like = mean if isinstance(mean, Tensor) else std
    xp = xp_of(like._data)
    raw = [v._data if isinstance(v, Tensor) else v for v in (mean, std)]
    shape = _broadcast_shape(*[xp.shape(v) for v in raw])
    if isinstance(std, Tensor) and raw[1].size:
        bad = ~(raw[1] >= 0).all()  # NaN fails too, as PyTorch's std.min().ge(0)

        def fail():
            raise RuntimeError("normal expects all elements of std >= 0.0")
        if xp is np:
            if bad:
                fail()
        else:
            deferred.defer(bad, fail)
    z = generator.stream.normal(shape, 0.0, 1.0, like._data.dtype)
    return ew.NormalSample.apply(mean, std, Tensor._make(z, False))


def _broadcast_shape(a, b):
    """np.broadcast_shapes with PyTorch's message."""
    for i in range(1, builtins.min(len(a), len(b)) + 1):
        if a[-i] != b[-i] and 1 not in (a[-i], b[-i]):
            raise RuntimeError(f"The size of tensor a ({a[-i]}) must match the size of tensor "
                               f"b ({b[-i]}) at non-singleton dimension "
                               f"{builtins.max(len(a), len(b)) - i}")
    return np.broadcast_shapes(a, b)


def _rounding(fn):
    def op(input):
        if not _is_float(input._data.dtype):
            return Tensor._make(input._data.copy(), False)
        return fn.apply(input)
    op.__name__ = fn.__name__.lower()
    op.__doc__ = f"Elementwise {op.__name__} (zero gradient, as in PyTorch)."
    return op


floor = _rounding(ew.Floor)
ceil = _rounding(ew.Ceil)
trunc = _rounding(ew.Trunc)


def round(input, decimals=0):  # noqa: A001
    if not _is_float(input._data.dtype):
        return Tensor._make(input._data.copy(), False)
    return ew.Round.apply(input, decimals)


def reciprocal(input):
    return div(1.0, input)


def remainder(input, other):
    """Python-style modulo (sign of the divisor), as torch.remainder."""
    q = div(input, other, rounding_mode="floor")
    return sub(input, mul(q, other))


def fmod(input, other):
    q = div(input, other, rounding_mode="trunc")
    return sub(input, mul(q, other))


def bitwise(name, input, other):
    rb = other._data if isinstance(other, Tensor) else other
    return Tensor._make(getattr(xp_of(input._data), name)(input._data, rb), False)


def softmax(input, dim=None, dtype=None):
    if dtype is not None:
        input = input.to(dtypes.get_dtype(dtype))
    return softmax_ops.Softmax.apply(input, normalize_dim(_softmax_dim(input, dim), input.ndim))


def log_softmax(input, dim=None, dtype=None):
    if dtype is not None:
        input = input.to(dtypes.get_dtype(dtype))
    return softmax_ops.LogSoftmax.apply(input, normalize_dim(_softmax_dim(input, dim), input.ndim))


def _softmax_dim(a, dim):
    if dim is None:  # PyTorch's legacy implicit choice
        return 0 if a.ndim in (0, 1, 3) else 1
    return dim


from ..tensor import Tensor  # noqa: E402  (tensor.py imports this module at its end)
