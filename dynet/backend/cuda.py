"""Guarded CuPy access: the only place that imports cupy.

CuPy 14 imports fine on a machine without a driver and fails at the first allocation, so
`unavailable_reason()` checks the driver and device, runs a tiny kernel once (NVRTC compile
and launch) and caches the answer; nothing here raises on a machine without a GPU.
This module never imports device.py (device.py imports it).
"""
import functools

from . import deferred

try:  # pragma: no cover - depends on the machine
    import cupy as _cupy
    _IMPORT_ERROR = None
except Exception as _e:  # ImportError, or a broken CUDA install raising at import
    _cupy = None
    _IMPORT_ERROR = _e


def cupy_module():
    """The cupy module, or None when it is not installed."""
    return _cupy


def _one_line(exc, limit=400):
    """`Type: message` of an exception on one line (NVRTC logs span many), shortened."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _version(v):
    """CUDA's packed version 13020 as '13.2'."""
    return f"{v // 1000}.{v % 1000 // 10}"


@functools.lru_cache(maxsize=None)
def unavailable_reason():
    """None when CUDA is usable (a tiny kernel compiled and ran on cuda:0), else one line
    saying why not: CuPy not installed, no driver, driver too old, no device, or a kernel
    that failed to compile or run, with the underlying exception's text."""
    if _cupy is None:
        why = "" if _IMPORT_ERROR is None else f" ({_one_line(_IMPORT_ERROR)})"
        return ("CuPy is not installed" + why + "; on a machine with an NVIDIA driver run "
                "`make install-cuda` (or pip install 'dynet-autograd[cuda12]' / '[cuda13]')")
    rt = _cupy.cuda.runtime
    try:
        driver = rt.driverGetVersion()
    except Exception as e:  # pragma: no cover - libcuda present but broken
        return f"no usable NVIDIA driver: {_one_line(e)}"
    if driver == 0:  # what the CUDA runtime reports when libcuda.so is absent
        return "no NVIDIA driver found: the CUDA runtime reports driver version 0"
    try:
        runtime = rt.runtimeGetVersion()
    except Exception as e:  # pragma: no cover
        return f"the CUDA runtime failed to load: {_one_line(e)}"
    # CUDA's minor-version compatibility: any 13.x driver runs a 13.y runtime
    if driver // 1000 < runtime // 1000:
        return (f"NVIDIA driver too old: it supports CUDA {_version(driver)}, CuPy uses CUDA "
                f"{_version(runtime)}; update the driver or install the CuPy extra for "
                f"CUDA {driver // 1000} (`make install-cuda`)")
    try:
        count = rt.getDeviceCount()
    except Exception as e:
        return f"no CUDA device: the device query failed: {_one_line(e)}"
    if count < 1:
        return "no CUDA device (the driver reports 0 GPUs)"
    try:
        x = _cupy.arange(4, dtype=_cupy.float32)
        value = float((x * 2).sum())  # compiles two kernels with NVRTC and launches them
    except Exception as e:
        return f"a CUDA kernel failed to compile or run on cuda:0: {_one_line(e)}"
    if value != 12.0:
        return f"a CUDA kernel ran on cuda:0 but computed {value} instead of 12.0"
    return None


def is_available():
    """True only if CuPy is installed and a tiny kernel really runs on device 0."""
    return unavailable_reason() is None


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
    """Waits for all kernels on `device` (default: current), then reads the deferred checks
    (backend.deferred); a no-op without CUDA."""
    if not is_available():
        return
    if device is None:
        _cupy.cuda.Device().synchronize()
    else:
        _cupy.cuda.Device(device_index(device)).synchronize()
    deferred.flush()


def device_index(device):
    """The CUDA index named by None, an int, a 'cuda[:N]' string or a Device (None: 0)."""
    if device is None or isinstance(device, int):
        return device or 0
    if isinstance(device, str):
        # parsed here: device.py imports this module, never the other way round
        kind, _, num = device.strip().partition(":")
        if kind != "cuda" or (num and not num.isdigit()):
            raise RuntimeError(f"Invalid CUDA device string: {device!r}")
        return int(num) if num else 0
    return getattr(device, "index", None) or 0


def require(index=0):
    """Raises a clear RuntimeError unless CUDA device `index` is usable."""
    reason = unavailable_reason()
    if reason is not None:
        raise RuntimeError(f"CUDA was requested but is not usable: {reason}. "
                           "Use device='cpu'.")
    if index >= device_count():
        raise RuntimeError(
            f"CUDA device cuda:{index} requested but only {device_count()} device(s) exist.")


_elementwise_kernels = {}
_raw_kernels = {}


def check_registered(definition, raw=False):
    """Raises unless `definition` ((name, in, out, body), or (name, source) when raw) is
    listed, exactly, in a backend.kernels module's CUDA_KERNELS (CUDA_RAW_KERNELS): the
    NVRTC compile tests in CI compile exactly those, so nothing unlisted reaches a GPU."""
    from . import kernels  # kernels import this module at their top
    table = kernels.registered_raw_kernels() if raw else kernels.registered_kernels()
    definition = tuple(definition)
    if any(entry == definition for _, entry in table.get(definition[0], ())):
        return
    listing = "CUDA_RAW_KERNELS" if raw else "CUDA_KERNELS"
    raise RuntimeError(
        f"CUDA kernel dynet_{definition[0]} is not listed, with this exact source, in a "
        f"backend.kernels module's {listing}, so CI never compiled it; add it there")


def elementwise_kernel(name, in_params, out_params, body):
    """cupy.ElementwiseKernel `dynet_<name>`, built once per process on first use (nothing
    touches CUDA at import; CuPy compiles and caches per device at the first launch).
    The definition must be registered (check_registered)."""
    k = _elementwise_kernels.get(name)
    if k is None:
        check_registered((name, in_params, out_params, body))
        k = _cupy.ElementwiseKernel(in_params, out_params, body, "dynet_" + name)
        _elementwise_kernels[name] = k
    return k


def raw_kernel(name, source):
    """cupy.RawKernel for the `extern "C"` function `name` of a registered CUDA source."""
    k = _raw_kernels.get(name)
    if k is None:
        check_registered((name, source), raw=True)
        k = _cupy.RawKernel(source, name)
        _raw_kernels[name] = k
    return k
