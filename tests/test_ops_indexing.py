"""Indexing: __getitem__ (basic and advanced), gather, masked_fill, index_select, __setitem__."""
import numpy as np
import pytest

import dynet
from core_utils import assert_close, check_grad, host, make, sample


def _mask(x):
    return x > 0


# name: (index builder on a tensor (or None for a plain index), the same index for NumPy,
#        input shape); builders receive the device so index tensors live next to the data
INDEXES = {
    "int": (lambda d: 1, lambda x: 1, (3, 4)),
    "negative_int": (lambda d: -1, lambda x: -1, (3, 4)),
    "int_pair": (lambda d: (2, -3), lambda x: (2, -3), (3, 4)),
    "slice": (lambda d: slice(1, 3), lambda x: slice(1, 3), (4, 3)),
    "slice_step": (lambda d: (slice(None, None, 2), slice(1, None, 2)),
                   lambda x: (slice(None, None, 2), slice(1, None, 2)), (5, 4)),
    "slice_negative_bounds": (lambda d: (slice(-3, -1),), lambda x: (slice(-3, -1),), (5, 2)),
    "none": (lambda d: (None, 1), lambda x: (None, 1), (3, 4)),
    "ellipsis": (lambda d: (Ellipsis, 1), lambda x: (Ellipsis, 1), (2, 3, 4)),
    "none_ellipsis": (lambda d: (None, Ellipsis, None), lambda x: (None, Ellipsis, None),
                      (2, 3)),
    "int_list": (lambda d: [0, 2], lambda x: [0, 2], (4, 3)),
    "int_list_repeated": (lambda d: [0, 2, 0, 0], lambda x: [0, 2, 0, 0], (4, 3)),
    "int_tensor_repeated": (lambda d: dynet.tensor([1, 1, 3], device=d),
                            lambda x: np.array([1, 1, 3]), (4, 3)),
    "int_tensor_2d": (lambda d: dynet.tensor([[0, 1], [1, 1]], device=d),
                      lambda x: np.array([[0, 1], [1, 1]]), (3, 2)),
    "two_int_arrays": (lambda d: ([0, 1, 1], [2, 2, 0]), lambda x: ([0, 1, 1], [2, 2, 0]),
                       (4, 3)),
    "slice_then_array": (lambda d: (slice(1, None), [0, 2, 2]),
                         lambda x: (slice(1, None), [0, 2, 2]), (4, 3, 2)),
    "zero_d_int_tensor": (lambda d: dynet.tensor(2, device=d), lambda x: 2, (4, 3)),
    "bool_row_mask": (lambda d: dynet.tensor([True, False, True, True], device=d),
                      lambda x: np.array([True, False, True, True]), (4, 3)),
    "bool_full_mask": (None, _mask, (3, 4)),
    "bool_mask_and_slice": (lambda d: (dynet.tensor([True, False, True], device=d), 1),
                            lambda x: (np.array([True, False, True]), 1), (3, 4)),
}


def _index(name, t, x, device):
    build, np_index, _ = INDEXES[name]
    if build is None:  # a mask computed from the tensor itself
        return t > 0, np_index(x)
    return build(device), np_index(x)


@pytest.mark.parametrize("kind", ["contiguous", "transposed"])
@pytest.mark.parametrize("name", list(INDEXES))
def test_getitem_forward(name, kind, device):
    x = sample(INDEXES[name][2], seed=31)
    t = make(x, device, kind=kind)
    index, np_index = _index(name, t, x, device)
    assert_close(t[index], x[np_index])


@pytest.mark.parametrize("name", list(INDEXES))
def test_getitem_gradcheck(name, device):
    x = sample(INDEXES[name][2], seed=31)
    index, _ = _index(name, make(x, device), x, device)
    check_grad(lambda t: t[index], [x], device)


def test_getitem_repeated_indices_accumulate_gradient(device):
    t = make(np.zeros(4), device, requires_grad=True)
    t[[0, 2, 0, 0]].sum().backward()
    assert host(t.grad).tolist() == [3.0, 0.0, 1.0, 0.0]


def test_getitem_out_of_range_names_the_shape(device):
    t = dynet.zeros(2, 3, device=device)
    with pytest.raises(IndexError, match=r"\(2, 3\)"):
        t[5]


def test_getitem_float_list_index_is_rejected(device):
    with pytest.raises(IndexError):
        dynet.zeros(3, device=device)[[0.5, 1.0]]


# name: (dim, index, input shape)
GATHERS = {
    "dim1": (1, [[0, 0], [1, 3], [2, 2]], (3, 4)),
    "dim0": (0, [[0, 1, 2, 0], [0, 0, 0, 0]], (3, 4)),
    "dim_neg": (-1, [[3], [0], [1]], (3, 4)),
    "3d": (1, [[[0, 1], [2, 0]], [[1, 1], [1, 1]]], (2, 3, 2)),
}


@pytest.mark.parametrize("name", list(GATHERS))
def test_gather(name, device):
    dim, index, shape = GATHERS[name]
    x = sample(shape, seed=32)
    idx = dynet.tensor(index, device=device)
    out = dynet.gather(make(x, device), dim, idx)
    assert_close(out, np.take_along_axis(x, np.array(index), dim))
    check_grad(lambda t: t.gather(dim, idx), [x], device)


