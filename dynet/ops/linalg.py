"""Linear algebra Functions: matmul (NumPy's 1-D and batch broadcasting rules), linear,
einsum, and the inverses, solves and decompositions behind dynet.linalg."""
import numpy as np

from ..autograd.function import Function
from ..backend import parallel, xp_of
from ._util import unbroadcast


def _as_2d(shape, one_d):
    """The shape matmul gives a 1-D operand: (1, n) on the left, (n, 1) on the right."""
    return one_d if len(shape) == 1 else shape


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        # each operand is needed (and version-checked) only for the other's gradient
        need_a, need_b = ctx.needs_input_grad
        if need_a or need_b:
            ctx.save_for_backward(a if need_b else None, b if need_a else None)
            ctx.shapes = (a.shape, b.shape)
        return parallel.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        # restore the axes that 1-D operands dropped from the output (1-D @ 1-D gives 0-d)
        g = grad
        if len(sa) == 1:
            g = xp_of(g).expand_dims(g, -2 if len(sb) > 1 else 0)
        if len(sb) == 1:
            g = g[..., None]
        ga = gb = None
        if ctx.needs_input_grad[0]:
            b2 = b[:, None] if b.ndim == 1 else b
            ga = parallel.matmul(g, b2.swapaxes(-1, -2))
            ga = unbroadcast(ga, _as_2d(sa, (1,) + sa)).reshape(sa)
        if ctx.needs_input_grad[1]:
            a2 = a[None, :] if a.ndim == 1 else a
            gb = parallel.matmul(a2.swapaxes(-1, -2), g)
            gb = unbroadcast(gb, _as_2d(sb, sb + (1,))).reshape(sb)
        return ga, gb


class Linear(Function):
    """y = x @ w.T + b in one node (the layer behind nn.Linear)."""

    @staticmethod
    def forward(ctx, x, w, b=None):
        # x is needed (and version-checked) only for w's gradient, w only for x's
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None,
                              w if ctx.needs_input_grad[0] else None)
        out = parallel.matmul(x, w.T)
        if b is not None:
            out += b
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = parallel.matmul(grad, w)
        g2 = grad.reshape(-1, grad.shape[-1])
        if ctx.needs_input_grad[1]:
            gw = parallel.matmul(g2.T, x.reshape(-1, x.shape[-1]))
        if ctx.needs_input_grad[2]:
            gb = g2.sum(axis=0)
        return gx, gw, gb


# ---------------------------------------------------------------- einsum

class Einsum(Function):
    """xp.einsum over operands already parsed to plain letters (ellipses expanded).

    `subs` holds each operand's letters, `out` the output's, `sizes` each letter's
    (broadcast) size. Operands with a size-1 dim where the letter is larger are broadcast
    views, so the gradient of each operand is an einsum of the output gradient with the
    others, broadcast over letters only it has, laid onto its diagonals when a letter
    repeats, and summed back over its broadcast dims.
    """

    @staticmethod
    def forward(ctx, *ops, subs, out, sizes):
        xp = xp_of(ops[0])
        views = tuple(xp.broadcast_to(a, tuple(sizes[c] for c in s)) for a, s in zip(ops, subs))
        ctx.save_for_backward(*views)
        ctx.shapes, ctx.meta = tuple(a.shape for a in ops), (subs, out, sizes)
        res = xp.einsum(",".join(subs) + "->" + out, *views, optimize=len(ops) > 1)
        # a one-operand einsum can be a view of its input (a transpose, a diagonal)
        return xp.array(res, copy=True) if len(ops) == 1 else xp.asarray(res)

    @staticmethod
    def backward(ctx, grad):
        subs, out, sizes = ctx.meta
        xp = xp_of(grad)
        views = ctx.saved_tensors
        grads = []
        for i, s in enumerate(subs):
            if not ctx.needs_input_grad[i]:
                grads.append(None)
                continue
            others = [j for j in range(len(subs)) if j != i]
            seen = set(out).union(*(subs[j] for j in others))
            letters = "".join(dict.fromkeys(s))  # unique, in order of appearance
            keep = "".join(c for c in letters if c in seen)
            g = xp.einsum(",".join([out] + [subs[j] for j in others]) + "->" + keep, grad,
                          *(views[j] for j in others), optimize=len(others) > 0)
            g = xp.asarray(g).reshape(tuple(sizes[c] if c in keep else 1 for c in letters))
            g = xp.broadcast_to(g, tuple(sizes[c] for c in letters))
            if len(letters) < len(s):  # repeated letters: g goes onto the diagonal
                full = xp.zeros(tuple(sizes[c] for c in s), dtype=grad.dtype)
                full[_diagonal_index(xp, s, letters, sizes)] = g
                g = full
            grads.append(unbroadcast(xp.ascontiguousarray(g), ctx.shapes[i]))
        return tuple(grads)


