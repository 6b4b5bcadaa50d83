"""Linear algebra: einsum, tensordot, outer/inner/kron, addmm/baddbmm, cross, dot/vdot and
dynet.linalg (norms, inv, det, solve, svd, qr, cholesky, eigh): NumPy float64 references,
float64 gradchecks, PyTorch parity of values, gradients and error messages, over devices."""
import math

import numpy as np
import pytest

import dynet
from core_utils import assert_close, check_grad, host, make, sample


def _torch():
    return pytest.importorskip("torch")


def _pair(x, device, torch):
    """A float64 dynet leaf and a torch leaf holding x."""
    return make(x, device, requires_grad=True), torch.tensor(x, requires_grad=True)


def _backward_both(out, tout, seed=3):
    """Backpropagates the same random cotangent through a dynet and a torch result."""
    g = sample(tuple(out.shape), seed=seed)
    out.backward(dynet.tensor(g, dtype=out.dtype, device=out.device))
    tout.backward(_torch().tensor(g, dtype=tout.dtype))


def _errors_alike(fn, tfn):
    """fn raises the exception type and message that torch's tfn raises."""
    torch = _torch()
    with pytest.raises(Exception) as theirs:
        tfn(torch)
    with pytest.raises(Exception) as ours:
        fn(dynet)
    assert str(ours.value) == str(theirs.value)
    assert isinstance(ours.value, RuntimeError) == isinstance(theirs.value, RuntimeError)
    assert isinstance(ours.value, TypeError) == isinstance(theirs.value, TypeError)


# ---------------------------------------------------------------- einsum

# equation: operand shapes
EINSUM = {
    "ij,jk->ik": [(2, 3), (3, 4)],
    "ij,jk": [(2, 3), (3, 4)],
    "bij,bjk->bik": [(2, 2, 3), (2, 3, 2)],
    "ii->i": [(3, 3)],
    "ii": [(3, 3)],
    "iij->j": [(2, 2, 3)],
    "ij->ji": [(2, 3)],
    "ij->": [(2, 3)],
    "i,j->ij": [(3,), (2,)],
    "i,i->": [(4,), (4,)],
    "i,i->i": [(4,), (1,)],
    "...ij,...jk->...ik": [(2, 1, 2, 3), (4, 3, 2)],
    "...ij->...ji": [(2, 2, 3)],
    "...ij->ij": [(2, 2, 3)],
    "i...->...": [(2, 3)],
    "bA,Ab": [(2, 3), (3, 2)],
    " i j , j k -> k i ": [(2, 3), (3, 2)],
    "ij,jk,kl->il": [(2, 3), (3, 2), (2, 2)],
    "ij,ij,ij->j": [(2, 3), (2, 3), (1, 3)],
    "iji,j->ij": [(2, 3, 2), (3,)],
    "i,j,k->": [(2,), (3,), (2,)],
    ",ij->ij": [(), (2, 3)],
    "": [()],
    "ij,j->i": [(0, 3), (3,)],
    "i,j->ij": [(0,), (2,)],
}


# bool operands, as PyTorch: a label summed within one operand counts (int64), one summed
# over two operands needs bmm, which has no Bool kernel; the rest stays bool (ANDs)
BOOL_EINSUM = [("ii->i", 1), ("ij->ji", 1), ("ij->i", 1), ("ij->", 1), ("ij,ij->ij", 2),
               ("ij,kl->ijkl", 2), ("ij,kl->i", 2), ("ij,kl->", 2), ("ij,ij,ij->ij", 3),
               ("ij,jk->ik", 2), ("ij,ij->", 2), ("ij,jk,kl->il", 3), ("ij,ij", 2)]


@pytest.mark.parametrize("eq,n", BOOL_EINSUM)
def test_einsum_of_bools_as_torch(eq, n, device):
    torch = _torch()
    values = np.array([[True, False], [True, True]])
    try:
        want = torch.einsum(eq, *[torch.tensor(values)] * n)
    except NotImplementedError as e:
        with pytest.raises(NotImplementedError, match=str(e).replace('"', '.')):
            dynet.einsum(eq, *[dynet.tensor(values, device=device)] * n)
        return
    got = dynet.einsum(eq, *[dynet.tensor(values, device=device)] * n)
    assert str(got.dtype).split(".")[1] == str(want.dtype).split(".")[1]
    assert host(got).tolist() == want.tolist()


# NumPy references where np.einsum itself differs: it broadcasts no named size-1 dims and
# sums no ellipsis dims missing from the output
NUMPY_EINSUM = {
    "i,i->i": lambda a, b: a * b,
    "...ij->ij": lambda a: a.sum(0),
    "ij,ij,ij->j": lambda a, b, c: (a * b * c).sum(0),
}


