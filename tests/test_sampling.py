"""interpolate / Upsample, grid_sample and affine_grid: float64 loop references, gradcheck,
PyTorch parity (every mode, padding mode and align_corners), errors and modules."""
import math
import warnings

import numpy as np
import pytest

import dynet
import dynet.nn.functional as F
from dynet import nn
from dynet.autograd import gradcheck

from conftest import to_numpy


# ---------------------------------------------------------------- 1-D loop references

def _cubic(t):
    a = -0.75
    near = lambda x: ((a + 2) * x - (a + 3)) * x * x + 1  # noqa: E731
    far = lambda x: ((a * x - 5 * a) * x + 8 * a) * x - 4 * a  # noqa: E731
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def ref_resample_1d(x, out, mode, align_corners=False):
    """Resamples the last axis of x to `out` points, one output point at a time (size given,
    so the coordinate scale is in / out)."""
    n = x.shape[-1]
    y = np.zeros(x.shape[:-1] + (out,))
    for o in range(out):
        if mode == "nearest":
            y[..., o] = x[..., min(int(math.floor(o * n / out)), n - 1)]
        elif mode == "nearest-exact":
            y[..., o] = x[..., min(int(math.floor((o + 0.5) * n / out)), n - 1)]
        elif mode == "area":
            lo, hi = (o * n) // out, -(-((o + 1) * n) // out)
            y[..., o] = x[..., lo:hi].mean(-1)
        else:
            if align_corners:
                src = o * (n - 1) / (out - 1) if out > 1 else 0.0
            else:
                src = (o + 0.5) * n / out - 0.5
            if mode == "linear":
                src = max(src, 0.0)
                i0 = min(int(math.floor(src)), n - 1)
                i1 = min(i0 + 1, n - 1)
                lam = src - i0
                y[..., o] = (1 - lam) * x[..., i0] + lam * x[..., i1]
            else:
                i0 = math.floor(src)
                for k, w in enumerate(_cubic(src - i0)):
                    y[..., o] += w * x[..., min(max(i0 - 1 + k, 0), n - 1)]
    return y


def ref_interpolate(x, size, mode, align_corners=False):
    kind = {"bilinear": "linear", "trilinear": "linear", "bicubic": "cubic"}.get(mode, mode)
    for axis, out in enumerate(size):
        moved = np.moveaxis(x, 2 + axis, -1)
        x = np.moveaxis(ref_resample_1d(moved, out, kind, align_corners), -1, 2 + axis)
    return x


CASES = [("nearest", (2, 3, 5), (9,)), ("nearest", (1, 2, 4, 5), (3, 7)),
         ("nearest", (1, 1, 2, 3, 4), (3, 3, 9)), ("nearest-exact", (2, 2, 5, 4), (7, 3)),
         ("area", (1, 2, 6, 5), (4, 2)), ("area", (1, 2, 4), (7,)),
         ("linear", (2, 3, 5), (8,)), ("bilinear", (1, 2, 4, 5), (7, 3)),
         ("bicubic", (1, 2, 4, 5), (6, 9)), ("trilinear", (1, 1, 3, 2, 4), (5, 4, 3))]


@pytest.mark.parametrize("mode, shape, size", CASES)
@pytest.mark.parametrize("align_corners", [False, True])
def test_interpolate_matches_reference_and_gradcheck(device, rng, mode, shape, size,
                                                     align_corners):
    if mode in ("nearest", "nearest-exact", "area"):
        if align_corners:
            pytest.skip("align_corners applies to the interpolating modes only")
        align_corners = None
    x = rng.standard_normal(shape)
    y = F.interpolate(dynet.tensor(x, device=device), size=size, mode=mode,
                      align_corners=align_corners)
    want = ref_interpolate(x, size, mode, bool(align_corners))
    assert y.shape == want.shape and y.device.type == device
    np.testing.assert_allclose(to_numpy(y), want, rtol=1e-12, atol=1e-12)
    t = dynet.tensor(x, requires_grad=True, device=device)
    assert gradcheck(lambda t: F.interpolate(t, size=size, mode=mode,
                                             align_corners=align_corners), (t,))


