"""Tensor factories: tensor, zeros, ones, arange, rand, ... each with dtype/device/requires_grad."""
from __future__ import annotations

import builtins
from typing import Any, Optional, Union

import numpy as np

from . import dtypes, random
from ._typing import DeviceLike, DTypeLike, Number, ShapeLike
from .random import Generator
from .backend import as_device, concrete, device_context, get_default_device, move
from .ops._out import scalar_name, write_out
from .tensor import Tensor


def _finish(array, requires_grad):
    t = Tensor._make(array, False)
    if requires_grad:
        t.requires_grad = True  # validates the dtype
    return t


def _target(device):
    return concrete(get_default_device() if device is None else as_device(device))


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    elif len(size) == 1 and hasattr(size[0], "__iter__"):
        size = tuple(size[0])
    return tuple(builtins.int(s) for s in size)


def _np_dtype(dtype, default=None):
    if dtype is None:
        return (default or dtypes.get_default_dtype()).np
    return dtypes.get_dtype(dtype).np


def _infer_dtype(data):
    """PyTorch's inference for Python data: bool, int64, or the default float."""
    arr = np.asarray(data)
    if arr.dtype.kind == "b":
        return np.bool_
    if arr.dtype.kind in "iu":
        return np.int64
    if arr.dtype.kind == "f":
        return dtypes.get_default_dtype().np
    raise TypeError(f"can't convert data of type {arr.dtype} to a tensor")


def tensor(data: Any, dtype: Optional[DTypeLike] = None, device: Optional[DeviceLike] = None,
           requires_grad: builtins.bool = False, pin_memory: builtins.bool = False) -> Tensor:
    """A new tensor that copies `data` (Python numbers/lists, arrays or tensors)."""
    if isinstance(data, Tensor):
        src = data._data
        dev = data.device if device is None else device
        array = move(src, dev)
        array = array.astype(_np_dtype(dtype, data.dtype), copy=array is src or dtype is not None)
        return _finish(array, requires_grad)
    if _is_device_array(data):
        array = data.astype(data.dtype if dtype is None else _np_dtype(dtype), copy=True)
        return _finish(move(array, device or "cuda"), requires_grad)
    # NumPy scalars keep their dtype, as in PyTorch (np.float64 is also a Python float)
    if isinstance(data, (np.ndarray, np.generic)):
        np_dtype = data.dtype if dtype is None else _np_dtype(dtype)
        array = np.array(data, dtype=np_dtype, copy=True)
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
            data = [x.tolist() if isinstance(x, Tensor) else x for x in data]
        np_dtype = _infer_dtype(data) if dtype is None else _np_dtype(dtype)
        array = np.array(data, dtype=np_dtype)
    dtypes.from_numpy_dtype(array.dtype)
    return _finish(move(array, _target(device)), requires_grad)


def _is_device_array(data):
    return not isinstance(data, np.ndarray) and hasattr(data, "__cuda_array_interface__")


