"""torch.nn.functional: activations, dropout, normalisation, embedding and losses.

Argument checking lives here (PyTorch's signatures, defaults and error messages); the math
is one autograd Function per call, in dynet.ops. Convolution and pooling come from
dynet.ops.conv and dynet.ops.pool, re-exported here.
"""
import warnings

import numpy as np

from ..backend import deferred, xp_of
from ..ops import activation as _act
from ..ops.conv import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d,
                        conv_transpose3d, fold, unfold)
from ..ops.pool import (adaptive_avg_pool2d, avg_pool1d, avg_pool2d, avg_pool3d, max_pool1d,
                        max_pool2d, max_pool3d, max_unpool1d, max_unpool2d, max_unpool3d)
from ..ops.sampling import (affine_grid, grid_sample, interpolate, pixel_shuffle,
                           pixel_unshuffle, upsample, upsample_bilinear, upsample_nearest)
from ..ops import dropout as _drop
from ..ops.embedding import Embedding as _Embedding
from ..ops import functions as _F
from ..ops import loss as _loss
from ..ops import normalization as _norm
from ..autograd.function import apply1 as _apply1
from ..ops.elementwise import Relu as _Relu
from ..tensor import Tensor

__all__ = [
    "linear", "bilinear", "relu", "relu_", "relu6", "leaky_relu", "elu", "selu", "celu",
    "gelu", "silu", "mish", "sigmoid", "tanh", "softplus", "softsign", "logsigmoid", "hardtanh",
    "hardsigmoid", "hardswish", "threshold", "glu", "prelu", "softmax", "softmin",
    "log_softmax", "dropout", "dropout1d", "dropout2d", "dropout3d", "batch_norm",
    "layer_norm", "group_norm", "embedding", "one_hot", "pad", "normalize", "cross_entropy",
    "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div",
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
    "adaptive_avg_pool2d", "scaled_dot_product_attention", "max_pool3d", "avg_pool3d", "max_unpool1d", "max_unpool2d",
    "max_unpool3d", "unfold", "fold", "pixel_shuffle", "pixel_unshuffle",
    "interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "grid_sample",
    "affine_grid",
]

# ---------------------------------------------------------------- helpers

def _inplace(input, fn, direct=None):
    """Runs fn as an in-place op on `input` (PyTorch's inplace=True); `direct` writes the
    raw array in place when nothing is recorded (Tensor._inplace)."""
    return input._inplace(fn, direct=direct)


def _float(value, name):
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None


def _shape(t):
    return list(t.shape)


# ---------------------------------------------------------------- linear

def linear(input, weight, bias=None):  # noqa: A002 - PyTorch's argument names
    """y = input @ weight.T + bias."""
    return _F.linear(input, weight, bias)


def bilinear(input1, input2, weight, bias=None):
    """y = input1^T A input2 + b, with weight A of shape (out, in1, in2)."""
    in1, in2 = input1.shape[-1], input2.shape[-1]
    if weight.ndim != 3 or tuple(weight.shape[1:]) != (in1, in2):
        raise RuntimeError(f"bilinear(): weight of shape {_shape(weight)} does not match "
                           f"input1 {_shape(input1)} and input2 {_shape(input2)}; expected "
                           f"(out_features, {in1}, {in2})")
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got "
                           f"{_shape(input1)} and {_shape(input2)}")
    out = weight.shape[0]
    # (x1 @ A viewed as (in1, out * in2)) * x2, summed over in2: two matmul-sized passes
    w = _F.reshape(_F.permute(weight, (1, 0, 2)), (in1, out * in2))
    y = _F.matmul(_F.reshape(input1, (-1, in1)), w)
    y = _F.sum(_F.mul(_F.reshape(y, (-1, out, in2)),
                      _F.unsqueeze(_F.reshape(input2, (-1, in2)), 1)), -1)
    if bias is not None:
        y = _F.add(y, bias)
    return _F.reshape(y, tuple(input1.shape[:-1]) + (out,))


