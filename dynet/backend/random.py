"""Per-device random streams: numpy's Generator on the CPU, cupy's RandomState on CUDA.

One small adapter gives both the same methods, so callers never branch on the device.
(cupy's default_rng lacks normal/permutation, hence RandomState there.)
"""
import numpy as np

from . import cuda
from .device import device_context


class RandomStream:
    """Seeded sampling on one device; every method returns a raw array on that device."""

    def __init__(self, device, seed):
        self.device = device
        if device.type == "cpu":
            self._rng = np.random.Generator(np.random.PCG64(seed))
        else:
            with device_context(device):
                self._rng = cuda.cupy_module().random.RandomState(seed)

    def uniform(self, shape, low, high, dtype):
        """U[low, high) samples in `dtype` (floating)."""
        with device_context(self.device):
            if self.device.type == "cpu":
                x = self._rng.random(shape, dtype=_float_for_sampling(dtype))
            else:
                x = self._rng.random_sample(shape, dtype=_float_for_sampling(dtype))
            x = x.astype(dtype, copy=False)
            if low != 0.0 or high != 1.0:
                x *= high - low
                x += low
            return x

    def normal(self, shape, mean, std, dtype):
        with device_context(self.device):
            x = self._rng.standard_normal(shape, dtype=_float_for_sampling(dtype))
            x = x.astype(dtype, copy=False)
            if std != 1.0:
                x *= std
            if mean != 0.0:
                x += mean
            return x

    def integers(self, low, high, shape, dtype):
        """Integers in [low, high)."""
        with device_context(self.device):
            if self.device.type == "cpu":
                return self._rng.integers(low, high, size=shape).astype(dtype, copy=False)
            return self._rng.randint(low, high, size=shape).astype(dtype, copy=False)

    def permutation(self, n):
        with device_context(self.device):
            return self._rng.permutation(n).astype(np.int64, copy=False)

    def choice(self, n, size, p=None, replace=True):
        """`size` int64 draws from range(n) with probabilities `p` (a host array)."""
        with device_context(self.device):
            return self._rng.choice(n, size=size, replace=replace, p=p).astype(
                np.int64, copy=False)

    def get_state(self):
        if self.device.type == "cpu":
            return self._rng.bit_generator.state
        raise NotImplementedError("get_state() is only supported for CPU generators")

    def set_state(self, state):
        if self.device.type == "cpu":
            self._rng.bit_generator.state = state
            return
        raise NotImplementedError("set_state() is only supported for CPU generators")


def _float_for_sampling(dtype):
    # numpy/cupy sample float32 and float64 natively; float16 is drawn as float32
    dtype = np.dtype(dtype)
    return dtype if dtype in (np.float32, np.float64) else np.float32
