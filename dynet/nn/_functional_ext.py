"""More of torch.nn.functional: distances, instance and local-response normalisation,
adaptive max pooling, margin/embedding/likelihood losses and CTC (re-exported by
nn.functional). Composed from differentiable ops where that costs nothing."""
import math
import warnings

import numpy as np

from ..ops import functions as _F
from ..ops import linalg as _L
from ..ops import linalg_functions as _LF
from ..ops.ctc import CtcLoss as _CtcLoss
from ..ops.pool_adaptive import (adaptive_max_pool1d, adaptive_max_pool1d_with_indices,
                                 adaptive_max_pool2d, adaptive_max_pool2d_with_indices)
from ..tensor import Tensor
from . import functional as _nnF

__all__ = [
    "cosine_similarity", "pairwise_distance", "pdist", "instance_norm", "local_response_norm",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices", "triplet_margin_loss", "margin_ranking_loss",
    "cosine_embedding_loss", "poisson_nll_loss", "gaussian_nll_loss", "multi_margin_loss",
    "multilabel_soft_margin_loss", "ctc_loss",
]


def _to_float(t):
    return t if t._data.dtype.kind == "f" else t.to(_F.dtypes.get_default_dtype())


def _clamp_forward_only(t, eps):
    """max(t, eps) in value, with t's own gradient: PyTorch clamps these under no_grad."""
    d = t.detach()
    return t + (_F.clamp(d, min=eps) - d)


def _reduce(loss, reduction):
    if reduction == "mean":
        return _F.mean(loss)
    if reduction == "sum":
        return _F.sum(loss)
    return loss


# ---------------------------------------------------------------- distances

def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along `dim` (inputs broadcast)."""
    dt = _F.result_type(x1, x2)
    x1, x2 = _F._cast(x1, dt), _F._cast(x2, dt)
    x1, x2 = _to_float(x1), _to_float(x2)
    shape = tuple(np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape)))
    x1, x2 = _F.expand(x1, *shape), _F.expand(x2, *shape)
    # each input divided by its norm first, as PyTorch does: the result stays in [-1, 1]
    n1 = _clamp_forward_only(_LF.vector_norm(x1, 2, dim, keepdim=True), eps)
    n2 = _clamp_forward_only(_LF.vector_norm(x2, 2, dim, keepdim=True), eps)
    return _F.sum(_F.mul(_F.div(x1, n1), _F.div(x2, n2)), dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dim (inputs broadcast)."""
    dim = max(x1.ndim, x2.ndim) - 1
    return _LF.vector_norm(_F.add(_F.sub(x1, x2), eps), p, dim if dim >= 0 else None, keepdim)


