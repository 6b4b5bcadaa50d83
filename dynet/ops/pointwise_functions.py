"""Tensor-level elementwise functions beyond the core set (dynet.tan, dynet.atan2, bitwise
ops, ...), with PyTorch's argument names, dtype rules and `out=`, plus their Tensor methods
and in-place forms (installed on Tensor by `install`).
"""
import math

import numpy as np

from .. import dtypes
from ..backend import xp_of
from . import functions as F
from . import pointwise as pw
from ._out import scalar_name, write_out


def _to_float(a):
    """Integer and bool tensors compute in the default float dtype (PyTorch's rule)."""
    if a._data.dtype.kind != "f":
        return a.to(dtypes.get_default_dtype())
    return a


def _not_implemented(name, a):
    return NotImplementedError(f"\"{name}_cpu\" not implemented for "
                               f"'{scalar_name(a._data.dtype)}'")


def _float_unary(fn, name):
    def op(input, *, out=None):  # noqa: A002 - PyTorch's argument names
        return write_out(fn.apply(_to_float(input)), out, name)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name} (integers compute in the default float dtype)."
    return op


tan = _float_unary(pw.Tan, "tan")
asin = _float_unary(pw.Asin, "asin")
acos = _float_unary(pw.Acos, "acos")
atan = _float_unary(pw.Atan, "atan")
sinh = _float_unary(pw.Sinh, "sinh")
cosh = _float_unary(pw.Cosh, "cosh")
asinh = _float_unary(pw.Asinh, "asinh")
acosh = _float_unary(pw.Acosh, "acosh")
atanh = _float_unary(pw.Atanh, "atanh")
erf = _float_unary(pw.Erf, "erf")
erfc = _float_unary(pw.Erfc, "erfc")
erfinv = _float_unary(pw.Erfinv, "erfinv")
exp2 = _float_unary(pw.Exp2, "exp2")
expm1 = _float_unary(pw.Expm1, "expm1")
log2 = _float_unary(pw.Log2, "log2")
log10 = _float_unary(pw.Log10, "log10")
lgamma = _float_unary(pw.Lgamma, "lgamma")
digamma = _float_unary(pw.Digamma, "digamma")
sinc = _float_unary(pw.Sinc, "sinc")
arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh


def frac(input, *, out=None):  # noqa: A002
    """input - trunc(input), for floating tensors."""
    if input._data.dtype.kind != "f":
        raise _not_implemented("frac", input)
    return write_out(pw.Frac.apply(input), out, "frac")


def _rounding(name, base):
    def op(input, *, out=None):  # noqa: A002
        if input._data.dtype.kind == "b":
            raise _not_implemented(f"{name}", input)
        return write_out(base(input), out, name)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name} (zero gradient; integers are returned as they are)."
    return op


_core_trunc, _core_floor, _core_ceil, _core_round = F.trunc, F.floor, F.ceil, F.round
trunc = _rounding("trunc", _core_trunc)
fix = trunc
floor = _rounding("floor", _core_floor)
ceil = _rounding("ceil", _core_ceil)


def round(input, *, decimals=0, out=None):  # noqa: A001, A002
    """Round half to even, optionally to `decimals` decimal places (negative: tens, ...)."""
    if decimals != 0 and input._data.dtype.kind != "f":
        raise _not_implemented("round", input)
    if input._data.dtype.kind == "b":
        raise _not_implemented("round", input)
    return write_out(_core_round(input, decimals), out, "round")


def reciprocal(input, *, out=None):  # noqa: A002
    return write_out(F.div(1.0, _to_float(input)), out, "reciprocal")


def square(input, *, out=None):  # noqa: A002
    if input._data.dtype.kind == "b":
        input = input.to(dtypes.int64)
    return write_out(F.mul(input, input), out, "square")


def deg2rad(input, *, out=None):  # noqa: A002
    return write_out(F.mul(_to_float(input), math.pi / 180.0), out, "deg2rad")


def rad2deg(input, *, out=None):  # noqa: A002
    return write_out(F.mul(_to_float(input), 180.0 / math.pi), out, "rad2deg")


def logit(input, eps=None, *, out=None):  # noqa: A002
    """log(p / (1 - p)); with eps, p is clamped to [eps, 1 - eps] first."""
    return write_out(pw.Logit.apply(_to_float(input), None if eps is None else float(eps)),
                     out, "logit")


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):  # noqa: A002
    """nan -> `nan`, +inf -> `posinf` (default: the dtype's max), -inf -> `neginf` (min)."""
    return write_out(pw.NanToNum.apply(input, nan, posinf, neginf), out, "nan_to_num")


def signbit(input, *, out=None):  # noqa: A002
    return write_out(F.Tensor._make(xp_of(input._data).signbit(input._data), False), out,
                     "signbit")


def positive(input):  # noqa: A002
    if input._data.dtype.kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def negative(input, *, out=None):  # noqa: A002
    return write_out(F.neg(input), out, "negative")


# ---------------------------------------------------------------- binary float ops

