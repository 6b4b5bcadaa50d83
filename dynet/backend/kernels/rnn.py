"""One time step's gate arithmetic for LSTM and GRU, fused, on raw arrays, in place.

The recurrent matmul (h @ W_hh^T) runs outside; these do the elementwise rest of a step in
one pass: on CUDA a single ElementwiseKernel launch (one thread per (row, unit), reading its
four (LSTM) or three (GRU) gates), on the CPU a few NumPy calls with `out=` buffers.
Gates follow PyTorch's order: LSTM [i, f, g, o], GRU [r, z, n], each `H` wide; GRU keeps
them as column blocks of (b, 3H) rows, LSTM's activations are gate-major (see below).
The sigmoid is computed as 0.5 * tanh(x / 2) + 0.5 on the CPU: one transcendental and no
overflow warning for large |x|, and the i/f/o blocks share one tanh call with g.

Every array argument is C-contiguous with rows = the active batch rows of this step.
"""
import numpy as np

from .. import cuda

_FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _fused(a):
    return not isinstance(a, np.ndarray) and a.dtype in _FUSED_DTYPES


# ------------------------------------------------------------------------------- LSTM
# An LSTM step's activations are gate-major: one C-contiguous (4, b, H) block per step,
# gate k (torch's order i, f, g, o) a contiguous (b, H) block, so every CPU pass below runs
# over contiguous memory (a gate's column view of a batch-major (b, 4H) array costs NumPy
# 3-4x more per element: one inner loop per row). The input projection and the gate
# gradients stay batch-major (b, 4H) rows, as the GEMMs around the loop want them.

_LSTM_FWD_SRC = """
    ptrdiff_t n = _ind.size(), row = i / H, col = i - row * H;
    ptrdiff_t k = row * 4 * H + col;
    T gi = 1 / (1 + exp(-(g[i] + gx[k])));
    T gf = 1 / (1 + exp(-(g[i + n] + gx[k + H])));
    T gg = tanh(g[i + 2 * n] + gx[k + 2 * H]);
    T go = 1 / (1 + exp(-(g[i + 3 * n] + gx[k + 3 * H])));
    g[i] = gi; g[i + n] = gf; g[i + 2 * n] = gg; g[i + 3 * n] = go;
    T cn = gf * c_prev + gi * gg;
    T t = tanh(cn);
    c = cn; tc = t; h = go * t;
"""
_LSTM_BWD_SRC = """
    ptrdiff_t n = _ind.size(), row = i / H, col = i - row * H;
    ptrdiff_t k = row * 4 * H + col;
    T gi = a[i], gf = a[i + n], gg = a[i + 2 * n], go = a[i + 3 * n];
    T d = dc + dh * go * (1 - tc * tc);
    dg[k] = d * gg * gi * (1 - gi);
    dg[k + H] = d * c_prev * gf * (1 - gf);
    dg[k + 2 * H] = d * gi * (1 - gg * gg);
    dg[k + 3 * H] = dh * tc * go * (1 - go);
    dc = d * gf;
"""


def _gate_constants(dtype):
    """Per gate (i, f, g, o), shaped (4, 1, 1): sigmoid(x) = 0.5 * tanh(x / 2) + 0.5 on i, f
    and o and tanh on g give scale (0.5, 0.5, 1, 0.5) and shift (0.5, 0.5, 0, 0.5); the
    derivatives s - s^2 and 1 - g^2 give is_sigmoid (1, 1, 0, 1) and 1 - is_sigmoid."""
    if dtype not in _CONSTANTS:
        rows = [[0.5, 0.5, 1, 0.5], [0.5, 0.5, 0, 0.5], [1, 1, 0, 1], [0, 0, 1, 0]]
        _CONSTANTS[dtype] = tuple(np.array(r, dtype).reshape(4, 1, 1) for r in rows)
    return _CONSTANTS[dtype]


_CONSTANTS = {}  # NumPy arrays by dtype (a CuPy array would belong to one device)