def test_gather_repeated_indices_accumulate(device):
    t = make(np.zeros((1, 3)), device, requires_grad=True)
    t.gather(1, dynet.tensor([[2, 2, 0, 2]], device=device)).sum().backward()
    assert host(t.grad).tolist() == [[1.0, 0.0, 3.0]]


def test_gather_rank_mismatch_raises(device):
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        dynet.gather(dynet.zeros(2, 3, device=device), 1, dynet.tensor([0, 1], device=device))


@pytest.mark.parametrize("mask_shape", [(3, 4), (4,), (3, 1)], ids=["full", "row", "column"])
def test_masked_fill(mask_shape, device):
    x = sample((3, 4), seed=33)
    mask = sample(mask_shape, seed=34) > 0
    m = dynet.tensor(mask, device=device)
    assert_close(make(x, device).masked_fill(m, -1.5), np.where(mask, -1.5, x))
    check_grad(lambda t: dynet.masked_fill(t, m, 2.0), [x], device)


def test_masked_fill_tensor_value_gets_gradient(device):
    x = make(np.ones((2, 2)), device, requires_grad=True)
    v = make(np.array(3.0), device, requires_grad=True)
    m = dynet.tensor([[True, False], [True, True]], device=device)
    out = x.masked_fill(m, v)
    assert host(out).tolist() == [[3.0, 1.0], [3.0, 3.0]]
    out.sum().backward()
    assert host(x.grad).tolist() == [[0.0, 1.0], [0.0, 0.0]]
    assert host(v.grad).tolist() == 3.0


def test_index_select(device):
    x = sample((3, 4), seed=35)
    idx = dynet.tensor([0, 3, 3], device=device)
    assert_close(make(x, device).index_select(1, idx), x[:, [0, 3, 3]])
    check_grad(lambda t: dynet.index_select(t, 1, idx), [x], device)
    check_grad(lambda t: t.index_select(0, dynet.tensor([2, 0], device=device)), [x], device)


# --------------------------------------------------------------------- __setitem__

def test_setitem_without_grad(device):
    t = dynet.zeros(3, 4, device=device)
    t[1] = 5
    t[:, 2] = dynet.tensor([1.0, 2.0, 3.0], device=device)
    t[t > 4] = -1
    t[[0, 2], [0, 0]] = 7
    t[..., -1] = dynet.tensor(9.0, device=device)
    expected = np.zeros((3, 4))
    expected[1] = 5
    expected[:, 2] = [1.0, 2.0, 3.0]
    expected[expected > 4] = -1
    expected[[0, 2], [0, 0]] = 7
    expected[..., -1] = 9
    assert_close(t, expected)


def test_setitem_broadcasts_rows(device):
    t = dynet.zeros(2, 3, device=device)
    t[:] = dynet.tensor([1.0, 2.0, 3.0], device=device)
    assert t.tolist() == [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]


def test_setitem_on_leaf_requiring_grad_raises(device):
    x = dynet.ones(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0] = 2.0
    with dynet.no_grad():
        x[0] = 2.0
    assert x.tolist() == [2.0, 1.0, 1.0] and x.is_leaf


def test_setitem_on_graph_tensor_with_tensor_value(device):
    x = make(np.array([1.0, 2.0, 3.0]), device, requires_grad=True)
    v = make(np.array([10.0]), device, requires_grad=True)
    h = x * 2
    h[1] = v[0] * 3
    assert host(h).tolist() == [2.0, 30.0, 6.0]
    (h * h).sum().backward()
    # d/dx sum(h^2) = 2h * 2 where h still depends on x; the overwritten slot gives 0
    assert host(x.grad).tolist() == [8.0, 0.0, 24.0]
    assert host(v.grad).tolist() == [180.0]


def test_setitem_on_graph_tensor_with_constant(device):
    x = make(np.array([1.0, 2.0, 3.0]), device, requires_grad=True)
    h = x * 2
    h[0:2] = 1.0
    (h * h).sum().backward()
    assert host(x.grad).tolist() == [0.0, 0.0, 24.0]


def test_setitem_gradcheck(device):
    def fn(a, b):
        h = a * 1.5
        h[1:, ::2] = b * b
        return h.exp()
    check_grad(fn, [sample((3, 4), seed=36), sample((2, 2), seed=37)], device)


def test_setitem_into_plain_tensor_from_graph_value(device):
    v = make(np.array([2.0, 3.0]), device, requires_grad=True)
    buf = dynet.zeros(4, dtype=dynet.float64, device=device)
    buf[1:3] = v * v
    assert buf.requires_grad
    buf.sum().backward()
    assert host(v.grad).tolist() == [4.0, 6.0]


def test_cpu_and_numpy_indices_index_a_device_tensor(device):
    import numpy as np
    x = dynet.arange(10, device=device) * 2
    cpu_idx = dynet.tensor([3, 1, 3])
    np_idx = np.array([0, 9])
    assert x[cpu_idx].tolist() == [6, 2, 6]
    assert x[np_idx].tolist() == [0, 18]
    assert x[cpu_idx].device == x.device