def _diagonal_index(xp, subs, letters, sizes):
    """An advanced index that walks the diagonal where letters of `subs` repeat."""
    n = len(letters)
    ranges = {}
    for k, c in enumerate(letters):
        shape = [1] * n
        shape[k] = sizes[c]
        ranges[c] = xp.arange(sizes[c]).reshape(shape)
    return tuple(ranges[c] for c in subs)


# ---------------------------------------------------------------- decompositions and inverses

def _mT(x):
    return x.swapaxes(-1, -2)


def _tril(xp, x, k=0):
    """Lower triangle of the last two axes (batched on both devices)."""
    mask = xp.tri(x.shape[-2], x.shape[-1], k, dtype=bool)
    return xp.where(mask, x, 0)


def _safe_div(xp, num, den):
    """num / den, but exactly 0 where num is 0: an output whose gradient is zero (unused)
    must not turn a repeated singular value or eigenvalue into 0/0 = nan."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return xp.where(num == 0, 0, num / xp.where(num == 0, 1, den))


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a matrix is singular or not positive-definite."""


def _unusable(xp, a, out):
    """On CUDA, CuPy reports no LAPACK failures (it returns inf/nan): True when a finite
    input gave a non-finite output. One host sync, as PyTorch's CUDA linalg ops have."""
    if xp is np:
        return False
    return bool(xp.isfinite(a).all()) and not bool(xp.isfinite(out).all())


class Inv(Function):
    @staticmethod
    def forward(ctx, a):
        xp = xp_of(a)
        try:
            out = xp.linalg.inv(a)
        except np.linalg.LinAlgError:
            out = None
        if out is None or _unusable(xp, a, out):
            raise LinAlgError("linalg.inv: The diagonal element is zero, the inversion could "
                              "not be completed because the input matrix is singular.")
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (inv,) = ctx.saved_tensors
        inv_t = _mT(inv)
        return -(inv_t @ grad @ inv_t)


class Det(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return xp_of(a).asarray(xp_of(a).linalg.det(a))

    @staticmethod
    def backward(ctx, grad):
        # the cofactor matrix through an SVD, exact also for singular matrices (A^-T would be
        # inf): cof(A) = det(U) det(Vh) U diag(prod_{j != i} s_j) Vh
        (a,) = ctx.saved_tensors
        xp = xp_of(a)
        if a.shape[-1] == 0:
            return xp.zeros_like(a)
        u, s, vh = xp.linalg.svd(a)
        ones = xp.ones(s.shape[:-1] + (1,), dtype=s.dtype)
        left = xp.cumprod(xp.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)
        right = xp.flip(xp.cumprod(xp.flip(xp.concatenate([s[..., 1:], ones], axis=-1),
                                           axis=-1), axis=-1), axis=-1)
        sign = xp.linalg.det(u) * xp.linalg.det(vh)
        cof = (u * (left * right)[..., None, :]) @ vh
        return cof * (grad * sign)[..., None, None]


class Solve(Function):
    """X with A X = B, for B a batch of matrices; batch dims broadcast."""

    @staticmethod
    def forward(ctx, a, b):
        xp = xp_of(a)
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        ab = xp.broadcast_to(a, batch + a.shape[-2:])
        bb = xp.broadcast_to(b, batch + b.shape[-2:])
        try:
            x = xp.linalg.solve(ab, bb) if ab.size and bb.size else xp.zeros(bb.shape, a.dtype)
        except np.linalg.LinAlgError:
            x = None
        if x is None or _unusable(xp, ab, x):
            raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix "
                              "is singular.")
        ctx.save_for_backward(ab, x)
        ctx.shapes = (a.shape, b.shape)
        return x

    @staticmethod
    def backward(ctx, grad):
        ab, x = ctx.saved_tensors
        xp = xp_of(ab)
        gb = xp.linalg.solve(_mT(ab), grad) if grad.size else xp.zeros_like(grad)
        ga = -(gb @ _mT(x)) if ctx.needs_input_grad[0] else None
        return (None if ga is None else unbroadcast(ga, ctx.shapes[0]),
                unbroadcast(gb, ctx.shapes[1]) if ctx.needs_input_grad[1] else None)


