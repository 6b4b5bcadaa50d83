"""Loss functions, each one fused graph node (forward, reduction and a closed-form backward).

Class-index losses see their input as (N, C) or (N, C, D) (trailing dims flattened) and pick
the target entries by fancy indexing, so no one-hot matrix is ever built.
"""
import numpy as np

from ..autograd.function import Function
from ..backend import deferred, xp_of
from ._util import unbroadcast

REDUCTIONS = ("none", "mean", "sum")


# ---------------------------------------------------------------- class-index helpers

def host_min_max(a):
    """(min, max) of a non-empty raw array as Python numbers, with one host transfer."""
    if isinstance(a, np.ndarray):
        return a.min().item(), a.max().item()
    lo, hi = xp_of(a).stack((a.min(), a.max())).tolist()  # one device sync
    return lo, hi


def check_class_indices(target, n_classes, ignore_index):
    """Raises IndexError for a class index outside [0, n_classes) that is not ignore_index.

    Returns True when some entries may equal ignore_index (they then need masking). On the
    CPU this reads the target's min and max at once. A device target is checked without a
    host sync (backend.deferred): the error is raised at the next point that syncs, and the
    entries are always masked, since which of them equal ignore_index is not read either.
    """
    if target.size == 0:
        return False
    if type(target) is not np.ndarray:
        bad = (target != ignore_index) & ((target < 0) | (target >= n_classes))
        deferred.defer(bad.any(), lambda: _raise_class_index(target, bad, n_classes,
                                                            ignore_index))
        return True
    lo, hi = host_min_max(target)
    if lo < 0 or hi >= n_classes:
        bad = (target != ignore_index) & ((target < 0) | (target >= n_classes))
        if bool(bad.any()):
            _raise_class_index(target, bad, n_classes, ignore_index)
    return lo <= ignore_index <= hi


def _raise_class_index(target, bad, n_classes, ignore_index):
    value = int(target[bad].ravel()[0])
    raise IndexError(f"Target {value} is out of bounds: class indices must be in "
                     f"[0, {n_classes}) for an input with {n_classes} classes "
                     f"(ignore_index={ignore_index})")


def _as_nc(x, t):
    """Views input (C,), (N, C) or (N, C, d1, ...) as (N, C) or (N, C, D); target to match."""
    if x.ndim == 1:
        return x.reshape(1, -1), t.reshape(1)
    if x.ndim == 2:
        return x, t
    n, c = x.shape[0], x.shape[1]
    d = int(np.prod(x.shape[2:]))
    return x.reshape(n, c, d), t.reshape(n, d)


def _pick(xp, t2):
    """Advanced index that selects [n, t[n, d], d] from an (N, C[, D]) array."""
    n = xp.arange(t2.shape[0])
    if t2.ndim == 1:
        return n, t2
    return n[:, None], t2, xp.arange(t2.shape[1])[None, :]


def _class_axis(w, ndim):
    """A per-class vector shaped to broadcast along axis 1 of an ndim-array."""
    return w.reshape((1, -1) + (1,) * (ndim - 2))


def _reduce(loss, reduction, denom, out_shape):
    if reduction == "none":
        return loss.reshape(out_shape)
    total = loss.sum()
    if reduction == "sum":
        return total
    if type(denom) is int and denom > 0:  # the common case skips errstate's overhead
        return total / denom
    # 0/0 gives NaN for an empty or fully ignored batch, as PyTorch does
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / denom


def _upstream(grad, reduction, denom, shape):
    """The per-element gradient scale: an array of `shape` ('none') or a 0-d array."""
    if reduction == "none":
        return grad.reshape(shape)
    if reduction == "sum":
        return grad
    if type(denom) is int and denom > 0:
        return grad / denom
    with np.errstate(invalid="ignore", divide="ignore"):
        return grad / denom


def _kept(xp, g, keep):
    """g where the target is kept, exactly 0 where ignored (even if g is inf or NaN)."""
    if keep is None:
        return g
    return xp.where(keep, g, xp.zeros((), dtype=g.dtype))