def _module_and_constants(a):
    if isinstance(a, np.ndarray):
        return np, _gate_constants(a.dtype)
    xp = cuda.cupy_module()
    return xp, tuple(xp.asarray(c) for c in _gate_constants(a.dtype))


def _gate_major(rows, H):
    """The (4, b, H) gate-major view of batch-major rows (b, 4H)."""
    return rows.reshape(rows.shape[0], 4, H).transpose(1, 0, 2)


def lstm_step(g, gx, c_prev, c, tc, h):
    """One LSTM step's gates, in place: g (4, b, H) holds h_prev @ W_hh^T gate-major and
    becomes the activations (i, f, g, o); gx (b, 4H) is the step's input projection rows
    (biases included). Then c = f * c_prev + i * g, tc = tanh(c), h = o * tc, all (b, H)."""
    H = c_prev.shape[1]
    if _fused(g):
        cuda.elementwise_kernel(*_KERNELS["lstm_fwd"])(
            c_prev, gx.reshape(-1), np.int32(H), g.reshape(-1), c, tc, h)
        return
    xp, consts = _module_and_constants(g)
    scale, shift = consts[:2]
    g += _gate_major(gx, H)
    g *= scale
    xp.tanh(g, out=g)
    g *= scale
    g += shift
    gi, gf, gg, go = g
    xp.multiply(gf, c_prev, out=c)
    xp.multiply(gi, gg, out=tc)
    c += tc
    xp.tanh(c, out=tc)
    xp.multiply(go, tc, out=h)


def lstm_step_backward(a, tc, c_prev, dh, dc, dg):
    """Backward of lstm_step: from the activations a (4, b, H), tc and c_prev, the gradients
    dh (of h) and dc (of c, updated in place to the gradient of c_prev), writes the
    pre-activation gradients dg (b, 4H, batch-major like gx)."""
    H = c_prev.shape[1]
    if _fused(a):
        cuda.elementwise_kernel(*_KERNELS["lstm_bwd"])(
            a.reshape(-1), tc, c_prev, dh, np.int32(H), dc, dg.reshape(-1))
        return
    xp, consts = _module_and_constants(a)
    gi, gf, gg, go = a
    tmp = xp.multiply(tc, tc)
    xp.subtract(1, tmp, out=tmp)
    tmp *= go
    tmp *= dh
    dc += tmp                              # the gradient of c at this step
    d = xp.empty_like(a)
    di, df, dgg, do = d
    xp.multiply(dc, gg, out=di)
    xp.multiply(dc, c_prev, out=df)
    xp.multiply(dc, gi, out=dgg)
    xp.multiply(dh, tc, out=do)
    dc *= gf                               # now the gradient of c_prev
    # through the activations: s (1 - s) = s - s^2 on i, f, o; tanh' = 1 - g^2
    slope = xp.multiply(a, consts[2])
    slope += consts[3]
    slope -= xp.multiply(a, a)
    xp.multiply(d, slope, out=_gate_major(dg, H))


# -------------------------------------------------------------------------------- GRU

_GRU_FWD_SRC = """
    ptrdiff_t row = i / H, col = i - row * H;
    ptrdiff_t k = row * 3 * H + col;
    T r = 1 / (1 + exp(-(gx[k] + gh[k])));
    T z = 1 / (1 + exp(-(gx[k + H] + gh[k + H])));
    T n = tanh(gx[k + 2 * H] + r * gh[k + 2 * H]);
    a[k] = r; a[k + H] = z; a[k + 2 * H] = n;
    h = n + z * (h_prev - n);
"""
_GRU_BWD_SRC = """
    ptrdiff_t row = i / H, col = i - row * H;
    ptrdiff_t k = row * 3 * H + col;
    T r = a[k], z = a[k + H], n = a[k + 2 * H];
    T d = dh;
    T dn = d * (1 - z) * (1 - n * n);
    T dr = dn * gh[k + 2 * H] * r * (1 - r);
    T dz = d * (h_prev - n) * z * (1 - z);
    dgx[k] = dr; dgx[k + H] = dz; dgx[k + 2 * H] = dn;
    dgh[k] = dr; dgh[k + H] = dz; dgh[k + 2 * H] = dn * r;
    dh = d * z;
"""