@pytest.mark.parametrize("eq", list(EINSUM))
def test_einsum_forward_matches_numpy(eq, device):
    arrays = [sample(s, seed=k) for k, s in enumerate(EINSUM[eq])]
    out = dynet.einsum(eq, *(make(a, device) for a in arrays))
    ref = NUMPY_EINSUM.get(eq, lambda *x: np.einsum(eq.replace(" ", ""), *x))(*arrays)
    assert_close(out, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("eq", [e for e in EINSUM if "0" not in str(EINSUM[e])])
def test_einsum_gradcheck(eq, device):
    arrays = [sample(s, seed=k) for k, s in enumerate(EINSUM[eq])]
    check_grad(lambda *t: dynet.einsum(eq, *t), arrays, device)


@pytest.mark.parametrize("eq", list(EINSUM))
def test_einsum_matches_torch(eq, device):
    torch = _torch()
    arrays = [sample(s, seed=k) for k, s in enumerate(EINSUM[eq])]
    pairs = [_pair(a, device, torch) for a in arrays]
    out = dynet.einsum(eq, *(p[0] for p in pairs))
    tout = torch.einsum(eq, *(p[1] for p in pairs))
    assert tuple(out.shape) == tuple(tout.shape)
    assert_close(out, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    _backward_both(out, tout)
    for t, tt in pairs:
        assert_close(t.grad, tt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_einsum_list_and_sublist_forms_and_non_contiguous(device):
    a, b = sample((2, 3), seed=1), sample((3, 4), seed=2)
    ta, tb = make(a, device), make(b, device, kind="transposed")
    assert_close(dynet.einsum("ij,jk->ik", [ta, tb]), a @ b, rtol=1e-12)
    assert_close(dynet.einsum(ta, [0, 1], tb, [1, 2], [0, 2]), a @ b, rtol=1e-12)
    assert_close(dynet.einsum(ta, [0, Ellipsis]), a.T, rtol=1e-12)
    # a one-operand einsum returns a new tensor, never the input's own buffer
    d = dynet.einsum("ij->ij", ta)
    d[0, 0] = 100.0
    assert host(ta)[0, 0] == a[0, 0]


def test_einsum_integer_operands(device):
    x = np.arange(6).reshape(2, 3)
    out = dynet.einsum("ij,kj->ik", dynet.tensor(x, device=device), dynet.tensor(x, device=device))
    assert out.dtype == dynet.int64
    np.testing.assert_array_equal(host(out), x @ x.T)


BAD_EINSUM = [
    ("ij,jk", [(3, 3), (2, 3)]), ("ij,jk->ik", [(3, 3)]), ("ij->ik", [(3, 3)]),
    ("ij->ii", [(3, 3)]), ("i1->i", [(3, 3)]), ("ijk->i", [(3, 3)]), ("ii->i", [(2, 3)]),
    ("ij->ij", [(2, 3), (2,)]), ("i.j->", [(3, 3)]), ("...i...->", [(3, 3)]),
    ("ij->i->j", [(3, 3)]), ("i...,i...", [(2, 3), (2, 4)]), ("i", [()]),
    ("ijk...->", [(2, 3)]),
]


@pytest.mark.parametrize("eq,shapes", BAD_EINSUM)
def test_einsum_errors_match_torch(eq, shapes):
    _errors_alike(lambda m: m.einsum(eq, *(m.ones(s) for s in shapes)),
                  lambda torch: torch.einsum(eq, *(torch.ones(s) for s in shapes)))


def test_einsum_errors_without_torch():
    with pytest.raises(RuntimeError, match="subscript j has size 2 for operand 1"):
        dynet.einsum("ij,jk", dynet.ones(3, 3), dynet.ones(2, 3))
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        dynet.einsum("ij,jk", dynet.ones(3, 3), dynet.ones(3, 3, dtype=dynet.float64))


# ---------------------------------------------------------------- products

def test_tensordot_forms(device):
    torch = _torch()
    a, b = sample((2, 3, 4), seed=1), sample((4, 3, 2), seed=2)
    for dims in (1, ([1, 2], [1, 0]), ([2], [0]), 0, torch.tensor([[1], [1]])):
        ta, tta = _pair(a, device, torch)
        tb, ttb = _pair(b, device, torch)
        out = dynet.tensordot(ta, tb, dims=dims if not isinstance(dims, torch.Tensor)
                              else dynet.tensor(dims.numpy()))
        tout = torch.tensordot(tta, ttb, dims=dims)
        ref = np.tensordot(a, b, axes=dims.tolist() if isinstance(dims, torch.Tensor) else
                           dims)
        assert_close(out, ref, rtol=1e-12, atol=1e-12)
        _backward_both(out, tout)
        assert_close(ta.grad, tta.grad.numpy(), rtol=1e-12, atol=1e-12)
        assert_close(tb.grad, ttb.grad.numpy(), rtol=1e-12, atol=1e-12)
    check_grad(lambda x, y: dynet.tensordot(x, y, dims=([0, 1], [2, 1])), [a, b], device)


def test_tensordot_errors():
    _errors_alike(lambda m: m.tensordot(m.ones(3, 3), m.ones(2, 3), dims=1),
                  lambda t: t.tensordot(t.ones(3, 3), t.ones(2, 3), dims=1))
    _errors_alike(lambda m: m.tensordot(m.ones(3, 3), m.ones(3, 3, dtype=m.float64)),
                  lambda t: t.tensordot(t.ones(3, 3), t.ones(3, 3, dtype=t.float64)))


PRODUCTS = {
    "outer": (lambda m, a, b: m.outer(a, b), [(3,), (2,)], lambda a, b: np.outer(a, b)),
    "ger": (lambda m, a, b: a.ger(b), [(3,), (4,)], lambda a, b: np.outer(a, b)),
    "inner": (lambda m, a, b: m.inner(a, b), [(2, 3), (4, 3)], np.inner),
    "inner_1d": (lambda m, a, b: m.inner(a, b), [(3,), (3,)], np.inner),
    "inner_0d": (lambda m, a, b: m.inner(a, b), [(), (2, 3)], np.inner),
    "kron": (lambda m, a, b: m.kron(a, b), [(2, 3), (3, 2)], np.kron),
    "kron_mixed": (lambda m, a, b: m.kron(a, b), [(2, 3), (3,)], np.kron),
    "kron_3d": (lambda m, a, b: a.kron(b), [(2, 1, 2), (2, 2)], np.kron),
    "dot": (lambda m, a, b: m.dot(a, b), [(4,), (4,)], np.dot),
    "vdot": (lambda m, a, b: a.vdot(b), [(4,), (4,)], np.vdot),
    "cross": (lambda m, a, b: m.linalg.cross(a, b), [(2, 3), (1, 3)], np.cross),
    "cross_dim0": (lambda m, a, b: m.cross(a, b, dim=0), [(3, 2), (3, 2)],
                   lambda a, b: np.cross(a, b, axis=0)),
    "addmm": (lambda m, a, b: m.addmm(a[0], a, b, beta=0.5, alpha=2.0), [(2, 3), (3, 3)],
              lambda a, b: 0.5 * a[0] + 2.0 * (a @ b)),
    "addmm_default": (lambda m, a, b: a.addmm(a, b[:, :3]), [(3, 3), (3, 4)],
                      lambda a, b: a + a @ b[:, :3]),
    "baddbmm": (lambda m, a, b: m.baddbmm(b[0, :1, :2], a, b, beta=-1.0, alpha=0.5),
                [(2, 2, 3), (2, 3, 2)], lambda a, b: -b[0, :1, :2] + 0.5 * (a @ b)),
}


@pytest.mark.parametrize("name", list(PRODUCTS))
def test_products_forward_and_gradcheck(name, device):
    fn, shapes, ref = PRODUCTS[name]
    arrays = [sample(s, seed=k + 1) for k, s in enumerate(shapes)]
    out = fn(dynet, *(make(a, device) for a in arrays))
    assert_close(out, ref(*arrays), rtol=1e-12, atol=1e-12)
    check_grad(lambda *t: fn(dynet, *t), arrays, device)


@pytest.mark.parametrize("name", list(PRODUCTS))
def test_products_match_torch_float32(name, device):
    torch = _torch()
    fn, shapes, _ = PRODUCTS[name]
    arrays = [sample(s, seed=k + 1).astype(np.float32) for k, s in enumerate(shapes)]
    ours = [make(a, device, requires_grad=True, dtype=dynet.float32) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = fn(dynet, *ours), fn(torch, *theirs)
    assert out.dtype == dynet.float32 and tuple(out.shape) == tuple(tout.shape)
    assert_close(out, tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    _backward_both(out, tout)
    for t, tt in zip(ours, theirs):
        assert_close(t.grad, tt.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_addmm_beta_zero_ignores_nan_and_inplace_forms(device):
    c = make(np.full((2, 2), np.nan), device)
    a, b = sample((2, 3), seed=1), sample((3, 2), seed=2)
    out = dynet.addmm(c, make(a, device), make(b, device), beta=0)
    assert_close(out, a @ b, rtol=1e-12)
    x = make(np.ones((2, 2)), device)
    x.addmm_(make(a, device), make(b, device), alpha=2)
    assert_close(x, 1 + 2 * (a @ b), rtol=1e-12)
    y = make(np.ones((1, 2, 2)), device)
    y.baddbmm_(make(a[None], device), make(b[None], device))
    assert_close(y, 1 + (a @ b)[None], rtol=1e-12)


def test_outer_promotes_and_cross_default_dim(device):
    out = dynet.outer(dynet.tensor([1, 2], device=device), dynet.tensor([0.5], device=device))
    assert out.dtype == dynet.float32
    assert_close(out, [[0.5], [1.0]])
    a, b = sample((3, 3), seed=1), sample((3, 3), seed=2)
    with pytest.warns(UserWarning, match="without specifying the dim"):
        out = dynet.cross(make(a, device), make(b, device))
    assert_close(out, np.cross(a, b, axis=0), rtol=1e-12)


@pytest.mark.parametrize("case", [
    ("inner", lambda m: m.inner(m.ones(3, 3), m.ones(2, 4))),
    ("outer", lambda m: m.outer(m.ones(3), m.ones(2, 2))),
    ("cross", lambda m: m.cross(m.ones(3, 3), m.ones(2, 3))),
    ("lcross", lambda m: m.linalg.cross(m.ones(2, 2), m.ones(2, 2))),
    ("lcross_dtype", lambda m: m.linalg.cross(m.ones(3, 3), m.ones(1, 3, dtype=m.float64))),
    ("dot_size", lambda m: m.dot(m.ones(3), m.ones(4))),
    ("dot_dtype", lambda m: m.dot(m.ones(3), m.ones(3, dtype=m.float64))),
    ("vdot_size", lambda m: m.vdot(m.ones(3), m.ones(4))),
    ("dot_2d", lambda m: m.dot(m.ones(3, 1), m.ones(3))),
    ("addmm_shape", lambda m: m.addmm(m.ones(4), m.ones(2, 3), m.ones(3, 3))),
    ("addmm_dtype", lambda m: m.addmm(m.ones(3, dtype=m.float64), m.ones(2, 3), m.ones(3, 3))),
    ("addmm_inner", lambda m: m.addmm(m.ones(3), m.ones(2, 3), m.ones(2, 3))),
    ("baddbmm", lambda m: m.baddbmm(m.ones(3), m.ones(2, 2, 3), m.ones(3, 3, 3))),
], ids=lambda c: c[0] if isinstance(c, tuple) else None)
def test_product_errors_match_torch(case):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _errors_alike(case[1], case[1])


# ---------------------------------------------------------------- norms

VECTOR_ORDS = [2, 1, 3, 0.5, math.inf, -math.inf, 0, -1]


@pytest.mark.parametrize("ord", VECTOR_ORDS)
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, True), ((0, 2), False), (-1, False)])
def test_vector_norm_matches_numpy_and_torch(ord, dim, keepdim, device):
    torch = _torch()
    x = sample((2, 3, 4), "away0", seed=5)
    t, tt = _pair(x, device, torch)
    out = dynet.linalg.vector_norm(t, ord=ord, dim=dim, keepdim=keepdim)
    tout = torch.linalg.vector_norm(tt, ord=ord, dim=dim, keepdim=keepdim)
    axes = tuple(range(3)) if dim is None else dim if isinstance(dim, tuple) else (dim,)
    a = np.abs(x)
    ref = (a.max(axes, keepdims=keepdim) if ord == math.inf else
           a.min(axes, keepdims=keepdim) if ord == -math.inf else
           (a != 0).sum(axes, keepdims=keepdim).astype(float) if ord == 0 else
           (a ** ord).sum(axes, keepdims=keepdim) ** (1 / ord))
    assert_close(out, ref, rtol=1e-12)
    assert_close(out, tout.detach().numpy(), rtol=1e-12)
    _backward_both(out, tout)
    # PyTorch leaves the (zero) gradient of the 0-"norm" undefined
    assert_close(t.grad, np.zeros_like(x) if tt.grad is None else tt.grad.numpy(), rtol=1e-10,
                 atol=1e-12)


@pytest.mark.parametrize("ord", [2, 1, 3, math.inf])
def test_vector_norm_gradcheck(ord, device):
    x = sample((3, 4), "away0", seed=2)
    check_grad(lambda t: dynet.linalg.vector_norm(t, ord, dim=1), [x], device)


def test_vector_norm_dtype_zero_and_0d(device):
    x = make(np.array([3.0, 4.0]), device, dtype=dynet.float32)
    out = dynet.linalg.vector_norm(x, dtype=dynet.float64)
    assert out.dtype == dynet.float64 and host(out) == 5.0
    z = make(np.zeros(3), device, requires_grad=True)
    dynet.linalg.vector_norm(z).backward()
    assert_close(z.grad, np.zeros(3))
    s = make(np.array(-2.0), device)
    assert_close(dynet.linalg.norm(s), 2.0)


MATRIX_ORDS = ["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf]


@pytest.mark.parametrize("ord", MATRIX_ORDS)
def test_matrix_norm_matches_numpy_and_torch(ord, device):
    torch = _torch()
    x = sample((2, 3, 4), seed=6)
    ref = np.stack([np.linalg.norm(m, ord) for m in x])
    t, tt = _pair(x, device, torch)
    out = dynet.linalg.matrix_norm(t, ord=ord)
    tout = torch.linalg.matrix_norm(tt, ord=ord)
    assert_close(out, ref, rtol=1e-12)
    _backward_both(out, tout)
    assert_close(t.grad, tt.grad.numpy(), rtol=1e-9, atol=1e-12)
    kept = dynet.linalg.matrix_norm(make(x, device), ord=ord, dim=(2, 0), keepdim=True)
    tkept = torch.linalg.matrix_norm(torch.tensor(x), ord=ord, dim=(2, 0), keepdim=True)
    assert_close(kept, tkept.numpy(), rtol=1e-12)


@pytest.mark.parametrize("ord", ["fro", "nuc", 2, 1, -math.inf])
def test_matrix_norm_gradcheck(ord, device):
    x = sample((3, 4), seed=8)
    check_grad(lambda t: dynet.linalg.matrix_norm(t, ord), [x], device)


@pytest.mark.parametrize("args", [
    dict(ord=None), dict(ord=2), dict(ord="fro"), dict(ord=1, dim=0), dict(ord=None, dim=(0, 1)),
    dict(ord=math.inf, dim=(1, 0)), dict(ord=-2), dict(ord=None, dim=1, keepdim=True),
])
@pytest.mark.parametrize("shape", [(4,), (3, 4)])
def test_linalg_norm_dispatch_matches_torch(args, shape, device):
    torch = _torch()
    if len(shape) == 1 and (args.get("ord") in ("fro", -2) or isinstance(args.get("dim"), tuple)
                            or args.get("dim") == 1):
        return
    x = sample(shape, seed=4)
    out = dynet.linalg.norm(make(x, device), **args)
    tout = torch.linalg.norm(torch.tensor(x), **args)
    assert_close(out, tout.numpy(), rtol=1e-12)


@pytest.mark.parametrize("case", [
    lambda m: m.linalg.vector_norm(m.ones(3, dtype=m.int64)),
    lambda m: m.linalg.matrix_norm(m.ones(3)),
    lambda m: m.linalg.matrix_norm(m.ones(3, 3), ord=3),
    lambda m: m.linalg.norm(m.ones(2, 2, 2), ord=2),
    lambda m: m.linalg.norm(m.ones(2, 2, 2), ord="fro", dim=0),
    lambda m: m.linalg.vector_norm(m.ones(3, 3), ord="fro"),
    lambda m: m.linalg.vector_norm(m.zeros(0, 3), ord=math.inf),
    lambda m: m.linalg.vector_norm(m.zeros(0, 3), ord=-math.inf, dim=0),
])
def test_norm_errors_match_torch(case):
    _errors_alike(case, case)


def test_vector_norm_of_empty():
    out = dynet.linalg.vector_norm(dynet.zeros(0, 3), ord=math.inf, dim=1)
    assert tuple(out.shape) == (0,)
    assert host(dynet.linalg.vector_norm(dynet.zeros(0, 3))) == 0.0


# ---------------------------------------------------------------- inverses and solves

def _well_conditioned(shape, seed=0):
    a = sample(shape, seed=seed)
    return a + 3.0 * np.eye(shape[-1])


def _spd(shape, seed=0):
    a = sample(shape, seed=seed)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3), (1, 1), (0, 0), (2, 0, 0)])
def test_inv_and_det_forward(shape, device):
    a = _well_conditioned(shape, seed=1)
    t = make(a, device)
    assert_close(dynet.linalg.inv(t), np.linalg.inv(a), rtol=1e-10, atol=1e-12)
    assert_close(dynet.linalg.det(t), np.linalg.det(a), rtol=1e-10)
    assert_close(t.inverse(), np.linalg.inv(a), rtol=1e-10, atol=1e-12)
    assert_close(dynet.det(t), np.linalg.det(a), rtol=1e-10)


def test_inv_det_gradcheck(device):
    a = _well_conditioned((2, 3, 3), seed=2)
    check_grad(dynet.linalg.inv, [a], device)
    check_grad(dynet.linalg.det, [a], device)
    check_grad(dynet.linalg.inv, [a[0]], device, kinds=["transposed"])


def _cofactors(a):
    """The cofactor matrix from its minors (the gradient of det, singular or not)."""
    n = a.shape[-1]
    c = np.empty_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, 0), j, 1)
            c[i, j] = (-1) ** (i + j) * np.linalg.det(minor)
    return c


