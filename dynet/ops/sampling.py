"""Resampling: pixel_shuffle / pixel_unshuffle (pure reshapes and a permute), interpolate
(separable one-axis gathers, antialiased too), grid_sample (corner gathers) and affine_grid
(a matmul)."""
import itertools
import math
import numbers
import warnings

import numpy as np

from ..autograd.function import Function
from ..backend import xp_of
from ..backend.kernels.scatter import index_add_rows
from ..tensor import Tensor
from . import functions as _F


def _check_factor(name, what, factor, input):  # noqa: A002
    if input.ndim < 3:
        raise RuntimeError(f"{name} expects input to have at least 3 dimensions, but got input "
                           f"with {input.ndim} dimension(s)")
    if int(factor) <= 0:
        raise RuntimeError(f"{name} expects a positive {what}, but got {factor}")
    return int(factor)


def pixel_shuffle(input, upscale_factor):  # noqa: A002
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r)."""
    r = _check_factor("pixel_shuffle", "upscale_factor", upscale_factor, input)
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    n = len(lead)
    x = _F.reshape(input, (*lead, c // (r * r), r, r, h, w))
    x = _F.permute(x, (*range(n), n, n + 3, n + 1, n + 4, n + 2))
    return _F.reshape(x, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):  # noqa: A002
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W): the inverse of pixel_shuffle."""
    r = _check_factor("pixel_unshuffle", "downscale_factor", downscale_factor, input)
    *lead, c, h, w = input.shape
    for size, what, dim in ((h, "height", -2), (w, "width", -1)):
        if size % r:
            raise RuntimeError(f"pixel_unshuffle expects {what} to be divisible by "
                               f"downscale_factor, but input.size({dim})={size} is not "
                               f"divisible by {r}")
    n = len(lead)
    x = _F.reshape(input, (*lead, c, h // r, r, w // r, r))
    x = _F.permute(x, (*range(n), n, n + 2, n + 4, n + 1, n + 3))
    return _F.reshape(x, (*lead, c * r * r, h // r, w // r))


# ---------------------------------------------------------------------------------------
# interpolate: separable resampling, one axis at a time.
#
# Every mode PyTorch's upsample kernels implement is, per spatial axis, a fixed set of taps:
# out[o] = sum_t w[t, o] * in[idx[t, o]] (nearest: 1 tap, linear: 2, cubic: 4, area: the
# widest bin), and the N-d modes are products of 1-D ones, so bilinear / bicubic /
# trilinear run as 2 or 3 one-axis passes. The taps are computed on the host from the sizes
# alone (small), and backward is the same gather with the transposed taps (for each input
# position the outputs that read it), so both directions are vectorised gathers on either
# device: no scatter, no atomics, deterministic.


def _cubic_coeffs(t):
    """PyTorch's cubic convolution weights (A = -0.75) for the taps at -1, 0, 1, 2 (a list
    of arrays shaped like t, on t's device)."""
    a = -0.75

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _scale(in_size, out_size, align_corners, scale):
    """area_pixel_compute_scale in ATen."""
    if align_corners:
        return (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else in_size / out_size


def _taps(mode, in_size, out_size, align_corners, scale):
    """(idx, w): (taps, out_size) int64 input positions and float64 weights for one axis."""
    o = np.arange(out_size)
    if mode in ("nearest", "nearest-exact"):
        if mode == "nearest" and out_size == in_size:
            idx = o
        elif mode == "nearest" and out_size == 2 * in_size:
            idx = o >> 1
        else:  # float32 arithmetic, exactly as ATen picks the source pixel
            s = np.float32(1.0 / scale if scale is not None and scale > 0
                           else np.float32(in_size) / np.float32(out_size))
            src = o.astype(np.float32) * s if mode == "nearest" else \
                ((o + 0.5) * np.float64(s)).astype(np.float32)
            idx = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
        return idx[None], np.ones((1, out_size))
    if mode == "area":  # adaptive average pooling bins
        start = (o * in_size) // out_size
        end = ((o + 1) * in_size + out_size - 1) // out_size
        width = int((end - start).max())
        idx = start[None] + np.arange(width)[:, None]
        inside = idx < end[None]
        w = np.where(inside, 1.0 / (end - start)[None], 0.0)
        return np.where(inside, idx, start[None]), w
    s = _scale(in_size, out_size, align_corners, scale)
    src = s * o if align_corners else s * (o + 0.5) - 0.5
    if mode == "linear":
        src = np.maximum(src, 0.0)
        i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
        lam = np.clip(src - i0, 0.0, 1.0)
        i1 = i0 + (i0 < in_size - 1)
        return np.stack([i0, i1]), np.stack([1.0 - lam, lam])
    # cubic: four taps around floor(src), reads clamped to the edge
    i0 = np.floor(src).astype(np.int64)
    idx = np.clip(i0[None] + np.arange(-1, 3)[:, None], 0, in_size - 1)
    return idx, np.stack(_cubic_coeffs(src - i0))


def _aa_filter(kind, x):
    """The antialiasing kernels of ATen (PIL's): triangle, or cubic with a = -0.5."""
    x = np.abs(x)
    if kind == "linear":
        return np.where(x < 1, 1 - x, 0.0)
    a = -0.5
    return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                    np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0))


def _taps_aa(kind, in_size, out_size, align_corners, scale):
    """(idx, w, valid) of antialiased linear / cubic resampling: when downsampling, the
    filter is stretched over scale input pixels and its weights normalised per output."""
    s = _scale(in_size, out_size, align_corners, scale)
    support = (2 if kind == "linear" else 4) * 0.5 * (s if s >= 1 else 1)
    invscale = 1 / s if s >= 1 else 1.0
    center = s * (np.arange(out_size) + 0.5)
    xmin = np.maximum(np.trunc(center - support + 0.5).astype(np.int64), 0)
    xsize = np.minimum(np.trunc(center + support + 0.5).astype(np.int64), in_size) - xmin
    taps = max(int(xsize.max()), 1)
    j = np.arange(taps)[:, None]
    valid = j < xsize[None]
    w = np.where(valid, _aa_filter(kind, (j + xmin[None] - center[None] + 0.5) * invscale), 0)
    total = w.sum(axis=0)
    w = np.where(total != 0, w / np.where(total != 0, total, 1), w)
    return np.where(valid, xmin[None] + j, 0), w, valid


def _transpose_taps(idx, w, in_size, used=None):
    """For each input position, the (output position, weight) pairs that read it, padded
    to a common count: (out_idx, weight, valid), each (count, in_size). `used` masks
    padding taps out of (idx, w)."""
    taps, out_size = idx.shape
    i = idx.reshape(-1)
    o = np.tile(np.arange(out_size), taps)
    wt = w.reshape(-1)
    if used is not None:
        keep = used.reshape(-1)
        i, o, wt = i[keep], o[keep], wt[keep]
    order = np.lexsort((o, i))
    i, o, wt = i[order], o[order], wt[order]
    counts = np.bincount(i, minlength=in_size)
    depth = max(int(counts.max()) if counts.size else 0, 1)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(i.size) - first[i]
    out_idx = np.zeros((depth, in_size), dtype=np.int64)
    weight = np.zeros((depth, in_size))
    valid = np.zeros((depth, in_size), dtype=bool)
    out_idx[pos, i], weight[pos, i], valid[pos, i] = o, wt, True
    return out_idx, weight, valid


def _gather_sum(x, axis, idx, w, valid=None):
    """sum_t w[t] * take(x, idx[t], axis) on the device of x; `idx`, `w` and `valid` are
    host arrays. w None means weights of one (nearest: the values pass through exactly, in
    any dtype). `valid` masks padded taps: selected away, never multiplied by 0, so an inf
    elsewhere cannot turn into nan."""
    xp = xp_of(x)
    shape = [1] * x.ndim
    shape[axis] = idx.shape[1]
    acc = None
    for t in range(idx.shape[0]):
        v = xp.take(x, xp.asarray(idx[t]), axis=axis)
        if valid is not None and not valid[t].all():
            v = xp.where(xp.asarray(valid[t]).reshape(shape), v, 0)
        if w is not None:
            v = v * xp.asarray(w[t].astype(x.dtype)).reshape(shape)
        acc = v if acc is None else acc + v
    return acc


class Resample(Function):
    """One axis of interpolate: y = sum_t w[t] * take(x, idx[t], axis)."""

    _named = {}

    @classmethod
    def named(cls, node_name):
        """The subclass whose graph nodes print as PyTorch's `node_name` (a class attribute,
        so it outlives the node's saved state)."""
        if node_name not in cls._named:
            cls._named[node_name] = type(cls.__name__, (cls,), {
                "name": lambda self: node_name, "__slots__": ()})
        return cls._named[node_name]

    @staticmethod
    def forward(ctx, x, axis=0, taps=None, in_size=0):
        idx, w, used = taps if len(taps) == 3 else taps + (None,)
        ctx.axis = axis
        ctx.back = _transpose_taps(idx, w, in_size, used)
        nearest = idx.shape[0] == 1 and bool((w == 1).all())
        return _gather_sum(x, axis, idx, None if nearest else w, used)

    @staticmethod
    def backward(ctx, grad):
        out_idx, weight, valid = ctx.back
        return (_gather_sum(grad, ctx.axis, out_idx, weight, valid),)


_KIND = {"nearest": "nearest", "nearest-exact": "nearest-exact", "area": "area",
         "linear": "linear", "bilinear": "linear", "trilinear": "linear", "bicubic": "cubic"}
_NEEDS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_NODE = {"nearest": "UpsampleNearest{}DBackward0", "nearest-exact":
         "UpsampleNearestExact{}DBackward0", "area": "AdaptiveAvgPool{}DBackward0",
         "linear": "UpsampleLinear{}DBackward0", "bilinear": "UpsampleBilinear{}DBackward0",
         "trilinear": "UpsampleTrilinear{}DBackward0", "bicubic": "UpsampleBicubic{}DBackward0"}



def interpolate(input, size=None, scale_factor=None, mode="nearest",  # noqa: A002
                align_corners=None, recompute_scale_factor=None, antialias=False):
    """torch.nn.functional.interpolate: resamples (N, C, *spatial) to `size` or by
    `scale_factor` with mode nearest | nearest-exact | linear | bilinear | bicubic |
    trilinear | area."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.ndim - 2
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        scales = None
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError("Input and output must have the same number of spatial "
                                 f"dimensions, but got input with spatial dimensions of "
                                 f"{spatial} and output size of {size}. Please provide input "
                                 "tensor in (N, C, d1, d2, ...,dK) format and output size in "
                                 "(o1, o2, ...,oK) format.")
            if not all(isinstance(s, (numbers.Integral, np.integer)) for s in size):
                raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, "
                                "int] or Tuple[int, int, int], but got size with types "
                                f"{[type(s) for s in size]}")
            out = [int(s) for s in size]
        else:
            out = [int(size)] * dim
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError("Input and scale_factor must have the same number of spatial "
                                 f"dimensions, but got input with spatial dimensions of "
                                 f"{spatial} and scale_factor of shape {scale_factor}. Please "
                                 "provide input tensor in (N, C, d1, d2, ...,dK) format and "
                                 "scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * dim
        # ATen: static_cast<int64_t>(input_size * scale)
        out = [int(n * s) for n, s in zip(spatial, scales)]
        if recompute_scale_factor or mode == "area":
            scales = None  # the kernels then map coordinates with in / out
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                         "modes and requires a 4-D tensor as input")
    if mode not in _KIND or input.ndim not in (3, 4, 5):
        raise NotImplementedError(
            "Input Error: Only 3D, 4D and 5D input Tensors supported"
            f" (got {input.ndim}D) for the modes: nearest | linear | bilinear | bicubic | "
            f"trilinear | lanczos | area | nearest-exact (got {mode})")
    need = _NEEDS.get(mode)
    if need is not None and need != dim:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs "
                                  f"{need + 2}D input")
    if min(spatial + out) <= 0:
        names = ("D", "H", "W")[3 - dim:]
        raise RuntimeError(
            "Input and output sizes should be greater than 0, but got input ("
            + ", ".join(f"{n}: {s}" for n, s in zip(names, spatial)) + ") output ("
            + ", ".join(f"{n}: {s}" for n, s in zip(names, out)) + ")")
    kind = _KIND[mode]
    if kind not in ("nearest", "nearest-exact") and input._data.dtype.kind != "f":
        raise RuntimeError(f'"upsample_{mode}" not implemented for \'{input.dtype}\'')
    node = _NODE[mode].format(dim)
    if antialias:
        node = node.replace("DBackward0", "DAaBackward0")
    taps_of = _taps_aa if antialias else _taps
    x = input
    for axis in range(dim):
        taps = taps_of(kind, spatial[axis], out[axis], align_corners,
                       None if scales is None else scales[axis])
        x = Resample.named(node).apply(x, axis=2 + axis, taps=taps, in_size=spatial[axis])
    return x


def upsample(input, size=None, scale_factor=None, mode="nearest",  # noqa: A002
             align_corners=None):
    """Deprecated alias of interpolate, as in PyTorch."""
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):  # noqa: A002
    """Deprecated: interpolate(..., mode='nearest')."""
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use "
                  "nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):  # noqa: A002
    """Deprecated: interpolate(..., mode='bilinear', align_corners=True)."""
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use "
                  "nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---------------------------------------------------------------------------------------
# grid_sample / affine_grid
#
# Every output point reads a few input points ("corners": 2^nd for bilinear, 1 for nearest,
# 16 for bicubic), each with a weight that is a product of per-axis weights. A corner is one
# vectorised gather of the channels-last input over all output points, so forward is a sum
# of gathers, the input gradient a scatter-add per corner (backend.kernels.scatter, exact
# for repeated indices) and the grid gradient the per-axis weight derivatives times the
# gathered values.

_GRID_WARNING = ("Default grid_sample and affine_grid behavior has changed to "
                 "align_corners=False since 1.3.0. Please specify align_corners=True if the "
                 "old behavior is desired. See the documentation of grid_sample for details.")


def _clip_grad(c, size, xp):
    """clip_coordinates_set_grad in ATen: the borders count as outside for the gradient."""
    d = xp.where((c <= 0) | (c >= size - 1), 0.0, 1.0).astype(c.dtype)
    return xp.clip(c, 0, size - 1), d


def _pad_coord(c, size, padding_mode, align_corners, xp):
    """(coordinate after the padding rule, its derivative) for source coordinates c."""
    if padding_mode == "zeros":
        return c, 1.0
    if padding_mode == "border":
        return _clip_grad(c, size, xp)
    lo2, hi2 = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
    if lo2 == hi2:
        return xp.zeros_like(c), 0.0
    low, span = lo2 / 2, (hi2 - lo2) / 2
    u = c - low
    sign = xp.where(u < 0, -1.0, 1.0).astype(c.dtype)
    u = xp.abs(u)
    extra = xp.fmod(u, span)
    even = xp.floor(u / span) % 2 == 0
    r = xp.where(even, extra + low, span - extra + low)
    r, d = _clip_grad(r, size, xp)
    return r, d * xp.where(even, sign, -sign)


def _cubic_grads(t):
    """d/dt of _cubic_coeffs(t)."""
    a = -0.75

    def near(x):
        return (3 * (a + 2) * x - 2 * (a + 3)) * x

    def far(x):
        return (3 * a * x - 10 * a) * x + 8 * a

    return [far(t + 1), near(t), -near(1 - t), -far(2 - t)]


def _axis_taps(g, size, mode, padding_mode, align_corners, xp):
    """([(index, weight, dweight/dcoord)], dcoord/dgrid) along one axis; indices are float
    arrays (out-of-range ones are masked by the caller)."""
    mult = (size - 1) / 2 if align_corners else size / 2
    c = (g + 1) / 2 * (size - 1) if align_corners else ((g + 1) * size - 1) / 2
    if mode == "bicubic":  # the padding rule applies to each tap, not to the coordinate
        i0 = xp.floor(c)
        t = c - i0
        w, dw = _cubic_coeffs(t), _cubic_grads(t)
        return [(_pad_coord(i0 + (k - 1), size, padding_mode, align_corners, xp)[0],
                 w[k], dw[k]) for k in range(4)], mult
    c, dpad = _pad_coord(c, size, padding_mode, align_corners, xp)
    if mode == "nearest":
        return [(xp.rint(c), 1.0, None)], None  # rint: half to even, as nearbyint
    i0 = xp.floor(c)
    t = c - i0
    return [(i0, 1 - t, -1.0), (i0 + 1, t, 1.0)], mult * dpad


def _corners(spatial, grid, mode, padding_mode, align_corners):
    """For every corner: (flat index (N, Q), in-bounds mask, weight, [dweight/dgrid per
    axis] or None)."""
    xp = xp_of(grid)
    nd = len(spatial)
    g = grid.reshape(grid.shape[0], -1, nd)
    axes = [_axis_taps(g[..., nd - 1 - d], spatial[d], mode, padding_mode, align_corners, xp)
            for d in range(nd)]  # grid's last axis is (x, y, z): W first
    strides = [math.prod(spatial[d + 1:]) for d in range(nd)]
    for combo in itertools.product(*(range(len(taps)) for taps, _ in axes)):
        flat, mask, ws, dws = 0, None, [], []
        for d, k in enumerate(combo):
            idx, w, dw = axes[d][0][k]
            inside = (idx >= 0) & (idx <= spatial[d] - 1)
            mask = inside if mask is None else mask & inside
            flat = flat + xp.where(inside, idx, 0).astype(np.int64) * strides[d]
            ws.append(w)
            dws.append(dw)
        weight = math.prod(ws) if mode != "nearest" else 1.0
        grads = None
        if mode != "nearest":
            grads = [math.prod(ws[:d] + [dws[d] * axes[d][1]] + ws[d + 1:]) for d in range(nd)]
        yield flat, mask, weight, grads


def _expand(a):
    return a[..., None] if hasattr(a, "ndim") else a


class GridSample(Function):
    """out[n, c, *o] = sum over corners of weight * input[n, c, corner(grid[n, *o])]."""

    def name(self):
        return f"GridSampler{len(self.out_meta[0]) - 2}DBackward0"

    @staticmethod
    def forward(ctx, x, grid, mode="bilinear", padding_mode="zeros", align_corners=False):
        xp = xp_of(x)
        n, c, *spatial = x.shape
        ctx.args = (mode, padding_mode, align_corners)
        ctx.save_for_backward(x, grid)
        xcl = xp.moveaxis(x, 1, -1).reshape(n, -1, c)
        rows = xp.arange(n).reshape(n, 1)
        out = xp.zeros((n, math.prod(grid.shape[1:-1]), c), dtype=x.dtype)
        for flat, mask, w, _ in _corners(spatial, grid, *ctx.args):
            v = xp.where(mask[..., None], xcl[rows, flat], 0)
            out += _expand(w) * v
        return xp.ascontiguousarray(xp.moveaxis(out.reshape((n,) + grid.shape[1:-1] + (c,)),
                                                -1, 1))

    @staticmethod
    def backward(ctx, grad):
        x, grid = ctx.saved_tensors
        need_x, need_grid = ctx.needs_input_grad[:2]
        xp = xp_of(grad)
        n, c, *spatial = x.shape
        nd = len(spatial)
        gcl = xp.moveaxis(grad, 1, -1).reshape(n, -1, c)
        xcl = xp.moveaxis(x, 1, -1).reshape(n, -1, c)
        rows = xp.arange(n).reshape(n, 1)
        keys, parts = [], []  # the input gradient's rows (n * P + flat) and values per corner
        ggrid = xp.zeros((n, gcl.shape[1], nd), dtype=grid.dtype) if need_grid else None
        for flat, mask, w, dws in _corners(spatial, grid, *ctx.args):
            if need_x:
                keys.append((rows * xcl.shape[1] + flat).reshape(-1))
                parts.append(xp.where(mask[..., None], _expand(w) * gcl, 0).reshape(-1, c))
            if need_grid and dws is not None:
                v = xp.where(mask[..., None], xcl[rows, flat], 0)
                dot = (v * gcl).sum(axis=-1)
                for d in range(nd):
                    ggrid[..., nd - 1 - d] += dws[d] * dot
        gx = None
        if need_x:  # one scatter of every corner (bincount on the CPU)
            gx = index_add_rows(xp.zeros((n * xcl.shape[1], c), dtype=xcl.dtype),
                                xp.concatenate(keys), xp.concatenate(parts))
            gx = xp.ascontiguousarray(xp.moveaxis(gx.reshape([n] + spatial + [c]), -1, 1))
        return gx, None if ggrid is None else ggrid.reshape(grid.shape)


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros",  # noqa: A002
                align_corners=None):
    """torch.nn.functional.grid_sample: input (N, C, H, W) at grid (N, Ho, Wo, 2), or the
    5-D volumetric form; grid holds (x, y[, z]) in [-1, 1]."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_GRID_WARNING, stacklevel=2)
        align_corners = False
    xs, gs = list(input.shape), list(grid.shape)
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number "
                           f"of dimensions, but got input with sizes {xs} and grid with sizes "
                           f"{gs}")
    if xs[0] != gs[0]:
        raise RuntimeError("grid_sampler(): expected grid and input to have same batch size, "
                           f"but got input with sizes {xs} and grid with sizes {gs}")
    nd = input.ndim - 2
    if gs[-1] != nd:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {nd} in last "
                           f"dimension, but got grid with sizes {gs}")
    if any(s == 0 for s in xs[2:]):
        raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial "
                           f"dimensions, but input has sizes {xs} with dimension "
                           f"{next(i for i, s in enumerate(xs) if i > 1 and s == 0)} being "
                           "empty")
    if mode == "bicubic" and nd != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"grid_sampler(): expected input and grid to have same dtype, but "
                           f"input has {input.dtype} and grid has {grid.dtype}")
    return GridSample.apply(input, grid, mode=mode, padding_mode=padding_mode,
                            align_corners=bool(align_corners))


