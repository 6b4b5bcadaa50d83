"""Pooling: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d Functions plus the
torch.nn.functional front ends (max/avg pool 1d and 2d, adaptive_avg_pool2d); 3-D pooling
and max-unpooling on the N-d kernels (MaxPoolNd, AvgPoolNd, MaxUnpool).

1-D and unbatched inputs are viewed as (N, C, H, W) inside the single graph node.
"""
import numpy as np

from ..autograd.function import Function
from ..backend import xp_of
from ..backend.kernels import pool as kernels
from ..backend.kernels import poolnd
from ._util import int_tuple


class MaxPool2d(Function):
    """Max pooling over (N, C, H, W) (or a shape that `x4_shape` views as such).

    PyTorch's int64 indices, when wanted, are appended to the list `indices_out`: they are
    not differentiable, so they are not a second output of the node.
    """

    def name(self):
        return "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, kernel=(1, 1), stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                ceil_mode=False, x4_shape=None, view=None, indices_out=None):
        ctx.x_shape = x.shape
        x4 = x.reshape(x4_shape) if x4_shape is not None else x
        need_arg = ctx.needs_input_grad[0] or indices_out is not None
        y, arg, plan = kernels.max_pool2d_forward(x4, kernel, stride, padding, dilation,
                                                  ceil_mode, need_arg=need_arg)
        out_shape = _out_shape(view, y.shape)
        if indices_out is not None:
            indices_out.append(kernels.max_pool2d_indices(arg, plan).reshape(out_shape))
        ctx.plan = plan
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(arg)
        return y.reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        (arg,) = ctx.saved_tensors
        p = ctx.plan
        gx = kernels.max_pool2d_backward(grad.reshape(p.N, p.C, p.Ho, p.Wo), arg, p)
        return (gx.reshape(ctx.x_shape),)


class AvgPool2d(Function):
    def name(self):
        return "AvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, kernel=(1, 1), stride=(1, 1), padding=(0, 0), ceil_mode=False,
                count_include_pad=True, divisor_override=None, x4_shape=None, view=None):
        ctx.x_shape = x.shape
        x4 = x.reshape(x4_shape) if x4_shape is not None else x
        y, ctx.plan, ctx.div = kernels.avg_pool2d_forward(x4, kernel, stride, padding,
                                                          ceil_mode, count_include_pad,
                                                          divisor_override)
        return y.reshape(_out_shape(view, y.shape))

    @staticmethod
    def backward(ctx, grad):
        p = ctx.plan
        gx = kernels.avg_pool2d_backward(grad.reshape(p.N, p.C, p.Ho, p.Wo), p, ctx.div)
        return (gx.reshape(ctx.x_shape),)


class AdaptiveAvgPool2d(Function):
    def name(self):
        return "AdaptiveAvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, output_size=(1, 1), x4_shape=None, view=None):
        ctx.x_shape = x.shape
        x4 = x.reshape(x4_shape) if x4_shape is not None else x
        y, ctx.state = kernels.adaptive_avg_pool2d_forward(x4, output_size)
        ctx.y4_shape = y.shape
        return y.reshape(_out_shape(view, y.shape))

    @staticmethod
    def backward(ctx, grad):
        gx = kernels.adaptive_avg_pool2d_backward(grad.reshape(ctx.y4_shape), ctx.state)
        return (gx.reshape(ctx.x_shape),)


class MaxPoolNd(Function):
    """Max pooling over (N, C, *S) on the N-d kernels; indices go to `indices_out`."""

    def name(self):
        return "MaxPool3DWithIndicesBackward0"  # only 3-D pooling runs here

    @staticmethod
    def forward(ctx, x, kernel=(), stride=(), padding=(), dilation=(), ceil_mode=False,
                x_full=None, indices_out=None):
        ctx.x_shape = x.shape
        xf = x.reshape(x_full) if x_full is not None else x
        p = poolnd.NdPoolPlan(xf.shape, kernel, stride, padding, dilation, ceil_mode)
        y, arg = poolnd.max_forward(xf, p, ctx.needs_input_grad[0] or indices_out is not None)
        if indices_out is not None:
            idx = poolnd.max_indices(arg, p)
            indices_out.append(idx[0] if x_full is not None else idx)
        ctx.plan = p
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(arg)
        return y[0] if x_full is not None else y

    @staticmethod
    def backward(ctx, grad):
        (arg,) = ctx.saved_tensors
        g = grad.reshape((ctx.plan.N, ctx.plan.C) + ctx.plan.out)
        return (poolnd.max_backward(g, arg, ctx.plan).reshape(ctx.x_shape),)


