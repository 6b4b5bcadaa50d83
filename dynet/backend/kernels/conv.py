"""2-D convolution on raw arrays: im2col / col2im plus GEMMs, on NumPy or CuPy.

Column layout. The columns of a block of samples are a (G, rows, S) array: G groups of
`npg` samples each, rows = C*kh*kw ordered (c, ki, kj) (plus a ones row when the bias is
folded into the GEMM), and S = npg*T columns ordered (sample, output position). One
batched matmul gives (G, O, S). On the CPU a sample with many output positions is its own
group (the GEMM then writes y's layout directly, and OpenBLAS avoids the 50k-column skinny
products it runs slowly); few positions make the whole block one group.

Two ways to lay out T, the output positions of one sample, on the CPU:
- "std": T = Ho*Wo, any stride and dilation.
- "flat" (stride 1, used when the input gradient is wanted, and in inference when a
  sample has too few positions for a GEMM of its own): the padded input is
  flattened per channel and each output row is computed over the full padded width Wp
  (T = Ho*Wp); the last Wp-Wo entries of a row are garbage, dropped from y and zero in
  the gradient. Every (ki, kj) slice of the columns is then ONE contiguous run of the flat
  input, and the input gradient needs no column-gradient matrix at all (_dx_flat_cpu).
On CUDA the im2col/col2im kernels write any layout at the same cost, so CUDA always uses
"std" with a single group (one large cuBLAS GEMM); col2im there is a gather (every input
pixel sums the columns that read it), so it needs no atomics and is deterministic.

Strided views come from as_strided rather than sliding_window_view because one view then
has the grouped (G, C, kh, kw, npg, ...) axis order and the reshape is the only copy; the
views are read-only and their extents follow from the plan's geometry.
"""
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import cuda, parallel
from ..device import xp_of

# Above this many bytes of columns for a whole batch, work in blocks of samples and
# recompute the columns in backward instead of keeping them alive between passes (GPU
# memory is larger and re-launching kernels per block costs more there).
COLS_BLOCK_BYTES = 64 << 20
COLS_BLOCK_BYTES_CUDA = 512 << 20
# Output positions per sample from which a per-sample GEMM beats one big GEMM (CPU).
_PER_SAMPLE_MIN_T = 512
# The flat path on the CPU runs blocks of samples whose row columns plus GEMM output take
# about this many bytes, so each block's passes (GEMM, shifted adds and copies) stay in
# cache: LeNet conv2 at batch 1024, one thread, 57.5 ms as one block vs 40.6-41.7 in
# blocks of 32-64 samples (bench/NOTES.md, "Conv blocks"). Blocks are never narrower than
# MIN_BLOCK_COLS output columns, below which OpenBLAS's GEMMs lose speed.
CACHE_BLOCK_BYTES = 4 << 20
MIN_BLOCK_COLS = 4096
# Output channels per group below which a per-sample GEMM is bound by reading its columns.
_FEW_OUTPUTS = 16


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