class Cholesky(Function):
    """The lower factor L of A = L L^T (only A's lower triangle is read)."""

    @staticmethod
    def forward(ctx, a):
        xp = xp_of(a)
        try:
            low = xp.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            low = None
        if low is None or _unusable(xp, a, low):
            raise LinAlgError(_cholesky_failure(a))
        ctx.save_for_backward(low)
        return low

    @staticmethod
    def backward(ctx, grad):
        # gA = L^-T Phi L^-1 with Phi = (tril(L^T gL) + tril(L^T gL, -1)^T) / 2: the gradient
        # of A's symmetric part, as PyTorch gives it
        (low,) = ctx.saved_tensors
        xp = xp_of(low)
        if low.shape[-1] == 0:
            return xp.zeros_like(grad)
        p = _tril(xp, _mT(low) @ grad)
        p = 0.5 * (p + _mT(_tril(xp, p, -1)))
        inv = xp.linalg.inv(low)
        return _mT(inv) @ p @ inv


def _cholesky_failure(a):
    """PyTorch's message, naming the batch element and the first non-positive leading minor."""
    host = np.asarray(a.get() if hasattr(a, "get") else a, dtype=np.float64)
    flat = host.reshape((-1,) + host.shape[-2:])
    for b, m in enumerate(flat):
        for k in range(1, m.shape[-1] + 1):
            try:
                np.linalg.cholesky(m[:k, :k])
            except np.linalg.LinAlgError:
                where = f"(Batch element {b}): " if host.ndim > 2 else ""
                return (f"linalg.cholesky: {where}The factorization could not be completed "
                        f"because the input is not positive-definite (the leading minor of "
                        f"order {k} is not positive-definite).")
    return ("linalg.cholesky: The factorization could not be completed because the input is "
            "not positive-definite.")


