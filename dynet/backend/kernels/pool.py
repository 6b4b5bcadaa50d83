"""2-D max and average pooling on raw (N, C, H, W) arrays, NumPy or CuPy.

CPU kernels loop over window offsets, each step one vectorised operation on a strided view
of the (padded) input, so there is no Python loop per sample or per output pixel. Max
pooling is done separably (over the kw columns of each window row, then over its kh rows)
and keeps, per output, the offset of the winning element inside its window (uint8 for
windows up to 256 elements): a quarter of the bytes of int32 and enough for backward;
PyTorch's flat indices are derived from it only when asked for.

CUDA max pooling runs one thread per output (forward) and a gather per input pixel
(backward: each pixel sums the gradients of the windows whose argmax it is), so there are
no atomics and results are deterministic. Average pooling is the same strided-view code on
both devices (CuPy slicing and `+=` are single kernels there).
"""
import numpy as np

from .. import cuda, parallel
from ..device import xp_of


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def pool_out_size(size, k, s, p, d, ceil_mode):
    """PyTorch's pooling output length (pooling_output_shape in ATen)."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    # in ceil mode the last window must start inside the input or left padding
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


class PoolPlan:
    """Geometry of one 2-D pooling call."""

    __slots__ = ("N", "C", "H", "W", "kh", "kw", "sh", "sw", "ph", "pw", "dh", "dw",
                 "Ho", "Wo", "Hb", "Wb")

    def __init__(self, shape, kernel, stride, padding, dilation=1, ceil_mode=False):
        self.N, self.C, self.H, self.W = shape
        self.kh, self.kw = _pair(kernel)
        self.sh, self.sw = _pair(stride)
        self.ph, self.pw = _pair(padding)
        self.dh, self.dw = _pair(dilation)
        self.Ho = pool_out_size(self.H, self.kh, self.sh, self.ph, self.dh, ceil_mode)
        self.Wo = pool_out_size(self.W, self.kw, self.sw, self.pw, self.dw, ceil_mode)
        # rows/cols the windows reach, counted from the top-left of the padded input; in
        # ceil mode the last window may hang past the right/bottom padding
        self.Hb = max(self.H + 2 * self.ph, (self.Ho - 1) * self.sh + self.dh * (self.kh - 1) + 1)
        self.Wb = max(self.W + 2 * self.pw, (self.Wo - 1) * self.sw + self.dw * (self.kw - 1) + 1)

    @property
    def direct(self):
        """True when every window lies inside the unpadded input (no buffer needed)."""
        return (self.ph == 0 and self.pw == 0
                and (self.Ho - 1) * self.sh + self.dh * (self.kh - 1) < self.H
                and (self.Wo - 1) * self.sw + self.dw * (self.kw - 1) < self.W)

    @property
    def disjoint(self):
        """True when windows never overlap, so backward can assign instead of add."""
        return self.sh >= self.dh * (self.kh - 1) + 1 and self.sw >= self.dw * (self.kw - 1) + 1

    def window(self, buf, i, j):
        """The (N, C, Ho, Wo) strided view of `buf` seen by window offset (i, j)."""
        h0, w0 = i * self.dh, j * self.dw
        return buf[:, :, h0:h0 + self.sh * (self.Ho - 1) + 1:self.sh,
                   w0:w0 + self.sw * (self.Wo - 1) + 1:self.sw]

    def offsets(self):
        return [(i, j) for i in range(self.kh) for j in range(self.kw)]


def _padded(x, p, fill):
    """x itself when no window leaves it, else a copy inside a `fill`-valued buffer."""
    if p.direct:
        return x
    xp = xp_of(x)
    buf = xp.full(x.shape[:2] + (p.Hb, p.Wb), fill, dtype=x.dtype)
    buf[:, :, p.ph:p.ph + p.H, p.pw:p.pw + p.W] = x
    return buf


def _unpad(buf, p):
    return buf if p.direct else buf[:, :, p.ph:p.ph + p.H, p.pw:p.pw + p.W]


# ---------------------------------------------------------------------------------------
# Max pooling


def max_pool2d_forward(x, kernel, stride, padding=0, dilation=1, ceil_mode=False,
                       need_arg=True):
    """Returns (y, arg, plan). `arg` is device-specific: on the CPU the winning offset inside
    each window, on CUDA the flat h*W+w input index; pass it to max_pool2d_backward or
    max_pool2d_indices. `need_arg=False` (no backward, no indices) lets the CPU compute the
    maxima alone and return arg None."""
    p = PoolPlan(x.shape, kernel, stride, padding, dilation, ceil_mode)
    if xp_of(x) is not np:
        y, arg = _max_forward_cuda(x, p)
        return y, arg, p
    y = np.empty((p.N, p.C, p.Ho, p.Wo), dtype=x.dtype)
    arg = np.empty(y.shape, np.uint8 if p.kh * p.kw <= 256 else np.int32) if need_arg else None

    def block(start, stop):
        if need_arg:
            _max_forward_cpu(x[start:stop], p, y[start:stop], arg[start:stop])
        else:
            _max_only_cpu(x[start:stop], p, y[start:stop])

    parallel.run(block, parallel.ranges(p.N, x.size))
    return y, arg, p


def _max_only_cpu(x, p, y):
    """Writes the maxima of x's windows into y, tracking no argmax (inference): one
    np.maximum per window row and column. Rows first, so the larger pass reads contiguous
    runs; np.maximum propagates NaN as PyTorch's max pooling does."""
    buf = _padded(x, p, -np.inf)
    hspan, wspan = p.sh * (p.Ho - 1) + 1, p.sw * (p.Wo - 1) + 1
    rows = [buf[:, :, i * p.dh:i * p.dh + hspan:p.sh] for i in range(p.kh)]
    m = rows[0]
    for i, r in enumerate(rows[1:]):
        m = np.maximum(m, r, out=None if i == 0 else m)
    cols = [m[..., j * p.dw:j * p.dw + wspan:p.sw] for j in range(p.kw)]
    if p.kw == 1:
        y[...] = cols[0]
        return
    np.maximum(cols[0], cols[1], out=y)
    for c in cols[2:]:
        np.maximum(y, c, out=y)


