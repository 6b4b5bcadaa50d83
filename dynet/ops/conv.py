"""Convolution: the Conv2d Function plus torch.nn.functional's conv1d and conv2d.

1-D and unbatched inputs are reshaped (views, no copies) to the 4-D case inside one graph
node, so conv1d and unbatched conv2d cost nothing extra and show as one backward node.
"""
from ..autograd.function import Function
from ..backend import xp_of
from ..backend.kernels import conv as kernels
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
        need_x = ctx.needs_input_grad[0]
        y, plan, cols = kernels.conv2d_forward(x4, w4, b, stride, (top, left), dilation,
                                               groups, need_x=need_x)
        ctx.plan, ctx.extra = plan, extra
        # x is only read to recompute columns the forward could not afford to keep, but it
        # is saved whenever w needs a gradient so that editing it in place raises (PyTorch)
        needs_w = ctx.needs_input_grad[1]
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