def _class_weights(xp, t2, w, masked, ignore_index, dtype, n_classes):
    """Safe targets, keep mask (or None) and the per-element factor w[t] * keep (or None)."""
    keep = None
    if masked:
        on_device = type(t2) is not np.ndarray
        keep = t2 != ignore_index
        t2 = xp.where(keep, t2, 0)  # ignored entries pick class 0, then get weight 0
        if on_device:
            # a device target is validated later (deferred): never index out of bounds now
            t2 = t2.clip(0, n_classes - 1)
    f = None
    if w is not None:
        f = w[t2]
        if keep is not None:
            f = f * keep
    elif keep is not None:
        f = keep.astype(dtype)
    return t2, keep, f


class CrossEntropy(Function):
    """log_softmax + NLL (+ label smoothing) + reduction over class-index targets."""

    @staticmethod
    def forward(ctx, x, t, w, ignore_index, reduction, label_smoothing, masked):
        xp = xp_of(x)
        x2, t2 = _as_nc(x, t)
        c = x2.shape[1]
        shifted = x2 - x2.max(axis=1, keepdims=True)
        p = xp.exp(shifted)
        s = p.sum(axis=1, keepdims=True)
        lse = xp.log(s)
        p /= s  # softmax, kept for backward
        t2, keep, f = _class_weights(xp, t2, w, masked, ignore_index, x.dtype, c)
        idx = _pick(xp, t2)
        lse = lse[:, 0]
        loss = lse - shifted[idx]
        if f is not None:
            loss = loss * f
        eps = label_smoothing
        if eps:
            # sum_c w_c * (-log p_c) = lse * sum(w) - sum_c w_c * shifted_c
            if w is None:
                smooth = lse * c - shifted.sum(axis=1)
            else:
                smooth = lse * w.sum() - (shifted * _class_axis(w, shifted.ndim)).sum(axis=1)
            if keep is not None:
                smooth = smooth * keep
            loss = loss * (1.0 - eps) + smooth * (eps / c)
        denom = loss.size if f is None else f.sum()
        ctx.save_for_backward(p)
        ctx.meta = (x.shape, t2, keep, f, w, denom, reduction, eps)
        return _reduce(loss, reduction, denom, t.shape)

    @staticmethod
    def backward(ctx, grad):
        (p,) = ctx.saved_tensors
        x_shape, t2, keep, f, w, denom, reduction, eps = ctx.meta
        xp = xp_of(p)
        g = _upstream(grad, reduction, denom, t2.shape)
        gk = _kept(xp, g, keep)
        cf = gk if w is None else gk * f
        c = p.shape[1]
        if eps and w is not None:
            a = cf * (1.0 - eps) + gk * (w.sum() * (eps / c))
        else:
            a = cf  # without class weights the smoothing terms cancel in the softmax part
        gx = p * (xp.expand_dims(a, 1) if a.ndim else a)
        gx[_pick(xp, t2)] -= cf * (1.0 - eps) if eps else cf
        if eps:
            gke = xp.expand_dims(gk, 1) if gk.ndim else gk
            gx -= gke * (eps / c) if w is None else gke * (_class_axis(w, p.ndim) * (eps / c))
        return gx.reshape(x_shape), None, None


class NllLoss(Function):
    """-input[n, target[n]] weighted, with ignore_index and reduction."""

    @staticmethod
    def forward(ctx, x, t, w, ignore_index, reduction, masked):
        xp = xp_of(x)
        x2, t2 = _as_nc(x, t)
        t2, keep, f = _class_weights(xp, t2, w, masked, ignore_index, x.dtype,
                                     x2.shape[1])
        loss = -x2[_pick(xp, t2)]
        if f is not None:
            loss = loss * f
        denom = loss.size if f is None else f.sum()
        ctx.meta = (x2.shape, x.shape, t2, keep, f if w is not None else None, denom,
                    reduction)
        return _reduce(loss, reduction, denom, t.shape)

    @staticmethod
    def backward(ctx, grad):
        shape2, x_shape, t2, keep, wt, denom, reduction = ctx.meta
        xp = xp_of(grad)
        g = _kept(xp, _upstream(grad, reduction, denom, t2.shape), keep)
        gx = xp.zeros(shape2, dtype=grad.dtype)
        gx[_pick(xp, t2)] = -(g if wt is None else g * wt)
        return gx.reshape(x_shape), None, None


