"""max_pool3d / avg_pool3d, max_unpool1d/2d/3d, unfold / fold and pixel_(un)shuffle:
float64 loop references, gradcheck, PyTorch parity, errors and modules."""
import itertools

import numpy as np
import pytest

import dynet
import dynet.nn.functional as F
from dynet import nn
from dynet.autograd import gradcheck

from conftest import to_numpy


def _out(n, k, s, p, d, ceil_mode):
    num = n + 2 * p - d * (k - 1) - 1
    o = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def ref_pool3d(x, k, s, p, d, ceil_mode, kind, count_include_pad=True, divisor=None):
    """Loop reference; kind 'max' gives (values, flat indices), 'avg' the averages."""
    n, c = x.shape[:2]
    S = x.shape[2:]
    out = [_out(*a, ceil_mode) for a in zip(S, k, s, p, d)]
    y = np.zeros((n, c) + tuple(out))
    idx = np.zeros(y.shape, dtype=np.int64)
    for pos in itertools.product(*(range(o) for o in out)):
        start = [q * st - pp for q, st, pp in zip(pos, s, p)]
        coords = [[a + j * dd for j in range(kk) if 0 <= a + j * dd < nn_]
                  for a, kk, dd, nn_ in zip(start, k, d, S)]
        pts = list(itertools.product(*coords))
        vals = np.stack([x[(slice(None), slice(None)) + q] for q in pts], -1)
        if kind == "max":
            best = vals.argmax(-1)
            y[(slice(None), slice(None)) + pos] = vals.max(-1)
            flat = np.array([np.ravel_multi_index(q, S) for q in pts])
            idx[(slice(None), slice(None)) + pos] = flat[best]
        else:
            if divisor is not None:
                div = divisor
            elif count_include_pad:
                div = np.prod([min(a + kk, nn_ + pp) - a
                               for a, kk, nn_, pp in zip(start, k, S, p)])
            else:
                div = len(pts)
            y[(slice(None), slice(None)) + pos] = vals.sum(-1) / div
    return (y, idx) if kind == "max" else y


MAX_CASES = [((2, 3, 4, 5, 4), (2, 2, 2), None, (0, 0, 0), (1, 1, 1), False),
             ((1, 2, 5, 4, 6), (3, 2, 3), (2, 1, 2), (1, 0, 1), (1, 2, 1), True),
             ((2, 4, 3, 5), (2, 3, 2), (1, 2, 1), (1, 1, 0), (1, 1, 2), False)]


@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool3d_matches_reference_and_gradcheck(device, rng, case):
    shape, k, s, p, d, ceil_mode = case
    x = rng.standard_normal(shape)
    batched = len(shape) == 5
    xf = x if batched else x[None]
    want, want_idx = ref_pool3d(xf, k, s or k, p, d, ceil_mode, "max")
    y, idx = F.max_pool3d(dynet.tensor(x, device=device), k, s, p, d, ceil_mode,
                          return_indices=True)
    if not batched:
        want, want_idx = want[0], want_idx[0]
    np.testing.assert_array_equal(to_numpy(y), want)
    assert idx.dtype == dynet.int64
    np.testing.assert_array_equal(to_numpy(idx), want_idx)
    t = dynet.tensor(x, requires_grad=True, device=device)
    assert gradcheck(lambda t: F.max_pool3d(t, k, s, p, d, ceil_mode), (t,))


def test_max_pool3d_nan_and_inf(device):
    x = np.arange(8.0).reshape(1, 1, 2, 2, 2)
    x[0, 0, 0, 1, 0] = np.nan
    x[0, 0, 1, 0, 0] = np.inf
    t = dynet.tensor(x, requires_grad=True, device=device)
    y = F.max_pool3d(t, 2)
    assert np.isnan(to_numpy(y)).all()
    y.sum().backward()
    g = to_numpy(t.grad)
    assert g[0, 0, 0, 1, 0] == 1 and g.sum() == 1  # a NaN wins, and gets the gradient


