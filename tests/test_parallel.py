"""backend.parallel: the CPU thread pool, its BLAS control, and kernels split over it."""
import os
import sys
import threading
import time

import numpy as np
import pytest

import dynet
from dynet import nn
from dynet.autograd import gradcheck
from dynet.backend import parallel


def test_ranges_cover_and_balance(monkeypatch):
    monkeypatch.setattr(parallel, "_num_threads", 3)
    assert parallel.ranges(10, parallel.MIN_WORK) == [(0, 4), (4, 7), (7, 10)]
    assert parallel.ranges(2, parallel.MIN_WORK) == [(0, 1), (1, 2)]
    assert parallel.ranges(10, parallel.MIN_WORK - 1) == [(0, 10)]
    assert parallel.ranges(0, 10 ** 9) == [(0, 0)]
    monkeypatch.setattr(parallel, "_num_threads", 1)
    assert parallel.ranges(10, 10 ** 9) == [(0, 10)]


def test_run_keeps_order_and_uses_other_threads(split_cpu):
    seen = set()

    def body(i):
        seen.add(threading.get_ident())
        time.sleep(0.002)  # releases the GIL, as NumPy's loops do
        return i * i

    assert parallel.run(body, [(i,) for i in range(12)]) == [i * i for i in range(12)]
    assert len(seen) == 3


def test_run_reraises_the_first_error_after_all_items(split_cpu):
    done = []

    def body(i):
        done.append(i)
        if i == 2:
            raise KeyError(f"item {i}")
        return i

    with pytest.raises(KeyError, match="item 2"):
        parallel.run(body, [(i,) for i in range(6)])
    assert sorted(done) == list(range(6))
    assert parallel.run(lambda i: i, [(1,), (2,)]) == [1, 2]  # the pool still works


def test_nested_and_concurrent_regions_run_serially(split_cpu):
    def inner(i):
        return parallel.run(lambda j: (i, j), [(j,) for j in range(3)])

    assert parallel.run(inner, [(i,) for i in range(4)]) == \
        [[(i, j) for j in range(3)] for i in range(4)]
    results, errors = [], []

    def user_thread(k):
        try:
            for _ in range(50):
                results.append(parallel.run(lambda i: i + k, [(i,) for i in range(5)]))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=user_thread, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 150
    assert all(r == [i + r[0] for i in range(5)] for r in results)


def test_blas_runs_single_threaded_inside_and_is_restored(split_cpu):
    blas = parallel._blas_control()
    if not blas.controllable:
        pytest.skip("NumPy's BLAS is not an OpenBLAS dynet can find")
    before = blas.get()
    inside = parallel.run(lambda i: blas.get(), [(i,) for i in range(3)])
    assert inside == [1, 1, 1]
    assert blas.get() == before


def test_matmul_splits_only_near_regions(split_cpu, monkeypatch):
    a, b = np.ones((8, 3)), np.ones((3, 2))
    calls = []
    real_run = parallel.run
    monkeypatch.setattr(parallel, "run", lambda *args: calls.append(1) or real_run(*args))
    np.testing.assert_array_equal(parallel.matmul(a, b), np.full((8, 2), 3.0))
    assert calls  # inside the window: split over the pool
    monkeypatch.setattr(parallel, "REGION_WINDOW", 0.0)
    calls.clear()
    np.testing.assert_array_equal(parallel.matmul(a, b), np.full((8, 2), 3.0))
    assert not calls  # no recent region: OpenBLAS threads the product itself
    before = parallel._last_region
    real_run(lambda i: i, [(0,), (1,)])
    assert parallel._last_region > before


def test_blas_is_found_and_limited_through_threadpoolctl(split_cpu):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    blas = parallel._blas_control()
    if not blas.controllable:
        pytest.skip("NumPy's BLAS is not controllable here")
    assert blas is parallel._blas_control()  # one cached controller
    infos = {i["filepath"]: i for i in threadpoolctl.threadpool_info()}
    assert blas.filepath in infos and infos[blas.filepath]["user_api"] == "blas"
    assert blas.internal_api == infos[blas.filepath]["internal_api"]
    before = blas.get()
    with parallel._serial_blas():
        now = {i["filepath"]: i for i in threadpoolctl.threadpool_info()}
        assert now[blas.filepath]["num_threads"] == 1 == blas.get()
    assert blas.get() == before