class CrossEntropyProbs(Function):
    """Cross entropy against class probabilities (target has the input's shape)."""

    @staticmethod
    def forward(ctx, x, y, w, reduction, label_smoothing):
        xp = xp_of(x)
        x2 = x.reshape(1, -1) if x.ndim == 1 else x
        y2 = y.reshape(x2.shape)
        c = x2.shape[1]
        shifted = x2 - x2.max(axis=1, keepdims=True)
        logp = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        if label_smoothing:
            y2 = y2 * (1.0 - label_smoothing) + label_smoothing / c
        wy = y2 if w is None else y2 * _class_axis(w, x2.ndim)
        loss = -(logp * wy).sum(axis=1)
        out_shape = x.shape[:1] + x.shape[2:] if x.ndim > 1 else ()
        denom = loss.size
        ctx.save_for_backward(logp, wy)
        ctx.meta = (x.shape, y.shape, w, reduction, denom, label_smoothing)
        return _reduce(loss, reduction, denom, out_shape)

    @staticmethod
    def backward(ctx, grad):
        logp, wy = ctx.saved_tensors
        x_shape, y_shape, w, reduction, denom, eps = ctx.meta
        xp = xp_of(logp)
        g = _upstream(grad, reduction, denom, logp.shape[:1] + logp.shape[2:])
        g = xp.expand_dims(g, 1) if g.ndim else g
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = (xp.exp(logp) * wy.sum(axis=1, keepdims=True) - wy) * g
            gx = gx.reshape(x_shape)
        if ctx.needs_input_grad[1]:
            gy = -logp * g * (1.0 - eps)
            if w is not None:
                gy = gy * _class_axis(w, logp.ndim)
            gy = gy.reshape(y_shape)
        return gx, gy, None


# ---------------------------------------------------------------- regression losses

def _pointwise(kind, d, param):
    """(loss, d loss / d d) for the difference d = input - target."""
    xp = xp_of(d)
    if kind == "mse":
        return d * d, 2.0 * d
    if kind == "l1":
        return xp.abs(d), xp.sign(d)
    ad = xp.abs(d)
    small = ad < param
    if kind == "smooth_l1":
        loss = xp.where(small, (0.5 / param) * d * d, ad - 0.5 * param)
        return loss, xp.where(small, d / param, xp.sign(d))
    # huber
    loss = xp.where(small, 0.5 * d * d, param * (ad - 0.5 * param))
    return loss, xp.where(small, d, param * xp.sign(d))


class PointwiseLoss(Function):
    """mse / l1 / smooth_l1 / huber of (input - target), optionally weighted, reduced."""

    @staticmethod
    def forward(ctx, x, y, w, kind, reduction, param, weight_mean):
        d = x - y
        loss, dloss = _pointwise(kind, d, param)
        if w is not None:
            ctx.raw_loss = loss
            loss = loss * w
        # PyTorch divides weighted mse/l1 by sum(weight), weighted huber by the element count
        denom = w.sum() if w is not None and weight_mean else loss.size
        ctx.save_for_backward(dloss)
        ctx.meta = (x.shape, getattr(y, "shape", ()), w, reduction, denom, weight_mean)
        out = _reduce(loss, reduction, denom, loss.shape)
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx, grad):
        (dloss,) = ctx.saved_tensors
        x_shape, y_shape, w, reduction, denom, weight_mean = ctx.meta
        g = _upstream(grad, reduction, denom, dloss.shape)
        gd = dloss * g if w is None else dloss * (g * w)
        gx = unbroadcast(gd, x_shape) if ctx.needs_input_grad[0] else None
        gy = unbroadcast(-gd, y_shape) if ctx.needs_input_grad[1] else None
        gw = None
        if ctx.needs_input_grad[2]:
            gw = ctx.raw_loss * g
            if reduction == "mean" and weight_mean:
                gw = gw - ctx.out * g  # d(sum(l w) / sum(w)) / dw = (l - loss) / sum(w)
            gw = unbroadcast(gw, w.shape)
        return gx, gy, gw


# ---------------------------------------------------------------- binary losses

