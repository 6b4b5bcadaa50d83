"""Linear algebra at the tensor level: einsum, tensordot, outer/inner/kron, addmm/baddbmm,
cross, dot/vdot and torch.linalg (norms, inv, det, solve, svd, qr, cholesky, eigh), with
PyTorch's argument names, shape checks and error messages. The math is in ops.linalg (one
Function per decomposition) or composed from differentiable ops where that costs nothing.
"""
import builtins
import collections
import math
import string

import numpy as np

from .. import dtypes
from . import functions as F
from . import linalg as L
from ._out import scalar_name, write_out
from ._util import normalize_dim

LinAlgError = L.LinAlgError


def _name(t):
    return scalar_name(t._data.dtype)


def _same_dtype_scalar(a, b):
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected scalar type {_name(a)} but found {_name(b)}")


# ---------------------------------------------------------------- einsum

_LETTERS = string.ascii_uppercase + string.ascii_lowercase  # PyTorch's label order


def _check_equation(equation):
    """PyTorch's character check: letters, '.', ',', spaces and one '->'."""
    arrow = False
    i = 0
    while i < len(equation):
        c = equation[i]
        if c == "-" and not arrow and equation[i + 1:i + 2] == ">":
            arrow = True
            i += 2
            continue
        if not (c in _LETTERS or c in ". " or (c == "," and not arrow)):
            raise RuntimeError(f"einsum(): invalid subscript given at index {i} in the equation "
                               f"string, subscripts must be in [a-zA-Z]")
        i += 1


def _split_term(term, k):
    """A term's letters, and where its ellipsis stands (None without one)."""
    letters, ell, i = [], None, 0
    while i < len(term):
        if term[i] == ".":
            if term[i:i + 3] != "...":
                raise RuntimeError(f"einsum(): found '.' for operand {k} that is not part of "
                                   f"any ellipsis")
            if ell is not None:
                raise RuntimeError(f"einsum(): found '.' for operand {k} for which an ellipsis "
                                   f"was already found")
            ell = len(letters)
            i += 3
            continue
        letters.append(term[i])
        i += 1
    return letters, ell


def _parse_einsum(equation, shapes):
    """(subscripts per operand, output subscripts, size per letter) with ellipses expanded."""
    _check_equation(equation)
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(shapes):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the "
                           "equation")
    if len(terms) < len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation")
    parsed, n_ell = [], 0
    for k, (term, shape) in enumerate(zip(terms, shapes)):
        letters, ell = _split_term(term, k)
        if ell is None and len(letters) != len(shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                               f"({len(letters)}) does not match the number of dimensions "
                               f"({len(shape)}) for operand {k} and no ellipsis was given")
        if ell is not None and len(letters) > len(shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                               f"({len(letters)}) is more than the number of dimensions "
                               f"({len(shape)}) for operand {k}")
        parsed.append((letters, ell))
        if ell is not None:
            n_ell = builtins.max(n_ell, len(shape) - len(letters))
    spare = [c for c in _LETTERS if c not in eq]
    if len(spare) < n_ell:
        raise RuntimeError("einsum(): too many dimensions for the subscripts available")
    ell_letters = spare[:n_ell]
    subs, sizes = [], {}
    for k, ((letters, ell), shape) in enumerate(zip(parsed, shapes)):
        if ell is not None:
            n = len(shape) - len(letters)
            letters = letters[:ell] + ell_letters[n_ell - n:] + letters[ell:]
        own = {}
        for pos, (c, d) in enumerate(zip(letters, shape)):
            if c in own and own[c] != d:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {k} but "
                                   f"the sizes don't match, {d} != {own[c]}")
            own[c] = d
            seen = sizes.get(c)
            if seen is None or seen == 1:
                sizes[c] = d
            elif d != 1 and d != seen:
                if c in ell_letters:
                    raise RuntimeError(f"einsum(): dimension {pos} covered by ellipsis in "
                                       f"operand {k}has size {d} which does not broadcast with "
                                       f"previously seen ellipsis with size {seen} for the "
                                       f"respective dimension")
                raise RuntimeError(f"einsum(): subscript {c} has size {d} for operand {k} which "
                                   f"does not broadcast with previously seen size {seen}")
        subs.append("".join(letters))
    if arrow:
        out_letters, ell = _split_term(rhs, len(terms))
        for i, c in enumerate(out_letters):
            if c not in sizes or c in ell_letters:
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                                   f"equation for any input operand")
            if c in out_letters[:i]:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in "
                                   f"the output")
        if ell is not None:
            out_letters = out_letters[:ell] + ell_letters + out_letters[ell:]
        out = "".join(out_letters)
    else:
        counts = collections.Counter("".join(subs))
        out = "".join(ell_letters) + "".join(sorted(c for c, n in counts.items()
                                                    if n == 1 and c not in ell_letters))
    return subs, out, sizes


