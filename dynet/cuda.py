"""dynet.cuda: device queries that never raise on a machine without a GPU."""
from .backend import cuda as _cuda
from .random import manual_seed_all_cuda as _seed_all

is_available = _cuda.is_available
unavailable_reason = _cuda.unavailable_reason
device_count = _cuda.device_count
synchronize = _cuda.synchronize


def current_device():
    """Index of the current CUDA device (0 when CUDA is not usable; never raises)."""
    return _cuda.current_device()


def manual_seed_all(seed):
    """Seeds the generators of every CUDA device (safe without a GPU)."""
    _seed_all(seed)


manual_seed = manual_seed_all


def get_device_name(device=None):
    """The GPU's name, e.g. 'NVIDIA H100 80GB HBM3'."""
    index = _cuda.current_device() if device is None else _cuda.device_index(device)
    _cuda.require(index)
    cp = _cuda.cupy_module()
    props = cp.cuda.runtime.getDeviceProperties(index)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else name
