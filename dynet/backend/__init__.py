"""Array backends: the only package that imports cupy (through backend.cuda)."""
from . import cuda
from .host_memory import tune_host_allocator
from .device import (CPU, Device, as_device, concrete, device_context, device_of,
                     get_default_device, move, set_default_device, xp_of)

tune_host_allocator()

__all__ = ["cuda", "CPU", "Device", "as_device", "concrete", "device_context", "device_of",
           "move", "xp_of"]