@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool3d_no_grad_matches_torch(device, rng, case):
    """The grad-free max pool (no argmax kept) on NaN / +-inf windows and strided input."""
    torch = pytest.importorskip("torch")
    shape, k, s, p, d, ceil_mode = case
    x = rng.standard_normal(shape)
    flat = x.reshape(-1)
    picks = rng.choice(flat.size, size=9, replace=False)
    flat[picks[0::3]], flat[picks[1::3]], flat[picks[2::3]] = np.nan, np.inf, -np.inf
    want = torch.nn.functional.max_pool3d(torch.tensor(x), k, s, p, d, ceil_mode).numpy()
    wide = np.zeros(shape[:-1] + (2 * shape[-1],))
    wide[..., ::2] = x
    xt = dynet.tensor(wide, device=device, requires_grad=True)[..., ::2]  # non-contiguous
    with dynet.no_grad():
        y = F.max_pool3d(xt, k, s, p, d, ceil_mode)
    assert y.grad_fn is None
    np.testing.assert_array_equal(to_numpy(y), want)


AVG_CASES = [((2, 3, 4, 5, 4), (2, 2, 2), None, (0, 0, 0), False, True, None),
             ((1, 2, 5, 4, 6), (3, 2, 3), (2, 1, 2), (1, 1, 1), True, True, None),
             ((1, 2, 5, 4, 6), (3, 2, 3), (2, 1, 2), (1, 1, 1), True, False, None),
             ((2, 4, 3, 5), (2, 3, 2), (1, 2, 1), (1, 1, 0), False, True, 7)]


@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool3d_matches_reference_and_gradcheck(device, rng, case):
    shape, k, s, p, ceil_mode, cip, div = case
    x = rng.standard_normal(shape)
    xf = x if len(shape) == 5 else x[None]
    want = ref_pool3d(xf, k, s or k, p, (1, 1, 1), ceil_mode, "avg", cip, div)
    y = F.avg_pool3d(dynet.tensor(x, device=device), k, s, p, ceil_mode, cip, div)
    np.testing.assert_allclose(to_numpy(y), want if len(shape) == 5 else want[0],
                               rtol=1e-12)
    t = dynet.tensor(x, requires_grad=True, device=device)
    assert gradcheck(lambda t: F.avg_pool3d(t, k, s, p, ceil_mode, cip, div), (t,))


def test_pool3d_float32_noncontiguous_empty(device, rng):
    x = rng.standard_normal((2, 4, 4, 3, 2)).astype(np.float32)
    t = dynet.tensor(x, device=device).permute(0, 4, 1, 2, 3)  # non-contiguous (2, 2, 4, 4, 3)
    y = F.avg_pool3d(t, 2, stride=1)
    assert y.dtype == dynet.float32
    np.testing.assert_allclose(to_numpy(y), ref_pool3d(np.transpose(x, (0, 4, 1, 2, 3)),
                                                       (2,) * 3, (1,) * 3, (0,) * 3, (1,) * 3,
                                                       False, "avg"), rtol=1e-5)
    e = dynet.zeros((0, 2, 2, 2, 2), device=device, requires_grad=True)
    F.max_pool3d(e, 2).sum().backward()
    assert e.grad.shape == e.shape


def test_unpool_inverts_pool_and_gradcheck(device, rng):
    for nd, shape in ((1, (2, 3, 8)), (2, (2, 3, 4, 6)), (3, (1, 2, 4, 2, 4)), (2, (3, 4, 6))):
        x = rng.standard_normal(shape)
        pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[nd - 1]
        unpool = (F.max_unpool1d, F.max_unpool2d, F.max_unpool3d)[nd - 1]
        y, idx = pool(dynet.tensor(x, device=device), 2, return_indices=True)
        back = to_numpy(unpool(y, idx, 2))
        # each pooled max lands where it came from, zeros elsewhere
        lead = int(np.prod(shape[:-nd]))
        want = np.zeros((lead, int(np.prod(shape[-nd:]))))
        flat_idx = to_numpy(idx).reshape(lead, -1).astype(np.int64)
        np.put_along_axis(want, flat_idx, to_numpy(y).reshape(lead, -1), 1)
        np.testing.assert_array_equal(back, want.reshape(shape))
        t = dynet.tensor(to_numpy(y), requires_grad=True, device=device)
        assert gradcheck(lambda t: unpool(t, idx, 2), (t,))
    # output_size picks a larger plane; a full (N, C, H, W) size is accepted too
    y, idx = F.max_pool2d(dynet.tensor(rng.standard_normal((1, 1, 4, 4)), device=device), 2,
                          return_indices=True)
    assert F.max_unpool2d(y, idx, 2, output_size=(1, 1, 5, 5)).shape == (1, 1, 5, 5)