def test_det_gradient_of_singular_matrices(device):
    # rank 2 (the cofactor matrix is nonzero) and rank 1 (it is zero): A^-T would be inf;
    # PyTorch gives 0 for the first (not the cofactors)
    rank2 = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    rank1 = np.outer([1.0, 2.0, 3.0], [1.0, -1.0, 2.0])
    for a in (rank2, rank1, _well_conditioned((3, 3), seed=4)):
        t = make(a, device, requires_grad=True)
        dynet.linalg.det(t).backward()
        assert_close(t.grad, _cofactors(a), rtol=1e-9, atol=1e-12)


def test_det_gradient_matches_torch(device):
    torch = _torch()
    a = _well_conditioned((2, 3, 3), seed=5)
    t, tt = _pair(a, device, torch)
    _backward_both(dynet.linalg.det(t), torch.linalg.det(tt))
    assert_close(t.grad, tt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("a_shape,b_shape,left", [
    ((3, 3), (3,), True), ((3, 3), (3, 2), True), ((2, 3, 3), (3, 2), True),
    ((2, 3, 3), (2, 3), True), ((3, 3), (2, 1, 3, 2), True), ((3, 3), (2, 3), False),
    ((2, 3, 3), (2, 4, 3), False), ((0, 0), (0, 2), True),
])
def test_solve_matches_numpy_torch_and_gradcheck(a_shape, b_shape, left, device):
    torch = _torch()
    a = _well_conditioned(a_shape, seed=3)
    b = sample(b_shape, seed=4)
    ta, tta = _pair(a, device, torch)
    tb, ttb = _pair(b, device, torch)
    out = dynet.linalg.solve(ta, tb, left=left)
    tout = torch.linalg.solve(tta, ttb, left=left)
    assert tuple(out.shape) == tuple(tout.shape)
    assert_close(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    if out.numel():
        _backward_both(out, tout)
        assert_close(ta.grad, tta.grad.numpy(), rtol=1e-9, atol=1e-12)
        assert_close(tb.grad, ttb.grad.numpy(), rtol=1e-9, atol=1e-12)
        check_grad(lambda x, y: dynet.linalg.solve(x, y, left=left), [a, b], device)


def test_solve_reference_without_torch(device):
    a, b = _well_conditioned((3, 3), seed=1), sample((3, 2), seed=2)
    assert_close(dynet.linalg.solve(make(a, device), make(b, device)), np.linalg.solve(a, b),
                 rtol=1e-10)


@pytest.mark.parametrize("case", [
    lambda m: m.linalg.inv(m.ones(2, 3)),
    lambda m: m.linalg.inv(m.ones(3)),
    lambda m: m.linalg.inv(m.ones(3, 3, dtype=m.int64)),
    lambda m: m.linalg.inv(m.ones(3, 3, dtype=m.float16)),
    lambda m: m.linalg.det(m.ones(2, 3)),
    lambda m: m.linalg.solve(m.eye(3), m.ones(4)),
    lambda m: m.linalg.solve(m.eye(3), m.ones(3), left=False),
    lambda m: m.linalg.solve(m.eye(3), m.ones(3, 2), left=False),
    lambda m: m.linalg.solve(m.eye(3), m.ones(3, dtype=m.float64)),
    lambda m: m.linalg.solve(m.zeros(3, 3), m.ones(3)),
    lambda m: m.linalg.cholesky(-m.eye(3)),
    lambda m: m.linalg.cholesky(m.ones(2, 3)),
    lambda m: m.linalg.qr(m.ones(3, 3), mode="x"),
    lambda m: m.linalg.eigh(m.ones(2, 3)),
    lambda m: m.linalg.eigh(m.eye(2), UPLO="X"),
])
def test_linalg_errors_match_torch(case):
    _errors_alike(case, case)


def test_singular_inverse_raises_linalg_error(device):
    with pytest.raises(dynet.linalg.LinAlgError, match="singular"):
        dynet.linalg.inv(dynet.zeros(3, 3, device=device))
    assert issubclass(dynet.linalg.LinAlgError, RuntimeError)
    with pytest.raises(dynet.linalg.LinAlgError, match=r"\(Batch element 1\).*order 2"):
        dynet.linalg.cholesky(dynet.tensor([[[1.0, 0], [0, 1]], [[1.0, 2], [2, 1]]],
                                           device=device))


# ---------------------------------------------------------------- decompositions

@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (1, 1), (0, 0)])
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(shape, upper, device):
    a = _spd(shape, seed=5)
    out = dynet.linalg.cholesky(make(a, device), upper=upper)
    ref = np.linalg.cholesky(a)
    assert_close(out, np.swapaxes(ref, -1, -2) if upper else ref, rtol=1e-10, atol=1e-12)
    if a.size:
        # through A's symmetric part: only the lower triangle is read
        check_grad(lambda x: dynet.linalg.cholesky(x @ x.mT + 4 * dynet.eye(
            shape[-1], dtype=dynet.float64, device=device), upper=upper), [sample(shape, seed=6)],
            device)
        assert_close(dynet.cholesky(make(a, device), upper), host(out))


