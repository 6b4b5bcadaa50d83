"""CUDA discipline checked on the CPU with fakes (no GPU here): each Function's forward and
backward run under its inputs' CuPy device, and pooling's host constants reach a device once."""
import numpy as np

import dynet
from dynet.autograd.function import Function
from dynet.backend.kernels import pool

CURRENT = [0]  # the fake "current CUDA device", as CuPy keeps one per thread


class FakeDevice:
    """Stands in for cupy.cuda.Device: a context manager that makes its id current."""

    def __init__(self, id):
        self.id = id
        self._saved = []

    def __enter__(self):
        self._saved.append(CURRENT[0])
        CURRENT[0] = self.id
        return self

    def __exit__(self, *exc):
        CURRENT[0] = self._saved.pop()
        return False


class OnDevice(np.ndarray):
    """An array Function.apply treats as a GPU array (not exactly np.ndarray), with a
    .device like a CuPy array's."""
    device = None


def on_device(values, index):
    a = np.asarray(values, dtype=np.float64).view(OnDevice)
    a.device = FakeDevice(index)
    return a


class Probe(Function):
    seen = []

    @staticmethod
    def forward(ctx, x):
        Probe.seen.append(("forward", CURRENT[0]))
        return np.asarray(x * 2.0)

    @staticmethod
    def backward(ctx, grad):
        Probe.seen.append(("backward", CURRENT[0]))
        return grad * 2.0


def test_forward_and_backward_run_under_the_inputs_device_not_the_current_one():
    Probe.seen = []
    CURRENT[0] = 0  # device 0 is current, the data lives on "cuda:1"
    x = dynet.tensor([1.0, 2.0], requires_grad=True)
    x._data = on_device([1.0, 2.0], 1)
    y = Probe.apply(x)
    assert CURRENT[0] == 0  # restored after forward
    y.sum().backward()
    assert ("forward", 1) in Probe.seen and ("backward", 1) in Probe.seen
    assert CURRENT[0] == 0
    np.testing.assert_array_equal(np.asarray(x.grad.numpy()), [2.0, 2.0])


def test_cpu_calls_are_untouched():
    Probe.seen = []
    CURRENT[0] = 5
    x = dynet.tensor([1.0], requires_grad=True)
    Probe.apply(x).sum().backward()
    assert Probe.seen == [("forward", 5), ("backward", 5)]
    CURRENT[0] = 0


class CountingXp:
    """A CuPy stand-in that counts host->device copies (asarray)."""

    def __init__(self):
        self.copies = []

    def asarray(self, a):
        self.copies.append((CURRENT[0], a.shape))
        return np.array(a)


def test_pooling_constants_copy_to_each_device_once():
    pool._DEVICE_CONSTANTS.clear()
    xp = CountingXp()
    like0, like1 = on_device([0.0], 0), on_device([0.0], 1)
    build = lambda: np.ones((3, 4))  # noqa: E731
    a = pool.device_constant(("k", 1), build, xp, like1)
    b = pool.device_constant(("k", 1), build, xp, like1)
    c = pool.device_constant(("k", 1), build, xp, like0)
    assert a is b and c is not a
    assert xp.copies == [(1, (3, 4)), (0, (3, 4))]  # one copy per device, made under it
    assert pool.device_constant(("k", 1), build, np, like0).shape == (3, 4)  # CPU: no cache
    pool._DEVICE_CONSTANTS.clear()


def test_avg_and_adaptive_pooling_fetch_their_constants_from_the_cache(monkeypatch):
    calls = []
    real = pool.device_constant

    def spy(key, build, xp, like):
        calls.append(key[0])
        return real(key, build, xp, like)

    monkeypatch.setattr(pool, "device_constant", spy)
    x = np.random.default_rng(0).standard_normal((1, 1, 5, 7))
    pool.avg_pool2d_forward(x, 3, 2, padding=1, count_include_pad=False)
    pool.adaptive_avg_pool2d_forward(x, (3, 3))
    assert calls == ["avg_divisor", "adaptive", "adaptive"]