# ---------------------------------------------------------------- activations

def relu(input, inplace=False):  # noqa: A002
    """max(input, 0)."""
    if inplace:
        return _inplace(input, _Relu.apply, _Relu.into)
    return _apply1(_Relu, input)


def relu_(input):  # noqa: A002
    """In-place relu."""
    return relu(input, inplace=True)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):  # noqa: A002
    """clamp(input, min_val, max_val), with zero gradient outside (and at) the corners."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    lo, hi = _float(min_val, "min_val"), _float(max_val, "max_val")
    fn = lambda t: _act.Hardtanh.apply(t, lo, hi)  # noqa: E731
    return _inplace(input, fn) if inplace else fn(input)


def relu6(input, inplace=False):  # noqa: A002
    """min(max(input, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002
    """input if input > 0 else negative_slope * input."""
    slope = _float(negative_slope, "negative_slope")
    fn = lambda t: _act.LeakyRelu.apply(t, slope)  # noqa: E731
    return _inplace(input, fn) if inplace else fn(input)


def _elu(input, alpha, scale, input_scale, inplace):
    fn = lambda t: _act.Elu.apply(t, alpha, scale, input_scale)  # noqa: E731
    return _inplace(input, fn) if inplace else fn(input)


def elu(input, alpha=1.0, inplace=False):  # noqa: A002
    """input if input > 0 else alpha * (exp(input) - 1)."""
    return _elu(input, _float(alpha, "alpha"), 1.0, 1.0, inplace)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):  # noqa: A002
    """Scaled elu with the self-normalising constants."""
    return _elu(input, _SELU_ALPHA, _SELU_SCALE, 1.0, inplace)


def celu(input, alpha=1.0, inplace=False):  # noqa: A002
    """max(0, input) + min(0, alpha * (exp(input / alpha) - 1))."""
    alpha = _float(alpha, "alpha")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: celu's alpha must be non-zero")
    return _elu(input, alpha, 1.0, 1.0 / alpha, inplace)


def gelu(input, approximate="none"):  # noqa: A002
    """input * Phi(input), exactly ('none') or with the tanh approximation ('tanh')."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return _act.Gelu.apply(input, approximate)


def silu(input, inplace=False):  # noqa: A002
    """input * sigmoid(input)."""
    return _inplace(input, _act.Silu.apply) if inplace else _act.Silu.apply(input)


def mish(input, inplace=False):  # noqa: A002
    """input * tanh(softplus(input))."""
    return _inplace(input, _act.Mish.apply) if inplace else _act.Mish.apply(input)


def sigmoid(input):  # noqa: A002
    """1 / (1 + exp(-input))."""
    return _F.sigmoid(input)


def tanh(input):  # noqa: A002
    """Hyperbolic tangent."""
    return _F.tanh(input)


def softplus(input, beta=1.0, threshold=20.0):  # noqa: A002
    """log(1 + exp(beta * input)) / beta, linear above `threshold`."""
    return _act.Softplus.apply(input, _float(beta, "beta"), _float(threshold, "threshold"))


def logsigmoid(input):  # noqa: A002
    """log(sigmoid(input)), computed stably."""
    return _act.LogSigmoid.apply(input)


def softsign(input):  # noqa: A002
    """input / (1 + |input|)."""
    return _F.div(input, _F.add(_F.abs(input), 1.0))


def hardsigmoid(input, inplace=False):  # noqa: A002
    """relu6(input + 3) / 6."""
    fn = _act.Hardsigmoid.apply
    return _inplace(input, fn) if inplace else fn(input)


def hardswish(input, inplace=False):  # noqa: A002
    """input * relu6(input + 3) / 6."""
    fn = _act.Hardswish.apply
    return _inplace(input, fn) if inplace else fn(input)


def threshold(input, threshold, value, inplace=False):  # noqa: A002
    """input where input > threshold, else value."""
    th, val = _float(threshold, "threshold"), _float(value, "value")
    fn = lambda t: _act.Threshold.apply(t, th, val)  # noqa: E731
    return _inplace(input, fn) if inplace else fn(input)


def glu(input, dim=-1):  # noqa: A002
    """a * sigmoid(b), where a and b are the two halves of input along `dim`."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    size = input.shape[dim]
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim} is size "
                           f"{size} (input shape {_shape(input)})")
    a, b = _F.split(input, size // 2, dim)
    return _F.mul(a, _F.sigmoid(b))


def prelu(input, weight):  # noqa: A002
    """max(0, input) + weight * min(0, input), weight per channel (dim 1) or shared."""
    n = weight.numel()
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else input.shape[0] if input.ndim else 1
        if n != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {n} and channel size = {channels}.")
        if input.ndim >= 2:
            weight = _F.reshape(weight, (-1,) + (1,) * (input.ndim - 2))
    neg = Tensor._make(input._data <= 0, False)
    return _F.where(neg, _F.mul(weight, input), input)


def softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """exp(input) / sum(exp(input)) along `dim`."""
    return _F.softmax(input, dim, dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """softmax(-input) along `dim`."""
    return _F.softmax(_F.neg(input), dim, dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """log(softmax(input)) along `dim`, computed stably."""
    return _F.log_softmax(input, dim, dtype)


# ---------------------------------------------------------------- dropout

def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _apply_dropout(input, p, mask_shape, inplace):
    mask = _drop.keep_mask(input, float(p), mask_shape)
    fn = lambda t: _drop.Dropout.apply(t, mask)  # noqa: E731
    return _inplace(input, fn) if inplace else fn(input)


def dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zeroes elements with probability p and scales the rest by 1/(1-p) when training."""
    _check_p(p)
    if not training or p == 0 or input.numel() == 0:
        return input
    return _apply_dropout(input, p, tuple(input.shape), inplace)


def _feature_dropout(input, p, training, inplace, lead):
    if not training or p == 0 or input.numel() == 0:
        return input
    shape = tuple(input.shape[:lead]) + (1,) * (input.ndim - lead)
    return _apply_dropout(input, p, shape, inplace)


def dropout1d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zeroes whole channels of (N, C, L) or (C, L) input."""
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D "
                           f"input of shape {_shape(input)}.")
    return _feature_dropout(input, p, training, inplace, input.ndim - 1)


def dropout2d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zeroes whole channels of (N, C, H, W) input (3-D input is read as (N, C, L))."""
    _check_p(p)
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
                      "deprecated and will result in an error in a future release. To retain "
                      "the behavior and silence this warning, please use dropout instead.",
                      stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, min(2, input.ndim))


def dropout3d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zeroes whole channels of (N, C, D, H, W) or (C, D, H, W) input."""
    _check_p(p)
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is "
                      "deprecated and will result in an error in a future release. To retain "
                      "the behavior and silence this warning, please use dropout instead.",
                      stacklevel=2)
    return _feature_dropout(input, p, training, inplace, 2 if input.ndim == 5 else 1)


# ---------------------------------------------------------------- normalisation

def _check_channels(name, t, channels):
    if t is not None and t.numel() != channels:
        raise RuntimeError(f"{name} should contain {channels} elements not {t.numel()}")


def batch_norm(input, running_mean, running_var, weight=None, bias=None,  # noqa: A002
               training=False, momentum=0.1, eps=1e-5):
    """Normalises per channel (dim 1) with batch stats (training) or running stats."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm expects input of shape (N, C, *), got {_shape(input)}")
    channels = input.shape[1]
    if training:
        if input.numel() // max(channels, 1) == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got "
                             f"input size {input.shape}")
    elif running_mean is None or running_var is None:
        raise RuntimeError(f"running_{'mean' if running_mean is None else 'var'} must be "
                           "defined in evaluation mode")
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_channels(name, t, channels)
    return _norm.BatchNorm.apply(input, running_mean, running_var, weight, bias,
                                 bool(training), float(momentum), float(eps))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Normalises over the trailing `normalized_shape` dimensions."""
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(ns)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != ns:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape "
                           f"[*, {', '.join(map(str, ns))}], but got input of size"
                           f"{_shape(input)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != ns:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {_shape(t)} and normalized_shape = "
                               f"{list(ns)}")
    return _norm.LayerNorm.apply(input, weight, bias, k, float(eps))


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Normalises (N, C, *) input over groups of channels."""
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {_shape(input)} and "
                           f"num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        _check_channels(name, t, input.shape[1])
    return _norm.GroupNorm.apply(input, weight, bias, int(num_groups), float(eps))


# ---------------------------------------------------------------- embedding, one_hot

def _check_indices(name, t):
    if t._data.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {t.dtype} instead "
                           f"(while checking arguments for {name})")


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,  # noqa: A002
              scale_grad_by_freq=False, sparse=False):
    """Looks up rows of `weight`; padding_idx's row gets no gradient."""
    if sparse:
        raise NotImplementedError("embedding(sparse=True) is not supported: dynet has no "
                                  "sparse gradients")
    if weight.ndim != 2:
        raise RuntimeError(f"'weight' must be 2-D, got shape {_shape(weight)}")
    _check_indices("embedding", input)
    if input.device != weight.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {weight.device} and {input.device}! (in embedding)")
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx = padding_idx % num
    idx = input._data
    if idx.size:
        idx = _check_embedding_indices(idx, num)
    if max_norm is not None:
        _embedding_renorm(weight._data, idx, float(max_norm), float(norm_type))
    return _Embedding.apply(weight, idx, padding_idx, bool(scale_grad_by_freq))


