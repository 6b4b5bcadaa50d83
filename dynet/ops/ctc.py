"""Connectionist temporal classification: the alpha-beta recursions in log space, vectorised
over the batch and the extended label positions, one step per time frame."""
import numpy as np

from ..autograd.function import Function
from ..backend import xp_of


def _logsumexp3(xp, a, b, c):
    m = xp.maximum(xp.maximum(a, b), c)
    finite = xp.isfinite(m)
    safe = xp.where(finite, m, 0)
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        s = xp.exp(a - safe) + xp.exp(b - safe) + xp.exp(c - safe)
        return xp.where(finite, safe + xp.log(s), m)


def _shift(xp, x, k, fill):
    """x moved k places along the last axis (k > 0: towards higher s), `fill` coming in."""
    pad = xp.full(x.shape[:-1] + (abs(k),), fill, dtype=x.dtype)
    if k > 0:
        return xp.concatenate([pad, x[..., :-k]], axis=-1)
    return xp.concatenate([x[..., -k:], pad], axis=-1)


class CtcLoss(Function):
    """Per-sample CTC negative log-likelihood (N,) of log_probs (T, N, C).

    `ext` (N, 2S+1) holds the extended labels (blank, l1, blank, l2, ..., blank), `in_len`
    and `tgt_len` (N,) the lengths. The gradient is PyTorch's: exp(lp) - exp(lcab + nll - lp)
    per frame inside the input length, 0 after it. Its exp(lp) term vanishes behind a
    log_softmax (PyTorch's convention), so it matches PyTorch, not a finite difference in
    log_probs taken on their own.
    """

    @staticmethod
    def forward(ctx, log_probs, ext, in_len, tgt_len, blank, zero_infinity):
        xp = xp_of(log_probs)
        t_max, n, _ = log_probs.shape
        width = ext.shape[1]
        lp = xp.take_along_axis(log_probs, xp.broadcast_to(ext[None], (t_max, n, width)), 2)
        neg = -np.inf
        skip = xp.zeros((n, width), dtype=bool)
        if width > 2:
            skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
        s = xp.arange(width)[None, :]
        last = (2 * tgt_len)[:, None]
        ends = (s == last) | ((s == last - 1) & (tgt_len[:, None] > 0))

        # two leading -inf columns make the s-1 and s-2 predecessors plain slices
        padded = xp.full((t_max, n, width + 2), neg, dtype=log_probs.dtype)
        alpha = padded[:, :, 2:]
        if t_max:
            alpha[0] = xp.where(s < 2, lp[0], neg)
            alpha[0] = xp.where((s == 1) & (tgt_len[:, None] == 0), neg, alpha[0])
        for t in range(1, t_max):
            prev = padded[t - 1]
            alpha[t] = lp[t] + _logsumexp3(xp, prev[:, 2:], prev[:, 1:-1],
                                           xp.where(skip, prev[:, :-2], neg))
        final = alpha[xp.maximum(in_len - 1, 0), xp.arange(n)]
        masked = xp.where(ends, final, neg)
        m = masked.max(axis=1)
        safe = xp.where(xp.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):
            nll = -(safe + xp.log(xp.exp(masked - safe[:, None]).sum(axis=1)))
        nll = xp.where(in_len > 0, nll, xp.where(tgt_len == 0, 0.0, np.inf)).astype(lp.dtype)
        inf = xp.isinf(nll)
        ctx.save_for_backward(log_probs, lp, alpha, ext, in_len, skip, ends, nll, inf)
        ctx.zero_infinity = zero_infinity
        return xp.where(inf, 0, nll) if zero_infinity else nll

    @staticmethod
    def backward(ctx, grad):
        log_probs, lp, alpha, ext, in_len, skip, ends, nll, inf = ctx.saved_tensors
        xp = xp_of(grad)
        t_max, n, classes = log_probs.shape
        neg = -np.inf
        width = alpha.shape[2]
        # two trailing -inf columns make the s+1 and s+2 successors plain slices
        padded = xp.full((t_max, n, width + 2), neg, dtype=alpha.dtype)
        beta = padded[:, :, :width]
        skip_next = _shift(xp, skip, -2, False)
        nxt = xp.full((n, width + 2), neg, dtype=alpha.dtype)
        for t in range(t_max - 1, -1, -1):
            rec = lp[t] + _logsumexp3(xp, nxt[:, :width], nxt[:, 1:width + 1],
                                      xp.where(skip_next, nxt[:, 2:], neg))
            start = xp.where(ends, lp[t], neg)
            frame = (t == in_len - 1)[:, None]
            inside = (t < in_len - 1)[:, None]
            beta[t] = xp.where(frame, start, xp.where(inside, rec, neg))
            nxt = padded[t]
        ab = alpha + beta
        m = ab.max(axis=2, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        onehot = (ext[:, :, None] == xp.arange(classes)).astype(ab.dtype)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            summed = xp.einsum("tns,nsc->tnc", xp.exp(ab - m), onehot)
            lcab = xp.log(summed) + m
            g = xp.exp(log_probs) - xp.exp(lcab + nll[None, :, None] - log_probs)
        g = g * grad[None, :, None]
        keep = xp.arange(t_max)[:, None, None] < in_len[None, :, None]
        if ctx.zero_infinity:
            keep = keep & ~inf[None, :, None]
        return xp.where(keep, g, 0), None, None, None, None, None
