"""Generators and seeding: dynet.manual_seed(n) makes CPU runs bit-reproducible."""
import os

from .backend import as_device, concrete
from .backend.random import RandomStream

_DEFAULT_SEED = 67280421310721  # PyTorch's default CPU seed


class Generator:
    """A seeded random stream on one device (torch.Generator)."""

    def __init__(self, device="cpu"):
        self.device = concrete(as_device(device))
        self._seed = _DEFAULT_SEED
        self._stream = None

    def manual_seed(self, seed):
        self._seed = int(seed) & 0xFFFF_FFFF_FFFF_FFFF
        self._stream = None
        return self

    def seed(self):
        """Seeds from OS entropy and returns the seed."""
        self.manual_seed(int.from_bytes(os.urandom(8), "little") >> 1)
        return self._seed

    def initial_seed(self):
        return self._seed

    @property
    def stream(self):
        """The RandomStream that draws the numbers (created lazily from the seed)."""
        if self._stream is None:
            self._stream = RandomStream(self.device, self._seed)
        return self._stream

    def get_state(self):
        return {"seed": self._seed, "state": self.stream.get_state()}

    def set_state(self, state):
        self.manual_seed(state["seed"])
        self.stream.set_state(state["state"])
        return self


default_generator = Generator("cpu")
_cuda_generators = {}


def generator_for(device):
    """The default generator of `device`."""
    device = concrete(as_device(device))
    if device.type == "cpu":
        return default_generator
    if device.index not in _cuda_generators:
        _cuda_generators[device.index] = Generator(device)
        if _cuda_seed is not None:
            _cuda_generators[device.index].manual_seed(_cuda_seed)
    return _cuda_generators[device.index]


_cuda_seed = None


def manual_seed_all_cuda(seed):
    global _cuda_seed
    _cuda_seed = int(seed)
    for g in _cuda_generators.values():
        g.manual_seed(seed)


def manual_seed(seed):
    """Seeds the CPU generator and every CUDA generator; returns the CPU generator."""
    default_generator.manual_seed(seed)
    manual_seed_all_cuda(seed)
    return default_generator


def seed():
    s = default_generator.seed()
    manual_seed_all_cuda(s)
    return s


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)