def _sublist_equation(args):
    """einsum(op0, [0, 1], op1, [1, 2], [0, 2]) -> ('AB,BC->AC', [op0, op1])."""
    def term(sub):
        return "".join("..." if s is Ellipsis else _LETTERS[s] for s in sub)
    n = len(args) // 2
    if n == 0:
        raise RuntimeError("einsum(): sublist format expects a subscript list per operand")
    ops, terms = list(args[0:2 * n:2]), [term(s) for s in args[1:2 * n:2]]
    out = term(args[-1]) if len(args) % 2 else None
    return ",".join(terms) + ("" if out is None else "->" + out), ops


def einsum(*args):
    """torch.einsum(equation, *operands) (or a list of operands, or the sublist format)."""
    if not args:
        raise TypeError("einsum(): must specify the equation string and at least one operand, "
                        "or at least one operand and its subscripts list")
    if isinstance(args[0], str):
        equation, operands = args[0], list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
    else:
        equation, operands = _sublist_equation(args)
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    for t in operands[1:]:
        _same_dtype_scalar(operands[0], t)
    subs, out, sizes = _parse_einsum(equation, [tuple(t.shape) for t in operands])
    if operands[0]._data.dtype.kind == "b" and _bool_einsum_sums(subs, out):
        operands = [t.to(dtypes.int64) for t in operands]
    return L.Einsum.apply(*operands, subs=tuple(subs), out=out, sizes=sizes)


def _bool_einsum_sums(subs, out):
    """PyTorch's einsum of bool operands: a label summed over two operands or more is a bmm,
    which has no Bool kernel; one summed within one operand is a sum(), which counts in
    int64 (True when so); else the result stays bool (products of bools are ANDs)."""
    summed = set("".join(subs)) - set(out)
    if builtins.any(builtins.sum(c in s for s in subs) > 1 for c in summed):
        raise NotImplementedError("\"bmm\" not implemented for 'Bool'")
    return builtins.bool(summed)


# ---------------------------------------------------------------- products

def tensordot(a, b, dims=2, out=None):
    """Sums a's dims_a against b's dims_b (an int n: a's last n against b's first n)."""
    if hasattr(dims, "tolist"):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        dims_a, dims_b = list(range(-int(dims), 0)), list(range(int(dims)))
    else:
        dims_a, dims_b = dims
        dims_a = [dims_a] if isinstance(dims_a, int) else list(dims_a)
        dims_b = [dims_b] if isinstance(dims_b, int) else list(dims_b)
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    la, lb = list(_LETTERS[:a.ndim]), list(_LETTERS[a.ndim:a.ndim + b.ndim])
    for da, db in zip(dims_a, dims_b):
        ia, ib = normalize_dim(da, a.ndim), normalize_dim(db, b.ndim)
        if a.shape[ia] != b.shape[ib]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a.shape[ia]} in dim {da} and second has size {b.shape[ib]} "
                               f"in dim {db}")
        lb[ib] = la[ia]
    contracted = set(la) & set(lb)
    res = "".join(c for c in la + lb if c not in contracted)
    return write_out(einsum(f"{''.join(la)},{''.join(lb)}->{res}", a, b), out, "tensordot")


def _check_1d(name, arg, t):
    if t.ndim != 1:
        raise RuntimeError(f"{name}: Expected 1-D argument {arg}, but got {t.ndim}-D")


def outer(input, vec2, *, out=None):  # noqa: A002 - PyTorch's argument names
    """input[i] * vec2[j] (types promote, as in PyTorch)."""
    _check_1d("outer", "self", input)
    _check_1d("outer", "vec2", vec2)
    return write_out(F.mul(F.reshape(input, -1, 1), vec2), out, "outer")