def _max_forward_cpu(x, p, y, arg):
    """Writes the maxima of x's windows into y and their offsets into arg."""
    buf = _padded(x, p, -np.inf)
    # A max over a rectangle is separable: first over the kw columns of each window row
    # (long, coalesced loops on (N, C, rows, Wo)), then over its kh rows. Halves the work
    # of a direct kh*kw loop for 2x2 windows. The argmax is tracked arithmetically because
    # masked writes (copyto/where) cost ~10x plain ufuncs in NumPy; strict > keeps the
    # first maximum in window order (PyTorch's tie rule: first row, then first column).
    itype = arg.dtype.type
    wspan = p.sw * (p.Wo - 1) + 1
    m, am = buf[..., 0:wspan:p.sw], None
    for j in range(1, p.kw):
        v = buf[..., j * p.dw:j * p.dw + wspan:p.sw]
        if j == 1 and p.sw <= 2 and buf.flags.c_contiguous:
            # x[w + dw] > x[w] over the whole flat array, then the window starts: one
            # contiguous compare is faster than a compare of two stride-2 views even
            # at twice the elements (LeNet pool1 forward, medians: 2.09 vs 2.39 ms at
            # batch 256, 0.52 vs 0.58 at 64); the last dw entries are never read
            flat = buf.reshape(-1)
            cmp = np.empty(buf.shape, dtype=bool)
            np.greater(flat[p.dw:], flat[:-p.dw], out=cmp.reshape(-1)[:-p.dw])
            better = cmp[..., 0:wspan:p.sw]
        else:
            better = np.greater(v, m)
        m = np.maximum(m, v, out=None if j == 1 else m)
        if am is None:
            am = better.view(np.uint8).astype(itype, copy=itype is not np.uint8)
        else:
            np.maximum(am, better * itype(j), out=am)
    hspan = p.sh * (p.Ho - 1) + 1
    y[...] = m[:, :, 0:hspan:p.sh]
    if am is None:
        arg[...] = 0
    else:
        arg[...] = am[:, :, 0:hspan:p.sh]
    for i in range(1, p.kh):
        rows = slice(i * p.dh, i * p.dh + hspan, p.sh)
        r = m[:, :, rows]
        better = np.greater(r, y)
        np.maximum(y, r, out=y)
        cand = np.full(y.shape, i * p.kw, itype) if am is None else am[:, :, rows] + itype(i * p.kw)
        # arg = better ? cand : arg, as modular integer arithmetic (wrap-around cancels)
        cand -= arg
        cand *= better
        arg += cand
    if np.isnan(y).any():
        arg[...] = _nan_argmax(buf, p, p.offsets(), arg)