def test_cholesky_gradient_matches_torch(device):
    torch = _torch()
    a = _spd((2, 3, 3), seed=7)
    t, tt = _pair(a, device, torch)
    out, tout = dynet.linalg.cholesky(t), torch.linalg.cholesky(tt)
    _backward_both(out, tout)
    assert_close(t.grad, tt.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3), (1, 1), (0, 0)])
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_forward(shape, uplo, device):
    a = sample(shape, seed=8)
    w, v = dynet.linalg.eigh(make(a, device), UPLO=uplo)
    rw, rv = np.linalg.eigh(a, UPLO=uplo)
    assert_close(w, rw, rtol=1e-10, atol=1e-12)
    # eigenvectors are unique up to sign: compare V diag(w) V^T with the matrix eigh read
    sym = np.tril(a) + np.swapaxes(np.tril(a, -1), -1, -2) if uplo == "L" else \
        np.triu(a) + np.swapaxes(np.triu(a, 1), -1, -2)
    vv = host(v)
    assert_close((vv * host(w)[..., None, :]) @ np.swapaxes(vv, -1, -2), sym, rtol=1e-9,
                 atol=1e-10)
    assert_close(dynet.linalg.eigvalsh(make(a, device), uplo), rw, rtol=1e-10, atol=1e-12)


