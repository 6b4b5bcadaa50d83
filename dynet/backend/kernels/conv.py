"""2-D convolution on raw arrays: im2col / col2im plus one GEMM, on NumPy or CuPy.

Column layout. The columns of a block of samples are a (G, K, S) array: G groups of `npg`
samples each, K = C*kh*kw rows ordered (c, ki, kj), and S = npg*T columns ordered (sample,
output position). One batched matmul then gives (G, O, S) for the whole block. Which G
suits a shape was measured (bench/NOTES.md): OpenBLAS runs skinny GEMMs (O = 6, K = 25)
with 50k-long rows far below peak, while a batch of GEMMs with a few thousand columns each
stays in cache.

Two ways to lay out T, the output positions of one sample, on the CPU:
- "std": T = Ho*Wo, any stride and dilation.
- "flat" (stride 1 only): the padded input is flattened per channel and each output row is
  computed over the full padded width Wp (T = Ho*Wp); the last Wp-Wo entries of a row are
  garbage and dropped. Every (ki, kj) slice of the columns is then ONE contiguous run of
  the flat input, so im2col copies long runs and col2im is kh*kw adds of long runs instead
  of short strided rows (0.9 ms instead of 1.3 ms on LeNet conv2 backward).
On CUDA the im2col/col2im kernels write any layout at the same cost, so CUDA always uses
"std" with a single group (one large cuBLAS GEMM); col2im there is a gather (every input
pixel sums the columns that read it), so it needs no atomics and is deterministic.
"""
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import cuda
from ..device import xp_of

# Above this many bytes of columns for a whole batch, work in blocks of samples and
# recompute the columns in backward instead of keeping them alive between passes (GPU
# memory is larger and re-launching kernels per block costs more there).
COLS_BLOCK_BYTES = 64 << 20
COLS_BLOCK_BYTES_CUDA = 512 << 20


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


