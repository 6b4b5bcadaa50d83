"""Reductions: forward against NumPy float64, gradchecks, (values, indices) results, sorting."""
import numpy as np
import pytest

import dynet
from core_utils import assert_close, check_grad, host, make, sample


def _np_logsumexp(x, axis, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


# name: (dynet function, NumPy reference, input shape, domain)
REDUCTIONS = {
    "sum_all": (lambda t: t.sum(), np.sum, (3, 4), "any"),
    "sum_dim0": (lambda t: t.sum(0), lambda x: x.sum(0), (3, 4), "any"),
    "sum_dim_neg": (lambda t: dynet.sum(t, -1), lambda x: x.sum(-1), (2, 3, 4), "any"),
    "sum_dims_keepdim": (lambda t: t.sum((0, 2), keepdim=True),
                         lambda x: x.sum((0, 2), keepdims=True), (2, 3, 4), "any"),
    "sum_0d": (lambda t: t.sum(), np.sum, (), "any"),
    "mean_all": (lambda t: t.mean(), np.mean, (3, 4), "any"),
    "mean_dim": (lambda t: t.mean(1), lambda x: x.mean(1), (2, 3, 4), "any"),
    "mean_dims_keepdim": (lambda t: dynet.mean(t, (0, -1), keepdim=True),
                          lambda x: x.mean((0, 2), keepdims=True), (2, 3, 4), "any"),
    "var_all": (lambda t: t.var(), lambda x: x.var(ddof=1), (3, 4), "any"),
    "var_dim": (lambda t: t.var(1), lambda x: x.var(1, ddof=1), (3, 4), "any"),
    "var_unbiased_false": (lambda t: t.var(0, unbiased=False, keepdim=True),
                           lambda x: x.var(0, keepdims=True), (3, 4), "any"),
    "var_correction0": (lambda t: dynet.var(t, (0, 1), correction=0),
                        lambda x: x.var((0, 1)), (2, 3, 4), "any"),
    "std_all": (lambda t: t.std(), lambda x: x.std(ddof=1), (3, 4), "any"),
    "std_dim_keepdim": (lambda t: t.std(-1, keepdim=True),
                        lambda x: x.std(-1, ddof=1, keepdims=True), (3, 4), "any"),
    "std_unbiased_false": (lambda t: dynet.std(t, 0, unbiased=False),
                           lambda x: x.std(0), (3, 4), "any"),
    "prod_all": (lambda t: t.prod(), np.prod, (2, 3), "pos"),
    "prod_dim": (lambda t: t.prod(1), lambda x: x.prod(1), (3, 4), "any"),
    "prod_dim_keepdim": (lambda t: dynet.prod(t, 0, keepdim=True),
                         lambda x: x.prod(0, keepdims=True), (3, 4), "any"),
    "max_all": (lambda t: t.max(), np.max, (3, 4), "any"),
    "min_all": (lambda t: dynet.min(t), np.min, (3, 4), "any"),
    "max_dim_values": (lambda t: t.max(1)[0], lambda x: x.max(1), (3, 4), "any"),
    "min_dim_values_keepdim": (lambda t: t.min(0, keepdim=True).values,
                               lambda x: x.min(0, keepdims=True), (3, 4), "any"),
    "amax_dims": (lambda t: t.amax((0, 2)), lambda x: x.max((0, 2)), (2, 3, 4), "any"),
    "amin_dim_keepdim": (lambda t: dynet.amin(t, -1, keepdim=True),
                         lambda x: x.min(-1, keepdims=True), (3, 4), "any"),
    "amax_all": (lambda t: t.amax(), np.max, (3, 4), "any"),
    "logsumexp_dim": (lambda t: t.logsumexp(1), lambda x: _np_logsumexp(x, 1), (3, 4), "any"),
    "logsumexp_dims_keepdim": (lambda t: dynet.logsumexp(t, (0, 1), keepdim=True),
                               lambda x: _np_logsumexp(x, (0, 1), True), (2, 3, 4), "any"),
    "logsumexp_large": (lambda t: (t * 1000).logsumexp(0),
                        lambda x: _np_logsumexp(x * 1000, 0), (3, 2), "any"),
    "norm_fro": (lambda t: t.norm(), lambda x: np.sqrt((x ** 2).sum()), (3, 4), "any"),
    "norm_p1_dim": (lambda t: t.norm(p=1, dim=1), lambda x: np.abs(x).sum(1), (3, 4), "away0"),
    "norm_p3_dim": (lambda t: dynet.norm(t, 3, 0), lambda x: (np.abs(x) ** 3).sum(0) ** (1 / 3),
                    (3, 4), "away0"),
    "norm_inf": (lambda t: t.norm(p=float("inf"), dim=1), lambda x: np.abs(x).max(1),
                 (3, 4), "any"),
    "norm_keepdim": (lambda t: t.norm(dim=(0, 1), keepdim=True),
                     lambda x: np.sqrt((x ** 2).sum((0, 1), keepdims=True)), (3, 4), "any"),
    "cumsum_dim1": (lambda t: t.cumsum(1), lambda x: np.cumsum(x, 1), (3, 4), "any"),
    "cumsum_neg": (lambda t: dynet.cumsum(t, -3), lambda x: np.cumsum(x, 0), (2, 3, 4), "any"),
}

LAYOUTS = ["contiguous", "transposed"]


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_forward(name, kind, device):
    fn, ref, shape, domain = REDUCTIONS[name]
    if kind == "transposed" and len(shape) < 2:
        pytest.skip("a 0-d tensor has no transposed layout")
    x = sample(shape, domain, seed=7)
    out = fn(make(x, device, kind=kind))
    assert out.dtype == dynet.float64
    assert_close(out, ref(x), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_gradcheck(name, device):
    fn, _, shape, domain = REDUCTIONS[name]
    check_grad(fn, [sample(shape, domain, seed=7)], device)


@pytest.mark.parametrize("name", ["sum_dim0", "var_dim", "max_dim_values", "prod_dim",
                                  "logsumexp_dim"])
def test_reduction_gradcheck_strided(name, device):
    fn, _, shape, domain = REDUCTIONS[name]
    check_grad(fn, [sample(shape, domain, seed=8)], device, kinds=["strided"])


@pytest.mark.parametrize("values, dim", [
    ([[0.0, 2.0, 3.0], [4.0, 5.0, 6.0]], None),
    ([[0.0, 2.0, 3.0], [0.0, 0.0, 1.0]], 1),
    ([[0.0, 2.0, 0.0], [4.0, 5.0, 6.0]], None),
    ([[0.0, 2.0], [3.0, 0.0]], 0),
], ids=["one_zero_all", "zeros_per_row", "two_zeros_all", "zero_per_column"])
def test_prod_with_zeros(values, dim, device):
    x = np.array(values)
    fn = (lambda t: t.prod()) if dim is None else (lambda t: t.prod(dim))
    assert_close(fn(make(x, device)), x.prod() if dim is None else x.prod(dim))
    t = make(x, device, requires_grad=True)
    fn(t).sum().backward()
    # reference: product of all the other elements, computed by brute force
    expected = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        others = x.copy()
        if dim is None:
            others[idx] = 1.0
            expected[idx] = others.prod()
        else:
            line = np.moveaxis(others, dim, 0)[:, idx[1 - dim]].copy()
            line[idx[dim]] = 1.0
            expected[idx] = line.prod()
    assert_close(t.grad, expected)
    check_grad(fn, [x], device)


def test_max_with_dim_returns_values_and_indices(device):
    x = np.array([[1.0, 5.0, 3.0], [7.0, 2.0, 7.5]])
    t = make(x, device, dtype=dynet.float32)
    values, indices = t.max(dim=1)
    assert host(values).tolist() == [5.0, 7.5]
    assert indices.dtype == dynet.int64 and host(indices).tolist() == [1, 2]
    result = dynet.min(t, 0, keepdim=True)
    assert host(result.values).tolist() == [[1.0, 2.0, 3.0]]
    assert host(result.indices).tolist() == [[0, 1, 0]]
    assert values.dtype == dynet.float32


def test_max_dim_gradient_goes_to_the_argmax(device):
    t = make(np.array([[1.0, 5.0, 3.0], [7.0, 2.0, 0.0]]), device, requires_grad=True)
    t.max(1).values.sum().backward()
    assert host(t.grad).tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]


def test_full_max_ties_share_the_gradient(device):
    t = make(np.array([1.0, 3.0, 3.0]), device, requires_grad=True)
    t.max().backward()
    assert host(t.grad).tolist() == [0.0, 0.5, 0.5]
    u = make(np.array([[2.0, 2.0], [1.0, 0.0]]), device, requires_grad=True)
    u.amin(1).sum().backward()
    assert host(u.grad).tolist() == [[0.5, 0.5], [0.0, 1.0]]


def test_max_of_two_tensors_is_elementwise(device):
    a = make(np.array([1.0, 4.0]), device)
    b = make(np.array([3.0, 2.0]), device)
    assert host(dynet.max(a, b)).tolist() == [3.0, 4.0]
    assert host(dynet.min(a, b)).tolist() == [1.0, 2.0]


@pytest.mark.parametrize("dim, keepdim", [(None, False), (0, False), (1, True), (-1, False)])
def test_argmax_argmin(dim, keepdim, device):
    x = sample((3, 4), seed=11)
    t = make(x, device, requires_grad=True)
    amax = t.argmax(dim, keepdim) if dim is not None else t.argmax()
    amin = dynet.argmin(t, dim, keepdim) if dim is not None else dynet.argmin(t)
    expected_max = np.argmax(x) if dim is None else np.argmax(x, dim)
    expected_min = np.argmin(x) if dim is None else np.argmin(x, dim)
    if keepdim:
        expected_max = np.expand_dims(expected_max, dim)
        expected_min = np.expand_dims(expected_min, dim)
    assert amax.dtype == dynet.int64 and not amax.requires_grad
    assert host(amax).tolist() == np.asarray(expected_max).tolist()
    assert host(amin).tolist() == np.asarray(expected_min).tolist()


def test_any_all(device):
    t = dynet.tensor([[0, 1, 0], [1, 1, 1]], device=device)
    assert t.any().item() is True and t.all().item() is False
    assert t.any(dim=1).tolist() == [True, True]
    assert dynet.all(t, dim=1).tolist() == [False, True]
    assert dynet.all(t, dim=0, keepdim=True).tolist() == [[False, True, False]]
    assert dynet.zeros(0, device=device).all().item() is True
    assert dynet.zeros(0, device=device).any().item() is False


@pytest.mark.parametrize("descending", [False, True])
def test_sort_values_indices_and_gradient(descending, device):
    x = sample((3, 5), seed=12)
    t = make(x, device, requires_grad=True)
    values, indices = t.sort(dim=1, descending=descending)
    order = np.argsort(-x if descending else x, axis=1, kind="stable")
    assert host(indices).tolist() == order.tolist()
    assert_close(values, np.take_along_axis(x, order, 1))
    assert values.requires_grad and not indices.requires_grad
    check_grad(lambda a: a.sort(1, descending=descending)[0], [x], device)
    assert host(dynet.argsort(t, 0)).tolist() == np.argsort(x, 0, kind="stable").tolist()


@pytest.mark.parametrize("largest", [True, False])
def test_topk(largest, device):
    x = sample((3, 6), seed=13)
    t = make(x, device)
    values, indices = t.topk(2, largest=largest)
    order = np.argsort(-x if largest else x, axis=1, kind="stable")[:, :2]
    assert host(indices).tolist() == order.tolist()
    assert_close(values, np.take_along_axis(x, order, 1))
    check_grad(lambda a: dynet.topk(a, 3, dim=0, largest=largest).values, [x], device)
    with pytest.raises(RuntimeError, match="k"):
        t.topk(7)


def test_integer_and_bool_reductions_give_int64(device):
    t = dynet.tensor([[1, 2], [3, 4]], dtype=dynet.int32, device=device)
    assert t.sum().dtype == dynet.int64 and t.sum().item() == 10
    assert dynet.tensor([True, True, False], device=device).sum().item() == 2
    assert t.prod().item() == 24
    assert t.cumsum(0).tolist() == [[1, 2], [4, 6]]
    assert t.max().item() == 4 and t.max().dtype == dynet.int32


def test_mean_and_var_reject_integers(device):
    t = dynet.tensor([1, 2, 3], device=device)
    with pytest.raises(RuntimeError, match="dtype"):
        t.mean()
    with pytest.raises(RuntimeError, match="floating"):
        t.var()
    assert t.float().mean().item() == 2.0
    assert dynet.mean(t, dtype=dynet.float64).item() == 2.0


def test_empty_reductions(device):
    e = dynet.zeros(0, 3, device=device)
    assert e.sum().item() == 0.0
    assert host(e.sum(0)).tolist() == [0.0, 0.0, 0.0]
    assert e.sum(1).shape == (0,)
    assert np.isnan(e.mean().item())
    assert e.prod().item() == 1.0
    with pytest.raises(RuntimeError):
        e.amax()
    with pytest.raises(IndexError):
        e.max(0)


def test_reduction_dim_out_of_range_raises_index_error(device):
    t = dynet.ones(2, 3, device=device)
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.sum(2)
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.max(-3)


def test_var_single_element_is_nan_like_pytorch(device):
    with np.errstate(all="ignore"):
        out = dynet.tensor([1.0], device=device).var()
    assert np.isnan(out.item())
    assert dynet.tensor([1.0], device=device).var(unbiased=False).item() == 0.0
