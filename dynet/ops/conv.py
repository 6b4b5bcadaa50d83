"""Convolution: Conv2d, ConvTranspose2d and ConvNd Functions plus torch.nn.functional's
conv1d/2d/3d and conv_transpose1d/2d/3d.

1-D and unbatched inputs are reshaped (views, no copies) to the 4-D case inside one graph
node, so conv1d and unbatched conv2d cost nothing extra and show as one backward node.
A transposed convolution is the input gradient of a convolution: forward runs the conv's
data-gradient kernel (col2im), backward runs the conv itself and its weight gradient.
conv3d and the transposed forms the 2-D kernels cannot express use the N-d kernels.
"""
import numpy as np

from ..autograd.function import Function
from ..backend import xp_of
from ..backend.kernels import conv as kernels
from ..backend.kernels import convnd
from ._util import int_tuple


class Conv2d(Function):
    """y = conv2d(x, w) + b for x (N, C, H, W) or any shape `shape4` views as 4-D.

    `padding` is ((top, bottom), (left, right)); uneven pairs ('same' with an even kernel)
    pad the extra row/column explicitly, the kernels only take symmetric padding.
    """

    def name(self):
        return "ConvolutionBackward0"  # PyTorch's node name for every convolution

    @staticmethod
    def forward(ctx, x, w, b, stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1),
                groups=1, x4_shape=None, w4_shape=None):
        ctx.x_shape, ctx.w_shape = x.shape, w.shape
        x4 = x.reshape(x4_shape) if x4_shape is not None else x
        w4 = w.reshape(w4_shape) if w4_shape is not None else w
        (top, bottom), (left, right) = padding
        extra = (bottom - top, right - left)
        if extra != (0, 0):
            x4 = _pad_after(x4, extra)
        need_x, needs_w = ctx.needs_input_grad[:2]
        y, plan, cols = kernels.conv2d_forward(x4, w4, b, stride, (top, left), dilation,
                                               groups, need_x=need_x, need_w=needs_w)
        ctx.plan, ctx.extra = plan, extra
        # x is only read to recompute columns the forward could not afford to keep, but it
        # is saved whenever w needs a gradient so that editing it in place raises (PyTorch)
        ctx.save_for_backward(x4 if needs_w else None,
                              w4 if need_x else None, cols if needs_w else None)
        out_shape = y.shape
        if x4_shape is not None:  # back to the caller's rank: (C, ...) or (N, C, L)
            out_shape = _like_input(y.shape, len(ctx.x_shape), ctx.w_shape)
        return y.reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        x4, w4, cols = ctx.saved_tensors
        p = ctx.plan
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        g4 = grad.reshape(p.N, p.O, p.Ho, p.Wo)
        gx, gw, gb = kernels.conv2d_backward(g4, x4, w4, p, cols, need_x, need_w, need_b)
        if gx is not None:
            if ctx.extra != (0, 0):
                gx = gx[:, :, :p.H - ctx.extra[0], :p.W - ctx.extra[1]]
            gx = gx.reshape(ctx.x_shape)
        if gw is not None:
            gw = gw.reshape(ctx.w_shape)
        return gx, gw, gb


class ConvTranspose2d(Function):
    """y = conv_transpose2d(x, w) + b on the 2-D conv kernels, x viewed as (N, Cin, H, W).

    Needs the conv of the output to give back exactly H x W windows (output_padding <
    stride), so one ConvPlan describes both directions.
    """

    def name(self):
        return "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, b, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
                out_hw=None, x4_shape=None, w4_shape=None, y_shape=None):
        ctx.x_shape, ctx.w_shape = x.shape, w.shape
        x4 = x.reshape(x4_shape) if x4_shape is not None else x
        w4 = w.reshape(w4_shape) if w4_shape is not None else w
        n = x4.shape[0]
        plan = kernels.ConvPlan((n, w4.shape[1] * groups) + tuple(out_hw), w4.shape, stride,
                                padding, dilation, groups, gpu=xp_of(x) is not np,
                                need_x=True, itemsize=x.dtype.itemsize)
        y, _, _ = kernels.conv2d_backward(x4, None, w4, plan, None, need_x=True, need_w=False)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        ctx.args = (stride, padding, dilation, groups)
        ctx.y4_shape = y.shape
        needs_w = ctx.needs_input_grad[1]
        ctx.save_for_backward(x4 if needs_w else None, w4)
        return y.reshape(y_shape) if y_shape is not None else y

    @staticmethod
    def backward(ctx, grad):
        x4, w4 = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        g4 = grad.reshape(ctx.y4_shape)
        stride, padding, dilation, groups = ctx.args
        gx = gw = cols = plan = None
        if need_x:
            gx, plan, cols = kernels.conv2d_forward(g4, w4, None, stride, padding, dilation,
                                                    groups, need_x=False, need_w=need_w)
            gx = gx.reshape(ctx.x_shape)
        if need_w:
            if plan is None:
                plan = kernels.plan_for(g4, w4, stride, padding, dilation, groups,
                                        need_x=False)
            _, gw, _ = kernels.conv2d_backward(x4, g4, w4, plan, cols, need_x=False,
                                               need_w=True)
            gw = gw.reshape(ctx.w_shape)
        gb = g4.sum(axis=(0, 2, 3)) if need_b else None
        return gx, gw, gb


