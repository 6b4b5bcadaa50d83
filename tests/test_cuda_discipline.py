"""CUDA discipline checked on the CPU with fakes (no GPU here): each Function's forward and
backward run under its inputs' CuPy device, and pooling's host constants reach a device once."""
import re

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


# ---------------------------------------------------------------- no per-step host sync

HOST_READS = [0]


class HostReadCounter(OnDevice):
    """A fake device array that counts every read of its values by the host."""

    def _read(self, name, *args):
        HOST_READS[0] += 1
        return getattr(np.ndarray, name)(np.asarray(self), *args)

    def item(self, *args):
        return self._read("item", *args)

    def tolist(self):
        return self._read("tolist")

    def __bool__(self):
        return self._read("__bool__")

    def __int__(self):
        return self._read("__int__")

    def __float__(self):
        return self._read("__float__")

    def __index__(self):
        return self._read("__index__")

    def get(self):
        HOST_READS[0] += 1
        return np.asarray(self)


def counted(values, dtype):
    a = np.asarray(values, dtype=dtype).view(HostReadCounter)
    a.device = FakeDevice(0)
    return a


def device_loss_inputs(targets):
    x = dynet.zeros(len(targets), 3, dtype=dynet.float64, requires_grad=True)
    x._data = counted(np.linspace(-1, 1, 3 * len(targets)).reshape(-1, 3), np.float64)
    t = dynet.tensor(targets)
    t._data = counted(targets, np.int64)
    return x, t


def loss_calls():
    F = dynet.nn.functional
    yield "cross_entropy", F.cross_entropy
    yield "nll_loss", F.nll_loss


import pytest  # noqa: E402


@pytest.mark.parametrize("name,loss_fn", list(loss_calls()))
def test_class_index_losses_read_nothing_on_the_host_per_step(name, loss_fn):
    from dynet.backend import deferred
    deferred.flush()
    HOST_READS[0] = 0
    for _ in range(5):  # five "training steps": forward and backward
        x, t = device_loss_inputs([0, 2, 1, -100])
        loss_fn(x, t).backward()
    assert HOST_READS[0] == 0, f"{name} read device data on the host {HOST_READS[0]} times"
    assert deferred.pending() == 5
    expected = loss_fn(dynet.tensor(np.asarray(x._data)), dynet.tensor([0, 2, 1, -100])).item()
    assert deferred.pending() == 0  # reading a value flushed the queue (all checks passed)
    assert loss_fn(x.detach(), t).item() == pytest.approx(expected)  # masked -100 as on CPU


@pytest.mark.parametrize("name,loss_fn", list(loss_calls()))
def test_a_bad_device_target_raises_at_the_next_host_read_never_silently(name, loss_fn):
    from dynet.backend import deferred
    deferred.flush()
    x, t = device_loss_inputs([0, 3, 1])  # 3 is out of range for 3 classes
    loss = loss_fn(x, t)  # no sync, so no error yet
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        loss.item()
    assert deferred.pending() == 0
    assert loss_fn(*device_loss_inputs([0, 1, 2])).item() == pytest.approx(
        loss_fn(*device_loss_inputs([0, 1, 2])).item())  # the failed check is not re-raised


def test_device_checks_wait_in_a_bounded_queue():
    from dynet.backend import deferred
    deferred.flush()
    HOST_READS[0] = 0
    for _ in range(deferred.MAX_PENDING + 3):
        dynet.nn.functional.cross_entropy(*device_loss_inputs([1, 0]))
    assert deferred.pending() == 3  # the 64th call read the queue: one transfer per 64 steps
    assert HOST_READS[0] == deferred.MAX_PENDING
    deferred.flush()


def test_embedding_index_check_on_a_device_is_deferred():
    from dynet.backend import deferred
    deferred.flush()
    w = dynet.randn(4, 2, dtype=dynet.float64)
    w._data = counted(np.asarray(w._data), np.float64)
    idx = dynet.tensor([0, 4])
    idx._data = counted([0, 4], np.int64)
    HOST_READS[0] = 0
    out = dynet.nn.functional.embedding(idx, w)
    assert HOST_READS[0] == 0 and deferred.pending() == 1
    with pytest.raises(IndexError, match="got index 4 for an embedding with 4 rows"):
        dynet.cuda.synchronize() if dynet.cuda.is_available() else out.tolist()