def _sign_free(v):
    """A function of eigen/singular vectors that does not depend on their signs."""
    return (v * v * dynet.arange(v.shape[-1], dtype=v.dtype, device=v.device)).sum()


def test_eigh_gradients(device):
    torch = _torch()

    def sym(x):
        return (x + x.mT) * 0.5

    a = sample((2, 3, 3), seed=9)
    check_grad(lambda x: dynet.linalg.eigh(sym(x))[0], [a], device)
    check_grad(lambda x: _sign_free(dynet.linalg.eigh(sym(x))[1]), [a], device)
    check_grad(lambda x: dynet.linalg.eigvalsh(sym(x)), [a], device)
    s = a + np.swapaxes(a, -1, -2)
    t, tt = _pair(s, device, torch)
    w, v = dynet.linalg.eigh(t)
    tw, tv = torch.linalg.eigh(tt)
    (w.sum() * 0.3 + _sign_free(v)).backward()
    (tw.sum() * 0.3 + (tv * tv * torch.arange(3.0, dtype=torch.float64)).sum()).backward()
    assert_close(t.grad, tt.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_eigvalsh_gradient_with_repeated_eigenvalues_is_finite(device):
    t = make(np.eye(3), device, requires_grad=True)
    dynet.linalg.eigvalsh(t).sum().backward()
    assert_close(t.grad, np.eye(3), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 3, 3), (1, 2), (0, 3), (3, 0)])