def _nan_argmax(buf, p, offsets, arg):
    """PyTorch's rule where NaNs are present: `val > max || isnan(val)`, so the last NaN
    of a window wins. Rare, so this slower exact pass runs only when the output has one."""
    best = p.window(buf, 0, 0).copy()
    arg = np.zeros_like(arg)
    for k, (i, j) in enumerate(offsets[1:], 1):
        v = p.window(buf, i, j)
        take = (v > best) | np.isnan(v)
        np.copyto(best, v, where=take)
        np.copyto(arg, k, where=take, casting="unsafe")
    return arg


def max_pool2d_backward(grad, arg, p):
    """Input gradient (N, C, H, W) of max pooling."""
    xp = xp_of(grad)
    if xp is not np:
        return _max_backward_cuda(grad, arg, p)
    shape = (p.N, p.C, p.H, p.W) if p.direct else (p.N, p.C, p.Hb, p.Wb)
    gx = np.empty(shape, dtype=grad.dtype)

    def block(start, stop):
        _max_backward_cpu(grad[start:stop], arg[start:stop], p, gx[start:stop])

    parallel.run(block, parallel.ranges(p.N, gx.size))
    return _unpad(gx, p)


def _max_backward_cpu(grad, arg, p, gx):
    """Writes the input gradient of max pooling into gx (padded when windows leave x)."""
    # windows that tile the input exactly write every element once: no zero fill needed
    tiles = p.direct and p.disjoint and p.Ho * p.sh == p.H and p.Wo * p.sw == p.W \
        and p.sh == p.dh * (p.kh - 1) + 1 and p.sw == p.dw * (p.kw - 1) + 1
    if not tiles:
        gx[...] = 0
    # grad * hit is the fast form, but 0 * inf and 0 * nan are nan where PyTorch writes 0:
    # a non-finite sum (one cheap pass over the output-sized grad) switches to selection
    select = not np.isfinite(grad.sum())
    zero = grad.dtype.type(0)
    hit = np.empty(arg.shape, dtype=bool)
    for k, (i, j) in enumerate(p.offsets()):
        np.equal(arg, k, out=hit)
        dst = p.window(gx, i, j)
        if select:
            part = np.where(hit, grad, zero)
            if p.disjoint:
                dst[...] = part
            else:
                dst += part
        elif p.disjoint:
            np.multiply(grad, hit, out=dst)
        else:
            dst += grad * hit


def max_pool2d_indices(arg, p):
    """PyTorch's return_indices: int64 flat h*W+w positions in each (H, W) input plane."""
    xp = xp_of(arg)
    if xp is not np:
        return arg
    ki, kj = np.divmod(arg.astype(np.int64), p.kw)
    h = (np.arange(p.Ho, dtype=np.int64) * p.sh - p.ph)[:, None] + ki * p.dh
    w = (np.arange(p.Wo, dtype=np.int64) * p.sw - p.pw) + kj * p.dw
    return h * p.W + w


_MAXPOOL_FWD_SRC = r"""
    // one thread per output (nc, ho, wo); first maximum wins, NaN propagates (PyTorch)
    long long r = i;
    const int wo = r % Wo; r /= Wo;
    const int ho = r % Ho;
    const long long nc = r / Ho;
    const int h0 = ho * sh - ph, w0 = wo * sw - pw;
    T best = 0;
    long long bi = -1;
    for (int ki = 0; ki < kh; ++ki) {
        const int h = h0 + ki * dh;
        if (h < 0 || h >= H) continue;
        for (int kj = 0; kj < kw; ++kj) {
            const int w = w0 + kj * dw;
            if (w < 0 || w >= W) continue;
            const T v = x[(nc * H + h) * W + w];
            if (bi < 0 || v > best || v != v) { best = v; bi = (long long)h * W + w; }
        }
    }
    y = best;
    idx = bi;
"""