def test_unpool_errors():
    y, i = F.max_pool2d(dynet.randn(1, 1, 4, 4), 2, return_indices=True)
    with pytest.raises(RuntimeError, match=r"Expected shape of indices to be same as that of "
                                           r"the input tensor \(\[1, 1, 2, 2\]\)"):
        F.max_unpool2d(y, i[..., :1], 2)
    with pytest.raises(RuntimeError, match=r"Found an invalid max index: 3[0-9] \(output "
                                           r"volumes are of size 4x4"):
        F.max_unpool2d(y, i + 20, 2)
    with pytest.raises(ValueError, match=r'invalid output_size "\(9, 9\)" \(dim 0 must be '
                                         r'between 2 and 6\)'):
        F.max_unpool2d(y, i, 2, output_size=(9, 9))
    with pytest.raises(ValueError, match="output_size should be a sequence containing 2 or 4 "
                                         "elements, but it has a length of '3'"):
        F.max_unpool2d(y, i, 2, output_size=(1, 5, 5))
    with pytest.raises(RuntimeError, match="elements in indices should be type int64 but got: "
                                           "Int"):
        F.max_unpool2d(y, i.int(), 2)
    with pytest.raises(RuntimeError, match="Input to max_unpooling2d should be a 3d or 4d "
                                           "Tensor, but got a tensor with 2 dimensions"):
        F.max_unpool2d(y[0, 0], i[0, 0], 2)