def test_interpolate_float32_noncontiguous_empty_integer_and_inf(device, rng):
    x = rng.standard_normal((2, 6, 5, 3)).astype(np.float32)
    t = dynet.tensor(x, device=device).permute(0, 3, 1, 2)  # non-contiguous (2, 3, 6, 5)
    y = F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=True)
    assert y.dtype == dynet.float32 and y.shape == (2, 3, 12, 10)
    np.testing.assert_allclose(to_numpy(y), ref_interpolate(
        np.transpose(x, (0, 3, 1, 2)).astype(np.float64), (12, 10), "bilinear", True),
        rtol=1e-5, atol=1e-5)
    e = dynet.zeros((0, 2, 3, 3), device=device, requires_grad=True)
    F.interpolate(e, size=(5, 4), mode="bicubic").sum().backward()
    assert e.grad.shape == e.shape
    # nearest copies values: integer tensors stay exact, an inf stays an inf (never 0 * inf)
    i = dynet.tensor(np.arange(6).reshape(1, 1, 6), device=device)
    np.testing.assert_array_equal(to_numpy(F.interpolate(i, scale_factor=0.5)), [[[0, 2, 4]]])
    xi = np.ones((1, 1, 4))
    xi[0, 0, 1] = np.inf
    ti = dynet.tensor(xi, device=device, requires_grad=True)
    up = F.interpolate(ti, size=3)
    assert not np.isnan(to_numpy(up)).any()
    up.backward(dynet.tensor(np.array([[[np.inf, 1.0, 1.0]]]), device=device))
    np.testing.assert_array_equal(to_numpy(ti.grad), [[[np.inf, 1, 1, 0]]])


def test_interpolate_torch_parity_scales():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(7)
    shapes = {3: (2, 3, 7), 4: (2, 2, 5, 7), 5: (1, 2, 3, 4, 5)}
    modes = [("nearest", 3), ("nearest", 4), ("nearest", 5), ("nearest-exact", 4),
             ("nearest-exact", 5), ("area", 4), ("area", 5), ("linear", 3),
             ("bilinear", 4), ("bicubic", 4), ("trilinear", 5)]
    options = [dict(scale_factor=2), dict(scale_factor=0.5), dict(scale_factor=1.7),
               dict(scale_factor=1 / 3), dict(scale_factor=2.3, recompute_scale_factor=True),
               dict(size=1)]
    for mode, rank in modes:
        corners = [None] if mode in ("nearest", "nearest-exact", "area") else [False, True]
        for ac in corners:
            for kw in options:
                for dt in (np.float64, np.float32) if kw.get("scale_factor") == 1.7 else \
                        (np.float64,):
                    x = rng.standard_normal(shapes[rank]).astype(dt)
                    d = dynet.tensor(x, requires_grad=True)
                    t = torch.tensor(x, requires_grad=True)
                    y = F.interpolate(d, mode=mode, align_corners=ac, **kw)
                    ty = tf.interpolate(t, mode=mode, align_corners=ac, **kw)
                    g = rng.standard_normal(tuple(ty.shape)).astype(dt)
                    y.backward(dynet.tensor(g))
                    ty.backward(torch.tensor(g))
                    tol = 1e-12 if dt == np.float64 else 2e-5
                    where = f"{mode} {kw} align_corners={ac} {dt.__name__}"
                    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(),
                                               atol=tol, err_msg=where)
                    np.testing.assert_allclose(d.grad.numpy(), t.grad.numpy(), atol=tol,
                                               err_msg=where)
    y = F.interpolate(dynet.ones(1, 1, 4, 4, requires_grad=True), scale_factor=2,
                      mode="bilinear")
    assert y.grad_fn.name() == "UpsampleBilinear2DBackward0"