ger = outer


def inner(input, other, *, out=None):  # noqa: A002
    """Sums over the last dims of both (a product when either is 0-d)."""
    if input.ndim == 0 or other.ndim == 0:
        return write_out(F.mul(input, other), out, "inner")
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but "
                           f"got shapes {list(input.shape)} and {list(other.shape)}")
    return write_out(tensordot(input, other, ([-1], [-1])), out, "inner")


def kron(input, other, *, out=None):  # noqa: A002
    """The Kronecker product: block (i, j) is input[i, j] * other."""
    n = builtins.max(input.ndim, other.ndim)
    sa = (1,) * (n - input.ndim) + tuple(input.shape)
    sb = (1,) * (n - other.ndim) + tuple(other.shape)
    # a's dims interleaved with b's, (a0, b0, a1, b1, ...), then each pair merged
    a = F.reshape(input, tuple(s for d in sa for s in (d, 1)))
    b = F.reshape(other, tuple(s for d in sb for s in (1, d)))
    return write_out(F.reshape(F.mul(a, b), tuple(x * y for x, y in zip(sa, sb))), out, "kron")


def _check_dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src "
                           f"[{b.shape[0]}] to have the same number of elements, but got "
                           f"{a.shape[0]} and {b.shape[0]} elements respectively")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_name(a)} and {_name(b)}")


def dot(input, tensor, *, out=None):  # noqa: A002
    """The inner product of two 1-D tensors of one dtype."""
    _check_dot(input, tensor)
    return write_out(F.matmul(input, tensor), out, "dot")


def vdot(input, other, *, out=None):  # noqa: A002
    """conj(input) . other; dynet has no complex dtypes, so this is dot."""
    _check_dot(input, other)
    return write_out(F.matmul(input, other), out, "vdot")


def _scaled_sum(name, input, prod, beta, alpha):
    """beta * input + alpha * prod, where beta = 0 ignores input (nan and inf included)."""
    if input._data.dtype != prod._data.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_name(input)} "
                           f"and {_name(prod)}")
    F.expand(input, *prod.shape)  # PyTorch's message when input does not broadcast
    if alpha != 1:
        prod = F.mul(prod, alpha)
    if beta == 0:
        return prod
    return F.add(F.mul(input, beta) if beta != 1 else input, prod)


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):  # noqa: A002
    """beta * input + alpha * (mat1 @ mat2)."""
    for arg, t in (("mat1", mat1), ("mat2", mat2)):
        if t.ndim != 2:
            raise RuntimeError(f"{arg} must be a matrix, got {t.ndim}-D tensor")
    return write_out(_scaled_sum("addmm", input, F.matmul(mat1, mat2), beta, alpha), out,
                     "addmm")


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):  # noqa: A002
    """beta * input + alpha * (batch1 @ batch2), batch by batch."""
    for arg, t in (("batch1", batch1), ("batch2", batch2)):
        if t.ndim != 3:
            raise RuntimeError(f"{arg} must be a 3D tensor")
    if batch2.shape[:2] != (batch1.shape[0], batch1.shape[2]):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{batch1.shape[0]}, {batch1.shape[2]}] but got: "
                           f"[{batch2.shape[0]}, {batch2.shape[1]}].")
    return write_out(_scaled_sum("baddbmm", input, F.matmul(batch1, batch2), beta, alpha),
                     out, "baddbmm")


def linalg_cross(input, other, *, dim=-1, out=None):  # noqa: A002
    """The cross product of 3-vectors along `dim` (batch dims broadcast)."""
    _same_dtype_scalar(input, other)
    if input.ndim != other.ndim:
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions. "
                           f"Got {input.ndim} and {other.ndim}")
    d = normalize_dim(dim, input.ndim)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d]} and {other.shape[d]}")
    shape = tuple(np.broadcast_shapes(tuple(input.shape), tuple(other.shape)))
    a, b = F.expand(input, *shape), F.expand(other, *shape)
    ax, ay, az = (F.select(a, d, i) for i in range(3))
    bx, by, bz = (F.select(b, d, i) for i in range(3))
    res = F.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], dim=d)
    return write_out(res, out, "cross")