def ref_unfold(x, k, d, p, s):
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + 2 * p[0], w + 2 * p[1]))
    xp[:, :, p[0]:p[0] + h, p[1]:p[1] + w] = x
    oh = (h + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    ow = (w + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    out = np.zeros((n, c, k[0], k[1], oh, ow))
    for i in range(k[0]):
        for j in range(k[1]):
            out[:, :, i, j] = xp[:, :, i * d[0]:i * d[0] + s[0] * (oh - 1) + 1:s[0],
                                 j * d[1]:j * d[1] + s[1] * (ow - 1) + 1:s[1]]
    return out.reshape(n, c * k[0] * k[1], oh * ow)


@pytest.mark.parametrize("args", [((2, 2), (1, 1), (0, 0), (1, 1)),
                                  ((2, 3), (2, 1), (1, 0), (1, 2))])
def test_unfold_fold_match_reference_adjoint_and_gradcheck(device, rng, args):
    k, d, p, s = args
    x = rng.standard_normal((2, 3, 5, 6))
    u = F.unfold(dynet.tensor(x, device=device), k, d, p, s)
    want = ref_unfold(x, k, d, p, s)
    np.testing.assert_allclose(to_numpy(u), want, rtol=1e-12)
    # fold is unfold's adjoint: <fold(c), x> == <c, unfold(x)>
    c = rng.standard_normal(want.shape)
    f = F.fold(dynet.tensor(c, device=device), (5, 6), k, d, p, s)
    np.testing.assert_allclose((to_numpy(f) * x).sum(), (c * want).sum(), rtol=1e-10)
    # unbatched forms
    np.testing.assert_allclose(to_numpy(F.unfold(dynet.tensor(x[0], device=device), k, d, p,
                                                 s)), want[0], rtol=1e-12)
    np.testing.assert_allclose(to_numpy(F.fold(dynet.tensor(c[0], device=device), (5, 6), k, d,
                                               p, s)), to_numpy(f)[0], rtol=1e-12)
    tx = dynet.tensor(x[:1, :2], requires_grad=True, device=device)
    assert gradcheck(lambda t: F.unfold(t, k, d, p, s), (tx,))
    tc = dynet.tensor(c[:1, :2 * k[0] * k[1]], requires_grad=True, device=device)
    assert gradcheck(lambda t: F.fold(t, (5, 6), k, d, p, s), (tc,))


@pytest.mark.parametrize("call, message", [
    (lambda: F.unfold(dynet.ones(1, 2, 3, 3, 3), 2), "Expected 3D or 4D"),
    (lambda: F.unfold(dynet.ones(1, 2, 3, 3), 4),
     r"Given input with spatial size \(3, 3\), kernel_size=\(4, 4\), dilation=\(1, 1\), "
     r"padding=\(0, 0\), calculated shape of the array of sliding blocks as \(0, 0\)"),
    (lambda: F.unfold(dynet.ones(1, 2, 3, 3), 0),
     "kernel size should be greater than zero, but got kernel_height: 0 kernel_width: 0"),
    (lambda: F.unfold(dynet.ones(1, 2, 3, 3), 2, stride=0),
     "stride should be greater than zero, but got stride_height: 0 stride_width: 0"),
    (lambda: F.unfold(dynet.ones(1, 2, 3, 3), 2, padding=-1),
     "padding should be non-negative, but got pad_height: -1 pad_width: -1"),
    (lambda: F.unfold(dynet.ones(1, 2, 3, 3), (2, 2, 2)),
     "It is expected kernel_size equals to 2, but got size 3"),
    (lambda: F.fold(dynet.ones(1, 5, 9), (4, 4), 2),
     r"Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
     r"but got input.size\(1\)=5 and kernel_size=\(2, 2\)."),
    (lambda: F.fold(dynet.ones(1, 8, 8), (4, 4), 2),
     r"expected size of input's dimension 2 to match the calculated number of sliding blocks "
     r"3 \* 3 = 9, but got input.size\(2\)=8."),
    (lambda: F.fold(dynet.ones(8, 9, 1, 1), (4, 4), 2), "Expected 2D or 3D"),
    (lambda: F.pixel_shuffle(dynet.ones(5, 2, 2), 2),
     r"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
     r"of upscale_factor, but input.size\(-3\)=5 is not divisible by 4"),
    (lambda: F.pixel_shuffle(dynet.ones(2, 2), 2),
     r"pixel_shuffle expects input to have at least 3 dimensions, but got input with 2 "
     r"dimension\(s\)"),
    (lambda: F.pixel_unshuffle(dynet.ones(4, 3, 2), 2),
     r"pixel_unshuffle expects height to be divisible by downscale_factor, but "
     r"input.size\(-2\)=3 is not divisible by 2"),
    (lambda: F.pixel_unshuffle(dynet.ones(4, 2, 2), 0),
     "pixel_unshuffle expects a positive downscale_factor, but got 0"),
    (lambda: F.max_pool3d(dynet.ones(2, 3, 4), 2),
     r"non-empty 4D or 5D \(batch mode\) tensor expected for input"),
    (lambda: F.max_pool3d(dynet.ones(1, 2, 1, 4, 4), 2),
     r"Given input size: \(2x1x4x4\). Calculated output size: \(2x0x2x2\). Output size is "
     "too small"),
    (lambda: F.avg_pool3d(dynet.ones(1, 2, 3, 4, 4), 3, padding=2),
     "pad should be at most half of effective kernel size"),
])
def test_errors(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()


def test_pixel_shuffle_reference_roundtrip_and_gradcheck(device, rng):
    x = rng.standard_normal((2, 1, 8, 2, 3))
    y = F.pixel_shuffle(dynet.tensor(x, device=device), 2)
    want = np.zeros((2, 1, 2, 4, 6))
    for c in range(2):
        for i in range(2):
            for j in range(2):
                want[:, :, c, i::2, j::2] = x[:, :, c * 4 + i * 2 + j]
    np.testing.assert_array_equal(to_numpy(y), want)
    np.testing.assert_array_equal(to_numpy(F.pixel_unshuffle(y, 2)), x)
    t = dynet.tensor(x[0], requires_grad=True, device=device)
    assert gradcheck(lambda t: F.pixel_shuffle(t, 2), (t,))
    assert gradcheck(lambda t: F.pixel_unshuffle(t, 2), (dynet.tensor(
        rng.standard_normal((2, 4, 6)), requires_grad=True, device=device),))


def test_torch_parity(rng):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x5 = rng.standard_normal((2, 3, 5, 6, 7))
    cases = [(F.max_pool3d, tf.max_pool3d, x5, (3,), dict(stride=2, padding=1,
                                                          dilation=(1, 2, 1), ceil_mode=True)),
             (F.avg_pool3d, tf.avg_pool3d, x5, (3,), dict(stride=2, padding=1, ceil_mode=True,
                                                          count_include_pad=False)),
             (F.unfold, tf.unfold, x5[0], ((2, 3),), dict(dilation=(2, 1), padding=1,
                                                          stride=(1, 2))),
             (F.fold, tf.fold, rng.standard_normal((2, 12, 12)), ((5, 6), 2),
              dict(padding=(1, 0), stride=(1, 2), dilation=(1, 2))),
             (F.pixel_shuffle, tf.pixel_shuffle, x5[:, :, :4], (2,), {}),
             (F.pixel_unshuffle, tf.pixel_unshuffle, x5[:, :, :, :4, :6], (2,), {})]
    for fd, ft, x, args, kw in cases:
        d, t = dynet.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = fd(d, *args, **kw), ft(t, *args, **kw)
        g = rng.standard_normal(tuple(ty.shape))
        y.backward(dynet.tensor(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(d.grad.numpy(), t.grad.numpy(), atol=1e-12)
    ty, ti = tf.max_pool3d(torch.tensor(x5), 2, return_indices=True)
    y, i = F.max_pool3d(dynet.tensor(x5), 2, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    np.testing.assert_array_equal(F.max_unpool3d(y, i, 2, output_size=(5, 6, 7)).numpy(),
                                  tf.max_unpool3d(ty, ti, 2, output_size=(5, 6, 7)).numpy())


def test_modules():
    assert repr(nn.Unfold(2, padding=1)) == "Unfold(kernel_size=2, dilation=1, padding=1, " \
                                            "stride=1)"
    assert repr(nn.Fold((4, 4), 2)) == "Fold(output_size=(4, 4), kernel_size=2, dilation=1, " \
                                       "padding=0, stride=1)"
    assert repr(nn.PixelShuffle(2)) == "PixelShuffle(upscale_factor=2)"
    assert repr(nn.PixelUnshuffle(3)) == "PixelUnshuffle(downscale_factor=3)"
    assert repr(nn.MaxUnpool2d(2)) == "MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), " \
                                      "padding=(0, 0))"
    assert repr(nn.MaxUnpool1d(2, stride=1)) == "MaxUnpool1d(kernel_size=(2,), stride=(1,), " \
                                                "padding=(0,))"
    assert repr(nn.MaxPool3d(2)) == "MaxPool3d(kernel_size=2, stride=2, padding=0, " \
                                    "dilation=1, ceil_mode=False)"
    assert repr(nn.AvgPool3d(2)) == "AvgPool3d(kernel_size=2, stride=2, padding=0)"
    x = dynet.randn(1, 2, 4, 4, 4)
    y, idx = nn.MaxPool3d(2, return_indices=True)(x)
    assert nn.MaxUnpool3d(2)(y, idx).shape == x.shape
    assert nn.AvgPool3d(2, divisor_override=1)(x).shape == (1, 2, 2, 2, 2)
    u = nn.Unfold(2)(dynet.randn(1, 3, 4, 4))
    assert u.shape == (1, 12, 9) and nn.Fold((4, 4), 2)(u).shape == (1, 3, 4, 4)
    assert nn.PixelUnshuffle(2)(nn.PixelShuffle(2)(dynet.randn(1, 8, 2, 2))).shape == \
        (1, 8, 2, 2)


def test_node_names_survive_backward():
    x = dynet.randn(1, 1, 2, 2, 2, requires_grad=True)
    outs = [F.max_pool3d(x, 2), F.avg_pool3d(x, 2)]
    y, idx = F.max_pool3d(x, 2, return_indices=True)
    outs.append(F.max_unpool3d(y, idx, 2))
    y2, idx2 = F.max_pool2d(x[0], 2, return_indices=True)
    outs.append(F.max_unpool2d(y2, idx2, 2))
    for o in outs:
        o.sum().backward()
    assert [o.grad_fn.name() for o in outs] == [
        "MaxPool3DWithIndicesBackward0", "AvgPool3DBackward0", "MaxUnpool3DBackward0",
        "MaxUnpool2DBackward0"]
