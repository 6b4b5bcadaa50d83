"""Grad mode and inference mode are per thread, as in PyTorch (issue 12, item 1)."""
import sys
import threading

import numpy as np
import pytest

import dynet
from dynet import nn
from dynet.backend import parallel


def _in_thread(fn):
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0]


def test_new_thread_starts_with_grad_on_and_inference_off():
    with dynet.no_grad():
        assert _in_thread(dynet.is_grad_enabled) is True
    with dynet.inference_mode():
        assert dynet.is_inference_mode_enabled() and not dynet.is_grad_enabled()
        assert _in_thread(lambda: (dynet.is_grad_enabled(),
                                   dynet.is_inference_mode_enabled())) == (True, False)
    assert dynet.is_grad_enabled() and not dynet.is_inference_mode_enabled()


def test_no_grad_in_another_thread_does_not_reach_this_one():
    entered, leave = threading.Event(), threading.Event()

    def other():
        with dynet.no_grad():
            entered.set()
            leave.wait(5)
        dynet.set_grad_enabled(False)  # left off for good, in that thread only

    t = threading.Thread(target=other)
    t.start()
    entered.wait(5)
    x = dynet.ones(2, requires_grad=True)
    assert dynet.is_grad_enabled() and (x * 2).requires_grad
    leave.set()
    t.join()
    assert dynet.is_grad_enabled() and (x * 2).requires_grad


def test_inference_mode_matches_torch():
    torch = pytest.importorskip("torch")
    for lib in (torch, dynet):
        x = lib.ones(1, requires_grad=True)
        with lib.inference_mode():
            inside = (lib.is_inference_mode_enabled(), lib.is_grad_enabled(),
                      (x * 2).requires_grad)
            with lib.inference_mode(False):
                nested = (lib.is_inference_mode_enabled(), lib.is_grad_enabled(),
                          (x * 2).requires_grad)
        outside = (lib.is_inference_mode_enabled(), lib.is_grad_enabled())

        @lib.inference_mode()
        def f():
            return lib.is_inference_mode_enabled(), lib.is_grad_enabled()
        got = (inside, nested, outside, f())
        if lib is torch:
            expected = got
    assert got == expected == ((True, False, False), (False, True, True), (False, True),
                               (True, False))


def _lenet_ish():
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 3 * 3, 16), nn.ReLU(), nn.Linear(16, 3))


def _train(model, data, target, steps):
    opt = dynet.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(data), target)
        loss.backward()
        opt.step()
    return [p.detach().numpy().copy() for p in model.parameters()]


def _meddle(stop, errors):
    """Builds models, initialises them, loads state dicts and evaluates under no_grad."""
    try:
        x = dynet.randn(2, 1, 8, 8)
        while not stop.is_set():
            m = _lenet_ish()
            for p in m.parameters():
                nn.init.normal_(p, std=0.1)
            m.load_state_dict(_lenet_ish().state_dict())
            with dynet.no_grad():
                m.eval()(x)
            with dynet.inference_mode():
                m(x)
            dynet.set_grad_enabled(False)  # and leaves it off, in this thread
    except BaseException as e:  # pragma: no cover - reported by the main thread
        errors.append(e)


@pytest.mark.parametrize("pool", ["serial", "split"])
def test_training_next_to_a_no_grad_thread_gives_the_serial_weights(pool, monkeypatch):
    if pool == "split":  # every CPU kernel that can split its work does
        monkeypatch.setattr(parallel, "MIN_WORK", 0)
        monkeypatch.setattr(parallel, "MIN_SPLIT_GEMM", 0)
    prev_threads = dynet.get_num_threads()
    dynet.set_num_threads(1 if pool == "serial" else 3)
    gen = np.random.default_rng(0)
    data = dynet.tensor(gen.standard_normal((4, 1, 8, 8)), dtype=dynet.float32)
    target = dynet.tensor(gen.integers(0, 3, 4))
    init = _lenet_ish().state_dict()
    steps = 4

    def fresh():
        model = _lenet_ish()
        model.load_state_dict(init)
        return model

    prev_interval = sys.getswitchinterval()
    try:
        serial = _train(fresh(), data, target, steps)
        sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
        for run in range(20):
            stop, errors = threading.Event(), []
            other = threading.Thread(target=_meddle, args=(stop, errors))
            other.start()
            try:
                got = _train(fresh(), data, target, steps)
            finally:
                stop.set()
                other.join()
            assert not errors, errors
            for a, b in zip(got, serial):
                np.testing.assert_array_equal(a, b, err_msg=f"run {run}")
            assert dynet.is_grad_enabled()
    finally:
        sys.setswitchinterval(prev_interval)
        dynet.set_num_threads(prev_threads)
