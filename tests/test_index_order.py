"""Integer indices mixed with index arrays: PyTorch applies the integers first (as select),
then NumPy's rule, so x[1, :, d] keeps d's dimensions in place (issue 12, item 7)."""
import numpy as np
import pytest

import dynet
from dynet.autograd import gradcheck
from tests.conftest import to_numpy

SHAPE = (2, 3, 12, 5, 4)
D = [[0, 1], [1, 1], [0, 0]]
M = [True, False, True, True]

# (a key written with `d` (index tensor), `m` (bool tensor), `z` (0-d index tensor); the same
# key in NumPy with the integers applied first, as PyTorch does: x[pre][rest])
CASES = [
    ("1, :, 3:11:2, d, 0:2", lambda x, d, m: x[1][:, 3:11:2, d, 0:2]),
    (":, 1, :, d", lambda x, d, m: x[:, 1][:, :, d]),
    ("0, :, 0, d", lambda x, d, m: x[0, :, 0][:, d]),
    ("-1, :, d", lambda x, d, m: x[-1][:, d]),
    ("z, :, d", lambda x, d, m: x[1][:, d]),
    (":, d, :, 1, 0", lambda x, d, m: x[:, :, :, 1, 0][:, d]),
    (":, d, ..., 1", lambda x, d, m: x[..., 1][:, d]),
    ("None, 1, :, d", lambda x, d, m: x[None, 1][:, :, d]),
    ("1, :, d, :, 1", lambda x, d, m: x[1, :, :, :, 1][:, d]),
    (":, :, d, 1, d", lambda x, d, m: x[:, :, :, 1][:, :, d, d]),
    ("1, :, :, :, m", lambda x, d, m: x[1][:, :, :, m]),
    ("1, :, True, d", lambda x, d, m: x[1][:, None][:, [0], d]),
    # no integer apart from the arrays: NumPy's rule is PyTorch's
    (":, d, :, d", lambda x, d, m: x[:, d, :, d]),
    ("1, d", lambda x, d, m: x[1][d]),
    (":, d, 1", lambda x, d, m: x[:, :, 1][:, d]),
]


def _key(text, d, m, z):
    return eval(f"(lambda x: x[{text}])", {"d": d, "m": m, "z": z})  # noqa: S307


def _args(lib, device=None):
    kw = {"device": device} if device else {}
    return lib.tensor(D, **kw), lib.tensor(M, **kw), lib.tensor(1, **kw)


@pytest.mark.parametrize("text,ref", CASES, ids=[c[0] for c in CASES])
def test_getitem_places_dims_as_torch(text, ref, device, rng):
    data = rng.standard_normal(SHAPE)
    x = dynet.tensor(data, dtype=dynet.float64, device=device, requires_grad=True)
    pick = _key(text, *_args(dynet, device))
    out = pick(x)
    expected = ref(data, np.array(D), np.array(M))
    assert tuple(out.shape) == expected.shape
    np.testing.assert_array_equal(to_numpy(out), expected)
    g = rng.standard_normal(expected.shape)
    out.backward(dynet.tensor(g, device=device))
    np.testing.assert_allclose(to_numpy(x.grad), _scatter_reference(ref, g))
    torch = pytest.importorskip("torch")
    tx = torch.tensor(data, requires_grad=True)
    tout = _key(text, *_args(torch))(tx)
    assert tuple(tout.shape) == expected.shape
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(to_numpy(x.grad), tx.grad.numpy())


def _scatter_reference(ref, g):
    """The gradient of x -> ref(x) at g, by the flat positions ref picks (repeats add)."""
    flat = np.arange(np.prod(SHAPE)).reshape(SHAPE)
    picked = ref(flat, np.array(D), np.array(M))
    out = np.zeros(np.prod(SHAPE))
    np.add.at(out, picked.reshape(-1), g.reshape(-1))
    return out.reshape(SHAPE)


@pytest.mark.parametrize("text,ref", CASES[:6], ids=[c[0] for c in CASES[:6]])
def test_setitem_writes_where_torch_does(text, ref, device, rng):
    data = rng.standard_normal(SHAPE)
    shape = ref(data, np.array(D), np.array(M)).shape
    value = rng.standard_normal(shape[-1:])  # broadcast over the indexed result
    want = data.copy()
    flat = np.arange(data.size).reshape(SHAPE)
    positions = ref(flat, np.array(D), np.array(M))
    want.reshape(-1)[positions.reshape(-1)] = np.broadcast_to(value, shape).reshape(-1)
    d, m, z = _args(dynet, device)
    x = dynet.tensor(data, device=device)
    exec(f"x[{text}] = v", {"x": x, "d": d, "m": m, "z": z,  # noqa: S102
                            "v": dynet.tensor(value, device=device)})
    np.testing.assert_array_equal(to_numpy(x), want)
    # recorded: the value's gradient sums over the broadcast, the base's is 0 where written
    base = dynet.tensor(data, device=device, requires_grad=True)
    v = dynet.tensor(value, device=device, requires_grad=True)
    y = base * 1
    exec(f"y[{text}] = v", {"y": y, "d": d, "m": m, "z": z, "v": v})  # noqa: S102
    np.testing.assert_array_equal(to_numpy(y), want)
    y.sum().backward()
    written = np.zeros(data.size, bool)
    written[positions.reshape(-1)] = True
    np.testing.assert_array_equal(to_numpy(base.grad), (~written).reshape(SHAPE) * 1.0)
    np.testing.assert_allclose(to_numpy(v.grad), np.full(value.shape, np.prod(shape[:-1])))
    torch = pytest.importorskip("torch")
    tx = torch.tensor(data)
    td, tm, tz = _args(torch)
    exec(f"x[{text}] = v", {"x": tx, "d": td, "m": tm, "z": tz,  # noqa: S102
                            "v": torch.tensor(value)})
    np.testing.assert_array_equal(tx.numpy(), want)


def test_mixed_index_gradcheck(device):
    x = dynet.randn(2, 3, 4, dtype=dynet.float64, device=device, requires_grad=True)
    d = dynet.tensor([[0, 2], [2, 2]], device=device)
    assert gradcheck(lambda t: t[1, :, d], (x,))
    assert gradcheck(lambda t: t[:, d, 0] * t[0, :, d].sum(), (x,))


def test_non_contiguous_and_empty(device):
    x = dynet.arange(60.0, device=device).reshape(3, 4, 5).transpose(0, 2)  # (5, 4, 3)
    d = dynet.tensor([2, 0], device=device)
    ref = np.arange(60.0).reshape(3, 4, 5).transpose(2, 1, 0)
    np.testing.assert_array_equal(to_numpy(x[1, :, d]), ref[1][:, [2, 0]])
    empty = dynet.tensor(np.zeros(0, np.int64), device=device)
    assert x[1, :, empty].shape == (4, 0)
