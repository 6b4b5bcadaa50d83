"""Guarded CuPy access: the only place that imports cupy.

CuPy 14 imports fine on a machine without a driver and fails at the first allocation, so
`is_available()` runs a tiny kernel once and caches the answer; nothing here raises on a
machine without a GPU.
"""
import functools

try:  # pragma: no cover - depends on the machine
    import cupy as _cupy
except Exception:  # ImportError, or a broken CUDA install raising at import
    _cupy = None


def cupy_module():
    """The cupy module, or None when it is not installed."""
    return _cupy


@functools.lru_cache(maxsize=None)
def is_available():
    """True only if CuPy is installed and a tiny kernel really runs on device 0."""
    if _cupy is None:
        return False
    try:
        if _cupy.cuda.runtime.getDeviceCount() < 1:
            return False
        x = _cupy.arange(4, dtype=_cupy.float32)
        return float((x * 2).sum()) == 12.0
    except Exception:
        return False


def device_count():
    """Number of usable CUDA devices (0 without a GPU, driver or CuPy)."""
    if not is_available():
        return 0
    try:
        return int(_cupy.cuda.runtime.getDeviceCount())
    except Exception:
        return 0


def current_device():
    """Index of the current CUDA device; 0 when CUDA is not usable.

    The issue's contract is that the dynet.cuda queries never raise on a machine without a
    GPU; anything that then really allocates on 'cuda:0' raises require()'s clear error.
    """
    if not is_available():
        return 0
    return int(_cupy.cuda.runtime.getDevice())


def synchronize(device=None):
    """Waits for all kernels on `device` (default: current); a no-op without CUDA."""
    if not is_available():
        return
    if device is None:
        _cupy.cuda.Device().synchronize()
    else:
        _cupy.cuda.Device(device_index(device)).synchronize()


def device_index(device):
    """The CUDA index named by None, an int, a 'cuda[:N]' string or a Device (None: 0)."""
    if device is None or isinstance(device, int):
        return device or 0
    if isinstance(device, str):
        from .device import Device  # device.py imports this module
        device = Device(device)
    return getattr(device, "index", None) or 0


def require(index=0):
    """Raises a clear RuntimeError unless CUDA device `index` is usable."""
    if _cupy is None:
        raise RuntimeError(
            "CUDA was requested but CuPy is not installed; run `make install-cuda` "
            "(or pip install 'dynet-autograd[cuda12]' / '[cuda13]') on a machine with an "
            "NVIDIA driver, or use device='cpu'.")
    if not is_available():
        raise RuntimeError(
            "CUDA was requested but no usable NVIDIA GPU was found (CuPy could not run a "
            "kernel: no driver or no device). Use device='cpu'.")
    if index >= device_count():
        raise RuntimeError(
            f"CUDA device cuda:{index} requested but only {device_count()} device(s) exist.")


_elementwise_kernels = {}


def elementwise_kernel(name, in_params, out_params, body):
    """cupy.ElementwiseKernel `dynet_<name>`, built once per process on first use (nothing
    touches CUDA at import; CuPy compiles and caches per device at the first launch)."""
    k = _elementwise_kernels.get(name)
    if k is None:
        k = _cupy.ElementwiseKernel(in_params, out_params, body, "dynet_" + name)
        _elementwise_kernels[name] = k
    return k