class ConvPlan:
    """Geometry of one conv2d call: output size, column layout and blocking."""

    __slots__ = ("N", "C", "H", "W", "O", "groups", "kh", "kw", "sh", "sw", "ph", "pw",
                 "dh", "dw", "Ho", "Wo", "Hp", "Wp", "flat", "T", "npg", "block", "gpu")

    def __init__(self, x_shape, w_shape, stride, padding, dilation, groups, gpu=False,
                 need_x=True, itemsize=4, layout=None):
        self.N, self.C, self.H, self.W = x_shape
        self.O, _, self.kh, self.kw = w_shape
        self.groups = groups
        self.sh, self.sw = _pair(stride)
        self.ph, self.pw = _pair(padding)
        self.dh, self.dw = _pair(dilation)
        self.Hp, self.Wp = self.H + 2 * self.ph, self.W + 2 * self.pw
        self.Ho = (self.Hp - self.dh * (self.kh - 1) - 1) // self.sh + 1
        self.Wo = (self.Wp - self.dw * (self.kw - 1) - 1) // self.sw + 1
        self.gpu = gpu
        # Measured on LeNet (bench/NOTES.md): when the input gradient is needed, the flat
        # layout with one group is fastest (cheap col2im, fat GEMMs); when it is not (first
        # layer, inference), one sample per group wins: im2col and GEMM write the output
        # layout directly and the 50k-column skinny GEMMs that OpenBLAS runs slowly vanish.
        self.flat = need_x and self.sh == 1 and self.sw == 1 and not gpu
        self.T = self.Ho * (self.Wp if self.flat else self.Wo)
        per_sample = self.C * self.kh * self.kw * self.T * itemsize
        limit = COLS_BLOCK_BYTES_CUDA if gpu else COLS_BLOCK_BYTES
        self.block = max(1, min(self.N, limit // max(per_sample, 1)))
        self.npg = self.block if gpu or need_x else 1
        if layout is not None and not gpu:  # (flat, samples per group): tests and tuning
            self.flat = layout[0] and self.sh == 1 and self.sw == 1
            self.T = self.Ho * (self.Wp if self.flat else self.Wo)
            self.npg = max(1, min(layout[1], self.block))

    @property
    def K(self):
        return self.C * self.kh * self.kw

    @property
    def single_block(self):
        return self.block >= self.N

    def blocks(self):
        """(start, stop) sample ranges; the last may be shorter than `block`."""
        return [(s, min(s + self.block, self.N)) for s in range(0, self.N, self.block)]

    def groups_of(self, n):
        """(G, npg) for a block of n samples: npg must divide n."""
        npg = self.npg if n % self.npg == 0 else _largest_divisor(n, self.npg)
        return n // npg, npg


def _largest_divisor(n, limit):
    """Largest divisor of n that is <= limit (at least 1)."""
    best = 1
    for d in range(1, int(math.isqrt(n)) + 1):
        if n % d == 0:
            if d <= limit:
                best = max(best, d)
            if n // d <= limit:
                best = max(best, n // d)
    return best


# ---------------------------------------------------------------------------------------
# im2col / col2im, NumPy


def _pad_cpu(x, p):
    """Copies x into a zeroed padded buffer; the flat layout needs one spare row at the end
    because the garbage columns of the last output row read up to kw-1 elements past it."""
    n, c, h, w = x.shape
    extra = 1 if p.flat else 0
    if not p.flat and p.ph == 0 and p.pw == 0:
        return np.ascontiguousarray(x)
    buf = np.zeros((n, c, p.Hp + extra, p.Wp), dtype=x.dtype)
    buf[:, :, p.ph:p.ph + h, p.pw:p.pw + w] = x
    return buf


def _im2col_cpu(x, p):
    """(n, C, H, W) -> (G, K, npg*T) columns, one copy from a strided view."""
    n = x.shape[0]
    G, npg = p.groups_of(n)
    xb = _pad_cpu(x, p)
    sn, sc, sh, sw = xb.strides
    if p.flat:
        # Offsets (ki*dh*Wp + kj*dw) into each channel's flat run; one contiguous run per row.
        view = as_strided(xb, (G, p.C, p.kh, p.kw, npg, p.T),
                          (sn * npg, sc, sh * p.dh, sw * p.dw, sn, sw), writeable=False)
    else:
        view = as_strided(xb, (G, p.C, p.kh, p.kw, npg, p.Ho, p.Wo),
                          (sn * npg, sc, sh * p.dh, sw * p.dw, sn, sh * p.sh, sw * p.sw),
                          writeable=False)
    return view.reshape(G, p.K, npg * p.T)


def _col2im_cpu(cols, p, n, dtype):
    """(G, K, npg*T) column gradients -> (n, C, H, W): kh*kw strided adds."""
    G, npg = p.groups_of(n)
    if p.flat:
        buf = np.zeros((G, npg, p.C, (p.Hp + 1) * p.Wp), dtype=dtype)
        acc = buf.transpose(0, 2, 1, 3)
        d = cols.reshape(G, p.C, p.kh, p.kw, npg, p.T)
        for i in range(p.kh):
            for j in range(p.kw):
                off = i * p.dh * p.Wp + j * p.dw
                acc[..., off:off + p.T] += d[:, :, i, j]
        full = buf.reshape(n, p.C, p.Hp + 1, p.Wp)
    else:
        buf = np.zeros((G, npg, p.C, p.Hp, p.Wp), dtype=dtype)
        acc = buf.transpose(0, 2, 1, 3, 4)
        d = cols.reshape(G, p.C, p.kh, p.kw, npg, p.Ho, p.Wo)
        hspan, wspan = p.sh * (p.Ho - 1) + 1, p.sw * (p.Wo - 1) + 1
        for i in range(p.kh):
            for j in range(p.kw):
                h0, w0 = i * p.dh, j * p.dw
                acc[..., h0:h0 + hspan:p.sh, w0:w0 + wspan:p.sw] += d[:, :, i, j]
        full = buf.reshape(n, p.C, p.Hp, p.Wp)
    return full[:, :, p.ph:p.ph + p.H, p.pw:p.pw + p.W]


# ---------------------------------------------------------------------------------------
# im2col / col2im, CuPy (compiled lazily: nothing touches CUDA at import time)

_IM2COL_SRC = r"""
    // i indexes cols laid out (c, ki, kj, n, ho, wo)
    long long r = i;
    const int wo = r % Wo; r /= Wo;
    const int ho = r % Ho; r /= Ho;
    const int n = r % N; r /= N;
    const int kj = r % kw; r /= kw;
    const int ki = r % kh;
    const int c = r / kh;
    const int h = ho * sh - ph + ki * dh;
    const int w = wo * sw - pw + kj * dw;
    col = (h >= 0 && h < H && w >= 0 && w < W)
        ? x[(((long long)n * C + c) * H + h) * W + w] : (T)0;
"""

_COL2IM_SRC = r"""
    // i indexes dx laid out (n, c, h, w); gathers every column entry that read x[n,c,h,w]
    long long r = i;
    const int w = r % W; r /= W;
    const int h = r % H; r /= H;
    const int c = r % C;
    const int n = r / C;
    T acc = 0;
    for (int ki = 0; ki < kh; ++ki) {
        const int hh = h + ph - ki * dh;
        if (hh < 0 || hh % sh != 0) continue;
        const int ho = hh / sh;
        if (ho >= Ho) continue;
        for (int kj = 0; kj < kw; ++kj) {
            const int ww = w + pw - kj * dw;
            if (ww < 0 || ww % sw != 0) continue;
            const int wo = ww / sw;
            if (wo >= Wo) continue;
            acc += col[(((((long long)c * kh + ki) * kw + kj) * N + n) * Ho + ho) * Wo + wo];
        }
    }
    dx = acc;
"""

_GEOM = ("int32 N, int32 C, int32 H, int32 W, int32 kh, int32 kw, int32 sh, int32 sw, "
         "int32 ph, int32 pw, int32 dh, int32 dw, int32 Ho, int32 Wo")
_cuda_kernels = {}


def _cuda_kernel(name):
    if name not in _cuda_kernels:
        cp = cuda.cupy_module()
        if name == "im2col":
            k = cp.ElementwiseKernel("raw T x, " + _GEOM, "T col", _IM2COL_SRC,
                                     "dynet_im2col")
        else:
            k = cp.ElementwiseKernel("raw T col, " + _GEOM, "T dx", _COL2IM_SRC,
                                     "dynet_col2im")
        _cuda_kernels[name] = k
    return _cuda_kernels[name]


def _geom_args(p, n):
    return (n, p.C, p.H, p.W, p.kh, p.kw, p.sh, p.sw, p.ph, p.pw, p.dh, p.dw, p.Ho, p.Wo)


def _im2col_cuda(x, p):
    cp = cuda.cupy_module()
    n = x.shape[0]
    x = cp.ascontiguousarray(x)
    cols = cp.empty((1, p.K, n * p.T), dtype=x.dtype)
    _cuda_kernel("im2col")(x, *_geom_args(p, n), cols)
    return cols


def _col2im_cuda(cols, p, n, dtype):
    cp = cuda.cupy_module()
    dx = cp.empty((n, p.C, p.H, p.W), dtype=dtype)
    _cuda_kernel("col2im")(cp.ascontiguousarray(cols), *_geom_args(p, n), dx)
    return dx


# ---------------------------------------------------------------------------------------
# Public kernels


def plan_for(x, w, stride=1, padding=0, dilation=1, groups=1, need_x=True, layout=None):
    """The ConvPlan for raw arrays x (N, C, H, W) and w (O, C/groups, kh, kw); `need_x`
    says whether backward will want the input gradient (it picks the column layout)."""
    return ConvPlan(x.shape, w.shape, stride, padding, dilation, groups,
                    gpu=xp_of(x) is not np, need_x=need_x, itemsize=x.dtype.itemsize,
                    layout=layout)


def im2col(x, plan):
    """Columns (G, K, npg*T) of x (N, C, H, W) for `plan`; see the module docstring."""
    return _im2col_cuda(x, plan) if plan.gpu else _im2col_cpu(x, plan)


def col2im(cols, plan, n=None, dtype=None):
    """Sums column gradients (G, K, npg*T) back into an (n, C, H, W) input gradient."""
    n = plan.N if n is None else n
    dtype = cols.dtype if dtype is None else dtype
    return _col2im_cuda(cols, plan, n, dtype) if plan.gpu else _col2im_cpu(cols, plan, n, dtype)


def _gemm_out_view(out, p, G, npg):
    """(G, O, npg*T) GEMM result as a (G, npg, O, Ho, Wo) view (drops flat garbage)."""
    width = p.Wp if p.flat else p.Wo
    v = out.reshape(G, p.O, npg, p.Ho, width).transpose(0, 2, 1, 3, 4)
    return v[..., :p.Wo] if p.flat else v


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, need_x=True,
                   layout=None):
    """y = conv2d(x, w) + b on raw arrays; returns (y, plan, cols or None).

    The columns come back so backward can reuse them (weight gradient) when they are small
    enough to keep; None means backward recomputes them block by block. `need_x=False`
    promises that backward will not ask for the input gradient.
    """
    xp = xp_of(x)
    p = plan_for(x, w, stride, padding, dilation, groups, need_x, layout)
    og, kg = p.O // groups, p.K // groups
    wmat = w.reshape(groups, og, kg)
    y = xp.empty((p.N, p.O, p.Ho, p.Wo), dtype=x.dtype)
    keep = None
    for start, stop in p.blocks():
        n = stop - start
        G, npg = p.groups_of(n)
        cols = im2col(x[start:stop], p)
        cols4 = cols.reshape(G, groups, kg, npg * p.T)
        if npg == 1 and not p.flat:
            # one sample per group: the GEMM already writes y's layout, so skip the copy
            xp.matmul(wmat, cols4, out=y[start:stop].reshape(G, groups, og, p.T))
            if b is not None:
                y[start:stop] += b.reshape(p.O, 1, 1)
        else:
            out = xp.matmul(wmat, cols4).reshape(G, p.O, npg * p.T)
            dst = y[start:stop].reshape(G, npg, p.O, p.Ho, p.Wo)
            src = _gemm_out_view(out, p, G, npg)
            if b is None:
                dst[...] = src
            else:
                # the bias add rides on the copy out of the GEMM layout
                xp.add(src, b.reshape(p.O, 1, 1), out=dst)
        if p.single_block:
            keep = cols
    return y, p, keep


def conv2d_backward(grad, x, w, plan, cols=None, need_x=True, need_w=True, need_b=False):
    """Gradients (dx, dw, db) of conv2d for upstream `grad` (N, O, Ho, Wo); None where not
    needed. `cols` are the forward's columns, or None to recompute them."""
    xp = xp_of(grad)
    p = plan
    groups = p.groups
    og, kg = p.O // groups, p.K // groups
    dx = xp.empty((p.N, p.C, p.H, p.W), dtype=grad.dtype) \
        if need_x and (not p.single_block or p.N == 0) else None
    dw = None
    db = grad.sum(axis=(0, 2, 3)) if need_b else None
    if not (need_x or need_w):
        return dx, dw, db
    wt = w.reshape(groups, og, kg).transpose(0, 2, 1) if need_x else None
    for start, stop in p.blocks():
        n = stop - start
        G, npg = p.groups_of(n)
        g = grad[start:stop]
        # gradient in the GEMM layout (G, O, npg*T); zeros in the flat garbage columns
        if npg == 1 and not p.flat:
            gcols = g.reshape(G, groups, og, p.T)  # already the GEMM layout
        else:
            width = p.Wp if p.flat else p.Wo
            gcols = (xp.zeros if p.flat else xp.empty)((G, p.O, npg, p.Ho, width),
                                                       dtype=g.dtype)
            gv = gcols[..., :p.Wo] if p.flat else gcols
            gv[...] = g.reshape(G, npg, p.O, p.Ho, p.Wo).transpose(0, 2, 1, 3, 4)
            gcols = gcols.reshape(G, groups, og, npg * p.T)
        if need_w:
            c = cols if cols is not None and p.single_block else im2col(x[start:stop], p)
            c = c.reshape(G, groups, kg, npg * p.T)
            # (K, S) @ (S, O) measured faster than (O, S) @ (S, K) for the skinny LeNet shapes
            part = xp.matmul(c, gcols.transpose(0, 1, 3, 2))
            part = part.sum(axis=0) if G > 1 else part[0]
            dw = part if dw is None else dw + part
        if need_x:
            dcols = xp.matmul(wt, gcols).reshape(G, p.K, npg * p.T)
            if p.single_block:
                dx = col2im(dcols, p, n, grad.dtype)  # may be a strided view; no copy
            else:
                dx[start:stop] = col2im(dcols, p, n, grad.dtype)
    if need_w:
        if dw is None:  # an empty batch
            return dx, xp.zeros((p.O, p.C // groups, p.kh, p.kw), dtype=grad.dtype), db
        dw = xp.ascontiguousarray(dw.transpose(0, 2, 1)).reshape(p.O, p.C // groups,
                                                                 p.kh, p.kw)
    return dx, dw, db
