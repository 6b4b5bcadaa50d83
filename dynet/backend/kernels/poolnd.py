"""N-d max / average pooling and max-unpooling on raw arrays, plain xp code for both devices.

Used for 3-D pooling (the 2-D kernels in pool.py stay the hot path for 1-D/2-D). Each kernel
offset is one strided slice of a padded buffer (K slices of the whole batch, not per-window
gathers), so NumPy and CuPy run the same few vectorised passes; backward is the matching
strided `+=`, which never repeats an element within one slice, so it needs no atomics.
"""
import itertools
import math

import numpy as np

from ..device import xp_of
from .pool import pool_out_size


class NdPoolPlan:
    """Geometry of one pooling call over x (N, C, *S)."""

    def __init__(self, x_shape, kernel, stride, padding, dilation, ceil_mode):
        self.N, self.C = x_shape[:2]
        self.S = tuple(x_shape[2:])
        self.k, self.s, self.p, self.d = kernel, stride, padding, dilation
        self.out = tuple(pool_out_size(n, k, s, p, d, ceil_mode)
                         for n, k, s, p, d in zip(self.S, kernel, stride, padding, dilation))
        # ceil_mode's last windows may reach past the right padding: the buffer holds them
        self.padded = tuple(max(n + 2 * p, (o - 1) * s + d * (k - 1) + 1)
                            for n, p, o, s, d, k in zip(self.S, padding, self.out, stride,
                                                         dilation, kernel))
        self.offsets = list(itertools.product(*(range(k) for k in kernel)))

    def inner(self):
        return (slice(None), slice(None)) + tuple(
            slice(p, p + n) for n, p in zip(self.S, self.p))

    def window(self, offs):
        return (slice(None), slice(None)) + tuple(
            slice(o * d, o * d + s * (n - 1) + 1, s)
            for o, d, s, n in zip(offs, self.d, self.s, self.out))

    def buffer(self, xp, dtype, fill, x=None):
        buf = xp.full((self.N, self.C) + self.padded, fill, dtype=dtype)
        if x is not None:
            buf[self.inner()] = x
        return buf


def max_forward(x, p, need_arg=True):
    """(y, arg): the max of every window and the number of the kernel offset that won
    (the first maximum; a NaN wins, and a later NaN replaces it, as in PyTorch).
    `need_arg=False` (no backward, no indices): one maximum pass per offset, arg None."""
    xp = xp_of(x)
    buf = p.buffer(xp, x.dtype, -np.inf, x)
    y = arg = None
    if not need_arg:  # maximum propagates NaN, as PyTorch's max pooling does
        for offs in p.offsets:
            v = buf[p.window(offs)]
            y = v.copy() if y is None else xp.maximum(y, v, out=y)
        return y, None
    for j, offs in enumerate(p.offsets):
        v = buf[p.window(offs)]
        if y is None:
            y, arg = v.copy(), xp.zeros(v.shape, dtype=np.int32)
            continue
        take = (v > y) | xp.isnan(v)
        y = xp.where(take, v, y)
        arg = xp.where(take, np.int32(j), arg)
    return y, arg


def max_indices(arg, p):
    """PyTorch's int64 indices: the winner's flat position in its input plane."""
    xp = xp_of(arg)
    offs = xp.asarray(np.array(p.offsets, dtype=np.int64).reshape(len(p.offsets), -1))
    nd = len(p.S)
    flat = xp.zeros(arg.shape, dtype=np.int64)
    for i in range(nd):
        shape = [1] * (nd + 2)
        shape[2 + i] = p.out[i]
        base = (xp.arange(p.out[i], dtype=np.int64) * p.s[i] - p.p[i]).reshape(shape)
        coord = base + offs[:, i][arg] * p.d[i]
        flat = flat * p.S[i] + coord
    return flat


def max_backward(grad, arg, p):
    xp = xp_of(grad)
    buf = p.buffer(xp, grad.dtype, 0)
    for j, offs in enumerate(p.offsets):
        buf[p.window(offs)] += xp.where(arg == j, grad, 0)
    return xp.ascontiguousarray(buf[p.inner()])


def avg_divisor(p, count_include_pad, divisor_override, xp, dtype):
    """What each window's sum is divided by: an array broadcasting over (N, C, *out)."""
    if divisor_override is not None:
        return dtype.type(divisor_override)
    div = None
    nd = len(p.S)
    for i in range(nd):
        start = np.arange(p.out[i]) * p.s[i] - p.p[i]
        end = np.minimum(start + p.k[i], p.S[i] + p.p[i])
        size = end - start if count_include_pad else \
            np.minimum(end, p.S[i]) - np.maximum(start, 0)
        shape = [1] * (nd + 2)
        shape[2 + i] = p.out[i]
        size = size.reshape(shape)
        div = size if div is None else div * size
    return xp.asarray(div.astype(dtype))


def avg_forward(x, p, div):
    xp = xp_of(x)
    buf = p.buffer(xp, x.dtype, 0, x)
    acc = None
    for offs in p.offsets:
        v = buf[p.window(offs)]
        acc = v.copy() if acc is None else acc + v
    return acc / div


def avg_backward(grad, p, div):
    xp = xp_of(grad)
    buf = p.buffer(xp, grad.dtype, 0)
    g = grad / div
    for offs in p.offsets:
        buf[p.window(offs)] += g
    return xp.ascontiguousarray(buf[p.inner()])


def unpool_forward(x, indices, out):
    """Scatters x (N, C, *S) to the flat plane positions `indices` of zeros (N, C, *out)."""
    xp = xp_of(x)
    rows = x.shape[0] * x.shape[1]
    y = xp.zeros((rows, math.prod(out)), dtype=x.dtype)
    r = xp.arange(rows).reshape(rows, 1)
    plane = math.prod(x.shape[2:])
    y[r, indices.reshape(rows, plane)] = x.reshape(rows, plane)
    return y.reshape(x.shape[:2] + tuple(out))


def unpool_backward(grad, indices, x_shape):
    xp = xp_of(grad)
    rows = x_shape[0] * x_shape[1]
    r = xp.arange(rows).reshape(rows, 1)
    plane = math.prod(x_shape[2:])
    g = grad.reshape(rows, math.prod(grad.shape[2:]))
    return g[r, indices.reshape(rows, plane)].reshape(x_shape)