_MAXPOOL_BWD_SRC = r"""
    // one thread per input pixel: sum the gradients of windows whose argmax it is
    long long r = i;
    const int w = r % W; r /= W;
    const int h = r % H;
    const long long nc = r / H;
    const long long me = (long long)h * W + w;
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
            const long long o = (nc * Ho + ho) * Wo + wo;
            if (idx[o] == me) acc += g[o];
        }
    }
    gx = acc;
"""

_GEOM = ("int32 H, int32 W, int32 kh, int32 kw, int32 sh, int32 sw, int32 ph, int32 pw, "
         "int32 dh, int32 dw, int32 Ho, int32 Wo")
# every kernel this module builds, for the NVRTC compile tests (see kernels/__init__.py)
CUDA_KERNELS = [
    ("maxpool2d_fwd", "raw T x, " + _GEOM, "T y, int64 idx", _MAXPOOL_FWD_SRC),
    ("maxpool2d_bwd", "raw T g, raw int64 idx, " + _GEOM, "T gx", _MAXPOOL_BWD_SRC),
]
CUDA_RAW_NDIM = {"maxpool2d_fwd": {"x": 4}, "maxpool2d_bwd": {"g": 4, "idx": 4}}
_KERNELS = {entry[0]: entry for entry in CUDA_KERNELS}


def _cuda_kernel(name):
    return cuda.elementwise_kernel(*_KERNELS["maxpool2d_" + name])


def _geom_args(p):
    return (p.H, p.W, p.kh, p.kw, p.sh, p.sw, p.ph, p.pw, p.dh, p.dw, p.Ho, p.Wo)


def _max_forward_cuda(x, p):
    cp = cuda.cupy_module()
    x = cp.ascontiguousarray(x)
    y = cp.empty((p.N, p.C, p.Ho, p.Wo), dtype=x.dtype)
    idx = cp.empty((p.N, p.C, p.Ho, p.Wo), dtype=cp.int64)
    _cuda_kernel("fwd")(x, *_geom_args(p), y, idx)
    return y, idx


def _max_backward_cuda(grad, idx, p):
    cp = cuda.cupy_module()
    gx = cp.empty((p.N, p.C, p.H, p.W), dtype=grad.dtype)
    _cuda_kernel("bwd")(cp.ascontiguousarray(grad), cp.ascontiguousarray(idx),
                        *_geom_args(p), gx)
    return gx


# ---------------------------------------------------------------------------------------
# Average pooling (shared NumPy/CuPy code)

_DEVICE_CONSTANTS = {}
_DEVICE_CONSTANTS_MAX = 256


def device_constant(key, build, xp, like):
    """build() (a host NumPy array) on `like`'s device: copied there once per (key, device)
    and cached, so a forward pass does not pay a host->device transfer every call."""
    if xp is np:
        return build()
    k = (key, like.device.id)
    a = _DEVICE_CONSTANTS.get(k)
    if a is None:
        if len(_DEVICE_CONSTANTS) >= _DEVICE_CONSTANTS_MAX:  # many shapes: start over
            _DEVICE_CONSTANTS.clear()
        with like.device:
            a = xp.asarray(build())
        _DEVICE_CONSTANTS[k] = a
    return a



