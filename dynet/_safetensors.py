"""dynet.save / dynet.load for paths ending in ".safetensors", through the safetensors library.

A safetensors file is a flat {name: array} map with a JSON header: exactly a state_dict. It
holds no code, so loading one is always safe; safetensors.torch reads and writes the same
files, which is how weights move between dynet and PyTorch.
"""
import numpy as np

from .backend import CPU, device_context, move
from .tensor import Tensor


def _library(what):
    try:
        import safetensors.numpy as st
    except ImportError:  # pragma: no cover - exercised only without the optional package
        raise ImportError(f"{what} needs the 'safetensors' package: pip install safetensors "
                          "(or the dynet-autograd[interop] extra)") from None
    return st


def save_file(obj, path, metadata=None):
    """Writes a flat {str: Tensor or ndarray} dict to `path` as safetensors."""
    st = _library(f"dynet.save({path!r})")
    if not isinstance(obj, dict):
        raise TypeError(f"dynet.save to a .safetensors file ({path!r}) needs a dict of "
                        f"{{name: Tensor}} such as model.state_dict(), got {type(obj).__name__}")
    arrays = {}
    for name, value in obj.items():
        if not isinstance(name, str):
            raise TypeError(f"dynet.save to {path!r}: safetensors keys must be str, got "
                            f"{name!r} ({type(name).__name__})")
        if isinstance(value, Tensor):
            value = move(value._data, CPU)
        elif not isinstance(value, np.ndarray):
            raise TypeError(f"dynet.save to {path!r}: entry {name!r} is a "
                            f"{type(value).__name__}; a safetensors file holds only tensors")
        # not np.ascontiguousarray: it turns a 0-d array into shape (1,)
        arrays[name] = value if value.flags.c_contiguous else value.copy(order="C")
    st.save_file(arrays, path, metadata=metadata)


def load_file(path, mapper):
    """Reads a safetensors file into {name: Tensor}, placed by map_location (default CPU)."""
    from .serialization import CheckpointError
    st = _library(f"dynet.load({path!r})")
    try:
        with open(path, "rb"):
            pass
    except FileNotFoundError:
        raise FileNotFoundError(f"dynet.load: no such file: {path!r}") from None
    try:
        arrays = st.load_file(path)
    except Exception as exc:  # SafetensorError, or a dtype NumPy lacks (bfloat16)
        raise CheckpointError(f"{path!r} is not a readable safetensors file "
                              f"({type(exc).__name__}: {exc})") from exc
    device = mapper("cpu", path)
    out = {}
    for name, arr in arrays.items():
        if device.type != "cpu":
            with device_context(device):
                arr = move(arr, device)
        out[name] = Tensor._make(arr, False)
    return out
