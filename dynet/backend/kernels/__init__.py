"""Device-specific hot paths: one function per kernel, a NumPy version and a CuPy version.

Every CUDA kernel a module here can build is listed in that module, so CI compiles each one
with NVRTC without a GPU (tests/test_cuda_compile.py) and backend.cuda refuses to build one
that is not listed:
- `CUDA_KERNELS`: (name, in_params, out_params, body) tuples, one per ElementwiseKernel that
  the module can build (every compile-time flag combination: a body that differs is another
  entry). The kernel is named `dynet_<name>`.
- optional `CUDA_DTYPES`: the dtypes the generic type T takes (default float16/32/64).
- optional `CUDA_SCALARS`: {name: parameter names passed as host scalars}. By default a
  non-raw input of a concrete type (`int32 N`) is a scalar, every other input an array.
- optional `CUDA_RAW_NDIM`: {name: {parameter: ndim}} of raw arrays (default 1); non-raw
  arrays are 1-D, as CuPy's reduce_dims makes contiguous arguments.
- optional `CUDA_RAW_KERNELS`: (name, source) pairs for cupy.RawKernel sources, whose
  `extern "C" __global__` function is `name` (built through backend.cuda.raw_kernel).
"""
import importlib
import pkgutil


def kernel_modules():
    """Every module of this package, imported."""
    return [importlib.import_module(f"{__name__}.{info.name}")
            for info in pkgutil.iter_modules(__path__)]


def registered_kernels():
    """{name: (module, (name, in_params, out_params, body))} over every CUDA_KERNELS list."""
    table = {}
    for module in kernel_modules():
        for entry in getattr(module, "CUDA_KERNELS", ()):
            table.setdefault(entry[0], []).append((module.__name__, tuple(entry)))
    return table


def registered_raw_kernels():
    """{name: [(module, (name, source))]} over every CUDA_RAW_KERNELS list."""
    table = {}
    for module in kernel_modules():
        for entry in getattr(module, "CUDA_RAW_KERNELS", ()):
            table.setdefault(entry[0], []).append((module.__name__, tuple(entry)))
    return table
