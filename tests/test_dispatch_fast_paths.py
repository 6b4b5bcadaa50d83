"""The per-op fast paths of issue 13 (bench/NOTES.md, "Dispatch"): each gives what the
general path gives, and recording still saves what backward needs."""
import numpy as np
import pytest

import dynet
from dynet.backend import parallel
from core_utils import assert_close, host, make, sample

try:
    import torch
except ImportError:  # pragma: no cover - torch is installed in CI
    torch = None

_DTYPES = {"float16": (dynet.float16, np.float16), "float32": (dynet.float32, np.float32),
           "float64": (dynet.float64, np.float64)}


@pytest.mark.parametrize("dtype", list(_DTYPES))
@pytest.mark.parametrize("shape, kind", [((), "contiguous"), ((7,), "contiguous"),
                                         ((0, 3), "contiguous"), ((5, 4), "transposed"),
                                         ((3, 4), "strided")])
def test_full_sum_matches_numpy_torch_and_backward(dtype, shape, kind, device):
    dt, np_dt = _DTYPES[dtype]
    x = sample(shape, seed=3).astype(np_dt)
    t = make(x, device, requires_grad=True, dtype=dt, kind=kind)
    s = t.sum()
    assert s.shape == () and s.dtype == dt
    assert_close(s, x.astype(np.float64).sum(), rtol=1e-2 if dtype == "float16" else 1e-6)
    if torch is not None:
        ref = torch.tensor(x).sum()
        assert str(ref.dtype).split(".")[1] == dtype
        assert_close(s, ref.double().numpy(), rtol=1e-3 if dtype == "float16" else 1e-6)
    s.backward()
    assert t.grad.dtype == dt
    np.testing.assert_array_equal(host(t.grad), np.ones(shape, np_dt))


def test_full_sum_of_integers_and_bools_is_int64(device):
    for values, total in (([1, 2, 3], 6), ([True, False, True], 2)):
        s = dynet.tensor(values, device=device).sum()
        assert s.dtype == dynet.int64 and s.shape == () and s.item() == total


@pytest.mark.parametrize("sa, sb", [((4, 4), (4, 4)), ((3,), (3, 5)), ((2, 3, 4), (4,)),
                                    ((20, 20), (20,)), ((2, 1, 3, 4), (5, 4, 2))])
def test_small_products_skip_blas_thread_control(sa, sb, monkeypatch):
    """A product OpenBLAS never threads is a plain a @ b, even just after a region."""
    prev = dynet.get_num_threads()
    dynet.set_num_threads(2)
    monkeypatch.setattr(parallel, "REGION_WINDOW", float("inf"))
    touched = []
    real = parallel._blas_control
    monkeypatch.setattr(parallel, "_blas_control", lambda: touched.append(1) or real())
    try:
        rng = np.random.default_rng(0)
        a, b = rng.standard_normal(sa), rng.standard_normal(sb)
        np.testing.assert_array_equal(parallel.matmul(a, b), a @ b)
        if a.ndim == 2 == b.ndim:  # ndarray.dot for two matrices: strided ones too
            np.testing.assert_array_equal(parallel.matmul(b.T, a.T), b.T @ a.T)
            np.testing.assert_array_equal(parallel.matmul(a[::-1], b[:, ::2]),
                                          a[::-1] @ b[:, ::2])
        assert not touched
        big_a, big_b = rng.standard_normal((96, 96)), rng.standard_normal((96, 2))
        np.testing.assert_allclose(parallel.matmul(big_a, big_b), big_a @ big_b, rtol=1e-12)
        assert touched  # 96 * 96 * 2 multiply-adds: thread control again
    finally:
        dynet.set_num_threads(prev)


_BINARY = {"mul": lambda a, b: a * b, "div": lambda a, b: a / b,
           "matmul": lambda a, b: a @ b}


@pytest.mark.parametrize("name", list(_BINARY))
def test_recorded_binary_ops_still_save_and_check_versions(name, device):
    fn = _BINARY[name]
    x = sample((3, 3), "pos", seed=5)
    a, b = make(x, device, requires_grad=True), make(x + 1, device)
    with dynet.no_grad():
        assert fn(a, b).grad_fn is None  # unrecorded: nothing saved, nothing recorded
    fn(a, b).sum().backward()  # recorded: the gradient needs b
    ref = {"mul": x + 1, "div": 1 / (x + 1), "matmul": np.ones((3, 3)) @ (x + 1).T}[name]
    assert_close(a.grad, ref, rtol=1e-12)
    out = fn(a, b)
    b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_recorded_relu_saves_its_output(device):
    x = sample((4,), seed=6)
    a = make(x, device, requires_grad=True)
    with dynet.no_grad():
        assert dynet.relu(a).grad_fn is None
    dynet.relu(a).sum().backward()
    np.testing.assert_array_equal(host(a.grad), (x > 0).astype(np.float64))
    out = dynet.relu(a)
    out.add_(1)
    with pytest.raises(RuntimeError, match="output 0 of Relu"):
        out.sum().backward()