class BinaryCrossEntropy(Function):
    """-w (y log x + (1 - y) log(1 - x)) with both logs clamped to >= -100, as PyTorch."""

    @staticmethod
    def forward(ctx, x, y, w, reduction):
        xp = xp_of(x)
        with np.errstate(divide="ignore"):
            log_x = xp.maximum(xp.log(x), -100.0)
            log_1mx = xp.maximum(xp.log1p(-x), -100.0)
        loss = -(y * (log_x - log_1mx) + log_1mx)
        if w is not None:
            loss = loss * w
        ctx.save_for_backward(x, y, log_x, log_1mx)
        ctx.meta = (w, reduction, loss.size)
        return _reduce(loss, reduction, loss.size, loss.shape)

    @staticmethod
    def backward(ctx, grad):
        x, y, log_x, log_1mx = ctx.saved_tensors
        w, reduction, denom = ctx.meta
        xp = xp_of(x)
        g = _upstream(grad, reduction, denom, x.shape)
        if w is not None:
            g = g * w
        gx = gy = None
        if ctx.needs_input_grad[0]:
            # PyTorch's form: (x - y) / max(x (1 - x), 1e-12)
            gx = g * (x - y) / xp.maximum((1.0 - x) * x, 1e-12)
        if ctx.needs_input_grad[1]:
            gy = g * (log_1mx - log_x)
        return gx, gy, None


class BinaryCrossEntropyWithLogits(Function):
    """(1 - y) x + (1 + (pw - 1) y) softplus(-x), times weight: stable for any logit."""

    @staticmethod
    def forward(ctx, x, y, w, pw, reduction):
        xp = xp_of(x)
        sp = xp.maximum(-x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))  # softplus(-x)
        lw = 1.0 if pw is None else (pw - 1.0) * y + 1.0
        raw = (1.0 - y) * x + lw * sp
        loss = raw if w is None else raw * w
        ctx.save_for_backward(x, y, sp)
        ctx.meta = (w, pw, reduction, loss.size, raw)
        return _reduce(loss, reduction, loss.size, loss.shape)

    @staticmethod
    def backward(ctx, grad):
        x, y, sp = ctx.saved_tensors
        w, pw, reduction, denom, raw = ctx.meta
        xp = xp_of(x)
        g = _upstream(grad, reduction, denom, raw.shape)
        gw_ = g if w is None else g * w
        need = ctx.needs_input_grad
        gx = gy = gweight = gpw = None
        if need[0]:
            sig_neg = xp.tanh(x * -0.5) * 0.5 + 0.5  # sigmoid(-x)
            if pw is None:
                gx = gw_ * (1.0 - y - sig_neg)
            else:
                gx = gw_ * (1.0 - y - ((pw - 1.0) * y + 1.0) * sig_neg)
            gx = unbroadcast(gx, x.shape)
        if need[1]:
            gy = -x if pw is None else (pw - 1.0) * sp - x
            gy = unbroadcast(gw_ * gy, y.shape)
        if need[2]:
            gweight = unbroadcast(g * raw, w.shape)
        if need[3]:
            gpw = unbroadcast(gw_ * y * sp, pw.shape)
        return gx, gy, gweight, gpw


class KLDiv(Function):
    """target * (log target - input), or exp(t) * (t - input) with log_target."""

    @staticmethod
    def forward(ctx, x, t, reduction, log_target):
        xp = xp_of(x)
        if log_target:
            et = xp.exp(t)
            loss = et * (t - x)
        else:
            # xlogy: 0 * log 0 = 0
            with np.errstate(divide="ignore", invalid="ignore"):
                tlogt = xp.where(t > 0, t * xp.log(xp.where(t > 0, t, 1.0)), 0.0 * t)
            et = t
            loss = tlogt - t * x
        denom = x.shape[0] if reduction == "batchmean" and x.ndim else loss.size
        red = "mean" if reduction == "batchmean" else reduction
        ctx.save_for_backward(x, t, et)
        ctx.meta = (red, denom, log_target, loss.shape)
        return _reduce(loss, red, denom, loss.shape)

    @staticmethod
    def backward(ctx, grad):
        x, t, et = ctx.saved_tensors
        red, denom, log_target, shape = ctx.meta
        xp = xp_of(x)
        g = _upstream(grad, red, denom, shape)
        gx = gt = None
        if ctx.needs_input_grad[0]:
            gx = unbroadcast(xp.broadcast_to(-et * g, shape), x.shape)
        if ctx.needs_input_grad[1]:
            if log_target:
                gt = et * (t - x + 1.0) * g
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    gt = xp.where(t > 0, xp.log(xp.where(t > 0, t, 1.0)) + 1.0 - x, -x) * g
            gt = unbroadcast(xp.broadcast_to(gt, shape), t.shape)
        return gx, gt
