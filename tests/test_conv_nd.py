"""conv3d and conv_transpose1d/2d/3d: float64 loop references, gradcheck, PyTorch parity,
errors, and the Conv3d / ConvTranspose modules."""
import itertools

import numpy as np
import pytest

import dynet
import dynet.nn.functional as F
from dynet import nn
from dynet.autograd import gradcheck

from conftest import to_numpy


def ref_conv(x, w, b, stride, pads, dilation, groups):
    """Direct N-d convolution (float64), one output position at a time."""
    nd = x.ndim - 2
    n, c = x.shape[:2]
    o, cg = w.shape[:2]
    k = w.shape[2:]
    xp = np.zeros((n, c) + tuple(s + 2 * p for s, p in zip(x.shape[2:], pads)))
    xp[(slice(None), slice(None)) + tuple(slice(p, p + s) for s, p in
                                          zip(x.shape[2:], pads))] = x
    out = [(s - d * (kk - 1) - 1) // st + 1
           for s, kk, st, d in zip(xp.shape[2:], k, stride, dilation)]
    y = np.zeros((n, o) + tuple(out))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for pos in itertools.product(*(range(m) for m in out)):
            win = tuple(slice(q * st, q * st + d * (kk - 1) + 1, d)
                        for q, st, d, kk in zip(pos, stride, dilation, k))
            patch = xp[(slice(None), slice(g * cg, (g + 1) * cg)) + win]
            y[(slice(None), oc) + pos] = (patch * w[oc]).sum(axis=tuple(range(1, nd + 2)))
    if b is not None:
        y += b.reshape((1, -1) + (1,) * nd)
    return y


def ref_conv_transpose(x, w, b, stride, padding, output_padding, groups, dilation):
    """Direct transposed convolution: every input element scatters weight * value."""
    nd = x.ndim - 2
    n, cin = x.shape[:2]
    cog = w.shape[1]
    k = w.shape[2:]
    full = [(s - 1) * st + d * (kk - 1) + 1 + op
            for s, st, d, kk, op in zip(x.shape[2:], stride, dilation, k, output_padding)]
    y = np.zeros((n, cog * groups) + tuple(full))
    cig = cin // groups
    for ci in range(cin):
        g = ci // cig
        for pos in itertools.product(*(range(s) for s in x.shape[2:])):
            for off in itertools.product(*(range(kk) for kk in k)):
                at = tuple(q * st + o * d for q, st, o, d in zip(pos, stride, off, dilation))
                y[(slice(None), slice(g * cog, (g + 1) * cog)) + at] += \
                    x[(slice(None), ci) + pos][:, None] * w[(ci, slice(None)) + off]
    y = y[(slice(None), slice(None)) + tuple(slice(p, f - p) for p, f in zip(padding, full))]
    if b is not None:
        y = y + b.reshape((1, -1) + (1,) * nd)
    return y


TRANSPOSED = [  # (x shape, w shape, stride, padding, output_padding, groups, dilation)
    ((2, 4, 5), (4, 3, 3), (2,), (1,), (1,), 1, (1,)),
    ((2, 4, 7), (4, 3, 2), (3,), (0,), (2,), 2, (2,)),
    ((2, 4, 4, 5), (4, 3, 3, 2), (2, 1), (1, 0), (1, 0), 1, (1, 2)),
    ((1, 4, 3, 4), (4, 2, 3, 3), (1, 2), (0, 1), (0, 1), 2, (1, 1)),
    ((2, 2, 3, 3), (2, 3, 2, 2), (1, 1), (0, 0), (2, 1), 1, (3, 2)),  # op >= stride
    ((1, 4, 3, 2, 3), (4, 2, 2, 3, 2), (2, 1, 2), (0, 1, 1), (1, 0, 1), 2, (1, 2, 1)),
    ((2, 2, 2, 2, 2), (2, 2, 2, 2, 2), (1, 1, 1), (0, 0, 0), (0, 0, 0), 1, (1, 1, 1)),
]


