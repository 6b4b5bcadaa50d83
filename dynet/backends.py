"""dynet.backends: the availability flags PyTorch scripts query (torch.backends.*).

PyTorch's own MNIST example asks `torch.backends.mps.is_available()` and many scripts set
`torch.backends.cudnn.benchmark`/`deterministic`. dynet has no MPS backend, and its CUDA path
runs on CuPy without cuDNN (CuPy 14 ships none), so these answer honestly and the cuDNN
switches are accepted but change nothing.
"""
import types

from .backend import cuda as _cuda

mps = types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False)

cudnn = types.SimpleNamespace(
    enabled=True,
    benchmark=False,
    deterministic=False,
    allow_tf32=False,
    is_available=lambda: False,
    version=lambda: None,
)

cuda = types.SimpleNamespace(is_built=lambda: _cuda.cupy_module() is not None,
                             matmul=types.SimpleNamespace(allow_tf32=False))