def _tensor_arg(name, arg, value, pos):
    if not isinstance(value, F.Tensor):
        raise TypeError(f"{name}(): argument '{arg}' (position {pos}) must be Tensor, not "
                        f"{type(value).__name__}")
    return value


def _float_pair(a, b, name, ints_ok=True):
    """Both operands promoted to the common dtype, which is floating."""
    a, b = F._operand(a), F._operand(b)
    dt = F.result_type(a, b)
    if dt.kind != "f":
        if not ints_ok:
            ref = a if isinstance(a, F.Tensor) else b
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for "
                                      f"'{scalar_name(dt)}'" if ref is not None else name)
        dt = dtypes.get_default_dtype().np
    return _as_tensor(a, dt, b), _as_tensor(b, dt, a)


def _as_tensor(x, dt, other):
    if isinstance(x, F.Tensor):
        return F._cast(x, dt)
    xp = xp_of(other._data)
    return F.Tensor._make(xp.asarray(x, dtype=dt), False)


def atan2(input, other, *, out=None):  # noqa: A002
    _tensor_arg("atan2", "other", other, 2)
    a, b = _float_pair(input, other, "atan2")
    return write_out(pw.Atan2.apply(a, b), out, "atan2")


arctan2 = atan2


def logaddexp(input, other, *, out=None):  # noqa: A002
    _tensor_arg("logaddexp", "other", other, 2)
    a, b = _float_pair(input, other, "logaddexp", ints_ok=False)
    return write_out(pw.LogAddExp.apply(a, b), out, "logaddexp")


def logaddexp2(input, other, *, out=None):  # noqa: A002
    _tensor_arg("logaddexp2", "other", other, 2)
    a, b = _float_pair(input, other, "logaddexp2", ints_ok=False)
    return write_out(pw.LogAddExp2.apply(a, b), out, "logaddexp2")


def hypot(input, other, *, out=None):  # noqa: A002
    _tensor_arg("hypot", "other", other, 2)
    a, b = _float_pair(input, other, "hypot", ints_ok=False)
    return write_out(pw.Hypot.apply(a, b), out, "hypot")


def copysign(input, other, *, out=None):  # noqa: A002
    a, b = _float_pair(input, other, "copysign")
    return write_out(pw.Copysign.apply(a, b), out, "copysign")


def xlogy(input, other, *, out=None):  # noqa: A002
    """input * log(other), 0 where input == 0 (unless other is nan)."""
    if not isinstance(input, F.Tensor) and not isinstance(other, F.Tensor):
        raise TypeError("xlogy(): expected at least one Tensor argument")
    a, b = _float_pair(input, other, "xlogy")
    return write_out(pw.Xlogy.apply(a, b), out, "xlogy")


def xlog1py(input, other, *, out=None):  # noqa: A002
    a, b = _float_pair(input, other, "xlog1py")
    return write_out(pw.Xlog1py.apply(a, b), out, "xlog1py")


def fmax(input, other, *, out=None):  # noqa: A002
    _tensor_arg("fmax", "other", other, 2)
    a, b = F._promote_pair(input, other)
    return write_out(pw.Fmax.apply(a, b), out, "fmax")


def fmin(input, other, *, out=None):  # noqa: A002
    _tensor_arg("fmin", "other", other, 2)
    a, b = F._promote_pair(input, other)
    return write_out(pw.Fmin.apply(a, b), out, "fmin")


def lerp(input, end, weight, *, out=None):  # noqa: A002
    """input + weight * (end - input)."""
    return write_out(F.lerp(input, end, weight), out, "lerp")


# ---------------------------------------------------------------- integer and bitwise ops

_BITWISE = {"bitwise_and": "bitwise_and", "bitwise_or": "bitwise_or",
            "bitwise_xor": "bitwise_xor", "bitwise_left_shift": "left_shift",
            "bitwise_right_shift": "right_shift"}
_KERNEL_NAMES = {"bitwise_left_shift": "lshift", "bitwise_right_shift": "rshift"}


def _bitwise(name, a, b, out=None):
    a, b = F._operand(a), F._operand(b)
    if not isinstance(a, F.Tensor) and not isinstance(b, F.Tensor):
        raise TypeError(f"{name}(): expected at least one Tensor argument")
    dt = F.result_type(a, b)
    if dt.kind not in "biu":
        raise NotImplementedError(f"\"{_KERNEL_NAMES.get(name, name)}_cpu\" not implemented "
                                  f"for '{scalar_name(dt)}'")
    if dt.kind == "b" and name in _KERNEL_NAMES:
        dt = np.dtype(np.int64)
    ref = a if isinstance(a, F.Tensor) else b
    xp = xp_of(ref._data)
    ra = a._data.astype(dt, copy=False) if isinstance(a, F.Tensor) else xp.asarray(a, dt)
    rb = b._data.astype(dt, copy=False) if isinstance(b, F.Tensor) else xp.asarray(b, dt)
    if isinstance(a, F.Tensor) and isinstance(b, F.Tensor) and a.device != b.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {a.device} and {b.device}!")
    res = F.Tensor._make(xp.asarray(getattr(xp, _BITWISE[name])(ra, rb)), False)
    return write_out(res, out, name)