@pytest.mark.parametrize("call, exc, message", [
    (lambda: F.interpolate(dynet.ones(1, 1, 4), size=2, scale_factor=2), ValueError,
     "only one of size or scale_factor should be defined"),
    (lambda: F.interpolate(dynet.ones(1, 1, 4)), ValueError,
     "either size or scale_factor should be defined"),
    (lambda: F.interpolate(dynet.ones(1, 1, 4, 4), size=(2,)), ValueError,
     r"Input and output must have the same number of spatial dimensions, but got input "
     r"with spatial dimensions of \[4, 4\] and output size of \(2,\)"),
    (lambda: F.interpolate(dynet.ones(1, 1, 4, 4), scale_factor=(2, 2, 2)), ValueError,
     "Input and scale_factor must have the same number of spatial dimensions"),
    (lambda: F.interpolate(dynet.ones(1, 1, 4), size=2, align_corners=True), ValueError,
     "align_corners option can only be set with the interpolating modes: linear | bilinear "
     r"\| bicubic \| trilinear"),
    (lambda: F.interpolate(dynet.ones(1, 1, 4, 4), size=2, mode="linear"),
     NotImplementedError, "Got 4D input, but linear mode needs 3D input"),
    (lambda: F.interpolate(dynet.ones(1, 1, 4), size=2, mode="bicubic"),
     NotImplementedError, "Got 3D input, but bicubic mode needs 4D input"),
    (lambda: F.interpolate(dynet.ones(1, 4), size=2), NotImplementedError,
     r"Input Error: Only 3D, 4D and 5D input Tensors supported \(got 2D\)"),
    (lambda: F.interpolate(dynet.ones(1, 1, 4), size=2, mode="cubic"), NotImplementedError,
     r"\(got cubic\)"),
    (lambda: F.interpolate(dynet.ones(1, 1, 4, 4), size=2, recompute_scale_factor=True),
     ValueError, "recompute_scale_factor is not meaningful with an explicit size."),
    (lambda: F.interpolate(dynet.ones(1, 1, 4, 4), scale_factor=0.1), RuntimeError,
     r"Input and output sizes should be greater than 0, but got input \(H: 4, W: 4\) output "
     r"\(H: 0, W: 0\)"),
    (lambda: F.interpolate(dynet.ones(1, 1, 4), size=2, mode="linear", antialias=True),
     ValueError, "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes"),
    (lambda: F.interpolate(dynet.ones(1, 1, 4, 4), size=(2.5, 2)), TypeError,
     "expected size to be one of int or Tuple"),
])
def test_interpolate_errors(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_upsample_modules():
    m = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
    assert repr(m) == "Upsample(scale_factor=2.0, mode='bilinear')"
    assert repr(nn.Upsample(size=(3, 4))) == "Upsample(size=(3, 4), mode='nearest')"
    assert repr(nn.UpsamplingNearest2d(scale_factor=(2, 3))) == \
        "UpsamplingNearest2d(scale_factor=(2.0, 3.0), mode='nearest')"
    x = dynet.randn(1, 2, 3, 4)
    np.testing.assert_array_equal(m(x).numpy(), F.interpolate(x, scale_factor=2.0,
                                                              mode="bilinear").numpy())
    b = nn.UpsamplingBilinear2d(size=(5, 7))
    np.testing.assert_array_equal(b(x).numpy(), F.interpolate(
        x, size=(5, 7), mode="bilinear", align_corners=True).numpy())
    assert nn.Upsample(scale_factor=(1, 2, 2), mode="trilinear")(
        dynet.randn(1, 1, 2, 2, 2)).shape == (1, 1, 2, 4, 4)
    with pytest.warns(UserWarning, match="nn.functional.upsample is deprecated"):
        assert F.upsample(x, scale_factor=2).shape == (1, 2, 6, 8)


# ---------------------------------------------------------------- grid_sample

def ref_grid_sample_2d(x, grid, mode, align_corners):
    """Zeros padding, bilinear or nearest, one output point at a time."""
    n, c, h, w = x.shape
    out = np.zeros((n, c) + grid.shape[1:3])
    for b in range(n):
        for i in range(grid.shape[1]):
            for j in range(grid.shape[2]):
                gx, gy = grid[b, i, j]
                if align_corners:
                    ix, iy = (gx + 1) / 2 * (w - 1), (gy + 1) / 2 * (h - 1)
                else:
                    ix, iy = ((gx + 1) * w - 1) / 2, ((gy + 1) * h - 1) / 2

                def at(yy, xx):
                    inside = 0 <= yy < h and 0 <= xx < w
                    return x[b, :, yy, xx] if inside else np.zeros(c)
                if mode == "nearest":
                    out[b, :, i, j] = at(int(np.rint(iy)), int(np.rint(ix)))
                    continue
                x0, y0 = math.floor(ix), math.floor(iy)
                tx, ty = ix - x0, iy - y0
                out[b, :, i, j] = ((1 - tx) * (1 - ty) * at(y0, x0) + tx * (1 - ty) *
                                   at(y0, x0 + 1) + (1 - tx) * ty * at(y0 + 1, x0) +
                                   tx * ty * at(y0 + 1, x0 + 1))
    return out


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_matches_reference(device, rng, mode, align_corners):
    x = rng.standard_normal((2, 3, 4, 5))
    grid = rng.uniform(-1.2, 1.2, (2, 3, 4, 2))
    y = F.grid_sample(dynet.tensor(x, device=device), dynet.tensor(grid, device=device), mode,
                      "zeros", align_corners)
    np.testing.assert_allclose(to_numpy(y), ref_grid_sample_2d(x, grid, mode, align_corners),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("nd, mode", [(2, "bilinear"), (2, "nearest"), (2, "bicubic"),
                                      (3, "bilinear"), (3, "nearest")])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_gradcheck(device, rng, nd, mode, padding_mode):
    x = dynet.tensor(rng.standard_normal((1, 2) + (3,) * nd), requires_grad=True,
                     device=device)
    # away from pixel boundaries (kinks of the piecewise-polynomial weights)
    g = rng.uniform(-1.3, 1.3, (1, 2, 3) + (() if nd == 2 else (2,)) + (nd,))
    grid = dynet.tensor(g, requires_grad=mode != "nearest", device=device)
    assert gradcheck(lambda x, grid: F.grid_sample(x, grid, mode, padding_mode, False),
                     (x, grid), atol=1e-6)


def test_grid_sample_torch_parity():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(3)
    for nd in (2, 3):
        x = rng.standard_normal((2, 3) + ((4, 5) if nd == 2 else (3, 4, 5)))
        grid = rng.uniform(-1.3, 1.3, (2,) + ((3, 6) if nd == 2 else (2, 3, 4)) + (nd,))
        for mode in ("bilinear", "nearest", "bicubic")[:3 if nd == 2 else 2]:
            for pm in ("zeros", "border", "reflection"):
                for ac in (False, True):
                    for dt in (np.float64, np.float32):
                        d = [dynet.tensor(a.astype(dt), requires_grad=True) for a in (x, grid)]
                        t = [torch.tensor(a.astype(dt), requires_grad=True) for a in (x, grid)]
                        y, ty = F.grid_sample(*d, mode, pm, ac), tf.grid_sample(*t, mode, pm, ac)
                        g = rng.standard_normal(tuple(ty.shape)).astype(dt)
                        y.backward(dynet.tensor(g))
                        ty.backward(torch.tensor(g))
                        tol = 1e-10 if dt == np.float64 else 1e-4
                        where = f"{nd}-D {mode} {pm} align_corners={ac} {dt.__name__}"
                        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(),
                                                   atol=tol, err_msg=where)
                        for a, ta in zip(d, t):
                            np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(),
                                                       atol=tol, err_msg=where)
                        assert y.grad_fn.name() == ty.grad_fn.name()