@pytest.mark.parametrize("full", [False, True])
def test_svd_forward(shape, full, device):
    a = sample(shape, seed=10)
    u, s, vh = dynet.linalg.svd(make(a, device), full_matrices=full)
    ru, rs, rvh = np.linalg.svd(a, full_matrices=full) if a.size else \
        (None, np.zeros(shape[:-2] + (min(shape[-2:]),)), None)
    assert_close(s, rs, rtol=1e-10, atol=1e-12)
    k = min(shape[-2:])
    m, n = shape[-2:]
    assert tuple(u.shape) == shape[:-2] + ((m, m) if full else (m, k))
    assert tuple(vh.shape) == shape[:-2] + ((n, n) if full else (k, n))
    uu, vv = host(u), host(vh)
    assert_close((uu[..., :, :k] * host(s)[..., None, :]) @ vv[..., :k, :], a, rtol=1e-9,
                 atol=1e-10)
    eye = np.broadcast_to(np.eye(uu.shape[-1]), uu.shape[:-2] + (uu.shape[-1],) * 2)
    assert_close(np.swapaxes(uu, -1, -2) @ uu, eye, atol=1e-10)
    assert_close(dynet.linalg.svdvals(make(a, device)), rs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 3, 3)])
def test_svd_gradients(shape, device):
    torch = _torch()
    a = sample(shape, seed=11)
    check_grad(dynet.linalg.svdvals, [a], device)
    check_grad(lambda x: _sign_free(dynet.linalg.svd(x, full_matrices=False).U), [a], device)
    check_grad(lambda x: _sign_free(dynet.linalg.svd(x, full_matrices=False).Vh.mT), [a],
               device)
    for full in (False, True):
        t, tt = _pair(a, device, torch)
        u, s, vh = dynet.linalg.svd(t, full_matrices=full)
        tu, ts, tvh = torch.linalg.svd(tt, full_matrices=full)
        k = min(shape[-2:])
        w = torch.arange(float(k), dtype=torch.float64)
        (s.sum() + _sign_free(u[..., :k]) + _sign_free(vh[..., :k, :].mT)).backward()
        (ts.sum() + (tu[..., :k] ** 2 * w).sum() + (tvh[..., :k, :].mT ** 2 * w).sum()
         ).backward()
        assert_close(t.grad, tt.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_svdvals_gradient_with_repeated_singular_values_is_finite(device):
    t = make(np.eye(3) * 2.0, device, requires_grad=True)
    dynet.linalg.svdvals(t).sum().backward()
    assert_close(t.grad, np.eye(3), rtol=1e-12, atol=1e-12)


def test_legacy_svd_gives_v(device):
    a = sample((4, 3), seed=12)
    u, s, v = dynet.svd(make(a, device))
    assert tuple(v.shape) == (3, 3)
    assert_close((host(u) * host(s)) @ host(v).T, a, rtol=1e-9, atol=1e-10)
    u2, s2, v2 = make(a, device).svd(some=False)
    assert tuple(u2.shape) == (4, 4)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3), (2, 4, 2), (0, 3)])
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_qr_forward(shape, mode, device):
    a = sample(shape, seed=13)
    q, r = dynet.linalg.qr(make(a, device), mode=mode)
    m, n = shape[-2:]
    k = m if mode == "complete" else min(m, n)
    assert tuple(r.shape) == shape[:-2] + (k, n)
    rr = host(r)
    assert_close(np.triu(rr), rr)
    if mode == "r":
        assert tuple(q.shape) == (0,)
        assert_close(np.abs(rr), np.abs(np.linalg.qr(a, mode="r")), rtol=1e-10, atol=1e-12)
        return
    qq = host(q)
    assert tuple(qq.shape) == shape[:-2] + (m, k)
    assert_close(qq @ rr, a, rtol=1e-9, atol=1e-10)
    assert_close(np.swapaxes(qq, -1, -2) @ qq, np.broadcast_to(np.eye(k), qq.shape[:-2] + (k, k)),
                 atol=1e-10)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3), (2, 4, 2)])