def test_set_num_threads_checks_and_env(monkeypatch):
    for bad in (0, -1, 1.5, True, "2"):  # PyTorch's RuntimeError (tests/test_clear_errors.py)
        with pytest.raises(RuntimeError, match="positive integer|expects an int"):
            dynet.set_num_threads(bad)
    monkeypatch.setattr(parallel, "_num_threads", None)
    monkeypatch.setenv("DYNET_NUM_THREADS", "3")
    assert dynet.get_num_threads() == 3
    monkeypatch.setattr(parallel, "_num_threads", None)
    monkeypatch.delenv("DYNET_NUM_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", "five")
    with pytest.raises(ValueError, match="OMP_NUM_THREADS='five'"):
        dynet.get_num_threads()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_pool_survives_fork(split_cpu):
    parallel.run(lambda i: i, [(1,), (2,)])  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # child: the parent's worker threads are gone; a new pool must work
        ok = parallel.run(lambda i: i * 2, [(i,) for i in range(4)]) == [0, 2, 4, 6]
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


# ------------------------------------------------- kernels: split over threads == serial


def _graph_results(fn, inputs):
    out = fn(*inputs)
    out.backward(dynet.tensor(np.random.default_rng(5).standard_normal(out.shape)))
    return [out.detach().numpy()] + [t.grad.numpy() for t in inputs]


def _leaves(rng, *shapes):
    return [dynet.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


MATMUL_SHAPES = [((7, 5), (5, 3)), ((2, 7, 5), (5, 4)), ((3, 1, 6, 5), (2, 5, 3)),
                 ((5,), (5, 4)), ((6, 5), (5,))]


@pytest.mark.parametrize("fn,shapes", [
    (lambda x: dynet.relu(x), [(4, 3, 5, 5)]),
    (lambda x: nn.functional.max_pool2d(x, 2), [(5, 3, 8, 8)]),
    (lambda x, w, b: nn.functional.linear(x, w, b), [(9, 6), (4, 6), (4,)]),
    (lambda a, b: a + b, [(6, 7), (6, 7)]),
    (lambda a, b: a - b, [(6, 7), (6, 7)]),
    (lambda a, b: a * b, [(6, 7), (6, 7)]),
    (lambda a, b: a / b, [(6, 7), (6, 7)]),
] + [(dynet.matmul, list(s)) for s in MATMUL_SHAPES])
def test_split_kernels_match_serial(request, rng, fn, shapes):
    inputs = _leaves(rng, *shapes)
    request.getfixturevalue("serial_cpu")
    serial = _graph_results(fn, inputs)
    for t in inputs:
        t.grad = None
    request.getfixturevalue("split_cpu")
    split = _graph_results(fn, inputs)
    for a, b in zip(serial, split):
        np.testing.assert_allclose(b, a, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("a_shape,b_shape", MATMUL_SHAPES)
def test_split_matmul_gradcheck(split_cpu, rng, a_shape, b_shape):
    assert gradcheck(dynet.matmul, _leaves(rng, a_shape, b_shape))


def test_split_relu_keeps_strided_and_float32_inputs(split_cpu, rng):
    x = dynet.tensor(rng.standard_normal((6, 8)).astype(np.float32)).t()  # not contiguous
    np.testing.assert_array_equal(dynet.relu(x).numpy(), np.maximum(x.numpy(), 0))
    assert dynet.relu(x).dtype == dynet.float32


def test_lenet_step_same_on_one_and_many_threads(request):
    """A LeNet training step gives the same loss and weights serially and split."""
    from dynet.examples.lenet import LeNet5

    def steps():
        dynet.manual_seed(3)
        model = LeNet5().double()
        opt = dynet.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        x, y = dynet.randn(12, 1, 28, 28).double(), dynet.randint(0, 10, (12,))
        losses = []
        for _ in range(3):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, [p.detach().numpy() for p in model.parameters()]

    request.getfixturevalue("serial_cpu")
    serial = steps()
    request.getfixturevalue("split_cpu")
    split = steps()
    np.testing.assert_allclose(split[0], serial[0], rtol=1e-12)
    for a, b in zip(serial[1], split[1]):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


def test_no_threads_left_running_after_interpreter_exit(tmp_path):
    """The daemon workers never keep a script alive."""
    import subprocess
    script = ("import dynet, numpy as np; dynet.set_num_threads(2);"
              "from dynet.backend import parallel; parallel.MIN_WORK = 0;"
              "print(dynet.relu(dynet.randn(64, 64)).shape)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.returncode == 0, out.stderr


def test_set_num_threads_limits_numpy_blas_too():
    blas = parallel._blas_control()
    if not blas.controllable:
        pytest.skip("NumPy's BLAS cannot be controlled here")
    before_dynet, before_blas = dynet.get_num_threads(), blas.get()
    try:
        dynet.set_num_threads(1)
        assert blas.get() == 1
        a = np.ones((64, 64), np.float32)
        assert np.array_equal(parallel.matmul(a, a), a @ a)
        assert blas.get() == 1  # a product leaves the limit in place
        dynet.set_num_threads(2)
        assert blas.get() == 2
    finally:
        dynet.set_num_threads(before_dynet)
        blas.set(before_blas)