def _device_tensor(values, dtype, requires_grad=False):
    t = dynet.tensor(values, dtype=dynet.float64 if dtype is np.float64 else dynet.int64)
    t._data = counted(values, dtype)
    return t.requires_grad_() if requires_grad else t


def _setitem(x, key, value):
    x[key] = value
    return x


# op, an in-range index, an out-of-range one, and the error PyTorch raises on the CPU
INDEX_CALLS = {
    "take": (lambda x, i: dynet.take(x, i), [0, -6, 5], [1, 6], IndexError,
             "out of range: tried to access index 6 on a tensor of 6 elements."),
    "index_select": (lambda x, i: x.index_select(1, i), [2, 0], [-1], RuntimeError,
                     "INDICES element is out of DATA bounds, id=-1 axis_dim=3"),
    "index_select_dim0": (lambda x, i: x.index_select(0, i), [1], [0, 2], IndexError,
                          "index out of range in self"),
    "getitem": (lambda x, i: x[i], [1, -2], [2], IndexError,
                "index 2 is out of bounds for dimension 0 with size 2"),
    "getitem_dim1": (lambda x, i: x[..., i], [2, -3], [-4], IndexError,
                     "index -4 is out of bounds for dimension 1 with size 3"),
    "getitem_after_an_int": (lambda x, i: x[1, i], [2, 0], [3], IndexError,
                             "index 3 is out of bounds for dimension 0 with size 3"),
    "index_add": (lambda x, i: x.index_add(0, i, x[:1] * 2.0), [1], [-1], RuntimeError,
                  "index -1 is out of bounds for dimension 0 with size 2"),
    "scatter_add": (lambda x, i: x.scatter_add(1, i.reshape(1, 1), x[:1, :1]), [2], [3],
                    RuntimeError, "index 3 is out of bounds for dimension 1 with size 3"),
    "index_fill": (lambda x, i: x.index_fill(1, i, 5.0), [-1], [-4], IndexError,
                   "index -4 is out of bounds for dimension 1 with size 3"),
    "setitem": (lambda x, i: _setitem(x.detach(), (slice(None), i), 7.0), [1], [5], IndexError,
                "index 5 is out of bounds for dimension 1 with size 3"),
    "setitem_recorded": (lambda x, i: _setitem(x * 1.0, (i,), x[0] * 2.0), [1], [-3],
                         IndexError, "index -3 is out of bounds for dimension 0 with size 2"),
}


@pytest.mark.parametrize("name", list(INDEX_CALLS))
def test_device_index_checks_are_deferred_and_raise_torchs_error(name):
    from dynet.backend import deferred
    fn, good, bad, kind, message = INDEX_CALLS[name]
    values = np.arange(6.0).reshape(2, 3)
    deferred.flush()
    HOST_READS[0] = 0
    out = fn(_device_tensor(values, np.float64, True), _device_tensor(good, np.int64))
    assert HOST_READS[0] == 0, f"{name} read device data on the host"
    assert deferred.pending() == 1
    expected = fn(dynet.tensor(values, requires_grad=True), dynet.tensor(good))
    assert out.tolist() == expected.tolist() and deferred.pending() == 0
    with pytest.raises(kind, match=re.escape(message)):  # the CPU raises it at once
        fn(dynet.tensor(values, requires_grad=True), dynet.tensor(bad))
    HOST_READS[0] = 0
    out = fn(_device_tensor(values, np.float64, True), _device_tensor(bad, np.int64))
    assert HOST_READS[0] == 0 and deferred.pending() == 1  # no error, no sync, yet
    with pytest.raises(kind, match=re.escape(message)):
        out.tolist()
    assert deferred.pending() == 0