def pdist(input, p=2):  # noqa: A002 - PyTorch's argument names
    """Distances between all pairs of rows i < j of an (N, M) input, as a flat (N(N-1)/2,)."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    n = input.shape[0]
    i, j = np.triu_indices(n, 1)
    xp = _F.xp_of(input._data)
    a = _F.getitem(input, xp.asarray(i))
    b = _F.getitem(input, xp.asarray(j))
    return _LF.vector_norm(_F.sub(a, b), p, -1)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """||x1[..., i, :] - x2[..., j, :]||_p for every pair (batch dims broadcast)."""
    for name, t in (("X1", x1), ("X2", x2)):
        if t.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {t.ndim}D")
        if t._data.dtype.kind != "f":
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{_LF._name(t)}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                            "donot_use_mm_for_euclid_dist"):
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    if x1._data.dtype != x2._data.dtype:
        raise RuntimeError(f"cdist: X1 and X2 must have the same dtype, but got "
                           f"{_LF._name(x1)} and {_LF._name(x2)}")
    if p == 2:
        # PyTorch's rule for the matmul form: asked for, or more than 25 rows on a side
        use_mm = compute_mode == "use_mm_for_euclid_dist" or (
            compute_mode == "use_mm_for_euclid_dist_if_necessary" and
            (x1.shape[-2] > 25 or x2.shape[-2] > 25))
        batch = tuple(np.broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2])))
        a = _F.expand(x1, *(batch + tuple(x1.shape[-2:])))
        b = _F.expand(x2, *(batch + tuple(x2.shape[-2:])))
        return _L.Cdist2.apply(a, b, use_mm)
    diff = _F.sub(_F.unsqueeze(x1, -2), _F.unsqueeze(x2, -3))
    return _LF.vector_norm(diff, p, -1)


# ---------------------------------------------------------------- normalisation

def instance_norm(input, running_mean=None, running_var=None, weight=None,  # noqa: A002
                  bias=None, use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalises each (sample, channel) over its spatial dims; batch_norm on a (1, N*C, *)
    view, running statistics averaged over the batch, as PyTorch computes it."""
    if input.ndim < 2:
        raise ValueError(f"instance_norm expects input of shape (N, C, *), got "
                         f"{list(input.shape)}")
    if use_input_stats:
        spatial = 1
        for s in input.shape[2:]:
            spatial *= s
        if spatial == 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input "
                             f"size {list(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    x = _F.reshape(input, (1, n * c) + tuple(input.shape[2:]))
    rm = _F.repeat(running_mean.detach(), n) if running_mean is not None else None
    rv = _F.repeat(running_var.detach(), n) if running_var is not None else None
    w = _F.repeat(weight, n) if weight is not None else None
    b = _F.repeat(bias, n) if bias is not None else None
    out = _nnF.batch_norm(x, rm, rv, w, b, use_input_stats, momentum, eps)
    if use_input_stats:
        for buf, rep in ((running_mean, rm), (running_var, rv)):
            if buf is not None:
                buf._data[...] = rep._data.reshape(n, c).mean(axis=0).astype(buf._data.dtype)
    return _F.reshape(out, tuple(input.shape))


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):  # noqa: A002
    """input / (k + alpha * mean of input^2 over `size` neighbouring channels)^beta."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} "
                         f"dimensions)")
    if input.numel() == 0:
        return input
    sq = _F.movedim(_F.mul(input, input), 1, -1)
    # zero padding of size // 2 before and (size - 1) // 2 after, averaged over `size`
    padded = _F.pad(sq, (size // 2, (size - 1) // 2))
    c = input.shape[1]
    window = padded.narrow(-1, 0, c)
    for i in range(1, size):
        window = _F.add(window, padded.narrow(-1, i, c))
    div = _F.movedim(_F.mul(window, 1.0 / size), -1, 1)
    div = _F.pow(_F.add(_F.mul(div, alpha), k), beta)
    return _F.div(input, div)


# ---------------------------------------------------------------- losses

def _reduction(size_average, reduce, reduction):
    return _nnF._reduction(size_average, reduce, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(d(a, p) - d(a, n) + margin, 0), d the pairwise p-distance."""
    reduction = _reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a, pos, neg = anchor.ndim, positive.ndim, negative.ndim
    if not a == pos == neg:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have "
                           f"the same number of dimensions, but got: anchor {a}D, positive "
                           f"{pos}D, and negative {neg}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _F.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(_F.clamp(_F.add(_F.sub(d_pos, d_neg), margin), min=0.0), reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, -target * (input1 - input2) + margin)."""
    reduction = _reduction(size_average, reduce, reduction)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same "
                           f"dimension but got sizes: input1: {list(input1.shape)}, input2: "
                           f"{list(input2.shape)}, target: {list(target.shape)} ")
    diff = _F.sub(input1, input2)
    return _reduce(_F.clamp(_F.add(_F.mul(_F.neg(target), diff), margin), min=0.0), reduction)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1."""
    reduction = _reduction(size_average, reduce, reduction)
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"cosine_embedding_loss(): input1 and input2 should have the same "
                           f"dimensions, but got: input1 {input1.ndim}D, input2 "
                           f"{input2.ndim}D")
    if input1.ndim not in (1, 2) or target.ndim != input1.ndim - 1:
        raise RuntimeError(f"{input1.ndim - 1}D target tensor expected, {target.ndim}D input "
                           f"tensor expected")  # PyTorch's check, in its own words
    eps = 1e-12
    dim = input1.ndim - 1
    prod = _F.sum(_F.mul(input1, input2), dim)
    mag1 = _F.add(_F.sum(_F.mul(input1, input1), dim), eps)
    mag2 = _F.add(_F.sum(_F.mul(input2, input2), dim), eps)
    cos = _F.div(prod, _F.sqrt(_F.mul(mag1, mag2)))
    zeros = _F.mul(cos, 0.0).detach()
    pos = _F.where(_F.eq(target, 1), _F.sub(1.0, cos), zeros)
    neg = _F.where(_F.eq(target, -1), _F.clamp(_F.sub(cos, margin), min=0.0), zeros)
    return _reduce(_F.add(pos, neg), reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None,  # noqa: A002
                     eps=1e-8, reduce=None, reduction="mean"):
    """exp(input) - target * input (log_input), else input - target * log(input + eps); full
    adds Stirling's term where target > 1."""
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = _F.sub(_F.exp(input), _F.mul(target, input))
    else:
        loss = _F.sub(input, _F.mul(target, _F.log(_F.add(input, eps))))
    if full:
        # Stirling's term target * log(target) - target + log(2 pi target) / 2 where target
        # > 1; a stand-in value elsewhere keeps log(0) out of the (selected-away) gradient
        big = _F.gt(target, 1)
        safe = _F.where(big, target, _F.add(_F.mul(target, 0.0), 2.0).detach())
        stirling = _F.add(_F.sub(_F.mul(safe, _F.log(safe)), safe),
                          _F.mul(_F.log(_F.mul(safe, 2 * math.pi)), 0.5))
        loss = _F.add(loss, _F.where(big, stirling, _F.mul(stirling, 0.0).detach()))
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):  # noqa: A002
    """(log(max(var, eps)) + (input - target)^2 / max(var, eps)) / 2, var broadcast as
    PyTorch allows (one dim short, or one size-1 dim)."""
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = _F.add(_F.mul(input.detach(), 0.0), float(var))
    elif bool(_F.any(_F.lt(var, 0))):
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = _F.unsqueeze(var, -1)
        elif not (input.ndim == var.ndim and sum(
                y for x, y in zip(input.shape, var.shape) if x != y) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = _clamp_forward_only(var, eps)
    diff = _F.sub(input, target)
    loss = _F.mul(_F.add(_F.log(var), _F.div(_F.mul(diff, diff), var)), 0.5)
    if full:
        loss = _F.add(loss, 0.5 * math.log(2 * math.pi))
    return _reduce(loss, reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None,  # noqa: A002
                      size_average=None, reduce=None, reduction="mean"):
    """sum over i != y of max(0, margin - x[y] + x[i])^p / C (times weight[y])."""
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    if input.ndim > 2 or (input.ndim == 2 and input.shape[1] == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch "
                           f"size, but got: {list(input.shape)}")
    x = input if input.ndim == 2 else _F.reshape(input, 1, -1)
    tgt = _F.reshape(target, -1)
    n, c = x.shape
    if tgt.shape[0] != n:
        raise RuntimeError(f"inconsistent target size, expected {n} but got "
                           f"{list(target.shape)}")
    if tgt._data.size:
        lo, hi = int(tgt._data.min()), int(tgt._data.max())
        if lo < 0 or hi >= c:
            raise RuntimeError("target out of range")
    idx = _F.reshape(tgt, -1, 1)
    x_y = _F.gather(x, 1, idx)
    z = _F.clamp(_F.add(_F.sub(x, x_y), float(margin)), min=0.0)
    if p == 2:
        z = _F.mul(z, z)
    if weight is not None:
        z = _F.mul(z, _F.getitem(_F._cast(weight, x._data.dtype), idx))
    xp = _F.xp_of(x._data)
    own = Tensor._make(xp.arange(c)[None, :] == idx._data, False)
    z = _F.where(own, _F.mul(z, 0.0).detach(), z)
    loss = _F.div(_F.sum(z, 1), float(c))
    if input.ndim < 2:
        loss = _F.reshape(loss, ())
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None,  # noqa: A002
                                reduce=None, reduction="mean"):
    """-mean over classes of target * logsigmoid(x) + (1 - target) * logsigmoid(-x)."""
    reduction = _reduction(size_average, reduce, reduction)
    loss = _F.neg(_F.add(_F.mul(target, _nnF.logsigmoid(input)),
                         _F.mul(_F.sub(1.0, target), _nnF.logsigmoid(_F.neg(input)))))
    if weight is not None:
        loss = _F.mul(loss, weight)
    dim = input.ndim - 1
    loss = _F.div(_F.sum(loss, dim), float(input.shape[dim]))
    return _reduce(loss, reduction)


