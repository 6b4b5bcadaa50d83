"""DLPack exchange, as torch.utils.dlpack: zero-copy tensors to and from any producer.

`from_dlpack` takes any object with `__dlpack__`/`__dlpack_device__` (a torch tensor, a NumPy
or CuPy array, a JAX array) or a legacy DLPack capsule; the result shares the producer's
memory, on the CPU (NumPy) or a CUDA device (CuPy).
"""
from ..backend import Device, as_device, concrete, cuda
from ..tensor import Tensor

_KDL_CPU, _KDL_CUDA, _KDL_CUDA_HOST, _KDL_CUDA_MANAGED = 1, 2, 3, 13


class _Capsule:
    """Wraps a legacy PyCapsule so consumers that want __dlpack__ can read it."""

    def __init__(self, capsule, device):
        self.capsule, self.device = capsule, device

    def __dlpack__(self, *args, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return self.device


def to_dlpack(tensor):
    """A DLPack capsule sharing `tensor`'s memory (consumed once by a from_dlpack)."""
    return tensor.__dlpack__()


def from_dlpack(ext_tensor, *, device=None, copy=None):
    """A dynet Tensor that shares memory with a DLPack producer (or capsule); on `device`
    (a copy when it is not the producer's), and copied when copy=True, as in PyTorch."""
    if device is not None or copy is not None:
        if type(ext_tensor).__name__ == "PyCapsule":
            raise AssertionError("device and copy kwargs not supported when ext_tensor is "
                                 "already a DLPack capsule.")
        if not isinstance(device, (str, Device, type(None))):
            raise AssertionError(f"from_dlpack: unsupported device type: {type(device)}")
    result = _from_dlpack(ext_tensor)
    if device is not None:
        target = concrete(as_device(device))
        if target != result.device:
            if copy is False:
                raise ValueError(f"cannot move DLPack tensor from device {result.device} to "
                                 f"{target} without copying. Set copy=None or copy=True.")
            return result.to(target)
    return result.clone() if copy else result


def _from_dlpack(ext_tensor):
    import numpy as np
    if isinstance(ext_tensor, Tensor):
        return ext_tensor
    if type(ext_tensor).__name__ == "PyCapsule":
        # a legacy capsule says nothing about its device outside the struct; CuPy reads it
        # (and refuses a CPU one), so try the GPU consumer only where CUDA is usable.
        if cuda.is_available():
            try:
                return Tensor._make(cuda.cupy_module().from_dlpack(ext_tensor), False)
            except Exception:
                pass
        ext_tensor = _Capsule(ext_tensor, (_KDL_CPU, 0))
    if not hasattr(ext_tensor, "__dlpack_device__"):
        raise TypeError(f"from_dlpack expects an object with __dlpack__ and __dlpack_device__ "
                        f"or a DLPack capsule, got {type(ext_tensor).__name__}")
    kind, index = ext_tensor.__dlpack_device__()
    kind = int(kind)
    if kind == _KDL_CPU or kind == _KDL_CUDA_HOST:
        return Tensor._make(np.from_dlpack(ext_tensor), False)
    if kind in (_KDL_CUDA, _KDL_CUDA_MANAGED):
        cuda.require(int(index))
        cp = cuda.cupy_module()
        with cp.cuda.Device(int(index)):
            return Tensor._make(cp.from_dlpack(ext_tensor), False)
    raise RuntimeError(f"from_dlpack: unsupported DLPack device type {kind} (dynet tensors "
                       "live on the CPU or a CUDA GPU)")


def dlpack_device(tensor):
    """(device_type, device_id) of `tensor` in DLPack's codes."""
    dev = tensor.device
    if dev.type == "cuda":
        return (_KDL_CUDA, dev.index or 0)
    return (_KDL_CPU, 0)


__all__ = ["to_dlpack", "from_dlpack"]