def _ct(nd):
    return (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[nd - 1]


@pytest.mark.parametrize("case", TRANSPOSED)
def test_conv_transpose_matches_reference(device, rng, case):
    xs, ws, stride, padding, op, groups, dilation = case
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[1] * groups)
    fn = _ct(len(xs) - 2)
    y = fn(dynet.tensor(x, device=device), dynet.tensor(w, device=device),
           dynet.tensor(b, device=device), stride, padding, op, groups, dilation)
    want = ref_conv_transpose(x, w, b, stride, padding, op, groups, dilation)
    assert y.shape == want.shape and y.device.type == device
    np.testing.assert_allclose(to_numpy(y), want, rtol=1e-10, atol=1e-10)
    # float32 in, float32 out
    y32 = fn(dynet.tensor(x, dtype=dynet.float32, device=device),
             dynet.tensor(w, dtype=dynet.float32, device=device), None, stride, padding, op,
             groups, dilation)
    assert y32.dtype == dynet.float32
    np.testing.assert_allclose(to_numpy(y32), want - b.reshape((1, -1) + (1,) * (len(xs) - 2)),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", TRANSPOSED)
def test_conv_transpose_gradcheck(device, rng, case):
    xs, ws, stride, padding, op, groups, dilation = case
    fn = _ct(len(xs) - 2)
    x = dynet.tensor(rng.standard_normal(xs), requires_grad=True, device=device)
    w = dynet.tensor(rng.standard_normal(ws), requires_grad=True, device=device)
    b = dynet.tensor(rng.standard_normal(ws[1] * groups), requires_grad=True, device=device)
    assert gradcheck(lambda x, w, b: fn(x, w, b, stride, padding, op, groups, dilation),
                     (x, w, b))


CONV3D = [  # (x shape, w shape, stride, padding, dilation, groups)
    ((2, 2, 4, 3, 4), (3, 2, 2, 2, 3), (1, 1, 1), (0, 0, 0), (1, 1, 1), 1),
    ((1, 4, 5, 4, 4), (4, 2, 3, 2, 2), (2, 1, 2), (1, 0, 1), (1, 2, 1), 2),
]


@pytest.mark.parametrize("case", CONV3D)
def test_conv3d_matches_reference_and_gradcheck(device, rng, case):
    xs, ws, stride, padding, dilation, groups = case
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    args = (stride, padding, dilation, groups)
    y = F.conv3d(dynet.tensor(x, device=device), dynet.tensor(w, device=device),
                 dynet.tensor(b, device=device), *args)
    np.testing.assert_allclose(to_numpy(y), ref_conv(x, w, b, stride, padding, dilation,
                                                     groups), rtol=1e-10, atol=1e-10)
    tx, tw, tb = (dynet.tensor(a, requires_grad=True, device=device) for a in (x, w, b))
    assert gradcheck(lambda x, w, b: F.conv3d(x, w, b, *args), (tx, tw, tb))


def test_conv3d_same_padding_even_kernel_unbatched_and_noncontiguous(device, rng):
    x = rng.standard_normal((3, 4, 5, 2))  # (C, D, H, W) after the transpose below
    w = rng.standard_normal((2, 2, 2, 3, 2))
    xt = dynet.tensor(x, device=device).permute(3, 0, 1, 2)  # a non-contiguous view
    y = F.conv3d(xt, dynet.tensor(w, device=device), padding="same")
    xc = np.transpose(x, (3, 0, 1, 2))[None]
    # 'same' with even kernels: the odd leftover goes after (bottom/right), as PyTorch does
    pad = np.zeros((1, 2, 4, 6, 6))
    pad[:, :, 0:3, 1:5, 0:5] = xc
    np.testing.assert_allclose(to_numpy(y), ref_conv(pad, w, None, (1,) * 3, (0,) * 3,
                                                     (1,) * 3, 1)[0], rtol=1e-10)
    assert y.shape == (2, 3, 4, 5)


def test_conv_transpose_unbatched_noncontiguous_and_empty(device, rng):
    x = rng.standard_normal((5, 4, 3))
    w = rng.standard_normal((3, 2, 2, 2))
    xt = dynet.tensor(x, device=device, requires_grad=True)
    y = F.conv_transpose2d(xt.permute(2, 0, 1), dynet.tensor(w, device=device), stride=2)
    want = ref_conv_transpose(np.transpose(x, (2, 0, 1))[None], w, None, (2, 2), (0, 0),
                              (0, 0), 1, (1, 1))[0]
    np.testing.assert_allclose(to_numpy(y), want, rtol=1e-10)
    y.sum().backward()
    assert xt.grad.shape == (5, 4, 3)
    for nd in (1, 2, 3):
        e = dynet.zeros((0, 3) + (2,) * nd, device=device, requires_grad=True)
        we = dynet.ones((3, 2) + (2,) * nd, device=device, requires_grad=True)
        out = _ct(nd)(e, we, stride=2)
        assert out.shape == (0, 2) + (4,) * nd
        out.sum().backward()
        assert e.grad.shape == e.shape and float(we.grad.abs().sum()) == 0


def test_torch_parity(rng):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    cases = [(F.conv_transpose1d, tf.conv_transpose1d, (2, 4, 6), (4, 3, 3),
              dict(stride=2, padding=1, output_padding=1, groups=2)),
             (F.conv_transpose2d, tf.conv_transpose2d, (2, 4, 5, 4), (4, 3, 3, 2),
              dict(stride=(2, 3), padding=(1, 0), output_padding=(0, 2), dilation=(2, 1))),
             (F.conv_transpose3d, tf.conv_transpose3d, (1, 2, 3, 2, 3), (2, 2, 2, 2, 2),
              dict(stride=2, output_padding=1)),
             (F.conv3d, tf.conv3d, (2, 4, 4, 5, 3), (2, 2, 3, 2, 2),
              dict(stride=(1, 2, 1), padding=1, groups=2))]
    for fd, ft, xs, ws, kw in cases:
        x, w = rng.standard_normal(xs), rng.standard_normal(ws)
        b = rng.standard_normal(w.shape[1] * kw.get("groups", 1) if fd is not F.conv3d
                                else w.shape[0])
        d = [dynet.tensor(a, requires_grad=True) for a in (x, w, b)]
        t = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
        y, ty = fd(*d, **kw), ft(*t, **kw)
        g = rng.standard_normal(tuple(ty.shape))
        y.backward(dynet.tensor(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-12)
        for a, ta in zip(d, t):
            np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv_transpose2d(dynet.ones(1, 5, 8, 8), dynet.ones(4, 3, 3, 3)),
     r"Given transposed=1, weight of size \[4, 3, 3, 3\], expected input\[1, 5, 8, 8\] to "
     r"have 4 channels, but got 5 channels instead"),
    (lambda: F.conv_transpose2d(dynet.ones(1, 4, 8, 8), dynet.ones(4, 3, 3, 3),
                                output_padding=1),
     "output padding must be smaller than either stride or dilation, but got "
     "output_padding_height: 1 output_padding_width: 1 stride_height: 1 stride_width: 1 "
     "dilation_height: 1 dilation_width: 1"),
    (lambda: F.conv_transpose1d(dynet.ones(1, 4, 8), dynet.ones(4, 3, 3), stride=2,
                                output_padding=2),
     "output_padding_height: 0 output_padding_width: 2 stride_height: 1 stride_width: 2"),
    (lambda: F.conv_transpose2d(dynet.ones(4, 8), dynet.ones(4, 3, 3, 3)),
     r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv_transpose2d, but got input "
     r"of size: \[4, 8\]"),
    (lambda: F.conv_transpose2d(dynet.ones(1, 4, 8, 8), dynet.ones(4, 3, 3, 3), groups=3),
     r"Given groups=3, expected weight to be divisible by 3 at dimension 0"),
    (lambda: F.conv_transpose2d(dynet.ones(1, 4, 8, 8), dynet.ones(4, 3, 3, 3),
                                bias=dynet.ones(4)),
     "expected bias to be 1-dimensional with 3 elements, but got bias of size \\[4\\]"),
    (lambda: F.conv_transpose2d(dynet.ones(1, 4, 1, 1), dynet.ones(4, 3, 3, 3), padding=3),
     r"Given input size per channel: \(1 x 1\). Calculated output size per channel: "
     r"\(-3 x -3\). Output size is too small"),
    (lambda: F.conv_transpose2d(dynet.ones(1, 4, 1, 1), dynet.ones(4, 3, 3, 3), padding=-1),
     "negative padding is not supported"),
    (lambda: F.conv_transpose2d(dynet.ones(1, 4, 1, 1), dynet.ones(4, 3, 3, 3), stride=0),
     "non-positive stride is not supported"),
    (lambda: F.conv_transpose2d(dynet.ones(1, 4, 1, 1), dynet.ones(4, 3, 3, 3),
                                stride=(1, 2, 3)),
     r"expected stride to be a single integer value or a list of 2 values to match the "
     r"convolution dimensions, but got stride=\[1, 2, 3\]"),
    (lambda: F.conv3d(dynet.ones(4, 1, 1), dynet.ones(4, 4, 1, 1, 1)),
     r"Expected 4D \(unbatched\) or 5D \(batched\) input to conv3d"),
])
def test_errors(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()


def test_modules_shapes_repr_and_output_size():
    m = nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2)
    assert m.weight.shape == (4, 3, 3, 3) and m.bias.shape == (6,)
    assert repr(m) == "ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(2, 2), groups=2)"
    x = dynet.randn(1, 4, 5, 5)
    assert m(x).shape == (1, 6, 11, 11)
    assert m(x, output_size=(12, 12)).shape == (1, 6, 12, 12)
    assert m(x, output_size=[1, 6, 12, 11]).shape == (1, 6, 12, 11)
    with pytest.raises(ValueError, match="requested an output size of \\[13, 13\\], but valid "
                                         "sizes range from \\[11, 11\\] to \\[12, 12\\]"):
        m(x, output_size=(13, 13))
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for '
                                         "ConvTranspose1d"):
        nn.ConvTranspose1d(2, 2, 3, padding_mode="reflect")
    m3 = nn.ConvTranspose3d(2, 4, 3, stride=2, padding=1, output_padding=1, bias=False)
    assert repr(m3) == ("ConvTranspose3d(2, 4, kernel_size=(3, 3, 3), stride=(2, 2, 2), "
                        "padding=(1, 1, 1), output_padding=(1, 1, 1), bias=False)")
    assert m3(dynet.randn(1, 2, 3, 3, 3)).shape == (1, 4, 6, 6, 6)
    m1 = nn.ConvTranspose1d(2, 4, 3, dilation=2)
    assert m1(dynet.randn(2, 5)).shape == (4, 9)
    c3 = nn.Conv3d(2, 4, (3, 1, 2), padding="same")
    assert repr(c3) == "Conv3d(2, 4, kernel_size=(3, 1, 2), stride=(1, 1, 1), padding=same)"
    assert c3(dynet.randn(1, 2, 4, 3, 5)).shape == (1, 4, 4, 3, 5)
    out = c3(dynet.randn(1, 2, 4, 3, 5))
    out.sum().backward()
    assert c3.weight.grad.shape == c3.weight.shape and c3.bias.grad.shape == (4,)


def test_modules_match_torch_with_copied_weights(rng):
    torch = pytest.importorskip("torch")
    pairs = [(nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2, dilation=2),
              torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2, dilation=2),
              (2, 4, 5, 5)),
             (nn.Conv3d(2, 3, 2, stride=(1, 2, 1)), torch.nn.Conv3d(2, 3, 2, stride=(1, 2, 1)),
              (2, 2, 3, 4, 3))]
    for m, tm, shape in pairs:
        m.double()
        tm.double()
        m.weight.data = dynet.tensor(tm.weight.detach().numpy()).data
        m.bias.data = dynet.tensor(tm.bias.detach().numpy()).data
        x = rng.standard_normal(shape)
        np.testing.assert_allclose(m(dynet.tensor(x)).detach().numpy(),
                                   tm(torch.tensor(x)).detach().numpy(), atol=1e-12)