def _lengths(name, value, n):
    """Lengths as a host int64 array of n entries (PyTorch reads them on the host too)."""
    if isinstance(value, Tensor):
        value = np.asarray(value.detach().cpu().numpy())
    arr = np.asarray(value, dtype=np.int64).reshape(-1)
    if arr.shape[0] != n:
        raise RuntimeError(f"{name} must be of size batch_size")
    return arr


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """Connectionist temporal classification loss of log_probs (T, N, C) or (T, C);
    targets padded (N, S) or concatenated (sum(target_lengths),)."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_probs.ndim not in (2, 3):
        raise RuntimeError(f"ctc_loss: expected log_probs to be 2-D or 3-D, got "
                           f"{log_probs.ndim}-D")
    batched = log_probs.ndim == 3
    lp = log_probs if batched else _F.unsqueeze(log_probs, 1)
    t_max, n, classes = lp.shape
    if not 0 <= blank < classes:
        raise RuntimeError("blank must be in label range")
    in_len = _lengths("input_lengths", input_lengths, n)
    tgt_len = _lengths("target_lengths", target_lengths, n)
    if in_len.size and in_len.max() > t_max:
        raise RuntimeError(f"Expected input_lengths to have value at most {t_max}, but got "
                           f"value {in_len.max()} (while checking arguments for ctc_loss_cpu)")
    if (in_len < 0).any() or (tgt_len < 0).any():
        raise RuntimeError("ctc_loss: input_lengths and target_lengths must be non-negative")
    s_max = int(tgt_len.max()) if tgt_len.size else 0
    xp = _F.xp_of(lp._data)
    raw = targets._data if isinstance(targets, Tensor) else xp.asarray(targets)
    if raw.ndim == 1:  # concatenated targets (an unbatched target is one of them)
        flat = raw.reshape(-1)
        if flat.shape[0] < tgt_len.sum():
            raise RuntimeError(f"Expected tensor to have size at least {tgt_len.sum()} at "
                               f"dimension 0, but got size {flat.shape[0]} for argument #2 "
                               f"'targets' (while checking arguments for ctc_loss_cpu)")
        starts = np.concatenate([[0], np.cumsum(tgt_len)[:-1]])
        cols = np.minimum(starts[:, None] + np.arange(s_max)[None, :],
                          max(flat.shape[0] - 1, 0))
        padded = flat[xp.asarray(cols)] if flat.shape[0] else xp.zeros((n, s_max), np.int64)
    else:
        if raw.ndim != 2 or raw.shape[0] != n:
            raise RuntimeError(f"ctc_loss: targets must be (N, S) or concatenated, got shape "
                               f"{list(raw.shape)}")
        if raw.shape[1] < s_max:
            raise RuntimeError(f"Expected tensor to have size at least {s_max} at dimension 1, "
                               f"but got size {raw.shape[1]} for argument #2 'targets' (while "
                               f"checking arguments for ctc_loss_cpu)")
        padded = raw[:, :s_max]
    # extended labels blank, l1, blank, ..., blank; padding past a target's length is blank
    inside = xp.asarray(np.arange(s_max)[None, :] < tgt_len[:, None])
    labels = xp.where(inside, padded.astype(np.int64), blank)
    ext = xp.full((n, 2 * s_max + 1), blank, dtype=np.int64)
    ext[:, 1::2] = labels
    nll = _CtcLoss.apply(_to_float(lp), ext, xp.asarray(in_len), xp.asarray(tgt_len),
                         int(blank), bool(zero_infinity))
    if reduction == "mean":
        denom = xp.asarray(np.maximum(tgt_len, 1).astype(lp._data.dtype))
        return _F.mean(_F.div(nll, Tensor._make(denom, False)))
    if reduction == "sum":
        return _F.sum(nll)
    return nll if batched else _F.reshape(nll, ())
