"""Recurrences over a whole sequence, one layer and one direction per node: RNN, LSTM, GRU.

The input projection (x W_ih^T + biases, for all time steps at once) is an ordinary Linear
node before these; each node here runs the time loop on raw arrays, per step one matmul
(h W_hh^T over the concatenated gate weights; for LSTM a stacked one, one GEMM per gate, so
the step's activations come out gate-major, see backend.kernels.rnn) and one fused
elementwise pass (backend.kernels.rnn), and its backward runs the loop in reverse, leaving
the weight gradients to one matmul over all steps at the end.

Sequences are in packed layout: `gx` holds the rows of every time step one after another,
step t having `batch_sizes[t]` rows (non-increasing, as in a PackedSequence), so a padded
(T, B) batch is simply batch_sizes = (B,) * T. Row j of a step is always sequence j: a
step updates the state rows [:b] only, so sequences that have ended (forward) or not yet
begun (reverse) keep their state, and the final state array is h_n directly.

A node returns one flat array [output (N, P) | h_n (B, P) | c_n (B, H) for LSTM], which
`split_outputs` cuts into tensors.
"""
import itertools

from ..autograd.function import Function
from ..backend import parallel, xp_of
from ..backend.kernels import rnn as kernels


def _steps(batch_sizes, reverse):
    """(rows, b) per time step in processing order: the step's slice of the packed rows."""
    starts = itertools.accumulate((0,) + tuple(batch_sizes[:-1]))
    steps = [(slice(s, s + b), b) for s, b in zip(starts, batch_sizes)]
    return steps[::-1] if reverse else steps


def _state(init, out):
    """Writes the initial state (zeros when None) into the state buffer `out`."""
    out[...] = 0 if init is None else init


def _gate_block(flat, rows, H):
    """Step `rows`' (4, b, H) gate-major block of a flat per-step activations buffer."""
    return flat[rows.start * 4 * H:rows.stop * 4 * H].reshape(4, rows.stop - rows.start, H)


def _flat(xp, dtype, *shapes):
    """One buffer and C-contiguous views of it with the given shapes."""
    sizes = [s[0] * s[1] for s in shapes]
    buf = xp.empty(sum(sizes), dtype=dtype)
    views, start = [], 0
    for shape, size in zip(shapes, sizes):
        views.append(buf[start:start + size].reshape(shape))
        start += size
    return buf, views


class LSTMLayer(Function):
    """One LSTM direction: gx (N, 4H) already holds x W_ih^T + b_ih + b_hh."""

    @staticmethod
    def forward(ctx, gx, w_hh, h0, c0, w_hr, batch_sizes, reverse):
        xp = xp_of(gx)
        gx = xp.ascontiguousarray(gx)
        N, B = gx.shape[0], batch_sizes[0]
        H = w_hh.shape[0] // 4
        P = w_hh.shape[1]
        dt = gx.dtype
        buf, (y, hn, cn) = _flat(xp, dt, (N, P), (B, P), (B, H))
        _state(h0, hn)
        _state(c0, cn)
        train = any(ctx.needs_input_grad)
        acts = xp.empty(N * 4 * H, dt)  # per step one gate-major (4, b, H) block
        cs = xp.empty((N, H), dt)
        tcs = xp.empty((N, H), dt)
        hprev = xp.empty((N, P), dt) if train else None
        cprev = xp.empty((N, H), dt) if train else None
        rs = xp.empty((N, H), dt) if w_hr is not None else None
        # (4, P, H): h @ whh_g gives the gates gate-major, as four contiguous GEMMs (NumPy
        # runs a stacked matmul as one BLAS call per gate; no slower than one wide GEMM)
        whh_g = xp.ascontiguousarray(w_hh.reshape(4, H, P).transpose(0, 2, 1))
        whr_t = None if w_hr is None else xp.ascontiguousarray(w_hr.T)
        for rows, b in _steps(batch_sizes, reverse):
            hp, cp = hn[:b], cn[:b]
            if train:
                hprev[rows] = hp
                cprev[rows] = cp
            g = _gate_block(acts, rows, H)
            xp.matmul(hp, whh_g, out=g)
            out = y[rows] if w_hr is None else rs[rows]
            kernels.lstm_step(g, gx[rows], cp, cs[rows], tcs[rows], out)
            if w_hr is not None:
                xp.matmul(out, whr_t, out=y[rows])
            hn[:b] = y[rows]
            cn[:b] = cs[rows]
        if train:
            ctx.save_for_backward(w_hh, w_hr, acts, tcs, hprev, cprev, rs)
            ctx.meta = (batch_sizes, reverse, N, B, H, P)
        return buf

    @staticmethod
    def backward(ctx, grad):
        w_hh, w_hr, acts, tcs, hprev, cprev, rs = ctx.saved_tensors
        batch_sizes, reverse, N, B, H, P = ctx.meta
        xp = xp_of(grad)
        gy, ghn, gcn = split_raw(grad, N, B, P, H)
        dh = ghn.copy()
        dc = gcn.copy()
        dg = xp.empty((N, 4 * H), grad.dtype)
        dys = xp.empty((N, P), grad.dtype) if w_hr is not None else None
        for rows, b in reversed(_steps(batch_sizes, reverse)):
            d = dh[:b]
            d += gy[rows]
            if w_hr is not None:
                dys[rows] = d
                d = xp.matmul(d, w_hr)
            kernels.lstm_step_backward(_gate_block(acts, rows, H), tcs[rows], cprev[rows], d,
                                       dc[:b], dg[rows])
            xp.matmul(dg[rows], w_hh, out=dh[:b])
        need = ctx.needs_input_grad
        g_whh = parallel.matmul(dg.T, hprev) if need[1] else None
        g_whr = parallel.matmul(dys.T, rs) if w_hr is not None and need[4] else None
        return (dg if need[0] else None, g_whh, dh if need[2] else None,
                dc if need[3] else None, g_whr)