def gru_step(gx, gh, h_prev, a, h):
    """GRU gates from the input part gx (b, 3H) and the hidden part gh = h_prev W_hh^T + b_hh
    (b, 3H): writes a = (r, z, n) (b, 3H) and h = n + z (h_prev - n) (b, H)."""
    H = h_prev.shape[1]
    if _fused(gx):
        cuda.elementwise_kernel(*_KERNELS["gru_fwd"])(gx.reshape(-1), gh.reshape(-1), h_prev,
                                                      np.int32(H), a.reshape(-1), h)
        return
    xp = np if isinstance(gx, np.ndarray) else cuda.cupy_module()
    rz = a[:, :2 * H]
    xp.add(gx[:, :2 * H], gh[:, :2 * H], out=rz)
    rz *= 0.5
    xp.tanh(rz, out=rz)
    rz *= 0.5
    rz += 0.5
    n = a[:, 2 * H:]
    xp.multiply(a[:, :H], gh[:, 2 * H:], out=n)
    n += gx[:, 2 * H:]
    xp.tanh(n, out=n)
    xp.subtract(h_prev, n, out=h)
    h *= a[:, H:2 * H]
    h += n


def gru_step_backward(a, gh, h_prev, dh, dgx, dgh):
    """Backward of gru_step: from dh (the gradient of h, replaced in place by the part that
    reaches h_prev directly, dh * z), writes dgx and dgh (b, 3H), the gradients of gx and
    gh."""
    H = h_prev.shape[1]
    if _fused(a):
        cuda.elementwise_kernel(*_KERNELS["gru_bwd"])(a.reshape(-1), gh.reshape(-1), h_prev,
                                                      np.int32(H), dh, dgx.reshape(-1),
                                                      dgh.reshape(-1))
        return
    xp = np if isinstance(a, np.ndarray) else cuda.cupy_module()
    r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
    dr, dz, dn = dgx[:, :H], dgx[:, H:2 * H], dgx[:, 2 * H:]
    xp.multiply(n, n, out=dn)
    xp.subtract(1, dn, out=dn)
    t = xp.subtract(1, z)
    dn *= t
    dn *= dh                               # through n = tanh(...)
    xp.multiply(dn, gh[:, 2 * H:], out=dr)
    xp.subtract(1, r, out=t)
    t *= r
    dr *= t                                # through r = sigmoid(...)
    xp.subtract(h_prev, n, out=dz)
    dz *= dh
    xp.subtract(1, z, out=t)
    t *= z
    dz *= t                                # through z = sigmoid(...)
    dgh[:, :2 * H] = dgx[:, :2 * H]
    xp.multiply(dn, r, out=dgh[:, 2 * H:])
    dh *= z


CUDA_KERNELS = [
    ("lstm_fwd", "T c_prev, raw T gx, int32 H", "raw T g, T c, T tc, T h", _LSTM_FWD_SRC),
    ("lstm_bwd", "raw T a, T tc, T c_prev, T dh, int32 H", "T dc, raw T dg", _LSTM_BWD_SRC),
    ("gru_fwd", "raw T gx, raw T gh, T h_prev, int32 H", "raw T a, T h", _GRU_FWD_SRC),
    ("gru_bwd", "raw T a, raw T gh, T h_prev, int32 H", "T dh, raw T dgx, raw T dgh",
     _GRU_BWD_SRC),
]
# only float32/float64 take the fused kernels (_FUSED_DTYPES); float16 runs the array path
CUDA_DTYPES = ("float32", "float64")
_KERNELS = {entry[0]: entry for entry in CUDA_KERNELS}