def as_tensor(data: Any, dtype: Optional[DTypeLike] = None,
              device: Optional[DeviceLike] = None) -> Tensor:
    """Like tensor(), but shares memory when data is already an array of the right kind."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    if isinstance(data, np.ndarray) and _target(device).type == "cpu":
        if dtype is None or np.dtype(_np_dtype(dtype)) == data.dtype:
            dtypes.from_numpy_dtype(data.dtype)
            return Tensor._make(data, False)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with a NumPy array."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dtypes.from_numpy_dtype(array.dtype)
    return Tensor._make(array, False)


def _alloc(fn_name, size, dtype, device, requires_grad, out=None):
    if out is not None:  # PyTorch's factories take out's dtype and device
        if dtype is not None and dtypes.get_dtype(dtype) != out.dtype:
            raise RuntimeError(f"dtype {scalar_name(_np_dtype(dtype))} does not match dtype "
                               f"of out parameter ({scalar_name(out._data.dtype)})")
        return write_out(_alloc(fn_name, size, out.dtype, out.device, requires_grad), out,
                         fn_name)
    dev = _target(device)
    xp = dev.xp
    with device_context(dev):
        array = getattr(xp, fn_name)(size, dtype=_np_dtype(dtype))
    return _finish(array, requires_grad)


def zeros(*size: Union[builtins.int, ShapeLike], dtype: Optional[DTypeLike] = None,
          device: Optional[DeviceLike] = None, requires_grad: builtins.bool = False,
          out: Optional[Tensor] = None) -> Tensor:
    return _alloc("zeros", _size(size), dtype, device, requires_grad, out)


def ones(*size: Union[builtins.int, ShapeLike], dtype: Optional[DTypeLike] = None,
         device: Optional[DeviceLike] = None, requires_grad: builtins.bool = False,
         out: Optional[Tensor] = None) -> Tensor:
    return _alloc("ones", _size(size), dtype, device, requires_grad, out)


def empty(*size: Union[builtins.int, ShapeLike], dtype: Optional[DTypeLike] = None,
          device: Optional[DeviceLike] = None, requires_grad: builtins.bool = False,
          memory_format: Any = None, out: Optional[Tensor] = None) -> Tensor:
    return _alloc("empty", _size(size), dtype, device, requires_grad, out)


def full(size: Union[builtins.int, ShapeLike], fill_value: Number,
         dtype: Optional[DTypeLike] = None, device: Optional[DeviceLike] = None,
         requires_grad: builtins.bool = False) -> Tensor:
    if dtype is None:
        dtype = dtypes.get_dtype(_infer_dtype(fill_value))
    dev = _target(device)
    with device_context(dev):
        array = dev.xp.full(_size((size,)), fill_value, dtype=_np_dtype(dtype))
    return _finish(array, requires_grad)


def eye(n: builtins.int, m: Optional[builtins.int] = None, dtype: Optional[DTypeLike] = None,
        device: Optional[DeviceLike] = None, requires_grad: builtins.bool = False) -> Tensor:
    dev = _target(device)
    with device_context(dev):
        array = dev.xp.eye(n, n if m is None else m, dtype=_np_dtype(dtype))
    return _finish(array, requires_grad)


def arange(start: Number, end: Optional[Number] = None, step: Number = 1,
           dtype: Optional[DTypeLike] = None, device: Optional[DeviceLike] = None,
           requires_grad: builtins.bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"upper bound and lower bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    if dtype is None:
        all_int = builtins.all(isinstance(v, builtins.int) for v in (start, end, step))
        dtype = dtypes.int64 if all_int else dtypes.get_default_dtype()
    dev = _target(device)
    np_dtype = _np_dtype(dtype)
    # computed in float64 on the host side of the formula, as PyTorch sizes it
    n = builtins.max(0, int(np.ceil((end - start) / step)))
    with device_context(dev):
        array = (dev.xp.arange(n, dtype=np.float64) * step + start).astype(np_dtype) \
            if np.dtype(np_dtype).kind == "f" else dev.xp.arange(start, end, step, dtype=np_dtype)
    return _finish(array, requires_grad)


def _no_bool(name, dtype):
    if dtype is not None and _np_dtype(dtype).kind == "b":
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for 'Bool'")


def linspace(start: Number, end: Number, steps: builtins.int,
             dtype: Optional[DTypeLike] = None, device: Optional[DeviceLike] = None,
             requires_grad: builtins.bool = False) -> Tensor:
    _no_bool("linspace", dtype)
    dev = _target(device)
    with device_context(dev):
        array = dev.xp.linspace(start, end, steps, dtype=np.float64).astype(_np_dtype(dtype))
    return _finish(array, requires_grad)


def logspace(start: Number, end: Number, steps: builtins.int, base: builtins.float = 10.0,
             dtype: Optional[DTypeLike] = None, device: Optional[DeviceLike] = None,
             requires_grad: builtins.bool = False) -> Tensor:
    _no_bool("logspace", dtype)
    dev = _target(device)
    with device_context(dev):
        array = (base ** dev.xp.linspace(start, end, steps)).astype(_np_dtype(dtype))
    return _finish(array, requires_grad)


def _generator(generator, device):
    return generator if generator is not None else random.generator_for(device)


def _float_np_dtype(dtype, name):
    np_dtype = _np_dtype(dtype)
    if np_dtype.kind != "f":
        raise RuntimeError(f"{name}() needs a floating-point dtype, got {dtypes.get_dtype(dtype)}")
    return np_dtype


def rand(*size: Union[builtins.int, ShapeLike], generator: Optional[Generator] = None,
         dtype: Optional[DTypeLike] = None, device: Optional[DeviceLike] = None,
         requires_grad: builtins.bool = False) -> Tensor:
    dev = _target(device)
    array = _generator(generator, dev).stream.uniform(_size(size), 0.0, 1.0,
                                                      _float_np_dtype(dtype, "rand"))
    return _finish(array, requires_grad)


def randn(*size: Union[builtins.int, ShapeLike], generator: Optional[Generator] = None,
          dtype: Optional[DTypeLike] = None, device: Optional[DeviceLike] = None,
          requires_grad: builtins.bool = False) -> Tensor:
    dev = _target(device)
    array = _generator(generator, dev).stream.normal(_size(size), 0.0, 1.0,
                                                     _float_np_dtype(dtype, "randn"))
    return _finish(array, requires_grad)


def randint(low: builtins.int, high: Union[builtins.int, ShapeLike, None] = None,
            size: Optional[ShapeLike] = None, generator: Optional[Generator] = None,
            dtype: Optional[DTypeLike] = None, device: Optional[DeviceLike] = None,
            requires_grad: builtins.bool = False) -> Tensor:
    """randint(high, size) or randint(low, high, size): integers in [low, high)."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    dev = _target(device)
    array = _generator(generator, dev).stream.integers(
        low, high, _size((size,)), _np_dtype(dtype, dtypes.int64))
    return _finish(array, requires_grad)