def cross(input, other, dim=None, *, out=None):  # noqa: A002
    """torch.cross: as linalg.cross, but dim=None takes the first dim of size 3."""
    if dim is None:
        import warnings
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\n"
                      "Please either pass the dim explicitly or simply use torch.linalg.cross.",
                      UserWarning, stacklevel=2)
        dim = next((i for i, s in enumerate(input.shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    return linalg_cross(input, other, dim=dim, out=out)


# ---------------------------------------------------------------- linalg checks

def _check_float(name, a):
    kind = a._data.dtype.kind
    if kind not in "fc":
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. "
                           f"Got {_name(a)}")
    if a._data.dtype == np.float16:
        raise RuntimeError(f"{name}: Low precision dtypes not supported. Got {_name(a)}")


def _check_square(name, a, arg="A"):
    _check_float(name, a)
    if a.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor {arg} must have at least 2 dimensions.")
    if a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{name}: {arg} must be batches of square matrices, but they are "
                           f"{a.shape[-2]} by {a.shape[-1]} matrices")


def _check_matrix(name, a):
    _check_float(name, a)
    if a.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")


# ---------------------------------------------------------------- norms

def _ord_text(ord):  # noqa: A002
    return f"{ord:g}" if isinstance(ord, float) else str(ord)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):  # noqa: A002
    """The ord-norm of x over `dim` (all dims by default), treated as one vector."""
    if isinstance(ord, str) or not isinstance(ord, (int, float, np.number)):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not "
                        f"{type(ord).__name__}")
    if dtype is not None:
        x = x.to(dtype)
    _check_float_only("linalg.vector_norm", x)
    ord = float(ord)  # noqa: A001
    if isinstance(dim, int):
        dim = (dim,)
    if ord < 0 or math.isinf(ord):  # max/min have no identity: empty reductions fail
        if dim is None or x.ndim == 0:
            if x.numel() == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {_ord_text(ord)} "
                                   f"norm on an empty tensor because the operation does not "
                                   f"have an identity")
        else:
            for d in dim:
                if x.shape[normalize_dim(d, x.ndim)] == 0:
                    raise RuntimeError(f"linalg.vector_norm cannot compute the "
                                       f"{_ord_text(ord)} norm on the dimension {d}because "
                                       f"this dimension is empty and the operation does not "
                                       f"have an identity")
    if dim is not None and len(dim) == 0:
        dim = None
    return write_out(F.reduce.Norm.apply(x, ord, dim, keepdim), out, "linalg.vector_norm")


def _check_float_only(name, a):
    if a._data.dtype.kind not in "fc":
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. "
                           f"Got {_name(a)}")


_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf)


def matrix_norm(input, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None,  # noqa: A002
                out=None):
    """Frobenius, nuclear, 1/-1 (columns), inf/-inf (rows) and 2/-2 (spectral) norms."""
    A = input
    if dtype is not None:
        A = A.to(dtype)
    _check_float_only("linalg.matrix_norm", A)
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    if isinstance(dim, int) or len(dim) != 2:
        shown = dim if isinstance(dim, int) else list(dim)
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {shown}")
    d0, d1 = (normalize_dim(d, A.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, "
                           f"{dim[1]})")
    if ord not in _MATRIX_ORDS:
        raise RuntimeError(f"linalg.matrix_norm: Order {_ord_text(ord)} not supported.")
    if ord == "fro":
        res = vector_norm(A, 2, (d0, d1), keepdim)
    elif ord in ("nuc", 2, -2):
        s = svdvals(_to_last_two(A, d0, d1))
        res = (F.sum(s, -1) if ord == "nuc" else F.amax(s, -1) if ord == 2 else F.amin(s, -1))
        if keepdim:
            for d in sorted((d0, d1)):
                res = F.unsqueeze(res, d)
    else:
        # 1 / -1: the largest / smallest column sum; inf / -inf: the same over rows
        inner_dim, outer_dim = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = F.sum(F.abs(A), inner_dim, keepdim=True)
        ext = F.amax if ord in (1, math.inf) else F.amin
        res = ext(sums, outer_dim, keepdim=True)
        if not keepdim:
            res = F.squeeze(res, (d0, d1))
    return write_out(res, out, "linalg.matrix_norm")


def _to_last_two(A, d0, d1):
    """A with dims d0, d1 moved to the end, in that order."""
    rest = [d for d in range(A.ndim) if d not in (d0, d1)]
    return F.permute(A, rest + [d0, d1])


def norm(input, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):  # noqa: A002
    """torch.linalg.norm: a vector norm for one dim (or all, when ord is None), a matrix norm
    for two."""
    A = input
    if isinstance(ord, str):
        return matrix_norm(A, ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype,
                           out=out)
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype, out=out)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype,
                               out=out)
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. "
                           f"Got {list(dims)}")
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype, out=out)
    if A.ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must "
                           f"be 1D or 2D. Got {A.ndim}D.")
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype, out=out)
    return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype, out=out)


