"""Tensor dtypes, named and printed like PyTorch's (dynet.float32 prints as dynet.float32)."""
import builtins

import numpy as np


class DType:
    """A dtype handle wrapping a NumPy dtype (CuPy uses the same dtype objects)."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize")

    def __init__(self, name, np_dtype):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize

    def __repr__(self):
        return f"dynet.{self.name}"

    def __eq__(self, other):
        if isinstance(other, DType):
            return self.np == other.np
        try:
            return self.np == np.dtype(other)
        except TypeError:
            return False

    def __hash__(self):
        return hash(self.np)

    def __reduce__(self):
        return (get_dtype, (self.name,))


float16 = half = DType("float16", np.float16)
float32 = float = DType("float32", np.float32)  # noqa: A001 - PyTorch's alias
float64 = double = DType("float64", np.float64)
int8 = DType("int8", np.int8)
int16 = short = DType("int16", np.int16)
int32 = int = DType("int32", np.int32)  # noqa: A001 - PyTorch's alias
int64 = long = DType("int64", np.int64)
uint8 = DType("uint8", np.uint8)
bool = DType("bool", np.bool_)  # noqa: A001 - PyTorch's name

_ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool)
_BY_NP = {d.np: d for d in _ALL}
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update(half=float16, float=float32, double=float64, short=int16, int=int32, long=int64)

_default = float32


def get_dtype(spec):
    """Normalises a DType, a NumPy dtype, a Python type or a name into a DType."""
    if isinstance(spec, DType):
        return spec
    if isinstance(spec, str):
        name = spec.replace("torch.", "").replace("dynet.", "")
        if name in _BY_NAME:
            return _BY_NAME[name]
        raise TypeError(f"unknown dtype {spec!r}")
    if spec is builtins.float:
        return _default
    if spec is builtins.int:
        return int64
    if spec is builtins.bool:
        return bool
    try:
        npd = np.dtype(spec)
    except TypeError:
        raise TypeError(f"cannot interpret {spec!r} as a dynet dtype") from None
    if npd not in _BY_NP:
        raise TypeError(f"dtype {npd} is not supported by dynet")
    return _BY_NP[npd]


def from_numpy_dtype(npd):
    """The DType of a raw array's dtype."""
    try:
        return _BY_NP[npd]
    except KeyError:
        raise TypeError(f"arrays of dtype {npd} are not supported by dynet") from None


def get_default_dtype():
    return _default


def set_default_dtype(d, /):
    global _default
    dtype = get_dtype(d)
    if dtype not in (float16, float32, float64):
        raise TypeError(f"only floating-point types are supported as the default type, got {dtype}")
    _default = dtype
