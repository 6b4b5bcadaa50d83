"""N-d convolution on raw arrays (any number of spatial dims), plain xp code for both devices.

conv3d, the transposed convolutions the 2-D kernels cannot express, F.unfold and F.fold run
here. Columns are a (C*K, N*T) matrix, K = prod(kernel), rows ordered (c, kernel offset)
like the weight's (O, C/groups, *kernel) layout and columns (sample, output position). The
im2col copy is one strided slice per kernel offset (K slices, not N*T gathers), so the same
code is a handful of vectorised copies on NumPy and CuPy alike; col2im is the matching
strided `+=`, which never repeats an element within one slice, so it needs no atomics.

The output size is part of the plan rather than recomputed: a transposed convolution with
output_padding >= stride (allowed when dilation is larger) reads fewer windows than the
padded input holds, and the same plan then serves both directions.
"""
import itertools
import math

from ..device import xp_of


def out_size(size, k, s, lo, hi, d):
    """Output length of a convolution window sweep over size + lo + hi elements."""
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


class NdPlan:
    """Geometry of one N-d convolution: x (N, C, *S), w (O, C/groups, *k)."""

    def __init__(self, x_shape, w_shape, stride, pads, dilation, groups, out=None):
        self.N, self.C = x_shape[:2]
        self.S = tuple(x_shape[2:])
        self.O = w_shape[0]
        self.k = tuple(w_shape[2:])
        self.s, self.d, self.groups = tuple(stride), tuple(dilation), groups
        self.pads = tuple(pads)  # (lo, hi) per spatial dim
        self.out = tuple(out) if out is not None else tuple(
            out_size(n, k, s, lo, hi, d)
            for n, k, s, (lo, hi), d in zip(self.S, self.k, self.s, self.pads, self.d))
        self.K = math.prod(self.k)
        self.T = math.prod(self.out)

    @property
    def padded(self):
        return tuple(n + lo + hi for n, (lo, hi) in zip(self.S, self.pads))

    def inner(self):
        """Index of the unpadded input inside the padded buffer."""
        return (slice(None), slice(None)) + tuple(
            slice(lo, lo + n) for n, (lo, _) in zip(self.S, self.pads))

    def windows(self):
        """(offset number, buffer index) for every kernel offset, in the weight's order."""
        for j, offs in enumerate(itertools.product(*(range(k) for k in self.k))):
            yield j, (slice(None), slice(None)) + tuple(
                slice(o * d, o * d + s * (n - 1) + 1, s)
                for o, d, s, n in zip(offs, self.d, self.s, self.out))


def im2col(x, p):
    """(C*K, N*T) columns of x (N, C, *S)."""
    xp = xp_of(x)
    if any(lo or hi for lo, hi in p.pads):
        buf = xp.zeros((p.N, p.C) + p.padded, dtype=x.dtype)
        buf[p.inner()] = x
    else:
        buf = x
    cols = xp.empty((p.C, p.K, p.N) + p.out, dtype=x.dtype)
    if p.T and p.N:
        for j, win in p.windows():
            cols[:, j] = buf[win].swapaxes(0, 1)
    return cols.reshape(p.C * p.K, p.N * p.T)


def col2im(cols, p, dtype=None):
    """Sums (C*K, N*T) column values back into an (N, C, *S) array (adjoint of im2col)."""
    xp = xp_of(cols)
    buf = xp.zeros((p.N, p.C) + p.padded, dtype=dtype or cols.dtype)
    if p.T and p.N:
        c = cols.reshape((p.C, p.K, p.N) + p.out)
        for j, win in p.windows():
            buf[win] += c[:, j].swapaxes(0, 1)
    return xp.ascontiguousarray(buf[p.inner()])


def _wmat(w, p):
    return w.reshape(p.groups, p.O // p.groups, (p.C // p.groups) * p.K)


def _gmat(g, p):
    """(N, O, *out) -> (groups, O/groups, N*T)."""
    xp = xp_of(g)
    g = xp.moveaxis(g, 1, 0)
    return g.reshape(p.groups, p.O // p.groups, p.N * p.T)


def forward(x, w, b, p, cols=None):
    """(y (N, O, *out), cols) of conv(x, w) + b."""
    xp = xp_of(x)
    cols = im2col(x, p) if cols is None else cols
    y = xp.matmul(_wmat(w, p), cols.reshape(p.groups, p.C // p.groups * p.K, p.N * p.T))
    y = xp.moveaxis(y.reshape((p.O, p.N) + p.out), 0, 1)
    if b is not None:
        y = y + b.reshape((1, p.O) + (1,) * len(p.out))
    return xp.ascontiguousarray(y), cols


def data_grad(g, w, p):
    """Gradient (N, C, *S) of conv wrt its input, for output gradient g (N, O, *out)."""
    xp = xp_of(g)
    dcols = xp.matmul(_wmat(w, p).transpose(0, 2, 1), _gmat(g, p))
    return col2im(dcols.reshape(p.C * p.K, p.N * p.T), p, g.dtype)


def weight_grad(g, cols, p, w_shape):
    """Gradient of conv wrt its weight from the output gradient and the input's columns."""
    xp = xp_of(g)
    c = cols.reshape(p.groups, p.C // p.groups * p.K, p.N * p.T)
    return xp.matmul(_gmat(g, p), c.transpose(0, 2, 1)).reshape(w_shape)
