"""Raw-array conv/pool kernels (dynet.backend.kernels): layouts, adjointness, blocking."""
import numpy as np
import pytest

from dynet.backend import Device, parallel
from dynet.backend.kernels import conv as K
from dynet.backend.kernels import pool as P


def _host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


# (x shape, w shape, stride, padding, dilation, groups)
CASES = [
    ((3, 2, 8, 7), (4, 2, 3, 3), (1, 1), (1, 0), (1, 1), 1),
    ((2, 4, 9, 9), (6, 2, 3, 2), (2, 1), (1, 1), (1, 2), 2),
    ((4, 1, 12, 12), (6, 1, 5, 5), (1, 1), (2, 2), (1, 1), 1),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("need_x", [True, False])
def test_col2im_is_the_adjoint_of_im2col(device, rng, case, need_x):
    # <im2col(x), c> == <x, col2im(c)> for every layout the planner picks
    xs, ws, stride, padding, dilation, groups = case
    xp = Device(device).xp
    x = xp.asarray(rng.standard_normal(xs))
    plan = K.plan_for(x, xp.zeros(ws), stride, padding, dilation, groups, need_x=need_x)
    cols = K.im2col(x, plan)
    G, npg = plan.groups_of(xs[0])
    assert cols.shape == (G, plan.K, npg * plan.T)
    c = xp.asarray(rng.standard_normal(cols.shape))
    if plan.flat:
        # garbage columns (past Wo in each padded-width row) never reach col2im's input
        c.reshape(G, plan.K, npg, plan.Ho, plan.Wp)[..., plan.Wo:] = 0
    lhs = float((cols * c).sum())
    rhs = float((x * K.col2im(c, plan)).sum())
    assert np.isclose(lhs, rhs, rtol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_layouts_agree(device, rng, case):
    xs, ws, stride, padding, dilation, groups = case
    xp = Device(device).xp
    x, w = xp.asarray(rng.standard_normal(xs)), xp.asarray(rng.standard_normal(ws))
    b = xp.asarray(rng.standard_normal(ws[0]))
    outs = []
    for need_x in (True, False):
        y, plan, cols = K.conv2d_forward(x, w, b, stride, padding, dilation, groups,
                                         need_x=need_x)
        g = xp.asarray(np.random.default_rng(0).standard_normal(y.shape))
        grads = K.conv2d_backward(g, x, w, plan, cols, True, True, True)
        regrads = K.conv2d_backward(g, x, w, plan, None, True, True, True)
        outs.append([_host(a) for a in (y,) + grads])
        for a, r in zip(grads, regrads):
            np.testing.assert_allclose(_host(a), _host(r), rtol=1e-12, atol=1e-12)
    for a, b_ in zip(*outs):
        np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-12)


def test_cpu_plan_choices(serial_cpu):
    # measured choices (bench/NOTES.md): flat single group when dx is needed and stride 1
    p = K.ConvPlan((64, 6, 14, 14), (16, 6, 5, 5), 1, 0, 1, 1, need_x=True)
    assert p.flat and p.npg == 64 and p.keep and p.blocks() == [(0, 64)]
    p = K.ConvPlan((64, 1, 28, 28), (6, 1, 5, 5), 1, 2, 1, 1, need_x=False)
    assert not p.flat and p.npg == 1
    p = K.ConvPlan((64, 6, 14, 14), (16, 6, 5, 5), 2, 0, 1, 1, need_x=True)
    assert not p.flat
    big = K.ConvPlan((256, 64, 32, 32), (64, 64, 3, 3), 1, 1, 1, 1, need_x=True)
    assert not big.keep and sum(b - a for a, b in big.blocks()) == 256


def test_cpu_plan_splits_the_batch_per_thread(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_WORK", 0)
    monkeypatch.setattr(parallel, "_num_threads", 3)
    p = K.ConvPlan((64, 6, 14, 14), (16, 6, 5, 5), 1, 0, 1, 1, need_x=True)
    assert p.keep and p.blocks() == [(0, 22), (22, 44), (44, 64)] and p.npg == 22


def test_pool_out_size_matches_pytorch_rule():
    # ceil mode drops a last window that would start in the right padding
    assert P.pool_out_size(5, 2, 2, 1, 1, True) == 3
    assert P.pool_out_size(6, 3, 2, 1, 1, True) == 4
    assert P.pool_out_size(6, 3, 2, 1, 1, False) == 3
    assert P.pool_out_size(7, 2, 3, 0, 2, True) == 3


def test_max_pool_fast_path_needs_no_buffer(rng):
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    y, arg, plan = P.max_pool2d_forward(x, 2, 2)
    assert plan.direct and plan.disjoint and arg.dtype == np.uint8
    ref = x.reshape(2, 3, 4, 2, 4, 2).max(axis=(3, 5))
    np.testing.assert_array_equal(y, ref)
    g = rng.standard_normal(y.shape).astype(np.float32)
    gx = P.max_pool2d_backward(g, arg, plan)
    # every window routes its gradient to exactly one element
    np.testing.assert_allclose(gx.reshape(2, 3, 4, 2, 4, 2).sum(axis=(3, 5)), g)
    assert np.count_nonzero(gx) == g.size


def test_fused_optimizer_kernel_names_key_every_compiled_flag(monkeypatch):
    # Kernels are cached by name, so two bodies under one name would silently reuse the
    # wrong code on CUDA (e.g. Adam's lerp branch, which depends on beta1).
    from dynet.backend.kernels import optim as O
    sources = {}

    def record(name, in_params, out_params, body):
        source = (in_params, out_params, body)
        assert sources.setdefault(name, source) == source, f"kernel {name} has two bodies"
        return name

    monkeypatch.setattr(O, "_kernel", record)
    monkeypatch.setattr(O, "_launch", lambda *args: None)
    p = np.zeros(3, np.float32)
    for w in (0.1, 0.7):
        for flags in [(a, x, wd, d) for a in (0, 1) for x in (0, 1) for wd in (0, .1)
                      for d in (1.0, .9)]:
            amsgrad, maximize, wd, decay = flags
            O._adam_cuda(p, p, p, p, p, w, 0.999, 1e-8, wd, decay, 1e-3, 1.0,
                         bool(amsgrad), bool(maximize))
            O._rmsprop_cuda(p, p, p, p, p, 1e-2, 1 - w, 1e-8, wd, 0.9 * amsgrad,
                            bool(maximize), bool(decay != 1.0))
    for flags in [(m, n, x, wd, f) for m in (0, .9) for n in (0, 1) for x in (0, 1)
                  for wd in (0, .1) for f in (0, 1)]:
        O._sgd_cuda(p, p, p, 0.1, flags[0], 0.0, flags[3], bool(flags[1]), bool(flags[2]),
                    bool(flags[4]))
    assert len(sources) > 40


def test_index_add_rows_accumulates_repeated_rows_like_add_at():
    from dynet.backend.kernels.scatter import index_add_rows
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 5, 40)  # many repeats
    values = rng.standard_normal((40, 3)).astype(np.float32)
    start = rng.standard_normal((5, 3)).astype(np.float32)
    want = start.astype(np.float64)
    np.add.at(want, rows, values.astype(np.float64))
    got = index_add_rows(start.copy(), rows, values)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    empty = index_add_rows(start.copy(), rows[:0], values[:0])
    np.testing.assert_array_equal(empty, start)