def vecdot(x, y, *, dim=-1, out=None):
    """The dot product of x and y along `dim` (batch dims broadcast)."""
    return write_out(F.sum(F.mul(x, y), dim), out, "linalg.vecdot")


# ---------------------------------------------------------------- inverses and solves

def inv(A, *, out=None):  # noqa: A002
    _check_square("linalg.inv", A)
    return write_out(L.Inv.apply(A), out, "linalg.inv")


def det(A, *, out=None):  # noqa: A002
    _check_square("linalg.det", A)
    return write_out(L.Det.apply(A), out, "linalg.det")


def solve(A, B, *, left=True, out=None):  # noqa: A002
    """X with A X = B (left) or X A = B; B may be a (batch of) vector(s)."""
    _check_square("linalg.solve", A)
    _check_float("linalg.solve", B)
    if A._data.dtype != B._data.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found "
                           f"A of type {_name(A)} and B of type {_name(B)} instead")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    bm = F.unsqueeze(B, -1) if vector else B  # a vector is a column, for left=False too
    n = A.shape[-1]
    if bm.ndim < 2 or bm.shape[-2 if left else -1] != n:
        rows, cols = (bm.shape[-2], bm.shape[-1]) if bm.ndim >= 2 else (bm.shape[0], 1)
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {rows}x{cols})")
    a, b = (A, bm) if left else (A.mT, bm.mT)
    try:
        np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    except ValueError:
        raise RuntimeError(f"linalg.solve: the batch dimensions of A {list(A.shape[:-2])} and B "
                           f"{list(B.shape[:-2 + vector])} cannot be broadcast") from None
    x = L.Solve.apply(a, b)
    x = F.squeeze(x, -1) if vector else (x if left else x.mT)
    return write_out(x, out, "linalg.solve")


# ---------------------------------------------------------------- decompositions

def _return_type(name, fields):
    cls = collections.namedtuple(name, fields)
    cls.__module__ = "dynet.return_types"
    cls.__repr__ = lambda self: f"dynet.return_types.{name}(" + ", ".join(
        f"{f}={v!r}" for f, v in zip(fields, self)) + ")"
    return cls


SvdResult = _return_type("linalg_svd", ["U", "S", "Vh"])
QrResult = _return_type("linalg_qr", ["Q", "R"])
EighResult = _return_type("linalg_eigh", ["eigenvalues", "eigenvectors"])
OldSvdResult = _return_type("svd", ["U", "S", "V"])
OldQrResult = _return_type("qr", ["Q", "R"])


def _unpack(packed, shapes):
    """Splits a packed result (blocks flattened on the last axis) into tensors of `shapes`."""
    batch = tuple(packed.shape[:-1])
    out, start = [], 0
    for shape in shapes:
        n = 1
        for s in shape:
            n *= s
        block = F.getitem(packed, (Ellipsis, slice(start, start + n)))
        out.append(F.reshape(block, batch + tuple(shape)))
        start += n
    return out


def svd(A, full_matrices=True, *, driver=None, out=None):  # noqa: A002
    """A = U diag(S) Vh, singular values descending."""
    _check_matrix("linalg.svd", A)
    m, n = A.shape[-2:]
    k = builtins.min(m, n)
    ku, kv = (m, n) if full_matrices else (k, k)
    u, s, vh = _unpack(L.Svd.apply(A, full_matrices), [(m, ku), (k,), (kv, n)])
    return write_out(SvdResult(u, s, vh), out, "linalg.svd")