class ConvPlan:
    """Geometry of one conv2d call: output size, column layout and blocking."""

    __slots__ = ("N", "C", "H", "W", "O", "groups", "kh", "kw", "sh", "sw", "ph", "pw",
                 "dh", "dw", "Ho", "Wo", "Hp", "Wp", "flat", "T", "npg", "block", "keep",
                 "gpu", "fold")

    def __init__(self, x_shape, w_shape, stride, padding, dilation, groups, gpu=False,
                 need_x=True, itemsize=4, layout=None, bias=False, need_w=True):
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
        # Layout choices measured on LeNet (bench/NOTES.md). The flat path pays off through
        # a cheap input gradient, so in training it runs only when that gradient is wanted.
        # Without any backward (inference) its forward alone beats the one-GEMM "std" layout
        # (row columns copy kw times less: LeNet conv2 at batch 1024 0.75x, CIFAR 32->64 at
        # 16x16 0.72x), but not the per-sample GEMMs of layers with many output positions.
        many = self.Ho * self.Wo >= _PER_SAMPLE_MIN_T
        self.flat = self.sh == 1 and self.sw == 1 and not gpu \
            and (need_x or not (need_w or many))
        self.T = self.Ho * (self.Wp if self.flat else self.Wo)
        # bytes of the columns per sample (the flat path's are kw times smaller, but its
        # backward holds kw shifted copies of the output gradient instead)
        per_sample = (self.C * self.kh * self.kw + 1) * self.T * itemsize
        limit = COLS_BLOCK_BYTES_CUDA if gpu else COLS_BLOCK_BYTES
        self.block = max(1, min(self.N, limit // max(per_sample, 1)))
        # the columns of the whole batch fit: forward keeps them for the weight gradient
        self.keep = self.block >= self.N and need_w
        if not gpu:  # one block of samples per CPU thread (backend.parallel)
            chunks = parallel.ranges(self.N, self.N * per_sample // itemsize)
            self.block = max(1, min(self.block, chunks[0][1]))
        # With one group of channels the bias rides in the GEMM as an extra ones row of the
        # columns: saves a pass over y in forward and gives db from the weight-gradient GEMM
        self.fold = bias and groups == 1 and not gpu
        # One sample per group when a sample has enough output positions for an efficient
        # GEMM of its own: the GEMM then writes y's layout directly (no copy out) and
        # OpenBLAS avoids 50k-column skinny products, which it runs 2-3x below its
        # small-GEMM speed (LeNet conv1: 0.25 vs 0.6 ms). Few positions (LeNet conv2: 100)
        # make per-sample GEMMs too small, so the whole block is one group.
        per_sample_gemm = self.T >= _PER_SAMPLE_MIN_T and not (gpu or self.flat)
        if layout is None and (self.flat or per_sample_gemm):
            # cache-sized blocks (more blocks than threads), near-equal in size
            if self.flat:
                ws = (self.groups * _rowcount(self) + self.kw * self.O) * self.T * itemsize
                cap = max(CACHE_BLOCK_BYTES // ws, -(-MIN_BLOCK_COLS // self.T), 1)
            else:  # only where the block is out of cache: the recompute costs. A GEMM
                # with few outputs per column (LeNet conv1: 6) is bound by reading the
                # columns, and blocks pay as soon as a thread's block leaves the cache
                # (LeNet steps at batch 128 and 256 on two threads, 6.4 and 12.8 MB per
                # thread: 0.90-0.95x); with many (CIFAR conv1: 32, 7.8 MB) they lost
                # (+0.5 ms backward), so those wait for 4x that (bench/NOTES.md, "LeNet
                # b64 and b256 at two threads")
                ws = (self.rows + self.O) * self.T * itemsize
                limit = CACHE_BLOCK_BYTES * (1 if self.O // groups < _FEW_OUTPUTS else 4)
                cap = max(CACHE_BLOCK_BYTES // ws, 1) if self.block * ws > limit \
                    else self.block
            if cap < self.block:
                self.block = -(-self.N // -(-self.N // cap))
                # per-sample GEMMs: recomputing a block's columns in backward, while they
                # are in cache, beats keeping them (LeNet conv1 at batch 1024, one thread:
                # 21.6 vs 27.4 ms in blocks of 32)
                self.keep = self.keep and self.flat
        self.npg = 1 if per_sample_gemm else self.block
        if layout is not None and not gpu:  # (flat, samples per group): tests and tuning
            self.flat = layout[0] and self.sh == 1 and self.sw == 1
            self.T = self.Ho * (self.Wp if self.flat else self.Wo)
            self.npg = self.block if self.flat else max(1, min(layout[1], self.block))

    @property
    def K(self):
        return self.C * self.kh * self.kw

    @property
    def rows(self):
        """Rows of the column matrix: K, plus the ones row of a folded bias."""
        return self.K + 1 if self.fold else self.K

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
    """(n, C, H, W) -> (G, rows, npg*T) columns, one copy from a strided view."""
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
    if not p.fold:
        return view.reshape(G, p.K, npg * p.T)
    cols = np.empty((G, p.K + 1, npg * p.T), dtype=x.dtype)
    cols[:, :p.K].reshape(view.shape)[...] = view
    cols[:, p.K] = 1
    return cols


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
# The flat path on the CPU: "row columns" instead of full columns
#
# Full columns stack kh*kw shifted copies of the flat input. The row columns R stack only
# the kh row shifts (rows (c, ki), T columns per sample); the kw column shifts are moved
# onto the small side of each product instead:
#   forward     Y = Wf @ R with Wf[(kj, o), (c, ki)] = w[o, c, ki, kj], then
#               y[o, m] = sum_kj Y[(kj, o), m + kj*dw]                 (kw-1 shifted adds)
#   weight grad dw[o, c, ki, kj] = (Gs @ R^T)[(kj, o), (c, ki)] with Gs the kw copies of
#               the output gradient shifted right by kj*dw
#   input grad  D = Wb @ Gs with Wb[(ki, c), (kj, o)] = w[o, c, ki, kj], then
#               dx[c, m + ki*dh*Wp] += D[(ki, c), m]                   (kh shifted adds)
# On LeNet conv2 that copies 1/5 of the data of im2col, and the input gradient never
# builds the 5.4 MB column gradient that col2im would scatter with 25 adds. A shift that
# crosses a row or sample boundary of the flattened (sample, position) axis only ever
# moves garbage columns, which are zero in the gradient and dropped from y.


def _rowcount(p):
    """Rows of the row columns: cg*kh, the ones row of a folded bias, then zero rows up to a
    multiple of 8. OpenBLAS runs the weight-gradient GEMM (kw*og x S) @ (S x rows) much
    faster with an even output width: LeNet conv2 at batch 256, 2.3 ms with 32 rows vs
    3.2 ms with 31 (the zero rows cost one extra row of writes)."""
    rows = p.C // p.groups * p.kh + (1 if p.fold else 0)
    return -(-rows // 8) * 8


def _rowcols_cpu(x, p):
    """(groups, _rowcount(p), n*T + margin) row columns of x; the margin of (kw-1)*dw zero
    columns lets the forward's shifted reads of the last sample stay in bounds."""
    n = x.shape[0]
    groups, cg = p.groups, p.C // p.groups
    S = n * p.T
    margin = (p.kw - 1) * p.dw
    xb = _pad_cpu(x, p)
    sn, sc, sh, sw = xb.strides
    view = as_strided(xb, (groups, cg, p.kh, n, p.T), (sc * cg, sc, sh * p.dh, sn, sw),
                      writeable=False)
    k = cg * p.kh
    out = np.empty((groups, _rowcount(p), S + margin), dtype=x.dtype)
    out[:, :k, :S].reshape(view.shape)[...] = view  # a view: splits axes, merges none
    out[:, :, S:] = 0
    out[:, k:, :S] = 0
    if p.fold:
        out[:, k, :S] = 1
    return out


def _forward_flat_cpu(x, w, b, p, y):
    """Writes conv2d(x, w) + b into y (n, O, Ho, Wo); returns the row columns."""
    n = x.shape[0]
    groups, og, cg = p.groups, p.O // p.groups, p.C // p.groups
    S = n * p.T
    rc = _rowcols_cpu(x, p)
    wf = w.reshape(groups, og, cg, p.kh, p.kw).transpose(0, 4, 1, 2, 3)
    wf = wf.reshape(groups, p.kw * og, cg * p.kh)
    pad = _rowcount(p) - cg * p.kh
    if pad:  # zero columns for the padding rows; the bias column only in the kj = 0 block
        extra = np.zeros((groups, p.kw * og, pad), dtype=wf.dtype)
        if p.fold:
            extra[0, :og, 0] = b
        wf = np.concatenate([wf, extra], axis=2)
    big = np.matmul(wf, rc).reshape(groups, p.kw, og, rc.shape[2])
    acc = big[:, 0, :, :S]
    for j in range(1, p.kw):
        acc += big[:, j, :, j * p.dw:j * p.dw + S]
    src = acc.reshape(p.O, n, p.Ho, p.Wp)[..., :p.Wo].transpose(1, 0, 2, 3)
    if b is not None and not p.fold:
        np.add(src, b.reshape(p.O, 1, 1), out=y)
    else:
        y[...] = src
    return rc


def _backward_flat_cpu(grad, w, p, rc, n, need_x, need_w, dtype):
    """(dx view or None, (groups, kw*og, rows) weight-gradient blocks or None) from the
    output gradient (n, O, Ho, Wo) and the row columns rc."""
    groups, og, cg = p.groups, p.O // p.groups, p.C // p.groups
    S = n * p.T
    width = rc.shape[2] if rc is not None else S
    shifted = np.empty((groups, p.kw, og, width), dtype=dtype)
    # The unshifted copy (kj = 0) is the gradient over padded-width rows, zero in the
    # garbage columns; written in place, it saves a separate flat copy (0.2 ms at LeNet
    # conv2, batch 256). The other shifts copy from it: contiguous runs, unlike `grad`.
    g = shifted[:, 0, :, :S]
    flat = g.reshape(groups, og, n, p.Ho, p.Wp)
    flat[..., p.Wo:] = 0
    flat[..., :p.Wo] = grad.reshape(n, groups, og, p.Ho, p.Wo).transpose(1, 2, 0, 3, 4)
    shifted[:, 0, :, S:] = 0
    for j in range(1, p.kw):
        s = j * p.dw
        shifted[:, j, :, :s] = 0
        shifted[:, j, :, s:s + S] = g[:, :, :width - s] if s + S > width else g
        shifted[:, j, :, s + S:] = 0
    shifted = shifted.reshape(groups, p.kw * og, width)
    dwb = np.matmul(shifted, rc.transpose(0, 2, 1)) if need_w else None
    dx = None
    if need_x:
        wb = w.reshape(groups, og, cg, p.kh, p.kw).transpose(0, 3, 2, 4, 1)
        wb = wb.reshape(groups, p.kh * cg, p.kw * og)
        d = np.matmul(wb, shifted[:, :, :S]).reshape(groups, p.kh, cg, n, p.T)
        buf = np.zeros((n, groups, cg, p.Hp * p.Wp), dtype=dtype)
        acc = buf.transpose(1, 2, 0, 3)
        for i in range(p.kh):
            off = i * p.dh * p.Wp
            acc[..., off:off + p.T] += d[:, i]
        dx = buf.reshape(n, p.C, p.Hp, p.Wp)[:, :, p.ph:p.ph + p.H, p.pw:p.pw + p.W]
    return dx, dwb


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
# every kernel this module builds, for the NVRTC compile tests (see kernels/__init__.py)
CUDA_KERNELS = [
    ("im2col", "raw T x, " + _GEOM, "T col", _IM2COL_SRC),
    ("col2im", "raw T col, " + _GEOM, "T dx", _COL2IM_SRC),
]
CUDA_RAW_NDIM = {"im2col": {"x": 4}, "col2im": {"col": 3}}
_KERNELS = {entry[0]: entry for entry in CUDA_KERNELS}


def _cuda_kernel(name):
    return cuda.elementwise_kernel(*_KERNELS[name])


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


def plan_for(x, w, stride=1, padding=0, dilation=1, groups=1, need_x=True, layout=None,
             bias=False, need_w=True):
    """The ConvPlan for raw arrays x (N, C, H, W) and w (O, C/groups, kh, kw); `need_x` and
    `need_w` say whether backward will want the input / weight gradient (they pick the
    column layout)."""
    return ConvPlan(x.shape, w.shape, stride, padding, dilation, groups,
                    gpu=xp_of(x) is not np, need_x=need_x, itemsize=x.dtype.itemsize,
                    layout=layout, bias=bias, need_w=need_w)


def im2col(x, plan):
    """Columns (G, plan.rows, npg*T) of x (N, C, H, W) for `plan`; see the module
    docstring."""
    return _im2col_cuda(x, plan) if plan.gpu else _im2col_cpu(x, plan)


def col2im(cols, plan, n=None, dtype=None):
    """Sums column gradients (G, K, npg*T) back into an (n, C, H, W) input gradient."""
    n = plan.N if n is None else n
    dtype = cols.dtype if dtype is None else dtype
    return _col2im_cuda(cols, plan, n, dtype) if plan.gpu else _col2im_cpu(cols, plan, n, dtype)


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, need_x=True,
                   layout=None, need_w=True):
    """y = conv2d(x, w) + b on raw arrays; returns (y, plan, cols or None).

    The columns (a list, one entry per block of samples) come back so backward can reuse
    them for the weight gradient when they are small enough to keep; None means backward
    recomputes them block by block. Blocks run on the CPU threads of backend.parallel.
    `need_x=False` / `need_w=False` promise that backward will not ask for the input /
    weight gradient; with neither, nothing is kept and the plan suits inference.
    """
    xp = xp_of(x)
    p = ConvPlan(x.shape, w.shape, stride, padding, dilation, groups, gpu=xp is not np,
                 need_x=need_x, itemsize=x.dtype.itemsize, layout=layout,
                 bias=b is not None, need_w=need_w)
    og, kg = p.O // groups, p.K // groups
    wmat = w.reshape(groups, og, kg)
    if p.fold and not p.flat:
        wmat = xp.concatenate([wmat, b.reshape(1, p.O, 1)], axis=2)
        kg += 1
    add_bias = b is not None and not p.fold
    y = xp.empty((p.N, p.O, p.Ho, p.Wo), dtype=x.dtype)

    def block(start, stop):
        """Writes y[start:stop]; returns the block's columns when they are kept."""
        n = stop - start
        if p.flat:
            rc = _forward_flat_cpu(x[start:stop], w, b, p, y[start:stop])
            return rc if p.keep else None
        G, npg = p.groups_of(n)
        cols = im2col(x[start:stop], p)
        cols4 = cols.reshape(G, groups, kg, npg * p.T)
        if npg == 1:
            # one sample per group: the GEMM already writes y's layout, so no copy
            xp.matmul(wmat, cols4, out=y[start:stop].reshape(G, groups, og, p.T))
            if add_bias:
                y[start:stop] += b.reshape(p.O, 1, 1)
        else:
            out = xp.matmul(wmat, cols4).reshape(G, p.O, npg, p.Ho, p.Wo)
            dst = y[start:stop].reshape(G, npg, p.O, p.Ho, p.Wo)
            src = out.transpose(0, 2, 1, 3, 4)
            if add_bias:
                # the bias add rides on the copy out of the GEMM layout
                xp.add(src, b.reshape(p.O, 1, 1), out=dst)
            else:
                dst[...] = src
        return cols if p.keep else None  # else dropped now, not held for all blocks

    cols = _run_blocks(p, block, p.blocks())
    return y, p, cols if p.keep else None


def conv2d_backward(grad, x, w, plan, cols=None, need_x=True, need_w=True, need_b=False):
    """Gradients (dx, dw, db) of conv2d for upstream `grad` (N, O, Ho, Wo); None where not
    needed. `cols` are the forward's columns, or None to recompute them from x."""
    xp = xp_of(grad)
    p = plan
    groups = p.groups
    og, kg = p.O // groups, p.K // groups
    blocks = p.blocks()
    dx = xp.empty((p.N, p.C, p.H, p.W), dtype=grad.dtype) \
        if need_x and len(blocks) != 1 else None
    # a folded bias gets db from the weight-gradient GEMM (the ones row of the columns)
    from_gemm = p.fold and need_w
    db = grad.sum(axis=(0, 2, 3)) if need_b and not from_gemm else None
    if not (need_x or need_w):
        return dx, None, db

    def block(index, start, stop):
        """(input gradient of the block, its weight-gradient GEMM result); the input
        gradient is written into dx when there are several blocks."""
        n = stop - start
        G, npg = p.groups_of(n)
        g = grad[start:stop]
        c = None
        if need_w:
            c = cols[index] if cols is not None else \
                (_rowcols_cpu(x[start:stop], p) if p.flat else im2col(x[start:stop], p))
        if p.flat:
            part_x, part_w = _backward_flat_cpu(g, w, p, c, n, need_x, need_w,
                                                grad.dtype)
        else:
            if npg == 1:
                gcols = g.reshape(G, groups, og, p.T)  # already the GEMM layout
            else:
                gcols = xp.empty((G, p.O, npg, p.Ho, p.Wo), dtype=g.dtype)
                gcols[...] = g.reshape(G, npg, p.O, p.Ho, p.Wo).transpose(0, 2, 1, 3, 4)
                gcols = gcols.reshape(G, groups, og, npg * p.T)
            part_w = part_x = None
            if need_w:
                c = c.reshape(G, groups, p.rows // groups, npg * p.T)
                # (K, S) @ (S, O): measured faster than (O, S) @ (S, K) on LeNet shapes
                part_w = xp.matmul(c, gcols.transpose(0, 1, 3, 2))
                part_w = part_w.sum(axis=0) if G > 1 else part_w[0]
            if need_x:
                wt = w.reshape(groups, og, kg).transpose(0, 2, 1)
                dcols = xp.matmul(wt, gcols).reshape(G, p.K, npg * p.T)
                part_x = col2im(dcols, p, n, grad.dtype)
        if need_x and dx is not None:
            dx[start:stop] = part_x
        return part_x, part_w

    parts = _run_blocks(p, block, [(i, start, stop) for i, (start, stop) in enumerate(blocks)])
    if need_x and dx is None:
        # contiguous: consumers such as max-pool backward run 2x slower on a strided
        # view (0.7 vs 0.3 ms at LeNet size); the copy costs 0.015 ms
        dx = xp.ascontiguousarray(parts[0][0])
    dw = None
    if need_w:
        dwb = None  # weight-gradient blocks summed over sample blocks
        for _, part_w in parts:
            dwb = part_w if dwb is None else dwb + part_w
        dw, db_gemm = _weight_grad(dwb, p, xp, grad.dtype)
        if need_b and from_gemm:
            db = db_gemm
    return dx, dw, db


def _run_blocks(p, body, items):
    """body(*item) per block: on the CPU threads, or in order on the calling thread for CUDA
    (CuPy's current device and stream are per thread, and the GPU is one device anyway)."""
    return [body(*item) for item in items] if p.gpu else parallel.run(body, items)


def _weight_grad(dwb, p, xp, dtype):
    """(dw, db or None) from the summed weight-gradient GEMM blocks of either path."""
    groups, og, cg = p.groups, p.O // p.groups, p.C // p.groups
    if p.flat:
        if dwb is None:  # an empty batch
            dwb = xp.zeros((groups, p.kw * og, _rowcount(p)), dtype=dtype)
        db = dwb[0, :og, cg * p.kh].copy() if p.fold else None
        dw = dwb[:, :, :cg * p.kh].reshape(groups, p.kw, og, cg, p.kh)
        dw = xp.ascontiguousarray(dw.transpose(0, 2, 3, 4, 1))
    else:
        if dwb is None:
            dwb = xp.zeros((groups, p.rows // groups, og), dtype=dtype)
        db = dwb[0, p.K].copy() if p.fold else None
        dw = xp.ascontiguousarray(dwb[:, :p.K // groups].transpose(0, 2, 1))
    return dw.reshape(p.O, cg, p.kh, p.kw), db