def _base_coords(n, align_corners):
    """Normalised pixel-centre coordinates along one axis of length n (ATen's linspace)."""
    if n <= 1:
        return np.zeros(n)
    c = np.linspace(-1.0, 1.0, n)
    return c if align_corners else c * (n - 1) / n


def affine_grid(theta, size, align_corners=None):
    """torch.nn.functional.affine_grid: the (N, H, W, 2) / (N, D, H, W, 3) sampling grid of
    the affine maps theta (N, 2, 3) / (N, 3, 4), for grid_sample."""
    if align_corners is None:
        warnings.warn(_GRID_WARNING, stacklevel=2)
        align_corners = False
    if theta._data.dtype.kind != "f":
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = list(size)
    shape = list(theta.shape)
    if len(size) == 4:
        if theta.ndim != 3 or shape[-2:] != [2, 3]:
            raise ValueError("Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{size}. Got {theta.shape}.")
    elif len(size) == 5:
        if theta.ndim != 3 or shape[-2:] != [3, 4]:
            raise ValueError("Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{size}. Got {theta.shape}.")
    else:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size "
                      "grids when align_corners=True. This is not an intended use case of "
                      "affine_grid. See the documentation of affine_grid for details.",
                      stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    nd = len(spatial)
    # base[..., :nd] holds (x, y[, z]) = the coordinates of the W, H[, D] axes; then a 1
    axes = [_base_coords(s, align_corners) for s in reversed(spatial)]
    mesh = np.meshgrid(*reversed(axes), indexing="ij")  # D, H, W order
    base = np.stack(list(reversed(mesh)) + [np.ones(tuple(spatial))], axis=-1)
    base = Tensor._make(xp_of(theta._data).asarray(base.reshape(-1, nd + 1),
                                                   dtype=theta._data.dtype), False)
    grid = _F.matmul(base, _F.transpose(theta, 1, 2))  # (N, prod(spatial), nd)
    return _F.reshape(grid, (size[0], *spatial, nd))