class AvgPoolNd(Function):
    def name(self):
        return "AvgPool3DBackward0"

    @staticmethod
    def forward(ctx, x, kernel=(), stride=(), padding=(), ceil_mode=False,
                count_include_pad=True, divisor_override=None, x_full=None):
        ctx.x_shape = x.shape
        xf = x.reshape(x_full) if x_full is not None else x
        p = poolnd.NdPoolPlan(xf.shape, kernel, stride, padding, (1,) * len(kernel),
                              ceil_mode)
        ctx.div = poolnd.avg_divisor(p, count_include_pad, divisor_override, xp_of(x),
                                     x.dtype)
        ctx.plan = p
        y = poolnd.avg_forward(xf, p, ctx.div)
        return y[0] if x_full is not None else y

    @staticmethod
    def backward(ctx, grad):
        g = grad.reshape((ctx.plan.N, ctx.plan.C) + ctx.plan.out)
        return (poolnd.avg_backward(g, ctx.plan, ctx.div).reshape(ctx.x_shape),)


class MaxUnpool(Function):
    """Scatters x to the positions `indices` (a raw int64 array shaped like x) of zeros."""

    volumetric = False  # a class attribute: it outlives the node's saved state

    def name(self):
        # PyTorch runs 1-D unpooling as 2-D
        return f"MaxUnpool{3 if self.volumetric else 2}DBackward0"

    @staticmethod
    def forward(ctx, x, indices=None, out=(), x_full=None):
        ctx.x_shape, ctx.out = x.shape, out
        xf = x.reshape(x_full) if x_full is not None else x
        ctx.full = xf.shape
        ctx.indices = indices
        y = poolnd.unpool_forward(xf, indices, out)
        return y[0] if x_full is not None else y

    @staticmethod
    def backward(ctx, grad):
        g = grad.reshape(ctx.full[:2] + tuple(ctx.out))
        return (poolnd.unpool_backward(g, ctx.indices, ctx.full).reshape(ctx.x_shape),)


class MaxUnpool3d(MaxUnpool):
    volumetric = True


def _out_shape(view, y4_shape):
    """The 4-D result in the caller's rank: `view` names the axes the caller has."""
    n, c, h, w = y4_shape
    return {None: y4_shape, "chw": (c, h, w), "ncl": (n, c, w), "cl": (c, w)}[view]


# ---------------------------------------------------------------------------------------
# torch.nn.functional-style front ends


def _tuple(v, n, name):
    return int_tuple(v, n, f"{name} must either be a single int, or a tuple of {n} ints")


def _check_float(name, x):
    if np.dtype(x._data.dtype).kind != "f":
        raise RuntimeError(f'"{name}" not implemented for \'{x.dtype}\'')


