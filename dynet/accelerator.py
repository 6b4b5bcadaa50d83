"""dynet.accelerator: torch.accelerator's device-agnostic queries (CUDA is dynet's only one).

Nothing here raises on a machine without a GPU except what needs one (set_device_index).
"""
from .backend import Device
from .backend import cuda as _cuda


def is_available():
    """True when an accelerator (a usable CUDA GPU) is present."""
    return _cuda.is_available()


def current_accelerator(check_available=False):
    """dynet.device('cuda') when CUDA is usable (or, with check_available=False, when CuPy is
    installed), else None."""
    if _cuda.is_available() or (not check_available and _cuda.cupy_module() is not None):
        return Device("cuda")
    return None


def device_count():
    """Number of accelerator devices (0 without a usable GPU)."""
    return _cuda.device_count() if _cuda.is_available() else 0


def current_device_index():
    """Index of the current accelerator device (0 without one)."""
    return _cuda.current_device()


current_device_idx = current_device_index  # torch's older spelling


def set_device_index(device):
    """Makes `device` (an index, 'cuda:N' or a device) the current accelerator device."""
    index = _index(device)
    _cuda.require(index)
    _cuda.cupy_module().cuda.Device(index).use()


set_device_idx = set_device_index


def synchronize(device=None):
    """Waits for all work on `device` (the current one by default); a no-op without one."""
    if _cuda.is_available():
        _cuda.synchronize(device)


class device_index:
    """Context manager that makes `device` the current accelerator device inside."""

    def __init__(self, device):
        self.index = None if device is None else _index(device)
        self.prev = None

    def __enter__(self):
        if self.index is not None:
            self.prev = current_device_index()
            set_device_index(self.index)
        return self

    def __exit__(self, *exc):
        if self.index is not None and self.prev is not None:
            set_device_index(self.prev)


def _index(device):
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    d = Device(device)
    if d.type != "cuda":
        raise ValueError(f"{device!r} is not an accelerator device (expected 'cuda:N' or an "
                         "index)")
    return d.index or 0


__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index",
           "set_device_index", "synchronize", "device_index"]