def test_qr_gradients(shape, device):
    torch = _torch()
    a = sample(shape, seed=14)
    check_grad(lambda x: dynet.linalg.qr(x), [a], device)
    t, tt = _pair(a, device, torch)
    q, r = dynet.linalg.qr(t)
    tq, tr = torch.linalg.qr(tt)
    (q * 0.7).sum().backward(retain_graph=True)
    r.sum().backward()
    ((tq * 0.7).sum() + tr.sum()).backward()
    assert_close(t.grad, tt.grad.numpy(), rtol=1e-8, atol=1e-10)
    q, r = make(a, device).qr()
    assert_close(host(q) @ host(r), a, rtol=1e-9, atol=1e-10)


def test_qr_backward_errors(device):
    t = make(sample((3, 2)), device, requires_grad=True)
    with pytest.raises(RuntimeError, match="mode='r'"):
        dynet.linalg.qr(t, mode="r").R.sum().backward()
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        dynet.linalg.qr(t, mode="complete").Q.sum().backward()


def test_linalg_module_mirrors_torch_linalg():
    torch = _torch()
    for name in dynet.linalg.__all__:
        assert hasattr(torch.linalg, name), name
    for name in ("einsum", "tensordot", "outer", "ger", "inner", "kron", "addmm", "baddbmm",
                 "cross", "dot", "vdot", "det", "inverse", "svd", "qr", "cholesky"):
        assert hasattr(dynet, name), name
    for name in ("outer", "inner", "kron", "addmm", "baddbmm", "cross", "dot", "vdot", "det",
                 "inverse", "svd", "qr", "cholesky", "addmm_", "baddbmm_", "ger"):
        assert hasattr(dynet.Tensor, name), name