def _pool_args(name, nd, kernel_size, stride, padding, dilation):
    kernel = _tuple(kernel_size, nd, "kernel_size")
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _tuple(stride, nd, "stride")
    padding = _tuple(padding, nd, "padding")
    dilation = _tuple(dilation, nd, "dilation")
    if min(kernel) <= 0:
        raise RuntimeError(f"{name}: kernel_size must be greater than zero, but got "
                           f"{list(kernel)}")
    if min(stride) <= 0:
        raise RuntimeError("stride should not be zero")
    if min(dilation) <= 0:
        raise RuntimeError(f"{name}: dilation must be greater than zero, but got "
                           f"{list(dilation)}")
    for k, p, d in zip(kernel, padding, dilation):
        if p < 0 or p > (d * (k - 1) + 1) // 2:
            raise RuntimeError("pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    if nd == 1:
        return (1,) + kernel, (1,) + stride, (0,) + padding, (1,) + dilation
    return kernel, stride, padding, dilation


def _view4(name, nd, x):
    """(x4_shape or None, view, channels, spatial) for a 1-D/2-D, (un)batched input."""
    shape = tuple(x.shape)
    if nd == 2:
        if len(shape) not in (3, 4) or any(s == 0 for s in shape[-3:]):
            raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
        if len(shape) == 4:
            return None, None, shape[1], shape[2:]
        return (1,) + shape, "chw", shape[0], shape[1:]
    if len(shape) not in (2, 3) or any(s == 0 for s in shape[-2:]):
        raise RuntimeError(f"{name}: Expected 2D or 3D (batch mode) tensor with optional 0 "
                           f"dim batch size for input, but got:{list(shape)}")
    n, view = (shape[0], "ncl") if len(shape) == 3 else (1, "cl")
    return (n, shape[-2], 1, shape[-1]), view, shape[-2], (1, shape[-1])


def _check_output(c, spatial, kernel, stride, padding, dilation, ceil_mode):
    out = [kernels.pool_out_size(s, k, st, p, d, ceil_mode)
           for s, k, st, p, d in zip(spatial, kernel, stride, padding, dilation)]
    if min(out) < 1:
        raise RuntimeError(f"Given input size: ({c}x{'x'.join(map(str, spatial))}). "
                           f"Calculated output size: ({c}x{'x'.join(map(str, out))}). "
                           "Output size is too small")


def _max_pool(name, nd, input, kernel_size, stride, padding, dilation, ceil_mode,  # noqa: A002
              return_indices):
    _check_float(name, input)
    x4, view, c, spatial = _view4(name, nd, input)
    kernel, stride, padding, dilation = _pool_args(name, nd, kernel_size, stride, padding,
                                                   dilation)
    _check_output(c, spatial, kernel, stride, padding, dilation, ceil_mode)
    sink = [] if return_indices else None
    out = MaxPool2d.apply(input, kernel=kernel, stride=stride, padding=padding,
                          dilation=dilation, ceil_mode=bool(ceil_mode), x4_shape=x4, view=view,
                          indices_out=sink)
    if return_indices:
        from ..tensor import Tensor
        return out, Tensor._make(sink[0], False)
    return out


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False, return_indices=False):
    """torch.nn.functional.max_pool2d; (out, indices) when return_indices=True."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False, return_indices=False):
    """torch.nn.functional.max_pool1d on (N, C, L) or (C, L)."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def _avg_pool(name, nd, input, kernel_size, stride, padding, ceil_mode,  # noqa: A002
              count_include_pad, divisor_override):
    _check_float(name, input)
    if nd == 1 and input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional "
                           f"tensor for argument #1 'self' (while checking arguments for "
                           f"{name})")
    x4, view, c, spatial = _view4(name, nd, input)
    kernel, stride, padding, dilation = _pool_args(name, nd, kernel_size, stride, padding, 1)
    if divisor_override is not None and int(divisor_override) == 0:
        raise RuntimeError("divisor must be not zero")
    _check_output(c, spatial, kernel, stride, padding, dilation, ceil_mode)
    return AvgPool2d.apply(input, kernel=kernel, stride=stride, padding=padding,
                           ceil_mode=bool(ceil_mode), count_include_pad=bool(count_include_pad),
                           divisor_override=None if divisor_override is None
                           else int(divisor_override), x4_shape=x4, view=view)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    """torch.nn.functional.avg_pool2d."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True):
    """torch.nn.functional.avg_pool1d on (N, C, L) or (C, L)."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    """torch.nn.functional.adaptive_avg_pool2d; None in output_size keeps that input size."""
    shape = tuple(input.shape)
    if len(shape) not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got "
                           f"{list(shape)}")
    _check_float("adaptive_avg_pool2d", input)
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size, output_size)
    output_size = tuple(output_size)
    if len(output_size) != 2:
        raise RuntimeError("adaptive_avg_pool2d: output_size must be 2")
    size = tuple(s if o is None else int(o) for o, s in zip(output_size, shape[-2:]))
    if min(size) < 0 or (min(size) == 0 and min(shape[-2:]) > 0):
        raise RuntimeError(f"adaptive_avg_pool2d: elements of output_size must be greater "
                           f"than or equal to 0 but received {list(size)}")
    if any(s == 0 for s in shape[-2:]):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected input to have non-zero size for "
                           f"non-batch dimensions, but input has sizes {list(shape)} with "
                           "dimension 2 being empty")
    x4, view = (None, None) if len(shape) == 4 else ((1,) + shape, "chw")
    return AdaptiveAvgPool2d.apply(input, output_size=size, x4_shape=x4, view=view)


# ---------------------------------------------------------------------------------------
# 3-D pooling and max-unpooling


def _full_3d(input):  # noqa: A002
    shape = tuple(input.shape)
    if len(shape) not in (4, 5) or any(s == 0 for s in shape[-4:]):
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    return None if len(shape) == 5 else (1,) + shape


def _check_output_3d(input, kernel, stride, padding, dilation, ceil_mode):  # noqa: A002
    shape = tuple(input.shape)
    out = [kernels.pool_out_size(s, k, st, p, d, ceil_mode)
           for s, k, st, p, d in zip(shape[-3:], kernel, stride, padding, dilation)]
    if min(out) < 1:
        c = shape[-4]
        raise RuntimeError(f"Given input size: ({c}x{'x'.join(map(str, shape[-3:]))}). "
                           f"Calculated output size: ({c}x{'x'.join(map(str, out))}). "
                           "Output size is too small")


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False, return_indices=False):
    """torch.nn.functional.max_pool3d on (N, C, D, H, W) or (C, D, H, W)."""
    _check_float("max_pool3d", input)
    x_full = _full_3d(input)
    kernel, stride, padding, dilation = _pool_args("max_pool3d", 3, kernel_size, stride,
                                                   padding, dilation)
    _check_output_3d(input, kernel, stride, padding, dilation, ceil_mode)
    sink = [] if return_indices else None
    out = MaxPoolNd.apply(input, kernel=kernel, stride=stride, padding=padding,
                          dilation=dilation, ceil_mode=bool(ceil_mode), x_full=x_full,
                          indices_out=sink)
    if return_indices:
        from ..tensor import Tensor
        return out, Tensor._make(sink[0], False)
    return out


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    """torch.nn.functional.avg_pool3d on (N, C, D, H, W) or (C, D, H, W)."""
    _check_float("avg_pool3d", input)
    x_full = _full_3d(input)
    kernel, stride, padding, _ = _pool_args("avg_pool3d", 3, kernel_size, stride, padding, 1)
    if divisor_override is not None and int(divisor_override) == 0:
        raise RuntimeError("divisor must be not zero")
    _check_output_3d(input, kernel, stride, padding, (1, 1, 1), ceil_mode)
    return AvgPoolNd.apply(input, kernel=kernel, stride=stride, padding=padding,
                           ceil_mode=bool(ceil_mode), count_include_pad=bool(count_include_pad),
                           divisor_override=None if divisor_override is None
                           else int(divisor_override), x_full=x_full)


def _unpool_output_size(shape, kernel, stride, padding, output_size):
    """PyTorch's rule: the default size, or output_size range-checked against it."""
    nd = len(kernel)
    default = [(shape[-nd + d] - 1) * stride[d] + kernel[d] - 2 * padding[d]
               for d in range(nd)]
    if output_size is None:
        return default
    if len(output_size) == nd + 2:
        output_size = output_size[2:]
    if len(output_size) != nd:
        raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} "
                         f"elements, but it has a length of '{len(output_size)}'")
    for d in range(nd):
        lo, hi = default[d] - stride[d], default[d] + stride[d]
        if not lo < output_size[d] < hi:
            raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be between '
                             f'{lo} and {hi})')
    return [int(s) for s in output_size]