class ConvNd(Function):
    """Convolution or transposed convolution over x (N, C, *S), any spatial rank, on the
    N-d kernels; `x_full` views an unbatched input as a batch of one. `pads` are (lo, hi)
    pairs; a transposed call gives its output's spatial size as `out`."""

    def name(self):
        return "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, b, stride=(), pads=(), dilation=(), groups=1, transposed=False,
                out=None, x_full=None):
        ctx.x_shape = x.shape
        xf = x.reshape(x_full) if x_full is not None else x
        need_x, need_w = ctx.needs_input_grad[:2]
        if transposed:  # the conv's input is our output, its output our input
            shape = (xf.shape[0], w.shape[1] * groups) + tuple(out)
            p = convnd.NdPlan(shape, w.shape, stride, pads, dilation, groups, xf.shape[2:])
            y = convnd.data_grad(xf, w, p)
            if b is not None:
                y += b.reshape((1, -1) + (1,) * len(p.out))
            ctx.save_for_backward(xf if need_w else None, w if need_x else None)
        else:
            p = convnd.NdPlan(xf.shape, w.shape, stride, pads, dilation, groups)
            y, cols = convnd.forward(xf, w, b, p)
            ctx.save_for_backward(cols if need_w else None, w if need_x else None)
        ctx.plan, ctx.transposed, ctx.w_shape = p, transposed, w.shape
        ctx.unbatched = x_full is not None
        return y[0] if ctx.unbatched else y

    @staticmethod
    def backward(ctx, grad):
        saved, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        p = ctx.plan
        g = grad[None] if ctx.unbatched else grad
        gx = gw = None
        if ctx.transposed:
            cols = convnd.im2col(g, p)
            if need_x:
                gx = convnd.forward(g, w, None, p, cols)[0].reshape(ctx.x_shape)
            if need_w:
                gw = convnd.weight_grad(saved, cols, p, ctx.w_shape)
        else:
            if need_x:
                gx = convnd.data_grad(g, w, p).reshape(ctx.x_shape)
            if need_w:
                gw = convnd.weight_grad(g, saved, p, ctx.w_shape)
        gb = g.sum(axis=(0,) + tuple(range(2, g.ndim))) if need_b else None
        return gx, gw, gb


def _pad_after(x, extra):
    """x with `extra` zero rows/columns appended at the bottom/right."""
    xp = xp_of(x)
    n, c, h, w = x.shape
    buf = xp.zeros((n, c, h + extra[0], w + extra[1]), dtype=x.dtype)
    buf[:, :, :h, :w] = x
    return buf


def _like_input(y_shape, x_ndim, w_shape):
    """Drops the axes conv1d / unbatched input added: (N, O, 1, L) -> (N, O, L), etc."""
    n, o, h, w = y_shape
    spatial = (w,) if len(w_shape) == 3 else (h, w)
    batched = x_ndim == len(w_shape)
    return ((n, o) if batched else (o,)) + spatial


# ---------------------------------------------------------------------------------------
# torch.nn.functional-style front ends


def _tuple(v, n, name):
    return int_tuple(v, n, f"expected {name} to be a single integer value or a list of {n} "
                           f"values to match the convolution dimensions, but got "
                           f"{name}={{got}}")