def test_affine_grid_identity_resamples_exactly_and_matches_torch(device, rng):
    x = rng.standard_normal((2, 3, 4, 5))
    theta = dynet.tensor(np.tile(np.eye(2, 3), (2, 1, 1)), device=device)
    for ac in (False, True):
        grid = F.affine_grid(theta, (2, 3, 4, 5), align_corners=ac)
        assert grid.shape == (2, 4, 5, 2)
        y = F.grid_sample(dynet.tensor(x, device=device), grid, align_corners=ac)
        np.testing.assert_allclose(to_numpy(y), x, atol=1e-12)
    th = dynet.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True, device=device)
    assert gradcheck(lambda th: F.affine_grid(th, (2, 1, 2, 3, 2), align_corners=False), (th,))
    torch = pytest.importorskip("torch")
    for size in ((2, 1, 3, 4), (2, 1, 1, 3), (2, 2, 3, 1, 2)):
        nd = len(size) - 2
        t = rng.standard_normal((2, nd, nd + 1))
        for ac in (False, True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                want = torch.nn.functional.affine_grid(torch.tensor(t), size, ac).numpy()
                got = F.affine_grid(dynet.tensor(t, device=device), size, ac)
            np.testing.assert_allclose(to_numpy(got), want, atol=1e-12)


@pytest.mark.parametrize("call, exc, message", [
    (lambda: F.grid_sample(dynet.ones(1, 1, 2, 2), dynet.ones(1, 2, 2, 2), "linear"),
     ValueError, "nn.functional.grid_sample\\(\\): expected mode to be 'bilinear', 'nearest' "
                 "or 'bicubic', but got: 'linear'"),
    (lambda: F.grid_sample(dynet.ones(1, 1, 2, 2), dynet.ones(1, 2, 2, 2), "bilinear", "edge"),
     ValueError, "expected padding_mode to be 'zeros', 'border', or 'reflection', but got: "
                 "'edge'"),
    (lambda: F.grid_sample(dynet.ones(1, 1, 2, 2), dynet.ones(1, 2, 2, 3),
                           align_corners=False),
     RuntimeError, "expected grid to have size 2 in last dimension"),
    (lambda: F.grid_sample(dynet.ones(2, 1, 2, 2), dynet.ones(1, 2, 2, 2),
                           align_corners=False),
     RuntimeError, "expected grid and input to have same batch size"),
    (lambda: F.grid_sample(dynet.ones(1, 1, 2, 2, 2), dynet.ones(1, 2, 2, 2, 3), "bicubic",
                           align_corners=False),
     RuntimeError, "bicubic interpolation only supports 4D input"),
    (lambda: F.affine_grid(dynet.ones(1, 3, 3), (1, 1, 4, 4), False), ValueError,
     r"Expected a batch of 2D affine matrices of shape Nx2x3 for size \[1, 1, 4, 4\]"),
    (lambda: F.affine_grid(dynet.ones(1, 2, 3), (1, 4, 4), False), NotImplementedError,
     "affine_grid only supports 4D and 5D sizes"),
    (lambda: F.affine_grid(dynet.ones(1, 2, 3, dtype=dynet.int64), (1, 1, 4, 4), False),
     ValueError, "Expected theta to have floating point type"),
])
def test_grid_errors(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_align_corners_default_warns():
    with pytest.warns(UserWarning, match="Default grid_sample and affine_grid behavior has "
                                         "changed to align_corners=False since 1.3.0"):
        F.grid_sample(dynet.ones(1, 1, 2, 2), dynet.zeros(1, 1, 1, 2))


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_interpolate_antialias_gradcheck_and_torch_parity(device, rng, mode):
    x = rng.standard_normal((1, 2, 7, 6))
    t = dynet.tensor(x, requires_grad=True, device=device)
    y = F.interpolate(t, size=(3, 4), mode=mode, antialias=True)
    # the normalised filters keep constants constant
    ones = F.interpolate(dynet.ones(1, 1, 9, 7, device=device, dtype=dynet.float64),
                         scale_factor=0.4, mode=mode, antialias=True)
    np.testing.assert_allclose(to_numpy(ones), 1.0, rtol=1e-12)
    assert gradcheck(lambda t: F.interpolate(t, size=(3, 4), mode=mode, antialias=True), (t,))
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    # outputs of width 1 are left out: there torch 2.13's CPU kernel gives every row the
    # first row's value (torch's own (7, 1) -> (3, 1) antialiased resize is constant)
    for ac in (False, True):
        for kw in (dict(scale_factor=0.4), dict(size=(3, 4)), dict(scale_factor=1.7)):
            d = dynet.tensor(x, requires_grad=True)
            tt = torch.tensor(x, requires_grad=True)
            y = F.interpolate(d, mode=mode, align_corners=ac, antialias=True, **kw)
            ty = tf.interpolate(tt, mode=mode, align_corners=ac, antialias=True, **kw)
            g = rng.standard_normal(tuple(ty.shape))
            y.backward(dynet.tensor(g))
            ty.backward(torch.tensor(g))
            np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-12)
            np.testing.assert_allclose(d.grad.numpy(), tt.grad.numpy(), atol=1e-12)
            assert y.grad_fn.name() == ty.grad_fn.name()