class Eigh(Function):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, packed as one array
    (..., n + 1, n): row 0 holds the eigenvalues, rows 1.. the eigenvector matrix."""

    @staticmethod
    def forward(ctx, a, uplo="L"):
        xp = xp_of(a)
        w, v = xp.linalg.eigh(a, UPLO=uplo)
        ctx.save_for_backward(w, v)
        return xp.concatenate([w[..., None, :], v], axis=-2)

    @staticmethod
    def backward(ctx, grad):
        # gA = V (diag(gw) + skew(V^T gV) / E) V^T with E_ij = w_j - w_i (PyTorch's choice:
        # V^T gV projected onto the skew-symmetric matrices, so gA is symmetric)
        w, v = ctx.saved_tensors
        xp = xp_of(w)
        gw, gv = grad[..., 0, :], grad[..., 1:, :]
        vtgv = _mT(v) @ gv
        skew = 0.5 * (vtgv - _mT(vtgv))
        e = w[..., None, :] - w[..., :, None]
        f = _safe_div(xp, skew, e)
        n = w.shape[-1]
        f = f + gw[..., None, :] * xp.eye(n, dtype=w.dtype)
        return v @ f @ _mT(v)


class Svd(Function):
    """U, S, Vh of a batch of matrices, packed flat on the last axis: (..., m*ku + k + kv*n)."""

    @staticmethod
    def forward(ctx, a, full_matrices=True):
        xp = xp_of(a)
        m, n = a.shape[-2:]
        k = min(m, n)
        if a.size == 0:  # LAPACK has nothing to do; the shapes PyTorch gives
            batch = a.shape[:-2]
            ku, kv = (m, n) if full_matrices else (k, k)
            eye_u = xp.broadcast_to(xp.eye(m, ku, dtype=a.dtype), batch + (m, ku))
            eye_v = xp.broadcast_to(xp.eye(kv, n, dtype=a.dtype), batch + (kv, n))
            u, s, vh = eye_u, xp.zeros(batch + (k,), a.dtype), eye_v
        else:
            u, s, vh = xp.linalg.svd(a, full_matrices=full_matrices)
        ctx.save_for_backward(u[..., :, :k], s, vh[..., :k, :])
        ctx.sizes = (u.shape[-1], vh.shape[-2])
        batch = a.shape[:-2]
        return xp.concatenate([u.reshape(batch + (-1,)), s, vh.reshape(batch + (-1,))], axis=-1)

    @staticmethod
    def backward(ctx, grad):
        u, s, vh = ctx.saved_tensors
        xp = xp_of(s)
        m, k, n = u.shape[-2], s.shape[-1], vh.shape[-1]
        ku, kv = ctx.sizes
        batch = grad.shape[:-1]
        # full_matrices: only the first k singular vectors carry gradient (PyTorch's rule)
        gu = grad[..., :m * ku].reshape(batch + (m, ku))[..., :, :k]
        gs = grad[..., m * ku:m * ku + k]
        gvh = grad[..., m * ku + k:].reshape(batch + (kv, n))[..., :k, :]
        if k == 0:
            return xp.zeros(batch + (m, n), grad.dtype)
        utgu = _mT(u) @ gu
        vtgv = vh @ _mT(gvh)
        utgu, vtgv = utgu - _mT(utgu), vtgv - _mT(vtgv)
        s2 = s * s
        e = s2[..., None, :] - s2[..., :, None]
        core = _safe_div(xp, utgu * s[..., None, :] + s[..., :, None] * vtgv, e)
        core = core + gs[..., None, :] * xp.eye(k, dtype=s.dtype)
        ga = u @ core @ vh
        if m > k:
            gus = _safe_div(xp, gu, s[..., None, :])
            ga = ga + (gus - u @ (_mT(u) @ gus)) @ vh
        if n > k:
            gvs = _safe_div(xp, gvh, s[..., :, None])
            ga = ga + u @ (gvs - (gvs @ _mT(vh)) @ vh)
        return ga


class Qr(Function):
    """Q and R packed flat on the last axis: (..., m*kq + kr*n); mode 'r' packs no Q."""

    @staticmethod
    def forward(ctx, a, mode="reduced"):
        xp = xp_of(a)
        m, n = a.shape[-2:]
        batch = a.shape[:-2]
        if a.size == 0:
            kq = m if mode == "complete" else min(m, n)
            q = xp.broadcast_to(xp.eye(m, kq, dtype=a.dtype), batch + (m, kq))
            r = xp.zeros(batch + (kq, n), a.dtype)
        else:
            q, r = xp.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
        if mode == "r":
            q = xp.zeros(batch + (m, 0), a.dtype)
        ctx.save_for_backward(q, r)
        ctx.mode = mode
        return xp.concatenate([q.reshape(batch + (-1,)), r.reshape(batch + (-1,))], axis=-1)

    @staticmethod
    def backward(ctx, grad):
        q, r = ctx.saved_tensors
        m, kq = q.shape[-2:]
        kr, n = r.shape[-2:]
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed "
                               "when mode='r'. Please use linalg.qr(A, mode='reduced') if you "
                               "are going to differentiate through linalg.qr.")
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when "
                               "mode='complete' and nrows > ncols.")
        batch = grad.shape[:-1]
        gq = grad[..., :m * kq].reshape(batch + (m, kq))
        gr = grad[..., m * kq:].reshape(batch + (kr, n))
        xp = xp_of(q)
        if m >= n:
            return _qr_backward_tall(xp, q, r, gq, gr)
        # wide: A = Q [X | Y] with X square; Y = Q R_Y only moves R_Y and feeds gQ
        y_grad = q @ gr[..., :, m:]
        y = q @ r[..., :, m:]
        gx = _qr_backward_tall(xp, q, r[..., :, :m], gq + y @ _mT(gr[..., :, m:]),
                               gr[..., :, :m])
        return xp.concatenate([gx, y_grad], axis=-1)


def _qr_backward_tall(xp, q, r, gq, gr):
    """gA = (gQ + Q copyltu(M)) R^-T with M = R gR^T - gQ^T Q, for m >= n."""
    if r.shape[-1] == 0:
        return xp.zeros(q.shape[:-1] + (0,), q.dtype)
    mm = r @ _mT(gr) - _mT(gq) @ q
    copyltu = _tril(xp, mm) + _mT(_tril(xp, mm, -1))
    b = gq + q @ copyltu
    return _mT(xp.linalg.solve(r, _mT(b)))


class Cdist2(Function):
    """Euclidean distances between the rows of x1 (..., P, M) and x2 (..., R, M).

    use_mm: |x1|^2 + |x2|^2 - 2 x1 x2^T through one matmul (PyTorch's choice for many rows;
    it cancels for near points), else the exact difference form. The backward is the exact
    one either way, by matmuls, 0 where a distance is 0 (as PyTorch).
    """

    @staticmethod
    def forward(ctx, x1, x2, use_mm):
        xp = xp_of(x1)
        if use_mm:
            sq = (x1 * x1).sum(-1)[..., :, None] + (x2 * x2).sum(-1)[..., None, :] \
                - 2 * (x1 @ _mT(x2))
            dist = xp.sqrt(xp.maximum(sq, 0))
        else:
            diff = x1[..., :, None, :] - x2[..., None, :, :]
            dist = xp.sqrt((diff * diff).sum(-1))
        ctx.save_for_backward(x1, x2, dist)
        return dist

    @staticmethod
    def backward(ctx, grad):
        x1, x2, dist = ctx.saved_tensors
        xp = xp_of(grad)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = xp.where(dist == 0, 0, grad / xp.where(dist == 0, 1, dist))
        g1 = g2 = None
        if ctx.needs_input_grad[0]:
            g1 = g.sum(-1)[..., None] * x1 - g @ x2
        if ctx.needs_input_grad[1]:
            g2 = g.sum(-2)[..., None] * x2 - _mT(g) @ x1
        return g1, g2, None