class GRULayer(Function):
    """One GRU direction: gx (N, 3H) holds x W_ih^T + b_ih; b_hh stays inside r * (...)."""

    @staticmethod
    def forward(ctx, gx, w_hh, b_hh, h0, batch_sizes, reverse):
        xp = xp_of(gx)
        gx = xp.ascontiguousarray(gx)
        N, B = gx.shape[0], batch_sizes[0]
        H = w_hh.shape[1]
        dt = gx.dtype
        buf, (y, hn) = _flat(xp, dt, (N, H), (B, H))
        _state(h0, hn)
        train = any(ctx.needs_input_grad)
        acts = xp.empty((N, 3 * H), dt)
        ghs = xp.empty((N, 3 * H), dt)
        hprev = xp.empty((N, H), dt) if train else None
        whh_t = xp.ascontiguousarray(w_hh.T)  # a transposed view multiplies ~1.4x slower
        for rows, b in _steps(batch_sizes, reverse):
            hp = hn[:b]
            if train:
                hprev[rows] = hp
            gh = ghs[rows]
            xp.matmul(hp, whh_t, out=gh)
            if b_hh is not None:
                gh += b_hh
            kernels.gru_step(gx[rows], gh, hp, acts[rows], y[rows])
            hn[:b] = y[rows]
        if train:
            ctx.save_for_backward(w_hh, acts, ghs, hprev)
            ctx.meta = (batch_sizes, reverse, N, B, H, b_hh is not None)
        return buf

    @staticmethod
    def backward(ctx, grad):
        w_hh, acts, ghs, hprev = ctx.saved_tensors
        batch_sizes, reverse, N, B, H, has_bias = ctx.meta
        xp = xp_of(grad)
        gy, ghn, _ = split_raw(grad, N, B, H, 0)
        dh = ghn.copy()
        dgx = xp.empty((N, 3 * H), grad.dtype)
        dgh = xp.empty((N, 3 * H), grad.dtype)
        for rows, b in reversed(_steps(batch_sizes, reverse)):
            d = dh[:b]
            d += gy[rows]
            kernels.gru_step_backward(acts[rows], ghs[rows], hprev[rows], d, dgx[rows],
                                      dgh[rows])
            d += xp.matmul(dgh[rows], w_hh)
        need = ctx.needs_input_grad
        g_whh = parallel.matmul(dgh.T, hprev) if need[1] else None
        g_bhh = dgh.sum(axis=0) if has_bias and need[2] else None
        return dgx if need[0] else None, g_whh, g_bhh, dh if need[3] else None


class RNNLayer(Function):
    """One Elman RNN direction (tanh or relu): gx (N, H) holds x W_ih^T + b_ih + b_hh."""

    @staticmethod
    def forward(ctx, gx, w_hh, h0, batch_sizes, reverse, relu):
        xp = xp_of(gx)
        N, B = gx.shape[0], batch_sizes[0]
        H = w_hh.shape[1]
        dt = gx.dtype
        buf, (y, hn) = _flat(xp, dt, (N, H), (B, H))
        _state(h0, hn)
        train = any(ctx.needs_input_grad)
        hprev = xp.empty((N, H), dt) if train else None
        whh_t = xp.ascontiguousarray(w_hh.T)  # a transposed view multiplies ~1.4x slower
        for rows, b in _steps(batch_sizes, reverse):
            hp = hn[:b]
            if train:
                hprev[rows] = hp
            h = y[rows]
            xp.matmul(hp, whh_t, out=h)
            h += gx[rows]
            if relu:
                xp.maximum(h, 0, out=h)
            else:
                xp.tanh(h, out=h)
            hn[:b] = h
        if train:
            ctx.save_for_backward(w_hh, y.copy(), hprev)
            ctx.meta = (batch_sizes, reverse, N, B, H, relu)
        return buf

    @staticmethod
    def backward(ctx, grad):
        w_hh, y, hprev = ctx.saved_tensors
        batch_sizes, reverse, N, B, H, relu = ctx.meta
        xp = xp_of(grad)
        gy, ghn, _ = split_raw(grad, N, B, H, 0)
        dh = ghn.copy()
        dpre = xp.empty((N, H), grad.dtype)
        for rows, b in reversed(_steps(batch_sizes, reverse)):
            d = dh[:b]
            d += gy[rows]
            h = y[rows]
            if relu:
                xp.copyto(dpre[rows], xp.where(h > 0, d, 0))  # select, never d * mask
            else:
                xp.multiply(h, h, out=dpre[rows])
                xp.subtract(1, dpre[rows], out=dpre[rows])
                dpre[rows] *= d
            xp.matmul(dpre[rows], w_hh, out=d)
        need = ctx.needs_input_grad
        g_whh = parallel.matmul(dpre.T, hprev) if need[1] else None
        return dpre if need[0] else None, g_whh, dh if need[2] else None


def split_raw(flat, N, B, P, H):
    """The (output, h_n, c_n) views of a layer node's flat array (c_n empty when H = 0)."""
    y = flat[:N * P].reshape(N, P)
    hn = flat[N * P:N * P + B * P].reshape(B, P)
    cn = flat[N * P + B * P:N * P + B * P + B * H].reshape(B, H)
    return y, hn, cn


def split_outputs(flat, N, B, P, H=0):
    """Tensors (output (N, P), h_n (B, P)[, c_n (B, H)]) cut from a layer node's result."""
    y = flat[:N * P].reshape(N, P)
    hn = flat[N * P:N * P + B * P].reshape(B, P)
    if not H:
        return y, hn
    return y, hn, flat[N * P + B * P:].reshape(B, H)