def _avg_divisor(p, count_include_pad, divisor_override, xp, dtype, like=None):
    """A Python number when every window has the same divisor, else an (Ho, Wo) array.

    Follows ATen: the window is first clipped to the padded input (ceil-mode overhang never
    counts), then, without count_include_pad, to the input itself.
    """
    if divisor_override is not None:
        return divisor_override

    def counts(n_out, s, k, pad, size):
        start = np.arange(n_out) * s - pad
        end = np.minimum(start + k, size + pad)
        full = end - start
        clipped = np.minimum(end, size) - np.maximum(start, 0)
        return full, clipped

    fh, ch = counts(p.Ho, p.sh, p.kh, p.ph, p.H)
    fw, cw = counts(p.Wo, p.sw, p.kw, p.pw, p.W)
    rows, cols = (fh, fw) if count_include_pad else (ch, cw)
    div = rows[:, None] * cols[None, :]
    if (div == div.flat[0]).all():
        return int(div.flat[0])
    key = ("avg_divisor", p.H, p.W, p.kh, p.kw, p.sh, p.sw, p.ph, p.pw, p.Ho, p.Wo,
           bool(count_include_pad), np.dtype(dtype).str)
    return device_constant(key, lambda: div.astype(dtype), xp, like)


def avg_pool2d_forward(x, kernel, stride, padding=0, ceil_mode=False, count_include_pad=True,
                       divisor_override=None):
    """Returns (y, plan, divisor); pass plan and divisor to avg_pool2d_backward."""
    xp = xp_of(x)
    p = PoolPlan(x.shape, kernel, stride, padding, 1, ceil_mode)
    div = _avg_divisor(p, count_include_pad, divisor_override, xp, x.dtype, x)
    # a sum of kh*kw strided views: NumPy's sum over small axes of a reshaped view is ~30x
    # slower (2.5 ms vs 0.1 ms for 2x2 at LeNet size)
    buf = _padded(x, p, 0)
    offsets = p.offsets()
    y = p.window(buf, *offsets[0]).copy()
    for i, j in offsets[1:]:
        y += p.window(buf, i, j)
    y /= div
    return y, p, div


def avg_pool2d_backward(grad, p, div):
    """Input gradient (N, C, H, W) of average pooling."""
    xp = xp_of(grad)
    g = (grad / div).astype(grad.dtype, copy=False)
    shape = (p.N, p.C, p.H, p.W) if p.direct else (p.N, p.C, p.Hb, p.Wb)
    tiles = p.direct and p.Ho * p.sh == p.H and p.Wo * p.sw == p.W \
        and p.sh == p.kh and p.sw == p.kw
    gx = (xp.empty if tiles else xp.zeros)(shape, dtype=grad.dtype)
    for i, j in p.offsets():
        dst = p.window(gx, i, j)
        if p.disjoint:
            dst[...] = g
        else:
            dst += g
    return _unpad(gx, p)


# ---------------------------------------------------------------------------------------
# Adaptive average pooling (shared NumPy/CuPy code)


def _adaptive_matrix(size, out, dtype):
    """(out, size) averaging matrix with ATen's bins [floor(i*size/out), ceil((i+1)*size/out))."""
    m = np.zeros((out, size), dtype=np.float64)
    for i in range(out):
        start = (i * size) // out
        end = -((-(i + 1) * size) // out)
        m[i, start:end] = 1.0 / (end - start)
    return m.astype(dtype)


def adaptive_avg_pool2d_forward(x, output_size):
    """Returns (y, state) for an (oh, ow) output; state feeds the backward."""
    xp = xp_of(x)
    n, c, h, w = x.shape
    oh, ow = output_size
    if h % oh == 0 and w % ow == 0:
        kh, kw = h // oh, w // ow
        y, p, div = avg_pool2d_forward(x, (kh, kw), (kh, kw))
        return y, ("pool", p, div)
    # uneven bins: the average is separable, y = Mh @ x @ Mw^T, two small GEMMs
    dt = np.dtype(x.dtype).str
    mh = device_constant(("adaptive", h, oh, dt), lambda: _adaptive_matrix(h, oh, x.dtype),
                         xp, x)
    mw = device_constant(("adaptive", w, ow, dt), lambda: _adaptive_matrix(w, ow, x.dtype),
                         xp, x)
    y = xp.matmul(mh, xp.matmul(x, mw.T))
    return y, ("matrix", mh, mw)


def adaptive_avg_pool2d_backward(grad, state):
    xp = xp_of(grad)
    if state[0] == "pool":
        return avg_pool2d_backward(grad, state[1], state[2])
    _, mh, mw = state
    return xp.matmul(mh.T, xp.matmul(grad, mw))
