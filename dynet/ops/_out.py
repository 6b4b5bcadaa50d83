"""`out=` arguments: write a computed result into a caller's tensor, as PyTorch does."""
import warnings

from ..autograd import grad_mode


_SCALAR_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "int8": "Char",
                 "int16": "Short", "int32": "Int", "int64": "Long", "uint8": "Byte",
                 "bool": "Bool"}


def scalar_name(np_dtype):
    """PyTorch's scalar-type name of a NumPy dtype (Float, Long, ...), as in its messages."""
    return _SCALAR_NAMES.get(str(np_dtype), str(np_dtype))


def _category(kind):
    return {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}[kind]


def write_out(result, out, name="out"):
    """Copies `result` (a tensor or a tuple of them) into `out` and returns `out`.

    PyTorch's rules: no autograd through out=; the result may be cast only to a dtype of the
    same or a higher category (int -> float yes, float -> int no); an out of another shape
    is resized (with a warning when it held elements).
    """
    if out is None:
        return result
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{name}: out= expects a tuple of {len(result)} tensors")
        written = tuple(write_out(r, o, name) for r, o in zip(result, out))
        return type(result)(*written) if hasattr(type(result), "values") else written
    from ..tensor import Tensor
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}: out= must be a Tensor, not {type(out).__name__}")
    if grad_mode._state.enabled and (result._requires_grad or out._requires_grad):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                           "automatic differentiation, but one of the arguments requires grad.")
    if out.device != result.device:
        raise RuntimeError(f"Expected out tensor to have device {result.device}, but got "
                           f"{out.device} instead")
    src, dst = result._data.dtype, out._data.dtype
    if _category(src.kind) > _category(dst.kind):
        raise RuntimeError(f"result type {scalar_name(src)} can't be cast to the desired "
                           f"output type {scalar_name(dst)}")
    if out._data.shape != result._data.shape:
        if out._data.size:
            warnings.warn(f"An output with one or more elements was resized since it had shape "
                          f"{list(out.shape)}, which does not match the required output shape "
                          f"{list(result.shape)}. This behavior is deprecated.", UserWarning,
                          stacklevel=3)
        out._data = result._data.astype(dst, copy=True)
        return out
    out._data[...] = result._data
    return out
