"""Array backends: the only package that imports cupy (through backend.cuda)."""
from . import cuda
from .device import CPU, Device, as_device, concrete, device_context, device_of, move, xp_of

__all__ = ["cuda", "CPU", "Device", "as_device", "concrete", "device_context", "device_of",
           "move", "xp_of"]