def randperm(n: builtins.int, generator: Optional[Generator] = None,
             dtype: Optional[DTypeLike] = None, device: Optional[DeviceLike] = None,
             requires_grad: builtins.bool = False) -> Tensor:
    dev = _target(device)
    array = _generator(generator, dev).stream.permutation(n)
    return _finish(array.astype(_np_dtype(dtype, dtypes.int64), copy=False), requires_grad)


def normal(mean: Union[Number, Tensor], std: Union[Number, Tensor] = 1.0,
           size: Optional[ShapeLike] = None, *, generator: Optional[Generator] = None,
           dtype: Optional[DTypeLike] = None, device: Optional[DeviceLike] = None,
           requires_grad: builtins.bool = False) -> Tensor:
    """PyTorch's four forms: normal(mean, std, size) of two numbers, or N(mean, std) per
    element where mean and/or std is a tensor (broadcast; the result is recorded with a
    zero gradient for them, as in PyTorch)."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        if size is not None:
            raise TypeError("normal(): size is only taken with a float mean and std")
        return _normal_elementwise(mean, std, generator)
    if size is None:
        raise TypeError("normal() received an invalid combination of arguments - got "
                        "(float, float): a float mean and std need a size")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    dev = _target(device)
    array = _generator(generator, dev).stream.normal(_size((size,)), builtins.float(mean),
                                                     builtins.float(std), _np_dtype(dtype))
    return _finish(array, requires_grad)


def _normal_elementwise(mean, std, generator):
    from .ops.functions import normal_elementwise
    like = mean if isinstance(mean, Tensor) else std
    if like._data.dtype.kind != "f":
        raise NotImplementedError(f"\"normal_kernel_{like.device.type}\" not implemented for "
                                  f"'{scalar_name(like._data.dtype)}'")
    if not isinstance(std, Tensor) and std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    return normal_elementwise(mean, std, _generator(generator, like.device))


def zeros_like(input: Tensor, dtype: Optional[DTypeLike] = None,  # noqa: A002
               device: Optional[DeviceLike] = None,
               requires_grad: builtins.bool = False) -> Tensor:
    return zeros(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                 requires_grad=requires_grad)


def ones_like(input: Tensor, dtype: Optional[DTypeLike] = None,  # noqa: A002
              device: Optional[DeviceLike] = None,
              requires_grad: builtins.bool = False) -> Tensor:
    return ones(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


def empty_like(input: Tensor, dtype: Optional[DTypeLike] = None,  # noqa: A002
               device: Optional[DeviceLike] = None,
               requires_grad: builtins.bool = False) -> Tensor:
    return empty(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                 requires_grad=requires_grad)


def full_like(input: Tensor, fill_value: Number,  # noqa: A002
              dtype: Optional[DTypeLike] = None, device: Optional[DeviceLike] = None,
              requires_grad: builtins.bool = False) -> Tensor:
    return full(input.shape, fill_value, dtype=dtype or input.dtype,
                device=device or input.device, requires_grad=requires_grad)


def rand_like(input: Tensor, *, generator: Optional[Generator] = None,  # noqa: A002
              dtype: Optional[DTypeLike] = None, device: Optional[DeviceLike] = None,
              requires_grad: builtins.bool = False) -> Tensor:
    return rand(input.shape, generator=generator, dtype=dtype or input.dtype,
                device=device or input.device, requires_grad=requires_grad)


def randn_like(input: Tensor, *, generator: Optional[Generator] = None,  # noqa: A002
               dtype: Optional[DTypeLike] = None, device: Optional[DeviceLike] = None,
               requires_grad: builtins.bool = False) -> Tensor:
    return randn(input.shape, generator=generator, dtype=dtype or input.dtype,
                 device=device or input.device, requires_grad=requires_grad)


def randint_like(input: Tensor, low: builtins.int,  # noqa: A002
                 high: Optional[builtins.int] = None, *, generator: Optional[Generator] = None,
                 dtype: Optional[DTypeLike] = None, device: Optional[DeviceLike] = None,
                 requires_grad: builtins.bool = False) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, generator=generator, dtype=dtype or input.dtype,
                   device=device or input.device, requires_grad=requires_grad)

