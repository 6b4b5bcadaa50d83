"""Device: decides where tensor data lives (NumPy on the CPU, CuPy on a CUDA GPU)."""
import numpy as np

from . import cuda, deferred


class Device:
    """A device spec like PyTorch's: 'cpu', 'cuda' or 'cuda:N'."""

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index=None):
        if isinstance(spec, Device):
            spec, index = spec.type, spec.index if index is None else index
        if isinstance(spec, int):
            spec, index = "cuda", spec
        if not isinstance(spec, str):
            raise TypeError(f"Device() expects a string like 'cpu' or 'cuda:0', got {spec!r}")
        kind, _, num = spec.strip().partition(":")
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {spec!r}")
        if num:
            if not num.isdigit() or index is not None:
                raise RuntimeError(f"Invalid device string: {spec!r}")
            index = int(num)
        if kind == "cpu" and index not in (None, 0):
            raise RuntimeError(f"CPU device index must be 0 or None, got {index} in {spec!r}")
        self.type = kind
        self.index = None if kind == "cpu" else index

    @property
    def xp(self):
        """The array module for this device: numpy or cupy."""
        if self.type == "cpu":
            return np
        cuda.require(self.index or 0)
        return cuda.cupy_module()

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def _key(self):
        # 'cuda' and 'cuda:0' name the same GPU once data lives there
        return (self.type, 0 if self.type == "cuda" and self.index is None else self.index)

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = Device(other)
            except (RuntimeError, TypeError):
                return False
        if not isinstance(other, Device):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __enter__(self):
        """`with dynet.device('cuda'):` makes it the factories' default device inside."""
        global _default_device
        _default_stack.append(_default_device)
        _default_device = self
        return self

    def __exit__(self, *exc):
        global _default_device
        _default_device = _default_stack.pop()


CPU = Device("cpu")
_default_device = None  # None: the CPU, as in PyTorch
_default_stack = []


def get_default_device():
    """The device factory functions use when given device=None (CPU unless changed)."""
    if _default_device is None:
        return CPU
    return concrete(_default_device) if _default_device.type == "cuda" else _default_device


def set_default_device(device):
    """Sets the device for factories called without one (tensor, zeros, randn, nn layers'
    parameters, ...); None restores the CPU. torch.set_default_device's semantics."""
    global _default_device
    _default_device = None if device is None else as_device(device)
_CUDA_DEVICES = {}


def as_device(spec):
    """Normalises a str/int/Device/None into a Device (None means CPU)."""
    if spec is None:
        return CPU
    if isinstance(spec, Device):
        return spec
    if spec == "cpu":
        return CPU
    return Device(spec)


def concrete(device):
    """The device data really lands on: 'cuda' becomes 'cuda:<current>'."""
    device = as_device(device)
    if device.type == "cuda" and device.index is None:
        return cuda_device(cuda.current_device())
    return device


def cuda_device(index):
    if index not in _CUDA_DEVICES:
        _CUDA_DEVICES[index] = Device("cuda", index)
    return _CUDA_DEVICES[index]


def device_of(array):
    """The Device holding a raw array."""
    if isinstance(array, np.ndarray) or np.isscalar(array):
        return CPU
    dev = getattr(array, "device", None)
    if dev is not None and hasattr(dev, "id"):
        return cuda_device(dev.id)
    return CPU


def xp_of(array):
    """numpy or cupy, whichever module owns `array`."""
    if isinstance(array, np.ndarray):
        return np
    cp = cuda.cupy_module()
    if cp is not None and isinstance(array, cp.ndarray):
        return cp
    return np


def move(array, device):
    """Copies a raw array to `device` (no copy when it is already there)."""
    device = concrete(device)
    src = device_of(array)
    if src == device:
        return array
    if device.type == "cpu":
        deferred.flush()
        return array.get()
    cp = device.xp
    with cp.cuda.Device(device.index):
        return cp.asarray(array)


def device_context(device):
    """A context manager that makes `device` current for CuPy allocations."""
    if device.type == "cuda":
        # a clear RuntimeError (not AttributeError on None) when CuPy or the GPU is missing
        cuda.require(device.index or 0)
        return cuda.cupy_module().cuda.Device(device.index)  # None: the current device
    return _NULL_CONTEXT


class _NullContext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NULL_CONTEXT = _NullContext()
