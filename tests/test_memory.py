"""The graph is freed after each training step: no node or saved array outlives its step."""
import gc
import weakref

import dynet
from dynet import nn, optim
from dynet.autograd.function import Function
from dynet.backend import host_memory


def _live_nodes():
    gc.collect()
    # type() rather than isinstance: some foreign objects warn when asked for __class__
    return sum(issubclass(type(o), Function) for o in gc.get_objects())


def test_training_steps_leave_no_graph_behind():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 3 * 3, 10))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = dynet.randn(8, 1, 8, 8), dynet.randint(0, 10, (8,))

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return weakref.ref(loss.grad_fn)

    step()
    baseline = _live_nodes()
    refs = [step() for _ in range(50)]
    gc.collect()
    assert all(r() is None for r in refs)
    assert _live_nodes() <= baseline


def test_backward_releases_saved_arrays():
    x = dynet.randn(1000, requires_grad=True)
    y = (x * x).exp()
    node = y.grad_fn
    assert node.saved_tensors
    y.sum().backward()
    assert node.saved_tensors is None and node.released


def test_allocator_tuning_is_reported_and_idempotent():
    first = host_memory.tune_host_allocator()
    assert host_memory.tune_host_allocator() == first