def _max_unpool(nd, input, indices, kernel_size, stride, padding, output_size):  # noqa: A002
    name = f"max_unpooling{max(nd, 2)}d"
    kernel = _tuple(kernel_size, nd, "kernel_size")
    stride = kernel if stride is None else _tuple(stride, nd, "stride")
    padding = _tuple(padding, nd, "padding")
    out = _unpool_output_size(tuple(input.shape), kernel, stride, padding, output_size)
    shape = tuple(input.shape)
    lift = 1 if nd == 1 else 0  # PyTorch's 1-D unpool is the 2-D one on an added W = 1 axis
    if len(shape) not in (nd + 1, nd + 2):
        rank = max(nd, 2) + 1
        raise RuntimeError(f"Input to {name} should be a {rank}d or {rank + 1}d Tensor, but "
                           f"got a tensor with {len(shape) + lift} dimensions.")
    if indices.dtype != np.int64:
        names = {"int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                 "float32": "Float", "float64": "Double", "float16": "Half", "bool": "Bool"}
        kind = str(indices.dtype).split(".")[-1]
        raise RuntimeError(f"elements in indices should be type int64 but got: "
                           f"{names.get(kind, kind)}")
    if tuple(indices.shape) != shape:
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    x_full = None if len(shape) == nd + 2 else (1,) + shape
    idx = indices._data
    plane = int(np.prod(out))
    if idx.size:
        from . import loss
        lo, hi = loss.host_min_max(idx)
        if lo < 0 or hi >= plane:
            sizes = "x".join(map(str, list(out) + ([1] if nd == 1 else [])))
            raise RuntimeError(f"Found an invalid max index: {lo if lo < 0 else hi} (output "
                               f"volumes are of size {sizes}")
    fn = MaxUnpool3d if nd == 3 else MaxUnpool
    return fn.apply(input, indices=idx, out=tuple(out), x_full=x_full)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0,  # noqa: A002
                 output_size=None):
    """torch.nn.functional.max_unpool1d: the inverse of max_pool1d (zeros elsewhere)."""
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0,  # noqa: A002
                 output_size=None):
    """torch.nn.functional.max_unpool2d: the inverse of max_pool2d (zeros elsewhere)."""
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0,  # noqa: A002
                 output_size=None):
    """torch.nn.functional.max_unpool3d: the inverse of max_pool3d (zeros elsewhere)."""
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size)
