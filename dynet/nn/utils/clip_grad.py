"""Gradient clipping, computed on each gradient's device without a host sync."""
import numpy as np

from ...autograd import no_grad
from ...backend import move, xp_of
from ...tensor import Tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


@no_grad()
def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Scales gradients in place so their joint norm is at most `max_norm`; returns the norm.

    Like PyTorch, the scale is min(max_norm / (norm + 1e-6), 1) applied on the device, so
    no value is read back to the host (unless error_if_nonfinite asks for a check).
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor._make(np.zeros((), np.float32), False)
    first = grads[0]._data
    xp = xp_of(first)
    device = grads[0].device
    if norm_type == float("inf"):
        norms = [move(xp_of(g._data).abs(g._data).max(), device) for g in grads]
        total = xp.max(xp.stack(norms)) if len(norms) > 1 else norms[0]
    else:
        norms = [move(_pnorm(g._data, norm_type), device) for g in grads]
        stacked = xp.stack(norms) if len(norms) > 1 else norms[0].reshape(1)
        total = _pnorm(stacked, norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable "
                           "this error and scale the gradients by the non-finite norm anyway, "
                           "set `error_if_nonfinite=False`")
    scale = xp.minimum(max_norm / (total + 1e-6), 1.0).astype(first.dtype)
    for g in grads:
        g._data *= move(scale, g.device).astype(g._data.dtype, copy=False)
    return Tensor._make(xp.asarray(total), False)


def _pnorm(a, p):
    xp = xp_of(a)
    if p == 2.0:
        return xp.sqrt((a * a).sum())
    if p == 1.0:
        return xp.abs(a).sum()
    return (xp.abs(a) ** p).sum() ** (1.0 / p)


@no_grad()
def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamps every gradient element into [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        xp_of(g._data).clip(g._data, -clip_value, clip_value, out=g._data)