_OPERANDS = {
    "f32": lambda fw: fw.tensor([1.5, -2.0, 3.0]),
    "f64": lambda fw: fw.tensor([0.5, 2.0, -1.0], dtype=fw.float64),
    "f16": lambda fw: fw.tensor([1.0, 2.0, 4.0], dtype=fw.float16),
    "i64": lambda fw: fw.tensor([3, -4, 5]),
    "i32": lambda fw: fw.tensor([2, 7, -1], dtype=fw.int32),
    "bool": lambda fw: fw.tensor([True, False, True]),
    "f64_0d": lambda fw: fw.tensor(2.5, dtype=fw.float64),
    "float": lambda fw: 1.25,
    "int": lambda fw: 3,
    "true": lambda fw: True,
    "np_f64": lambda fw: np.float64(0.75),
}
_TENSORS = [k for k in _OPERANDS if k not in ("float", "int", "true", "np_f64")]
_OPS = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b}


@pytest.mark.skipif(torch is None, reason="needs torch")
@pytest.mark.parametrize("op", list(_OPS))
@pytest.mark.parametrize("left", _TENSORS)
@pytest.mark.parametrize("right", list(_OPERANDS))
def test_operators_promote_as_torch(op, left, right):
    """Tensor operators (their fast path and the general one) give torch's dtype and values."""
    fn = _OPS[op]
    try:
        ref = fn(_OPERANDS[left](torch), _OPERANDS[right](torch))
    except RuntimeError as e:  # bool - bool: torch refuses, and so must dynet
        with pytest.raises(RuntimeError):
            fn(_OPERANDS[left](dynet), _OPERANDS[right](dynet))
        assert "Subtraction" in str(e)
        return
    got = fn(_OPERANDS[left](dynet), _OPERANDS[right](dynet))
    assert str(got.dtype) == str(ref.dtype).replace("torch", "dynet")
    np.testing.assert_allclose(got.numpy().astype(np.float64), ref.double().numpy(),
                               rtol=1e-3)


def test_operator_shape_errors_name_the_op():
    for fn, name in ((lambda a, b: a + b, "add"), (lambda a, b: a * b, "mul"),
                     (lambda a, b: a - b, "sub"), (lambda a, b: a / b, "div")):
        with pytest.raises(RuntimeError, match=rf"{name}: the size of tensor a \(2,\)"):
            fn(dynet.ones(2), dynet.ones(3))


# ---------------------------------------------------------------- issue 13, third pass

def _fast_path_graph(fw, x, w):
    """Operators, matmul, sum, relu and x[i] (the apply1/apply2 paths) on a graph with a
    shared node, a long and a short path to it, a view and a scalar operand."""
    h = fw.relu(x @ w)          # shared by both branches
    long = h
    for _ in range(5):
        long = long * 0.9 + h
    short = h[1] * 2.0          # a view of h, then a scalar operand
    return long.sum() + short.sum() - (h / 3.0).sum()


@pytest.mark.skipif(torch is None, reason="needs torch")
def test_fast_paths_and_ready_order_match_torch():
    x0, w0 = sample((3, 4), seed=1), sample((4, 5), seed=2)
    grads, hooked = {}, {}
    for fw in (dynet, torch):
        x = fw.tensor(x0, requires_grad=True)
        w = fw.tensor(w0, requires_grad=True)
        h_seen = []
        out = _fast_path_graph(fw, x, w)
        out.backward()
        x2 = fw.tensor(x0, requires_grad=True)
        h = fw.relu(x2 @ fw.tensor(w0))
        h.retain_grad()
        h.register_hook(lambda g: h_seen.append(g.detach().clone()))
        (h * h + h[0]).sum().backward()
        grads[fw.__name__] = (x.grad.numpy(), w.grad.numpy(), h.grad.numpy(), x2.grad.numpy())
        hooked[fw.__name__] = [g.numpy() for g in h_seen]
    for got, ref in zip(grads["dynet"], grads["torch"]):
        np.testing.assert_allclose(got, ref, rtol=1e-12)
    assert len(hooked["dynet"]) == 1  # the hook sees the whole gradient, once
    np.testing.assert_allclose(hooked["dynet"][0], hooked["torch"][0], rtol=1e-12)


def test_fast_paths_keep_view_and_version_semantics():
    base = dynet.zeros(3, 2, requires_grad=True) + 0  # not a leaf: in-place allowed
    row = base[1]
    assert row._base is base and row._version == base._version
    y = row * 2.0
    row.mul_(3.0)  # bumps the base's version counter through the view
    assert base._version == row._version == 1
    # a saved input changed in place is caught before backward uses it
    a = dynet.ones(3, requires_grad=True) + 0
    b = a * a
    a.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()
    # the view regenerates its history from the base modified in place (sync_view)
    assert y.grad_fn is not None and row.grad_fn.name() != y.grad_fn.name()
    with dynet.no_grad():
        z = base[0] + 1.0
    assert not z.requires_grad and z.grad_fn is None


def test_fast_paths_reject_non_tensors_as_before():
    with pytest.raises((TypeError, AttributeError)):
        dynet.relu([1.0, -1.0])
    t = dynet.ones(2)
    assert (t + True).dtype == dynet.float32


def test_backward_twice_raises_and_nodes_have_sequence_numbers():
    x = dynet.ones(2, requires_grad=True)
    y = x * 2.0
    z = y + 1.0
    assert y.grad_fn._seq < z.grad_fn._seq
    z.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        (y * 3.0).sum().backward()
