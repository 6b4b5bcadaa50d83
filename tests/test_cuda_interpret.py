"""The CUDA branches' Python side, run on the CPU: each launcher in dynet/backend/kernels is
called with CuPy replaced by NumPy and its ElementwiseKernels by tests/cuda_interpret.py,
which runs the C body per element with C's integer semantics and bounds-checked raw access.
The results must equal the NumPy path's. See cuda_interpret's docstring for what this can
and cannot prove; tests/test_cuda_compile.py compiles the same sources with NVRTC."""
import itertools

import numpy as np
import pytest

import cuda_interpret as ci
from dynet.backend import cuda
from dynet.backend.kernels import conv as K
from dynet.backend.kernels import kernel_modules
from dynet.backend.kernels import optim as O
from dynet.backend.kernels import pool as P
from dynet.backend.kernels import rnn as R

TOL = {np.float32: dict(rtol=2e-6, atol=1e-6), np.float64: dict(rtol=1e-13, atol=1e-13)}


@pytest.fixture
def launches(monkeypatch):
    """CuPy -> NumPy and ElementwiseKernel -> the interpreter; yields {kernel name: count}."""
    seen = {}

    def kernel(name, in_params, out_params, body):
        cuda.check_registered((name, in_params, out_params, body))
        k = ci.elementwise_kernel(name, in_params, out_params, body)

        def launch(*args, **kwargs):
            seen[name] = seen.get(name, 0) + 1
            return k(*args, **kwargs)
        return launch

    monkeypatch.setattr(cuda, "elementwise_kernel", kernel)
    monkeypatch.setattr(cuda, "cupy_module", lambda: np)
    return seen


# ---------------------------------------------------------------- the interpreter itself

def test_every_registered_kernel_translates():
    names = []
    for module in kernel_modules():
        for entry in getattr(module, "CUDA_KERNELS", ()):
            ci.elementwise_kernel(*entry)
            names.append(entry[0])
    assert len(names) > 100


def test_the_interpreter_keeps_c_semantics_and_catches_undefined_behaviour():
    div = ci.elementwise_kernel("t", "int64 a, int64 b", "int64 q, int64 r",
                                "q = a / b; r = a % b;")
    q, r = div(np.array([-7, 7, -7]), np.array([2, -2, -2]))
    assert q.tolist() == [-3, -3, 3] and r.tolist() == [-1, 1, -1]  # truncation, not floor
    oob = ci.elementwise_kernel("t", "raw T x", "T y", "y = x[i + 1];")
    with pytest.raises(ci.KernelError, match=r"raw x\[3\] is out of bounds"):
        oob(np.zeros(3), np.zeros(3))
    with pytest.raises(ci.KernelError, match="uninitialised"):
        ci.elementwise_kernel("t", "T x", "T y", "int k; y = x + (int)k;")(
            np.zeros(2), np.zeros(2))
    with pytest.raises(ci.KernelError, match="const"):
        ci.elementwise_kernel("t", "T x", "T y", "x = 1; y = x;")
    with pytest.raises(TypeError, match="Wrong number of arguments"):
        ci.elementwise_kernel("t", "T x, T s", "T y", "y = x * s;")(np.zeros(2))
    with pytest.raises(ci.KernelError, match="Type is mismatched"):
        ci.elementwise_kernel("t", "T x, T s", "T y", "y = x * s;")(
            np.zeros(2, np.float32), np.float64(2))
    f32 = ci.elementwise_kernel("t", "T x", "T y, float64 z", "y = x * 0.1f; z = x * 0.1;")
    y, z = f32(np.ones(1, np.float32))
    assert y.dtype == np.float32 and z[0] == np.float64(np.float32(1)) * 0.1  # 0.1 is double


# ---------------------------------------------------------------- conv and pool

CONV_CASES = [  # x shape, w shape, stride, padding, dilation
    ((2, 3, 7, 6), (4, 3, 3, 3), (1, 1), (1, 0), (1, 1)),
    ((1, 2, 9, 9), (2, 2, 3, 2), (2, 1), (1, 1), (1, 2)),
    ((2, 1, 6, 6), (1, 1, 5, 5), (1, 1), (2, 2), (1, 1)),
]


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_and_col2im_cuda_match_the_cpu_columns(launches, rng, case, dtype):
    xs, ws, stride, padding, dilation = case
    x = rng.standard_normal(xs).astype(dtype)
    gpu = K.ConvPlan(xs, ws, stride, padding, dilation, 1, gpu=True, itemsize=x.itemsize)
    cpu = K.ConvPlan(xs, ws, stride, padding, dilation, 1, layout=(False, xs[0]),
                     itemsize=x.itemsize)
    assert (cpu.flat, cpu.npg) == (False, xs[0])  # one group: both lay columns out (K, N*T)
    cols = K._im2col_cuda(x, gpu)
    np.testing.assert_array_equal(cols, K._im2col_cpu(x, cpu))
    c = rng.standard_normal(cols.shape).astype(dtype)
    np.testing.assert_allclose(K._col2im_cuda(c, gpu, xs[0], dtype),
                               K._col2im_cpu(c, cpu, xs[0], dtype), **TOL[dtype])
    assert launches == {"im2col": 1, "col2im": 1}