def _check_embedding_indices(idx, num):
    """IndexError for an index outside [0, num); on a device read at the next host sync, and
    meanwhile the lookup uses clipped indices (never out of bounds). Returns the indices."""
    def fail():
        bad = idx[(idx < 0) | (idx >= num)].ravel()[0]
        raise IndexError(f"index out of range in self: got index {int(bad)} "
                         f"for an embedding with {num} rows")
    if type(idx) is not np.ndarray:
        deferred.defer(((idx < 0) | (idx >= num)).any(), fail)
        return idx.clip(0, num - 1)
    lo, hi = _loss.host_min_max(idx)
    if lo < 0 or hi >= num:
        fail()
    return idx


def _embedding_renorm(w, idx, max_norm, norm_type):
    """Rescales, in place and outside autograd, the looked-up rows whose norm > max_norm."""
    xp = xp_of(w)
    rows = xp.unique(idx.reshape(-1))
    norms = (xp.abs(w[rows]) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    w[rows] *= scale[:, None]


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding with a trailing class dimension."""
    if tensor._data.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    t = tensor._data
    xp = xp_of(t)
    if t.size:
        lo, hi = _loss.host_min_max(t)
        if lo < 0:
            raise RuntimeError("Class values must be non-negative.")
        if num_classes == -1:
            num_classes = hi + 1
        elif hi >= num_classes:
            raise RuntimeError(f"Class values must be smaller than num_classes. (got {hi} "
                               f"with num_classes={num_classes})")
    elif num_classes == -1:
        raise RuntimeError("Can not infer total number of classes from empty tensor.")
    out = (t[..., None] == xp.arange(num_classes)).astype(np.int64)
    return Tensor._make(out, False)


def pad(input, pad, mode="constant", value=None):  # noqa: A002
    """Pads the trailing dimensions (constant, reflect, replicate, circular)."""
    return _F.pad(input, pad, mode, value)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):  # noqa: A002
    """input / max(||input||_p along dim, eps)."""
    if out is not None:
        raise NotImplementedError("normalize(out=...) is not supported")
    norm = _F.clamp(_F.norm(input, p, dim, keepdim=True), min=eps)
    return _F.div(input, norm)


# ---------------------------------------------------------------- losses: helpers

def _reduction(size_average, reduce, reduction):
    if size_average is not None or reduce is not None:
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      "reduction instead.", stacklevel=3)
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else "mean" if size_average else "sum"
    if reduction not in _loss.REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _check_class_target(input, target):
    """Shape/dtype checks for class-index targets; returns the number of classes."""
    if target._data.dtype.kind not in "iu":
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {target.dtype}")
    in_shape, t_shape = input._data.shape, target._data.shape
    if len(in_shape) == 0:
        raise RuntimeError("input tensor should be 1D or more, got a 0-D tensor")
    if len(in_shape) == 1:
        if t_shape != ():
            raise RuntimeError(f"Expected a 0-D target for a 1-D (unbatched) input of shape "
                               f"{list(in_shape)}, got target of shape {list(t_shape)}")
        return in_shape[0]
    if not t_shape or t_shape[0] != in_shape[0]:
        raise ValueError(f"Expected input batch_size ({in_shape[0]}) to match target "
                         f"batch_size ({t_shape[0] if t_shape else 0}) (input shape "
                         f"{list(in_shape)}, target shape {list(t_shape)}).")
    if t_shape != in_shape[:1] + in_shape[2:]:
        raise RuntimeError(f"Expected target size {list(in_shape[:1] + in_shape[2:])}, got "
                           f"{list(t_shape)} (input shape {list(in_shape)})")
    return in_shape[1]


def _check_weight(weight, classes, input):
    if weight is None:
        return None
    if weight.ndim != 1 or weight.shape[0] != classes:
        raise RuntimeError(f"weight tensor should be defined either for all {classes} classes "
                           f"or no classes but got weight tensor of shape: {_shape(weight)}")
    return weight.to(input.dtype) if weight.dtype != input.dtype else weight


# ---------------------------------------------------------------- classification losses

def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,  # noqa: A002
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """log_softmax + nll_loss in one node; class-index or class-probability targets."""
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    in_shape = input._data.shape
    if not in_shape:
        raise RuntimeError("cross_entropy: input tensor should be 1D or more, got a 0-D tensor")
    classes = in_shape[1] if len(in_shape) >= 2 else in_shape[0]
    weight = _check_weight(weight, classes, input)
    if target._data.dtype.kind == "f":
        if target._data.shape != in_shape:
            raise RuntimeError(f"class-probability targets must have the input's shape: input "
                               f"{_shape(input)}, target {_shape(target)}")
        if ignore_index != -100:
            raise RuntimeError("ignore_index is not supported for floating point target")
        target = target.to(input.dtype) if target.dtype != input.dtype else target
        return _loss.CrossEntropyProbs.apply(input, target, weight, reduction,
                                             float(label_smoothing))
    if target._data.shape == in_shape and len(in_shape) > 1:
        raise RuntimeError(f"Expected floating point type for target with class "
                           f"probabilities, got {target.dtype}")
    _check_class_target(input, target)
    masked = _loss.check_class_indices(target._data, classes, ignore_index)
    return _loss.CrossEntropy.apply(input, target, weight, int(ignore_index), reduction,
                                    float(label_smoothing), masked)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100,  # noqa: A002
             reduce=None, reduction="mean"):
    """-input[n, target[n]] (input holds log-probabilities), weighted and reduced."""
    reduction = _reduction(size_average, reduce, reduction)
    classes = _check_class_target(input, target)
    weight = _check_weight(weight, classes, input)
    masked = _loss.check_class_indices(target._data, classes, ignore_index)
    return _loss.NllLoss.apply(input, target, weight, int(ignore_index), reduction, masked)


def _same_dtype(target, input):
    return target.to(input.dtype) if target.dtype != input.dtype else target


def binary_cross_entropy(input, target, weight=None, size_average=None,  # noqa: A002
                         reduce=None, reduction="mean"):
    """-weight * (target * log(input) + (1 - target) * log(1 - input)), logs >= -100."""
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the "
                         f"input size ({input.shape}) is deprecated. Please ensure they have "
                         f"the same size.")
    if input.numel():
        lo, hi = _loss.host_min_max(input._data)
        if lo < 0 or hi > 1:
            raise RuntimeError(f"all elements of input should be between 0 and 1 (got values "
                               f"in [{lo}, {hi}])")
    if weight is not None:
        _check_broadcast_to("weight", weight, input)
        weight = _same_dtype(weight, input)
    return _loss.BinaryCrossEntropy.apply(input, _same_dtype(target, input), weight,
                                          reduction)


def _check_broadcast_to(name, t, input):
    try:
        ok = np.broadcast_shapes(tuple(t.shape), tuple(input.shape)) == tuple(input.shape)
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"{name} of shape {_shape(t)} cannot be broadcast to the input's "
                           f"shape {_shape(input)}")


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,  # noqa: A002
                                     reduce=None, reduction="mean", pos_weight=None):
    """binary_cross_entropy(sigmoid(input), target) in a numerically stable form."""
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    if weight is not None:
        _check_broadcast_to("weight", weight, input)
        weight = _same_dtype(weight, input)
    if pos_weight is not None:
        _check_broadcast_to("pos_weight", pos_weight, input)
        pos_weight = _same_dtype(pos_weight, input)
    return _loss.BinaryCrossEntropyWithLogits.apply(input, _same_dtype(target, input), weight,
                                                    pos_weight, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean",  # noqa: A002
           log_target=False):
    """Pointwise KL divergence target * (log(target) - input); input holds log-probs."""
    if size_average is not None or reduce is not None:
        reduction = _reduction(size_average, reduce, "mean")
    elif reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and "
                      "the support size.'batchmean' divides only by the batch size, and "
                      "aligns with the KL div math definition.'mean' will be changed to "
                      "behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    _check_broadcastable(input, target)
    return _loss.KLDiv.apply(input, _same_dtype(target, input), reduction, bool(log_target))


# ---------------------------------------------------------------- regression losses

def _check_broadcastable(input, target):
    try:
        np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
    except ValueError:
        raise RuntimeError(f"The size of tensor a {_shape(input)} must match the size of "
                           f"tensor b {_shape(target)} (input and target shapes cannot be "
                           f"broadcast)") from None


def _pointwise_loss(kind, input, target, weight, reduction, param, weight_mean):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input "
                      f"size ({input.shape}). This will likely lead to incorrect results due "
                      f"to broadcasting. Please ensure they have the same size.", stacklevel=3)
        _check_broadcastable(input, target)
    if weight is not None:
        if tuple(weight.shape) != tuple(input.shape):
            raise ValueError(f"Weights and input must have the same size (weight "
                             f"{_shape(weight)}, input {_shape(input)}).")
        weight = _same_dtype(weight, input)
    return _loss.PointwiseLoss.apply(input, _same_dtype(target, input), weight, kind,
                                     reduction, param, weight_mean)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean",  # noqa: A002
             weight=None):
    """(input - target)^2, reduced; weighted 'mean' divides by sum(weight)."""
    reduction = _reduction(size_average, reduce, reduction)
    return _pointwise_loss("mse", input, target, weight, reduction, 0.0, True)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean",  # noqa: A002
            weight=None):
    """|input - target|, reduced; weighted 'mean' divides by sum(weight)."""
    reduction = _reduction(size_average, reduce, reduction)
    return _pointwise_loss("l1", input, target, weight, reduction, 0.0, True)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean",  # noqa: A002
                   beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta."""
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0:  # the quadratic zone vanishes: exactly l1
        return _pointwise_loss("l1", input, target, None, reduction, 0.0, True)
    return _pointwise_loss("smooth_l1", input, target, None, reduction, float(beta), True)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):  # noqa: A002
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)."""
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    return _pointwise_loss("huber", input, target, weight, reduction, float(delta), False)


from .attention import scaled_dot_product_attention  # noqa: E402,F401 (uses this module)

# ---------------------------------------------------------------- the rest (distances, ...)

from ._functional_ext import *  # noqa: E402,F401,F403
from ._functional_ext import __all__ as _ext_all  # noqa: E402

__all__ = __all__ + _ext_all
