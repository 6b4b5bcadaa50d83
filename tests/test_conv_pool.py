"""conv1d/conv2d and pooling: naive float64 references, gradcheck, PyTorch parity, errors."""
import numpy as np
import pytest

import dynet
from dynet.autograd import gradcheck
from dynet.ops import conv as C
from dynet.ops import pool as P


@pytest.fixture(autouse=True, params=["serial", "split"])
def cpu_threads(request):
    """Every test here runs with CPU kernels on one thread and split over three."""
    request.getfixturevalue("serial_cpu" if request.param == "serial" else "split_cpu")
    return request.param


def to_numpy(t):
    """Host float64 copy of a tensor (CPU or CUDA)."""
    return np.asarray(t.detach().cpu().numpy())


# ---------------------------------------------------------------- plain loop references

def ref_conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """Direct convolution, one output pixel at a time (float64)."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, ho, wo))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for i in range(ho):
            for j in range(wo):
                patch = xp[:, g * cg:(g + 1) * cg,
                           i * sh:i * sh + dh * (kh - 1) + 1:dh,
                           j * sw:j * sw + dw * (kw - 1) + 1:dw]
                out[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3))
    if b is not None:
        out += b[None, :, None, None]
    return out


def _out_len(size, k, s, p, d, ceil_mode):
    eff = d * (k - 1) + 1
    num = size + 2 * p - eff
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def ref_max_pool2d(x, k, s, p=(0, 0), d=(1, 1), ceil_mode=False):
    n, c, h, w = x.shape
    ho = _out_len(h, k[0], s[0], p[0], d[0], ceil_mode)
    wo = _out_len(w, k[1], s[1], p[1], d[1], ceil_mode)
    out = np.empty((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            rows = [r for r in range(i * s[0] - p[0], i * s[0] - p[0] + d[0] * k[0], d[0])
                    if 0 <= r < h]
            cols = [q for q in range(j * s[1] - p[1], j * s[1] - p[1] + d[1] * k[1], d[1])
                    if 0 <= q < w]
            out[:, :, i, j] = x[:, :, rows][:, :, :, cols].max(axis=(2, 3))
    return out


def ref_avg_pool2d(x, k, s, p=(0, 0), ceil_mode=False, count_include_pad=True):
    n, c, h, w = x.shape
    ho = _out_len(h, k[0], s[0], p[0], 1, ceil_mode)
    wo = _out_len(w, k[1], s[1], p[1], 1, ceil_mode)
    out = np.empty((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            h0, w0 = i * s[0] - p[0], j * s[1] - p[1]
            h1, w1 = min(h0 + k[0], h + p[0]), min(w0 + k[1], w + p[1])
            window = x[:, :, max(h0, 0):min(h1, h), max(w0, 0):min(w1, w)]
            count = (h1 - h0) * (w1 - w0) if count_include_pad else \
                window.shape[2] * window.shape[3]
            out[:, :, i, j] = window.sum(axis=(2, 3)) / count
    return out


def ref_adaptive_avg_pool2d(x, size):
    n, c, h, w = x.shape
    out = np.empty((n, c) + tuple(size))
    for i in range(size[0]):
        h0, h1 = (i * h) // size[0], -(-((i + 1) * h) // size[0])
        for j in range(size[1]):
            w0, w1 = (j * w) // size[1], -(-((j + 1) * w) // size[1])
            out[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return out


def _t(a, device, grad=False, dtype=None):
    a = np.asarray(a, dtype=dtype or a.dtype)
    return dynet.tensor(a, device=device, requires_grad=grad)


# (x shape, w shape, stride, padding, dilation, groups)
CONV_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), (1, 1), (0, 0), (1, 1), 1),
    ((2, 4, 9, 8), (6, 2, 3, 2), (2, 1), (1, 2), (1, 1), 2),
    ((1, 2, 11, 10), (3, 2, 3, 3), (2, 3), (2, 1), (2, 1), 1),
    ((3, 1, 12, 12), (6, 1, 5, 5), (1, 1), (2, 2), (1, 1), 1),   # LeNet conv1-like
    ((2, 6, 7, 7), (6, 1, 3, 3), (1, 1), (1, 1), (1, 1), 6),     # depthwise
    ((2, 4, 10, 9), (4, 2, 3, 3), (1, 1), (2, 2), (2, 2), 2),    # dilated, flat layout
]


# ---------------------------------------------------------------- conv forward

@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("requires_grad", [False, True])
def test_conv2d_forward_matches_loop_reference(device, rng, case, requires_grad):
    xs, ws, stride, padding, dilation, groups = case
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    # requires_grad picks a different column layout (flat vs per-sample): test both
    y = C.conv2d(_t(x, device, requires_grad), _t(w, device), _t(b, device), stride,
                 padding, dilation, groups)
    ref = ref_conv2d(x, w, b, stride, padding, dilation, groups)
    assert y.shape == ref.shape and y.dtype == dynet.float64
    np.testing.assert_allclose(to_numpy(y), ref, rtol=1e-10, atol=1e-10)


def test_conv2d_float32_stays_float32(device, rng):
    x = _t(rng.standard_normal((2, 1, 8, 8)), device, dtype=np.float32)
    w = _t(rng.standard_normal((3, 1, 3, 3)), device, dtype=np.float32)
    assert C.conv2d(x, w).dtype == dynet.float32


def test_conv2d_unbatched_and_batch_one(device, rng):
    x, w, b = rng.standard_normal((3, 8, 7)), rng.standard_normal((5, 3, 3, 2)), \
        rng.standard_normal(5)
    y = C.conv2d(_t(x, device), _t(w, device), _t(b, device), padding=1)
    assert y.shape == (5, 8, 8)
    np.testing.assert_allclose(to_numpy(y), ref_conv2d(x[None], w, b, padding=(1, 1))[0],
                               rtol=1e-10, atol=1e-10)
    y1 = C.conv2d(_t(x[None], device), _t(w, device), _t(b, device), padding=1)
    assert y1.shape == (1, 5, 8, 8)


@pytest.mark.parametrize("k,d", [(3, 1), (4, 1), (2, 3), (5, 2)])
def test_conv2d_padding_same_and_valid(device, rng, k, d):
    x, w = rng.standard_normal((2, 2, 10, 11)), rng.standard_normal((3, 2, k, k))
    y = C.conv2d(_t(x, device), _t(w, device), padding="same", dilation=d)
    assert y.shape == (2, 3, 10, 11)
    # PyTorch puts the odd leftover of an even total padding at the bottom/right
    total = d * (k - 1)
    lo = total // 2
    xp = np.zeros((2, 2, 10 + total, 11 + total))
    xp[:, :, lo:lo + 10, lo:lo + 11] = x
    np.testing.assert_allclose(to_numpy(y), ref_conv2d(xp, w, dilation=(d, d)),
                               rtol=1e-10, atol=1e-10)
    v = C.conv2d(_t(x, device), _t(w, device), padding="valid", dilation=d)
    np.testing.assert_allclose(to_numpy(v), ref_conv2d(x, w, dilation=(d, d)),
                               rtol=1e-10, atol=1e-10)


def test_conv1d_forward(device, rng):
    x, w, b = rng.standard_normal((2, 4, 11)), rng.standard_normal((6, 2, 3)), \
        rng.standard_normal(6)
    y = C.conv1d(_t(x, device), _t(w, device), _t(b, device), stride=2, padding=1,
                 dilation=2, groups=2)
    ref = ref_conv2d(x[:, :, None], w[:, :, None], b, (1, 2), (0, 1), (1, 2), 2)[:, :, 0]
    assert y.shape == ref.shape
    np.testing.assert_allclose(to_numpy(y), ref, rtol=1e-10, atol=1e-10)
    yu = C.conv1d(_t(x[0], device), _t(w, device), None, 1, "same", 1, 2)
    assert yu.shape == (6, 11)


def test_conv2d_empty_batch(device, rng):
    x = _t(np.zeros((0, 2, 6, 6)), device, True)
    w = _t(rng.standard_normal((3, 2, 3, 3)), device, True)
    y = C.conv2d(x, w)
    assert y.shape == (0, 3, 4, 4)
    y.sum().backward()
    assert x.grad.shape == (0, 2, 6, 6)
    np.testing.assert_array_equal(to_numpy(w.grad), 0.0)


# ---------------------------------------------------------------- conv gradients

@pytest.mark.parametrize("case", CONV_CASES[:3] + CONV_CASES[4:])
def test_conv2d_gradcheck(device, rng, case):
    xs, ws, stride, padding, dilation, groups = case
    x = _t(rng.standard_normal(xs), device, True)
    w = _t(rng.standard_normal(ws), device, True)
    b = _t(rng.standard_normal(ws[0]), device, True)
    assert gradcheck(lambda x, w, b: C.conv2d(x, w, b, stride, padding, dilation, groups),
                     (x, w, b))


def test_conv2d_gradcheck_same_even_kernel_unbatched(device, rng):
    x = _t(rng.standard_normal((2, 5, 6)), device, True)
    w = _t(rng.standard_normal((3, 2, 2, 4)), device, True)
    assert gradcheck(lambda x, w: C.conv2d(x, w, padding="same"), (x, w))


def test_conv1d_gradcheck(device, rng):
    x = _t(rng.standard_normal((2, 2, 9)), device, True)
    w = _t(rng.standard_normal((4, 2, 3)), device, True)
    b = _t(rng.standard_normal(4), device, True)
    assert gradcheck(lambda x, w, b: C.conv1d(x, w, b, stride=2, padding=1), (x, w, b))


def test_conv2d_only_weight_grad(device, rng):
    # the first layer of a net: no input gradient, so a different column layout
    x = _t(rng.standard_normal((3, 1, 9, 9)), device)
    w = _t(rng.standard_normal((4, 1, 3, 3)), device, True)
    assert gradcheck(lambda w: C.conv2d(x, w, padding=1), (w,))


def test_conv2d_blocked_columns(device, rng, monkeypatch):
    # big inputs run in blocks of samples and recompute columns in backward
    from dynet.backend.kernels import conv as K
    monkeypatch.setattr(K, "COLS_BLOCK_BYTES", 3000)
    monkeypatch.setattr(K, "COLS_BLOCK_BYTES_CUDA", 3000)
    xs, ws = (5, 2, 7, 7), (3, 2, 3, 3)
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(3)
    for stride in (1, 2):
        y = C.conv2d(_t(x, device), _t(w, device), _t(b, device), stride, 1)
        np.testing.assert_allclose(to_numpy(y), ref_conv2d(x, w, b, (stride,) * 2, (1, 1)),
                                   rtol=1e-10, atol=1e-10)
        xt, wt, bt = _t(x, device, True), _t(w, device, True), _t(b, device, True)
        assert gradcheck(lambda a, v, c: C.conv2d(a, v, c, stride, 1), (xt, wt, bt))


@pytest.mark.parametrize("case", [c for c in CONV_CASES if c[2] == (1, 1)])
@pytest.mark.parametrize("n,cols", [(0, 1), (1, 1), (7, 1), (7, 150)])
def test_conv2d_flat_cache_blocks(device, rng, monkeypatch, case, n, cols):
    # the flat path splits the batch into cache-sized blocks (here one to four samples
    # each); non-contiguous x, stride-1 cases with padding, dilation and groups
    from dynet.backend.kernels import conv as K
    monkeypatch.setattr(K, "CACHE_BLOCK_BYTES", 1)
    monkeypatch.setattr(K, "MIN_BLOCK_COLS", cols)
    xs, ws, stride, padding, dilation, groups = case
    xs = (n,) + xs[1:]
    x = rng.standard_normal(xs[:2] + (xs[3], xs[2])).transpose(0, 1, 3, 2)  # strided
    w, b = rng.standard_normal(ws), rng.standard_normal(ws[0])
    xt, wt, bt = _t(x, device, True), _t(w, device, True), _t(b, device, True)
    y = C.conv2d(xt, wt, bt, stride, padding, dilation, groups)
    ref = ref_conv2d(x, w, b, stride, padding, dilation, groups)
    np.testing.assert_allclose(to_numpy(y), ref, rtol=1e-10, atol=1e-10)
    if n == 0:
        y.sum().backward()
        assert xt.grad.shape == xs and not to_numpy(wt.grad).any()
        return
    assert gradcheck(lambda a, v, c: C.conv2d(a, v, c, stride, padding, dilation, groups),
                     (xt, wt, bt))


@pytest.mark.parametrize("stride,dilation", [((1, 1), (1, 1)), ((1, 2), (2, 1))])
def test_conv2d_per_sample_cache_blocks(device, rng, monkeypatch, stride, dilation):
    # per-sample GEMMs (no input gradient, >= 512 positions) in blocks of one sample whose
    # columns are recomputed in backward
    from dynet.backend.kernels import conv as K
    monkeypatch.setattr(K, "CACHE_BLOCK_BYTES", 1)
    x = rng.standard_normal((7, 2, 26, 96))[:, :, :, ::2]  # strided
    w, b = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    plan = K.plan_for(x, w, stride, 1, dilation, need_x=False, bias=True)
    assert plan.npg == 1 and plan.block == 1 and not plan.keep
    wt, bt = _t(w, device, True), _t(b, device, True)
    y = C.conv2d(_t(x, device), wt, bt, stride, 1, dilation)
    np.testing.assert_allclose(to_numpy(y), ref_conv2d(x, w, b, stride, (1, 1), dilation),
                               rtol=1e-10, atol=1e-10)
    assert gradcheck(lambda v, c: C.conv2d(_t(x, device), v, c, stride, 1, dilation),
                     (wt, bt))


def test_conv2d_per_sample_blocks_by_outputs(monkeypatch):
    # few outputs per column (LeNet conv1) block as soon as a thread's block passes
    # CACHE_BLOCK_BYTES; many (CIFAR conv1) only at 4x that
    from dynet.backend import parallel
    from dynet.backend.kernels import conv as K
    monkeypatch.setattr(parallel, "get_num_threads", lambda: 2)
    lenet = K.ConvPlan((256, 1, 28, 28), (6, 1, 5, 5), 1, 2, 1, 1, need_x=False, bias=True)
    assert lenet.npg == 1 and not lenet.keep and lenet.block * 3.2 <= 128
    lenet64 = K.ConvPlan((64, 1, 28, 28), (6, 1, 5, 5), 1, 2, 1, 1, need_x=False, bias=True)
    assert lenet64.keep and lenet64.block == 32
    cifar = K.ConvPlan((64, 3, 32, 32), (32, 3, 3, 3), 1, 1, 1, 1, need_x=False, bias=True)
    assert cifar.npg == 1 and cifar.keep and cifar.block == 32


def test_conv2d_flat_cache_blocks_are_equal():
    from dynet.backend.kernels import conv as K
    p = K.ConvPlan((1024, 6, 14, 14), (16, 6, 5, 5), 1, 0, 1, 1, need_x=True, bias=True)
    assert p.flat and p.blocks()[-1][1] - p.blocks()[-1][0] == p.block <= 66
    assert len(p.blocks()) * p.block == 1024


# ---------------------------------------------------------------- pooling forward

# (x shape, kernel, stride, padding, dilation, ceil_mode)
MAX_CASES = [
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), (1, 1), False),    # LeNet, reshape-friendly
    ((1, 2, 7, 9), (3, 2), (2, 1), (1, 1), (1, 1), False),
    ((2, 2, 7, 7), (3, 3), (2, 2), (1, 0), (1, 1), True),
    ((1, 3, 9, 8), (2, 3), (3, 2), (0, 1), (2, 1), True),
    ((2, 1, 10, 6), (3, 3), (1, 1), (1, 1), (2, 2), False),   # overlapping, dilated
]


@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool2d_forward_matches_reference(device, rng, case):
    xs, k, s, p, d, ceil = case
    x = rng.standard_normal(xs)
    y = P.max_pool2d(_t(x, device), k, s, p, d, ceil)
    ref = ref_max_pool2d(x, k, s, p, d, ceil)
    assert y.shape == ref.shape
    np.testing.assert_array_equal(to_numpy(y), ref)


@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool2d_gradcheck(device, rng, case):
    xs, k, s, p, d, ceil = case
    # distinct values: finite differences across a tie would be meaningless
    x = _t(rng.permutation(np.prod(xs)).reshape(xs) / 7.0, device, True)
    assert gradcheck(lambda x: P.max_pool2d(x, k, s, p, d, ceil), (x,))


def test_max_pool2d_ties_and_nan_follow_pytorch(device):
    x = np.array([[[[1.0, 1.0, 0.0, 2.0],
                    [1.0, 0.5, 2.0, 2.0],
                    [np.nan, 3.0, 5.0, 5.0],
                    [4.0, np.nan, 5.0, 5.0]]]])
    xt = _t(x, device, True)
    y, idx = P.max_pool2d(xt, 2, return_indices=True)
    # first maximum wins a tie; the last NaN of a window wins (val > max || isnan(val))
    np.testing.assert_array_equal(to_numpy(idx), [[[[0, 3], [13, 10]]]])
    np.testing.assert_array_equal(to_numpy(y), [[[[1.0, 2.0], [np.nan, 5.0]]]])
    y.sum().backward()
    expected = np.zeros(16)
    expected[[0, 3, 13, 10]] = 1.0
    np.testing.assert_array_equal(to_numpy(xt.grad).ravel(), expected)


def test_max_pool2d_return_indices_general(device, rng):
    x = rng.standard_normal((2, 2, 7, 9))
    y, idx = P.max_pool2d(_t(x, device), (3, 2), (2, 2), (1, 1), (1, 2), True,
                          return_indices=True)
    assert idx.dtype == dynet.int64 and idx.shape == y.shape
    flat = x.reshape(2, 2, -1)
    picked = np.take_along_axis(flat, to_numpy(idx).reshape(2, 2, -1), axis=2)
    np.testing.assert_array_equal(picked.reshape(y.shape), to_numpy(y))


@pytest.mark.parametrize("case", [
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), False, True),
    ((1, 2, 7, 9), (3, 2), (2, 1), (1, 1), False, False),
    ((2, 2, 7, 7), (3, 3), (2, 2), (1, 0), True, True),
    ((1, 1, 6, 8), (3, 3), (2, 3), (1, 1), True, False),
    ((1, 2, 5, 5), (3, 3), (1, 1), (1, 1), False, True),
])
def test_avg_pool2d_forward_and_gradcheck(device, rng, case):
    xs, k, s, p, ceil, cip = case
    x = rng.standard_normal(xs)
    y = P.avg_pool2d(_t(x, device), k, s, p, ceil, cip)
    ref = ref_avg_pool2d(x, k, s, p, ceil, cip)
    assert y.shape == ref.shape
    np.testing.assert_allclose(to_numpy(y), ref, rtol=1e-12, atol=1e-12)
    xt = _t(x, device, True)
    assert gradcheck(lambda x: P.avg_pool2d(x, k, s, p, ceil, cip), (xt,))


def test_avg_pool2d_divisor_override(device, rng):
    x = rng.standard_normal((1, 2, 6, 6))
    y = P.avg_pool2d(_t(x, device), 3, 3, divisor_override=2)
    np.testing.assert_allclose(to_numpy(y), ref_avg_pool2d(x, (3, 3), (3, 3)) * 9 / 2)


@pytest.mark.parametrize("size", [(1, 1), (3, 3), (2, 5), (4, None), 3])
def test_adaptive_avg_pool2d(device, rng, size):
    x = rng.standard_normal((2, 3, 8, 9))
    y = P.adaptive_avg_pool2d(_t(x, device), size)
    full = (size, size) if isinstance(size, int) else \
        tuple(9 if s is None else s for s in size)
    np.testing.assert_allclose(to_numpy(y), ref_adaptive_avg_pool2d(x, full),
                               rtol=1e-12, atol=1e-12)
    xt = _t(rng.standard_normal((1, 2, 5, 7)), device, True)
    assert gradcheck(lambda x: P.adaptive_avg_pool2d(x, size), (xt,))


def test_pool_1d_and_unbatched(device, rng):
    x = rng.standard_normal((2, 3, 11))
    y = P.max_pool1d(_t(x, device), 3, 2, 1, ceil_mode=True)
    ref = ref_max_pool2d(x[:, :, None], (1, 3), (1, 2), (0, 1), (1, 1), True)[:, :, 0]
    assert y.shape == ref.shape
    np.testing.assert_array_equal(to_numpy(y), ref)
    ya = P.avg_pool1d(_t(x[0], device), 2)
    np.testing.assert_allclose(to_numpy(ya), ref_avg_pool2d(x[:1, :, None], (1, 2),
                                                            (1, 2))[0, :, 0])
    xu = rng.standard_normal((3, 6, 5))
    yu, iu = P.max_pool2d(_t(xu, device), 2, return_indices=True)
    assert yu.shape == (3, 3, 2) and iu.shape == (3, 3, 2)
    np.testing.assert_array_equal(to_numpy(yu), ref_max_pool2d(xu[None], (2, 2), (2, 2))[0])
    assert P.avg_pool2d(_t(xu, device), 2).shape == (3, 3, 2)
    assert P.adaptive_avg_pool2d(_t(xu, device), 1).shape == (3, 1, 1)
    xt = _t(x, device, True)
    assert gradcheck(lambda x: P.avg_pool1d(x, 3, 2, 1), (xt,))
    assert gradcheck(lambda x: P.max_pool1d(x, 2), (xt,))


# ---------------------------------------------------------------- PyTorch parity (float32)

def _torch_pair(torch, a, device, grad=True):
    return (_t(a, device, grad, np.float32),
            torch.tensor(a, dtype=torch.float32, requires_grad=grad))


@pytest.mark.parametrize("case", CONV_CASES + [
    ((4, 1, 28, 28), (6, 1, 5, 5), (1, 1), (2, 2), (1, 1), 1),
    ((4, 6, 14, 14), (16, 6, 5, 5), (1, 1), (0, 0), (1, 1), 1),
])
@pytest.mark.parametrize("input_grad", [True, False])
def test_conv2d_matches_torch(device, rng, case, input_grad):
    torch = pytest.importorskip("torch")
    xs, ws, stride, padding, dilation, groups = case
    x, tx = _torch_pair(torch, rng.standard_normal(xs), device, input_grad)
    w, tw = _torch_pair(torch, rng.standard_normal(ws), device)
    b, tb = _torch_pair(torch, rng.standard_normal(ws[0]), device)
    y = C.conv2d(x, w, b, stride, padding, dilation, groups)
    ty = torch.nn.functional.conv2d(tx, tw, tb, stride, padding, dilation, groups)
    g = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    y.backward(_t(g, device))
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(to_numpy(y), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    for ours, theirs in ((w, tw), (b, tb)) + (((x, tx),) if input_grad else ()):
        np.testing.assert_allclose(to_numpy(ours.grad), theirs.grad.numpy(), rtol=1e-4,
                                   atol=1e-4)
    if not input_grad:
        assert x.grad is None


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", MAX_CASES)
def test_pool2d_matches_torch(device, rng, kind, case):
    torch = pytest.importorskip("torch")
    xs, k, s, p, d, ceil = case
    x, tx = _torch_pair(torch, rng.standard_normal(xs), device)
    if kind == "max":
        y, idx = P.max_pool2d(x, k, s, p, d, ceil, return_indices=True)
        ty, tidx = torch.nn.functional.max_pool2d(tx, k, s, p, d, ceil, return_indices=True)
        np.testing.assert_array_equal(to_numpy(idx), tidx.numpy())
    else:
        y = P.avg_pool2d(x, k, s, p, ceil, count_include_pad=False)
        ty = torch.nn.functional.avg_pool2d(tx, k, s, p, ceil, count_include_pad=False)
    g = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    y.backward(_t(g, device))
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(to_numpy(y), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(x.grad), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_adaptive_avg_pool2d_matches_torch(device, rng):
    torch = pytest.importorskip("torch")
    x, tx = _torch_pair(torch, rng.standard_normal((2, 3, 10, 7)), device)
    y = P.adaptive_avg_pool2d(x, (4, 3))
    ty = torch.nn.functional.adaptive_avg_pool2d(tx, (4, 3))
    g = rng.standard_normal((2, 3, 4, 3)).astype(np.float32)
    y.backward(_t(g, device))
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(to_numpy(y), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(x.grad), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_lenet_block_matches_torch(device, rng):
    """conv -> relu -> pool twice, batch 64: the shapes the benchmark targets."""
    torch = pytest.importorskip("torch")
    x, tx = _torch_pair(torch, rng.standard_normal((64, 1, 28, 28)), device, False)
    w1, tw1 = _torch_pair(torch, rng.standard_normal((6, 1, 5, 5)) * 0.2, device)
    w2, tw2 = _torch_pair(torch, rng.standard_normal((16, 6, 5, 5)) * 0.1, device)
    F = torch.nn.functional
    h = P.max_pool2d(dynet.relu(C.conv2d(x, w1, padding=2)), 2)
    out = P.max_pool2d(dynet.relu(C.conv2d(h, w2)), 2)
    th = F.max_pool2d(F.relu(F.conv2d(tx, tw1, padding=2)), 2)
    tout = F.max_pool2d(F.relu(F.conv2d(th, tw2)), 2)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(to_numpy(out), tout.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(to_numpy(w1.grad), tw1.grad.numpy(), rtol=1e-3, atol=1e-2)
    np.testing.assert_allclose(to_numpy(w2.grad), tw2.grad.numpy(), rtol=1e-3, atol=1e-2)


# ---------------------------------------------------------------- inference and grad-free paths

def _strided_t(a, device, grad=False):
    """A non-contiguous tensor holding `a`: every other element of a wider tensor."""
    wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
    wide[..., ::2] = a
    t = _t(wide, device, grad)[..., ::2]
    assert not t._data.flags.c_contiguous
    return t


@pytest.mark.parametrize("case", CONV_CASES + [
    ((3, 6, 14, 14), (16, 6, 5, 5), (1, 1), (0, 0), (1, 1), 1),  # LeNet conv2: flat forward
    ((2, 1, 28, 28), (6, 1, 5, 5), (1, 1), (2, 2), (1, 1), 1),   # per-sample GEMMs
])
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_no_grad_matches_torch_and_saves_nothing(device, rng, case, bias):
    torch = pytest.importorskip("torch")
    xs, ws, stride, padding, dilation, groups = case
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32) if bias else None
    args = (stride, padding, dilation, groups)
    ref = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w),
                                     None if b is None else torch.tensor(b), *args).numpy()
    wt = _t(w, device, True)
    bt = None if b is None else _t(b, device, True)
    with dynet.no_grad():
        y = C.conv2d(_strided_t(x, device), wt, bt, *args)
    assert y.grad_fn is None and not y.requires_grad
    np.testing.assert_allclose(to_numpy(y), ref, rtol=1e-4, atol=1e-4)
    # the same call with a graph gives the same numbers
    np.testing.assert_allclose(to_numpy(C.conv2d(_strided_t(x, device), wt, bt, *args)),
                               to_numpy(y), rtol=1e-5, atol=1e-5)


def test_conv2d_bias_grad_only_matches_torch(device, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 6, 14, 14)).astype(np.float32)
    w = rng.standard_normal((16, 6, 5, 5)).astype(np.float32)
    b, tb = _torch_pair(torch, rng.standard_normal(16), device)
    y = C.conv2d(_t(x, device), _t(w, device), b)
    ty = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), tb)
    g = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    y.backward(_t(g, device))
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(to_numpy(y), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(to_numpy(b.grad), tb.grad.numpy(), rtol=1e-4, atol=1e-3)


def _with_specials(rng, shape):
    """Random values with NaN, +inf and -inf planted in some windows."""
    x = rng.standard_normal(shape).astype(np.float32)
    flat = x.reshape(-1)
    picks = rng.choice(flat.size, size=max(3, flat.size // 12), replace=False)
    flat[picks[0::3]] = np.nan
    flat[picks[1::3]] = np.inf
    flat[picks[2::3]] = -np.inf
    return x


@pytest.mark.parametrize("case", MAX_CASES + [((3, 6, 28, 28), (2, 2), (2, 2), (0, 0), (1, 1),
                                               False)])
@pytest.mark.parametrize("contiguous", [True, False])
def test_max_pool2d_no_grad_matches_torch(device, rng, case, contiguous):
    """The grad-free max pool (maxima only, no argmax) on windows with NaN and +-inf."""
    torch = pytest.importorskip("torch")
    xs, k, s, p, d, ceil = case
    x = _with_specials(rng, xs)
    make = _t if contiguous else _strided_t
    ref = torch.nn.functional.max_pool2d(torch.tensor(x), k, s, p, d, ceil).numpy()
    with dynet.no_grad():
        y = P.max_pool2d(make(x, device, True), k, s, p, d, ceil)
    assert y.grad_fn is None
    np.testing.assert_array_equal(to_numpy(y), ref)
    # with a graph: same values, and the indices agree with torch's
    y2, idx = P.max_pool2d(make(x, device, True), k, s, p, d, ceil, return_indices=True)
    np.testing.assert_array_equal(to_numpy(y2), ref)
    _, tidx = torch.nn.functional.max_pool2d(torch.tensor(x), k, s, p, d, ceil,
                                             return_indices=True)
    np.testing.assert_array_equal(to_numpy(idx), tidx.numpy())


@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool2d_backward_nonfinite_grad_matches_torch(device, rng, case):
    """inf / nan in the upstream gradient reach only the winners (0 * inf is not written)."""
    torch = pytest.importorskip("torch")
    xs, k, s, p, d, ceil = case
    x, tx = _torch_pair(torch, rng.permutation(np.prod(xs)).reshape(xs) / 7.0, device)
    y = P.max_pool2d(x, k, s, p, d, ceil)
    ty = torch.nn.functional.max_pool2d(tx, k, s, p, d, ceil)
    g = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    g.reshape(-1)[0] = np.inf
    g.reshape(-1)[-1] = np.nan
    y.backward(_t(g, device))
    ty.backward(torch.from_numpy(g))
    # overlapping windows may add in another order: equal up to rounding, NaN where torch's
    np.testing.assert_allclose(to_numpy(x.grad), tx.grad.numpy(), rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- errors

def test_conv2d_errors(device):
    x = dynet.zeros(64, 3, 28, 28, device=device)
    w = dynet.zeros(6, 1, 5, 5, device=device)
    with pytest.raises(RuntimeError, match=r"Given groups=1, weight of size \[6, 1, 5, 5\], "
                       r"expected input\[64, 3, 28, 28\] to have 1 channels, but got 3 "
                       r"channels instead"):
        C.conv2d(x, w)
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) "
                       r"input to conv2d, but got input of size: \[2, 3\]"):
        C.conv2d(dynet.zeros(2, 3, device=device), w)
    with pytest.raises(RuntimeError, match=r"expected input\[1, 3, 28, 28\] to have 1"):
        C.conv2d(dynet.zeros(3, 28, 28, device=device), w)
    with pytest.raises(RuntimeError, match=r"Kernel size can't be greater"):
        C.conv2d(dynet.zeros(1, 1, 4, 4, device=device), w)
    with pytest.raises(RuntimeError, match=r"expected bias to be 1-dimensional with 6"):
        C.conv2d(dynet.zeros(1, 1, 8, 8, device=device), w, dynet.zeros(5, device=device))
    with pytest.raises(RuntimeError, match=r"divisible by 2 at dimension 0"):
        C.conv2d(dynet.zeros(1, 2, 8, 8, device=device),
                 dynet.zeros(3, 1, 3, 3, device=device), groups=2)
    with pytest.raises(RuntimeError, match="not supported for strided convolutions"):
        C.conv2d(dynet.zeros(1, 1, 8, 8, device=device), w, stride=2, padding="same")
    with pytest.raises(RuntimeError, match="Invalid padding string: 'foo'"):
        C.conv2d(dynet.zeros(1, 1, 8, 8, device=device), w, padding="foo")
    with pytest.raises(RuntimeError, match="non-positive stride"):
        C.conv2d(dynet.zeros(1, 1, 8, 8, device=device), w, stride=0)
    with pytest.raises(RuntimeError, match="negative padding"):
        C.conv2d(dynet.zeros(1, 1, 8, 8, device=device), w, padding=-1)
    with pytest.raises(RuntimeError, match="should be the same"):
        C.conv2d(dynet.zeros(1, 1, 8, 8, device=device), w.double())
    with pytest.raises(RuntimeError, match=r"input to conv1d, but got input of size: "
                       r"\[1, 2, 8, 8\]"):
        C.conv1d(dynet.zeros(1, 2, 8, 8, device=device), dynet.zeros(3, 2, 3, device=device))


def test_pool_errors(device):
    x = dynet.zeros(1, 1, 8, 8, device=device)
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel "
                       "size, but got pad=2, kernel_size=3 and dilation=1"):
        P.max_pool2d(x, 3, padding=2)
    with pytest.raises(RuntimeError, match=r"Given input size: \(1x2x2\). Calculated output "
                       r"size: \(1x0x0\). Output size is too small"):
        P.max_pool2d(dynet.zeros(1, 1, 2, 2, device=device), 3)
    with pytest.raises(RuntimeError, match="3D or 4D"):
        P.max_pool2d(dynet.zeros(1, 8, device=device), 2)
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        P.avg_pool2d(x, 3, padding=2)
    with pytest.raises(RuntimeError, match="stride should not be zero"):
        P.max_pool2d(x, 2, stride=0)
    with pytest.raises(RuntimeError, match=r"max_pool1d: Expected 2D or 3D"):
        P.max_pool1d(dynet.zeros(8, device=device), 2)
    with pytest.raises(RuntimeError, match="Expected 2 to 3 dimensions"):
        P.avg_pool1d(dynet.zeros(1, 2, 3, 8, device=device), 2)
    with pytest.raises(RuntimeError, match=r"Expected 3D or 4D tensor, but got \[8, 8\]"):
        P.adaptive_avg_pool2d(dynet.zeros(8, 8, device=device), 2)
    with pytest.raises(RuntimeError, match="output_size must be 2"):
        P.adaptive_avg_pool2d(x, (2,))
    with pytest.raises(RuntimeError, match="not implemented for"):
        P.max_pool2d(dynet.zeros(1, 1, 4, 4, dtype=dynet.int64, device=device), 2)


def test_backward_node_names(device, rng):
    x = _t(rng.standard_normal((1, 1, 6, 6)), device, True)
    w = _t(rng.standard_normal((2, 1, 3, 3)), device, True)
    assert C.conv2d(x, w).grad_fn.name() == "ConvolutionBackward0"
    assert P.max_pool2d(x, 2).grad_fn.name() == "MaxPool2DWithIndicesBackward0"
    assert P.avg_pool2d(x, 2).grad_fn.name() == "AvgPool2DBackward0"