def test_keyword_names(device):
    a = make(sample((2, 3)), device)
    b = make(sample((3, 2), seed=1), device)
    assert tuple(dynet.addmm(input=a[:, :2], mat1=a, mat2=b).shape) == (2, 2)
    assert tuple(dynet.linalg.vector_norm(x=a, ord=1, dim=0, keepdim=True).shape) == (1, 3)
    assert tuple(dynet.linalg.solve(A=a @ b + 3 * dynet.eye(2, dtype=a.dtype, device=device),
                                    B=a[:, 0]).shape) == (2,)


def test_torch_norm_nuclear(device):
    x = sample((3, 4), seed=15)
    assert_close(dynet.norm(make(x, device), p="nuc"), np.linalg.norm(x, "nuc"), rtol=1e-12)
    assert_close(make(x, device).norm("nuc"), np.linalg.norm(x, "nuc"), rtol=1e-12)


@pytest.mark.parametrize("ord", [0.5, -1.0, 3.0])
def test_vector_norm_gradient_at_zero_entries_matches_torch(ord, device):
    torch = _torch()
    x = np.array([[0.0, 1.5, -2.0], [0.5, 0.0, 1.0]])
    t, tt = _pair(x, device, torch)
    with np.errstate(all="raise"):
        dynet.linalg.vector_norm(t, ord, dim=1).sum().backward()
    torch.linalg.vector_norm(tt, ord, dim=1).sum().backward()
    assert_close(t.grad, tt.grad.numpy(), rtol=1e-12)


def test_keyword_names_match_torch():
    torch = _torch()
    v = np.ones(3)
    calls = [
        lambda M, x, y: M.dot(input=x, tensor=y), lambda M, x, y: M.vdot(input=x, other=y),
        lambda M, x, y: M.det(input=M.eye(2) * 2), lambda M, x, y: M.linalg.inv(A=M.eye(2)),
        lambda M, x, y: M.linalg.cholesky(input=M.eye(2)),
        lambda M, x, y: M.linalg.eigh(input=M.eye(2)).eigenvalues,
        lambda M, x, y: M.linalg.eigvalsh(input=M.eye(2)),
        lambda M, x, y: M.linalg.matrix_norm(input=M.eye(2)),
        lambda M, x, y: M.linalg.norm(input=M.eye(2)), lambda M, x, y: M.linalg.svd(A=M.eye(2)).S,
        lambda M, x, y: M.linalg.qr(A=M.eye(2)).R, lambda M, x, y: M.linalg.vecdot(x=x, y=y),
        lambda M, x, y: M.linalg.solve(A=M.eye(3), B=y), lambda M, x, y: M.outer(input=x, vec2=y),
        lambda M, x, y: M.linalg.cross(input=x, other=y, dim=0),
        lambda M, x, y: M.tensordot(a=x, b=y, dims=1),
    ]
    for call in calls:
        ours = call(dynet, dynet.tensor(v, dtype=dynet.float32),
                    dynet.tensor(v * 2, dtype=dynet.float32))
        theirs = call(torch, torch.tensor(v, dtype=torch.float32),
                      torch.tensor(v * 2, dtype=torch.float32))
        assert_close(ours, theirs.numpy(), rtol=1e-6)