def _make_bitwise(name):
    def op(input, other, *, out=None):  # noqa: A002
        return _bitwise(name, input, other, out)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name} of integer or bool tensors."
    return op


bitwise_and = _make_bitwise("bitwise_and")
bitwise_or = _make_bitwise("bitwise_or")
bitwise_xor = _make_bitwise("bitwise_xor")
bitwise_left_shift = _make_bitwise("bitwise_left_shift")
bitwise_right_shift = _make_bitwise("bitwise_right_shift")


def bitwise_not(input, *, out=None):  # noqa: A002
    if input._data.dtype.kind not in "biu":
        raise _not_implemented("bitwise_not", input)
    xp = xp_of(input._data)
    raw = xp.logical_not(input._data) if input._data.dtype.kind == "b" else ~input._data
    return write_out(F.Tensor._make(raw, False), out, "bitwise_not")


def remainder(input, other, *, out=None):  # noqa: A002
    """Python's modulo (the sign of the divisor); input may be a number (int % Tensor)."""
    if not isinstance(input, F.Tensor) and not isinstance(other, F.Tensor):
        raise TypeError("remainder(): expected at least one Tensor argument")
    return write_out(F.remainder(input, other), out, "remainder")


def fmod(input, other, *, out=None):  # noqa: A002
    return write_out(F.fmod(input, other), out, "fmod")


# ---------------------------------------------------------------- Tensor methods

_METHODS = ("tan asin acos atan sinh cosh asinh acosh atanh arcsin arccos arctan arcsinh "
            "arccosh arctanh erf erfc erfinv exp2 expm1 log2 log10 lgamma digamma sinc frac "
            "fix deg2rad rad2deg logit nan_to_num signbit positive negative atan2 arctan2 "
            "logaddexp logaddexp2 hypot copysign xlogy fmax fmin bitwise_and bitwise_or "
            "bitwise_xor bitwise_not bitwise_left_shift bitwise_right_shift").split()

# in-place forms: name_ -> the out-of-place function it runs
_INPLACE = ("tan asin acos atan sinh cosh asinh acosh atanh arcsin arccos arctan arcsinh "
            "arccosh arctanh erf erfc erfinv exp2 expm1 log2 log10 lgamma digamma sinc frac "
            "fix trunc floor ceil reciprocal square deg2rad rad2deg logit nan_to_num atan2 "
            "arctan2 hypot copysign xlogy lerp bitwise_and bitwise_or bitwise_xor bitwise_not "
            "bitwise_left_shift bitwise_right_shift remainder fmod sign sin cos log log1p "
            "rsqrt negative").split()


def _inplace_method(name):
    fn = globals().get(name) or getattr(F, name)

    def method(self, *args, **kwargs):
        return self._inplace(lambda s, *o: fn(s, *o, **kwargs), *args)
    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place {name}."
    return method


def _round_(self, *, decimals=0):
    return self._inplace(lambda s: round(s, decimals=decimals))


def _round_method(self, *, decimals=0):
    return round(self, decimals=decimals)


def _reflected(fn):
    def method(self, other):
        return fn(other, self)
    return method


def _inplace_operator(fn):
    def method(self, other):
        return self._inplace(fn, other)
    return method


def install(Tensor):
    """Adds the methods, in-place forms and operators above to Tensor."""
    for name in _METHODS:
        setattr(Tensor, name, globals()[name])
    for name in ("trunc", "floor", "ceil", "reciprocal", "square", "remainder", "fmod",
                 "lerp"):
        setattr(Tensor, name, globals()[name])
    Tensor.round = _round_method
    for name in _INPLACE:
        setattr(Tensor, name + "_", _inplace_method(name))
    Tensor.round_ = _round_
    Tensor.__and__ = bitwise_and
    Tensor.__or__ = bitwise_or
    Tensor.__xor__ = bitwise_xor
    Tensor.__lshift__ = bitwise_left_shift
    Tensor.__rshift__ = bitwise_right_shift
    Tensor.__rand__ = _reflected(bitwise_and)
    Tensor.__ror__ = _reflected(bitwise_or)
    Tensor.__rxor__ = _reflected(bitwise_xor)
    Tensor.__rlshift__ = _reflected(bitwise_left_shift)
    Tensor.__rrshift__ = _reflected(bitwise_right_shift)
    Tensor.__rmod__ = _reflected(F.remainder)
    Tensor.__invert__ = bitwise_not
    for op, fn in (("and", bitwise_and), ("or", bitwise_or), ("xor", bitwise_xor),
                   ("lshift", bitwise_left_shift), ("rshift", bitwise_right_shift),
                   ("mod", F.remainder), ("floordiv", lambda a, b: F.div(a, b, "floor")),
                   ("pow", F.pow)):
        setattr(Tensor, f"__i{op}__", _inplace_operator(fn))


install(F.Tensor)