def svdvals(A, *, driver=None, out=None):  # noqa: A002
    _check_matrix("linalg.svdvals", A)
    return write_out(svd(A, full_matrices=False).S, out, "linalg.svdvals")


_QR_MODES = ("reduced", "complete", "r")


def qr(A, mode="reduced", *, out=None):  # noqa: A002
    """A = Q R with orthonormal Q and upper-triangular R; mode 'r' returns an empty Q."""
    if mode not in _QR_MODES:
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           f"'reduced' (default), 'r', or 'complete'")
    _check_matrix("linalg.qr", A)
    m, n = A.shape[-2:]
    kq = m if mode == "complete" else builtins.min(m, n)
    q_shape = (m, 0) if mode == "r" else (m, kq)
    q, r = _unpack(L.Qr.apply(A, mode), [q_shape, (kq, n)])
    if mode == "r":
        q = F.Tensor._make(q._data.reshape(-1)[:0], False)
    return write_out(QrResult(q, r), out, "linalg.qr")


def cholesky(input, *, upper=False, out=None):  # noqa: A002
    """The lower factor L of A = L L^T (its transpose with upper=True)."""
    A = input
    _check_square("linalg.cholesky", A)
    low = L.Cholesky.apply(A)
    return write_out(low.mT if upper else low, out, "linalg.cholesky")


def _check_uplo(uplo):
    if uplo not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {uplo}")


def eigh(input, UPLO="L", *, out=None):  # noqa: A002, N803 - PyTorch's argument names
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric matrix."""
    A = input
    _check_square("linalg.eigh", A)
    _check_uplo(UPLO)
    packed = L.Eigh.apply(A, UPLO)
    w = F.getitem(packed, (Ellipsis, 0, slice(None)))
    v = F.getitem(packed, (Ellipsis, slice(1, None), slice(None)))
    return write_out(EighResult(w, v), out, "linalg.eigh")


def eigvalsh(input, UPLO="L", *, out=None):  # noqa: A002, N803
    A = input
    _check_square("linalg.eigvalsh", A)
    return write_out(eigh(A, UPLO).eigenvalues, out, "linalg.eigvalsh")


# ---------------------------------------------------------------- torch.* legacy forms

def inverse(input, *, out=None):  # noqa: A002
    return inv(input, out=out)


def legacy_det(input, *, out=None):  # noqa: A002
    """torch.det (argument `input`; torch.linalg.det names it A)."""
    return det(input, out=out)


def legacy_svd(input, some=True, compute_uv=True, *, out=None):  # noqa: A002
    """torch.svd: (U, S, V) with V (not Vh); some=False gives the full U and V."""
    u, s, vh = svd(input, full_matrices=not some)
    if not compute_uv:  # PyTorch returns zero-filled U and V then
        u, vh = F.mul(u.detach(), 0.0), F.mul(vh.detach(), 0.0)
    return write_out(OldSvdResult(u, s, vh.mT), out, "svd")


def legacy_qr(input, some=True, *, out=None):  # noqa: A002
    q, r = qr(input, "reduced" if some else "complete")
    return write_out(OldQrResult(q, r), out, "qr")


def legacy_cholesky(input, upper=False, *, out=None):  # noqa: A002
    return cholesky(input, upper=upper, out=out)


# ---------------------------------------------------------------- Tensor methods

def _inplace(fn):
    def method(self, *args, **kwargs):
        return self._inplace(lambda s, *o: fn(s, *o, **kwargs), *args)
    method.__name__ = method.__qualname__ = fn.__name__ + "_"
    return method


def install(Tensor):
    """Adds the Tensor methods PyTorch has for these functions."""
    for name, fn in (("outer", outer), ("ger", outer), ("inner", inner), ("kron", kron),
                     ("dot", dot), ("vdot", vdot), ("addmm", addmm), ("baddbmm", baddbmm),
                     ("cross", cross), ("det", legacy_det), ("inverse", inverse), ("svd", legacy_svd),
                     ("qr", legacy_qr), ("cholesky", legacy_cholesky)):
        setattr(Tensor, name, fn)
    Tensor.addmm_ = _inplace(addmm)
    Tensor.baddbmm_ = _inplace(baddbmm)


install(F.Tensor)