def _conv(name, nd, input, weight, bias, stride, padding, dilation, groups):
    xs, ws = tuple(input.shape), tuple(weight.shape)
    if len(xs) not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{name}, but got input of size: {list(xs)}")
    if len(ws) != nd + 2:
        raise RuntimeError(f"{name} expects a {nd + 2}-D weight (out_channels, "
                           f"in_channels/groups, *kernel_size), but got weight of size "
                           f"{list(ws)}")
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != weight.dtype):
        raise RuntimeError(f"Input type ({input.dtype}) and weight type ({weight.dtype}) "
                           "should be the same" + ("" if bias is None else
                                                   f" (bias type {bias.dtype})"))
    groups = int(groups)
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    stride = _tuple(stride, nd, "stride")
    dilation = _tuple(dilation, nd, "dilation")
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(dilation) <= 0:
        raise RuntimeError("dilation should be greater than zero")
    ks = ws[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if max(stride) != 1:
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            # PyTorch puts the odd leftover of an even kernel on the bottom/right
            total = [d * (k - 1) for d, k in zip(dilation, ks)]
            pads = tuple((t // 2, t - t // 2) for t in total)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        pads = tuple((p, p) for p in _tuple(padding, nd, "padding"))
        if min(p for p, _ in pads) < 0:
            raise RuntimeError("negative padding is not supported")
    batched = len(xs) == nd + 2
    x_full = xs if batched else (1,) + xs
    if ws[0] % groups != 0:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by "
                           f"{groups} at dimension 0, but got weight of size {[list(ws)]} "
                           "instead")
    if x_full[1] != ws[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(ws)}, expected "
                           f"input{list(x_full)} to have {ws[1] * groups} channels, but got "
                           f"{x_full[1]} channels instead")
    if bias is not None and tuple(bias.shape) != (ws[0],):
        raise RuntimeError(f"Given weight of size {list(ws)}, expected bias to be "
                           f"1-dimensional with {ws[0]} elements, but got bias of size "
                           f"{list(bias.shape)} instead")
    padded = [s + a + b for s, (a, b) in zip(x_full[2:], pads)]
    eff = [d * (k - 1) + 1 for d, k in zip(dilation, ks)]
    if any(p < e for p, e in zip(padded, eff)):
        raise RuntimeError("Calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, eff))}). Kernel size can't be greater "
                           "than actual input size")
    if nd == 3:
        return ConvNd.apply(input, weight, bias, stride=stride, pads=pads, dilation=dilation,
                            groups=groups, x_full=None if batched else x_full)
    if nd == 1:  # a 1-D conv is the 2-D one with H = 1
        stride, dilation, pads = (1,) + stride, (1,) + dilation, ((0, 0),) + pads
        x4 = (x_full[0], x_full[1], 1, x_full[2])
        w4 = (ws[0], ws[1], 1, ws[2])
    else:
        x4, w4 = x_full, None
    if batched and nd == 2:
        x4 = None
    return Conv2d.apply(input, weight, bias, stride=stride, padding=pads, dilation=dilation,
                        groups=groups, x4_shape=x4, w4_shape=w4)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """torch.nn.functional.conv2d: input (N, C, H, W) or unbatched (C, H, W)."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """torch.nn.functional.conv1d: input (N, C, L) or unbatched (C, L)."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """torch.nn.functional.conv3d: input (N, C, D, H, W) or unbatched (C, D, H, W)."""
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


_DIM_NAMES = {1: ("height", "width"), 2: ("height", "width"), 3: ("depth", "height", "width")}


def _conv_transpose(name, nd, input, weight, bias, stride, padding, output_padding,  # noqa: A002
                    groups, dilation):
    xs, ws = tuple(input.shape), tuple(weight.shape)
    if len(xs) not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{name}, but got input of size: {list(xs)}")
    if len(ws) != nd + 2:
        raise RuntimeError(f"{name} expects a {nd + 2}-D weight (in_channels, "
                           f"out_channels/groups, *kernel_size), but got weight of size "
                           f"{list(ws)}")
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != weight.dtype):
        raise RuntimeError(f"Input type ({input.dtype}) and weight type ({weight.dtype}) "
                           "should be the same" + ("" if bias is None else
                                                   f" (bias type {bias.dtype})"))
    groups = int(groups)
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    stride = _tuple(stride, nd, "stride")
    padding = _tuple(padding, nd, "padding")
    output_padding = _tuple(output_padding, nd, "output_padding")
    dilation = _tuple(dilation, nd, "dilation")
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(dilation) <= 0:
        raise RuntimeError("dilation should be greater than zero")
    if min(padding) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(output_padding) < 0:
        raise RuntimeError("negative output_padding is not supported")
    if any(o >= s and o >= d for o, s, d in zip(output_padding, stride, dilation)):
        # PyTorch reports a 1-D call in its 2-D terms (height 0 / 1 / 1)
        full = (((0, 1, 1),) if nd == 1 else ()) + tuple(zip(output_padding, stride,
                                                             dilation))
        names = _DIM_NAMES[nd]
        parts = [f"output_padding_{n}: {o}" for n, (o, _, _) in zip(names, full)]
        parts += [f"stride_{n}: {s}" for n, (_, s, _) in zip(names, full)]
        parts += [f"dilation_{n}: {d}" for n, (_, _, d) in zip(names, full)]
        raise RuntimeError("output padding must be smaller than either stride or dilation, "
                           "but got " + " ".join(parts))
    batched = len(xs) == nd + 2
    x_full = xs if batched else (1,) + xs
    if ws[0] % groups != 0:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by "
                           f"{groups} at dimension 0, but got weight of size {[list(ws)]} "
                           "instead")
    if x_full[1] != ws[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(ws)}, expected "
                           f"input{list(x_full)} to have {ws[0]} channels, but got "
                           f"{x_full[1]} channels instead")
    c_out = ws[1] * groups
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise RuntimeError(f"Given transposed=1, weight of size {list(ws)}, expected bias to "
                           f"be 1-dimensional with {c_out} elements, but got bias of size "
                           f"{list(bias.shape)} instead")
    out = tuple((n - 1) * s - 2 * p + d * (k - 1) + o + 1 for n, s, p, d, k, o in
                zip(x_full[2:], stride, padding, dilation, ws[2:], output_padding))
    if min(out) < 1:
        raise RuntimeError("Given input size per channel: "
                           f"({' x '.join(map(str, x_full[2:]))}). Calculated output size "
                           f"per channel: ({' x '.join(map(str, out))}). Output size is too "
                           "small")
    y_shape = ((x_full[0], c_out) if batched else (c_out,)) + out
    if nd <= 2 and all(o < s for o, s in zip(output_padding, stride)):
        if nd == 1:  # the 2-D kernels with H = 1
            lift = lambda t: (t[0], t[1], 1, t[2])  # noqa: E731
            return ConvTranspose2d.apply(
                input, weight, bias, stride=(1,) + stride, padding=(0,) + padding,
                dilation=(1,) + dilation, groups=groups, out_hw=(1,) + out,
                x4_shape=lift(x_full), w4_shape=lift(ws), y_shape=y_shape)
        return ConvTranspose2d.apply(
            input, weight, bias, stride=stride, padding=padding, dilation=dilation,
            groups=groups, out_hw=out, x4_shape=None if batched else x_full,
            y_shape=None if batched else y_shape)
    return ConvNd.apply(input, weight, bias, stride=stride, pads=tuple((p, p) for p in padding),
                        dilation=dilation, groups=groups, transposed=True, out=out,
                        x_full=None if batched else x_full)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0,  # noqa: A002
                     output_padding=0, groups=1, dilation=1):
    """torch.nn.functional.conv_transpose1d: input (N, C_in, L) or (C_in, L), weight
    (C_in, C_out/groups, k)."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0,  # noqa: A002
                     output_padding=0, groups=1, dilation=1):
    """torch.nn.functional.conv_transpose2d: input (N, C_in, H, W) or (C_in, H, W)."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0,  # noqa: A002
                     output_padding=0, groups=1, dilation=1):
    """torch.nn.functional.conv_transpose3d: input (N, C_in, D, H, W) or (C_in, D, H, W)."""
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


# ---------------------------------------------------------------------------------------
# F.unfold / F.fold: im2col and col2im as ops of their own


class Unfold(Function):
    """(N, C, H, W) -> (N, C*kh*kw, L) sliding blocks; `x_full` views unbatched input."""

    def name(self):
        return "Im2ColBackward0"

    @staticmethod
    def forward(ctx, x, kernel=(), dilation=(), padding=(), stride=(), x_full=None):
        ctx.x_shape = x.shape
        xf = x.reshape(x_full) if x_full is not None else x
        p = convnd.NdPlan(xf.shape, (1, xf.shape[1]) + kernel, stride,
                          tuple((q, q) for q in padding), dilation, 1)
        ctx.plan = p
        cols = convnd.im2col(xf, p).reshape(p.C * p.K, p.N, p.T)
        y = xp_of(x).ascontiguousarray(cols.transpose(1, 0, 2))
        return y[0] if x_full is not None else y

    @staticmethod
    def backward(ctx, grad):
        p = ctx.plan
        g = grad.reshape(p.N, p.C * p.K, p.T).transpose(1, 0, 2).reshape(p.C * p.K, p.N * p.T)
        return (convnd.col2im(g, p).reshape(ctx.x_shape),)


class Fold(Function):
    """(N, C*kh*kw, L) blocks summed into (N, C, *output_size): the adjoint of Unfold."""

    def name(self):
        return "Col2ImBackward0"

    @staticmethod
    def forward(ctx, x, full=(), kernel=(), dilation=(), padding=(), stride=(),
                batched=True):
        ctx.x_shape = x.shape
        p = convnd.NdPlan(full, (1, full[1]) + kernel, stride, tuple((q, q) for q in padding),
                          dilation, 1)
        ctx.plan = p
        xb = x if batched else x[None]
        cols = xb.transpose(1, 0, 2).reshape(p.C * p.K, p.N * p.T)
        y = convnd.col2im(cols, p)
        return y if batched else y[0]

    @staticmethod
    def backward(ctx, grad):
        p = ctx.plan
        g = grad.reshape((p.N, p.C) + p.S)
        cols = convnd.im2col(g, p).reshape(p.C * p.K, p.N, p.T).transpose(1, 0, 2)
        return (xp_of(grad).ascontiguousarray(cols).reshape(ctx.x_shape),)



def _two(value, name):
    value = (int(value),) * 2 if isinstance(value, (int, np.integer)) else tuple(value)
    if len(value) != 2:
        raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(value)}")
    return value


def _block_args(kernel_size, dilation, padding, stride):
    kernel, dilation = _two(kernel_size, "kernel_size"), _two(dilation, "dilation")
    padding, stride = _two(padding, "padding"), _two(stride, "stride")
    for vals, what, label, bad in ((kernel, "kernel size should be greater than zero", "kernel",
                                    lambda v: v <= 0),
                                   (stride, "stride should be greater than zero", "stride",
                                    lambda v: v <= 0),
                                   (padding, "padding should be non-negative", "pad",
                                    lambda v: v < 0),
                                   (dilation, "dilation should be greater than zero",
                                    "dilation", lambda v: v <= 0)):
        if any(bad(v) for v in vals):
            raise RuntimeError(f"{what}, but got {label}_height: {vals[0]} {label}_width: "
                               f"{vals[1]}")
    return kernel, dilation, padding, stride


def _blocks(spatial, kernel, dilation, padding, stride):
    return tuple(convnd.out_size(n, k, s, p, p, d)
                 for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation))


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """torch.nn.functional.unfold: sliding local blocks of (N, C, H, W) as (N, C*k*k, L)."""
    shape = tuple(input.shape)
    if len(shape) not in (3, 4) or any(s == 0 for s in shape[-3:]):
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with possibly 0 batch size "
                           f"and other non-zero dimensions for input, but got: {list(shape)}")
    kernel, dilation, padding, stride = _block_args(kernel_size, dilation, padding, stride)
    blocks = _blocks(shape[-2:], kernel, dilation, padding, stride)
    if min(blocks) < 1:
        raise RuntimeError(f"Given input with spatial size {tuple(shape[-2:])}, "
                           f"kernel_size={kernel}, dilation={dilation}, padding={padding}, "
                           f"calculated shape of the array of sliding blocks as {blocks}, but "
                           "its components must be at least one.")
    return Unfold.apply(input, kernel=kernel, dilation=dilation, padding=padding,
                        stride=stride, x_full=None if len(shape) == 4 else (1,) + shape)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """torch.nn.functional.fold: sums (N, C*k*k, L) blocks into (N, C, *output_size)."""
    shape = tuple(input.shape)
    if len(shape) not in (2, 3) or any(s == 0 for s in shape[-2:]):
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                           f"batch size and non-zero dimensions for input, but got: "
                           f"{list(shape)}")
    output_size = _two(output_size, "output_size")
    kernel, dilation, padding, stride = _block_args(kernel_size, dilation, padding, stride)
    k = kernel[0] * kernel[1]
    if shape[-2] % k:
        raise RuntimeError("Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={shape[-2]} and "
                           f"kernel_size={kernel}.")
    blocks = _blocks(output_size, kernel, dilation, padding, stride)
    if shape[-1] != blocks[0] * blocks[1] or min(blocks) < 1:
        raise RuntimeError(f"Given output_size={output_size}, kernel_size={kernel}, "
                           f"dilation={dilation}, padding={padding}, stride={stride}, expected "
                           "size of input's dimension 2 to match the calculated number of "
                           f"sliding blocks {blocks[0]} * {blocks[1]} = "
                           f"{blocks[0] * blocks[1]}, but got input.size(2)={shape[-1]}.")
    batched = len(shape) == 3
    full = (shape[0] if batched else 1, shape[-2] // k) + output_size
    return Fold.apply(input, full=full, kernel=kernel, dilation=dilation, padding=padding,
                      stride=stride, batched=batched)