POOL_CASES = [  # x shape, kernel, stride, padding, dilation, ceil_mode
    ((2, 3, 8, 7), 2, 2, 0, 1, False),
    ((1, 2, 9, 9), 3, 2, 1, 1, True),
    ((1, 1, 10, 8), (3, 2), (1, 2), (1, 1), (2, 1), False),
]


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_cuda_matches_the_cpu_path(launches, rng, case):
    xs, kernel, stride, padding, dilation, ceil_mode = case
    x = np.round(rng.standard_normal(xs) * 2) / 2  # many ties: the first maximum must win
    y, arg, p = P.max_pool2d_forward(x, kernel, stride, padding, dilation, ceil_mode)
    y_cuda, idx = P._max_forward_cuda(x, p)
    np.testing.assert_array_equal(y_cuda, y)
    np.testing.assert_array_equal(idx, P.max_pool2d_indices(arg, p))
    g = rng.standard_normal(y.shape)
    np.testing.assert_allclose(P._max_backward_cuda(g, idx, p),
                               P.max_pool2d_backward(g, arg, p), rtol=1e-13, atol=1e-13)
    assert launches == {"maxpool2d_fwd": 1, "maxpool2d_bwd": 1}


# ---------------------------------------------------------------- optimizers

def _state(rng, dtype, n=5):
    return [rng.standard_normal(n).astype(dtype) for _ in range(6)]


def _run_both(monkeypatch, update, arrays, *hyper):
    """Runs `update` on copies through the NumPy path and through the fused kernel."""
    ref = [a.copy() for a in arrays]
    update(*ref, *hyper)
    fused = [a.copy() for a in arrays]
    with monkeypatch.context() as m:
        m.setattr(O, "_fusable", lambda p, g: p.dtype in O._FUSED_DTYPES and g.dtype == p.dtype)
        update(*fused, *hyper)
    return ref, fused


def _flag_grid(n):
    return list(itertools.product((False, True), repeat=n))


def _assert_same(ref, fused, dtype, skip=(1,)):
    for k, (a, b) in enumerate(zip(ref, fused)):
        if k not in skip:  # the gradient is never written
            np.testing.assert_allclose(b, a, **TOL[dtype], err_msg=f"array {k}")


def _family(prefix):
    return {e[0] for e in O.CUDA_KERNELS if e[0].startswith(prefix)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_sgd_kernel_matches_the_numpy_update(launches, monkeypatch, rng, dtype):
    for momentum, nesterov, maximize, wd, first in _flag_grid(5):
        if nesterov and not momentum:
            continue
        arrays = _state(rng, dtype)[:3]
        ref, fused = _run_both(monkeypatch, O.sgd_update, arrays, 0.1, 0.9 if momentum else 0,
                               0.25 if momentum and not nesterov else 0.0,
                               0.01 if wd else 0.0, nesterov, maximize, first)
        _assert_same(ref, fused, dtype)
    # nesterov without momentum is refused by the optimizer, so its kernels never launch
    assert set(launches) == {n for n in _family("sgd_") if not n.startswith("sgd_m0n1")}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_adam_kernel_matches_the_numpy_update(launches, monkeypatch, rng, dtype):
    for amsgrad, maximize, wd, decoupled, step in itertools.product(
            (False, True), (False, True), (False, True), (False, True), (1, 3)):
        for beta1 in (0.9, 0.2):  # 1 - beta1 below and above 0.5: both lerp formulas
            p, g, m, v, vmax, _ = _state(rng, dtype)
            v, vmax = np.abs(v), np.abs(vmax)
            ref, fused = _run_both(monkeypatch, O.adam_update, [p, g, m, v, vmax], 1e-2,
                                   beta1, 0.999, 1e-8, 0.05 if wd else 0.0, step, amsgrad,
                                   maximize, decoupled)
            _assert_same(ref, fused, dtype)
    # coupled weight decay and decoupled decay exclude each other: w1d1 never launches
    assert set(launches) == {n for n in _family("adam_") if "w1d1" not in n}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_rmsprop_kernel_matches_the_numpy_update(launches, monkeypatch, rng, dtype):
    for centered, momentum, maximize, wd, alpha in itertools.product(
            (False, True), (False, True), (False, True), (False, True), (0.99, 0.3)):
        p, g, sq, ga, buf, _ = _state(rng, dtype)
        sq = ga * ga + np.abs(sq)  # a reachable state: E[g^2] >= E[g]^2
        ref, fused = _run_both(monkeypatch, O.rmsprop_update, [p, g, sq, ga, buf],
                               1e-2, alpha, 1e-8, 0.05 if wd else 0.0,
                               0.9 if momentum else 0.0, centered, maximize)
        _assert_same(ref, fused, dtype)
    assert set(launches) == _family("rmsprop_")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_adagrad_and_adadelta_kernel_matches_the_numpy_update(launches, monkeypatch,
                                                                    rng, dtype):
    for maximize, wd in _flag_grid(2):
        p, g, s, a, _, _ = _state(rng, dtype)
        ref, fused = _run_both(monkeypatch, O.adagrad_update, [p, g, np.abs(s)], 1e-2,
                               0.05 if wd else 0.0, 1e-10, maximize)
        _assert_same(ref, fused, dtype)
        ref, fused = _run_both(monkeypatch, O.adadelta_update, [p, g, np.abs(s), np.abs(a)],
                               1.0, 0.9, 1e-6, 0.05 if wd else 0.0, maximize)
        _assert_same(ref, fused, dtype)
    assert set(launches) == _family("adagrad_") | _family("adadelta_")


def _optimizer_run(name, kwargs, init, grads, foreach):
    import dynet
    from dynet import optim
    params = [dynet.Tensor._make(a.copy(), True) for a in init]
    opt = getattr(optim, name)([{"params": params[:2]}, {"params": params[2:], "lr": 0.02}],
                               foreach=foreach, **kwargs)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = dynet.Tensor._make(g, False)
        opt.step()
    return [p._data for p in params], opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, kwargs", [
    ("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05)),
    ("AdamW", dict(lr=0.01, maximize=True))])
def test_flat_optimizer_step_is_one_kernel_per_set_and_matches_the_numpy_loop(
        launches, monkeypatch, rng, dtype, name, kwargs):
    shapes = [(3, 4), (), (5,), (2, 0, 3), (7,)]
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(4)]
    ref, _ = _optimizer_run(name, kwargs, init, grads, foreach=False)  # NumPy ufuncs
    assert launches == {}
    monkeypatch.setattr(O, "_fusable", lambda p, g: p.dtype in O._FUSED_DTYPES
                        and g.dtype == p.dtype)
    flat, opt = _optimizer_run(name, kwargs, init, grads, foreach=None)
    # the whole of each param group's set (two groups) in ONE launch per step
    assert sum(launches.values()) == 2 * len(grads)
    assert len(opt._flat_cache[id(opt.param_groups[0])][1]) == 1
    _assert_same(ref, flat, dtype, skip=())


# ---------------------------------------------------------------- recurrent cells

def _rnn_both(monkeypatch, step, arrays):
    ref = [a.copy() for a in arrays]
    step(*ref)
    fused = [a.copy() for a in arrays]
    with monkeypatch.context() as m:
        m.setattr(R, "_fused", lambda a: a.dtype in R._FUSED_DTYPES)
        step(*fused)
    return ref, fused


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_and_gru_step_kernels_match_the_numpy_path(launches, monkeypatch, rng, dtype):
    b, H = 3, 4
    r = lambda *s: rng.standard_normal(s).astype(dtype)  # noqa: E731
    # LSTM activations are gate-major (4, b, H), the input projection and dg rows (b, 4H)
    ref, fused = _rnn_both(monkeypatch, R.lstm_step, [r(4, b, H), r(b, 4 * H), r(b, H),
                                                      r(b, H), r(b, H), r(b, H)])
    _assert_same(ref, fused, dtype, skip=())
    a = 1 / (1 + np.exp(-r(4, b, H)))
    ref, fused = _rnn_both(monkeypatch, R.lstm_step_backward,
                           [a, np.tanh(r(b, H)), r(b, H), r(b, H), r(b, H), r(b, 4 * H)])
    _assert_same(ref, fused, dtype, skip=())
    ref, fused = _rnn_both(monkeypatch, R.gru_step, [r(b, 3 * H), r(b, 3 * H), r(b, H),
                                                     r(b, 3 * H), r(b, H)])
    _assert_same(ref, fused, dtype, skip=())
    ref, fused = _rnn_both(monkeypatch, R.gru_step_backward,
                           [ref[3], r(b, 3 * H), r(b, H), r(b, H), r(b, 3 * H), r(b, 3 * H)])
    _assert_same(ref, fused, dtype, skip=())
    assert set(launches) == {"lstm_fwd", "lstm_bwd", "gru_fwd", "gru_bwd"}
