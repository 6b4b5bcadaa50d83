"""Scans and the extra reductions (cumprod, cummax/cummin, logcumsumexp, median, mode, nansum,
nanmean, aminmax, bincount, histc, unique): NumPy float64 references, float64 gradchecks,
PyTorch parity (values, indices and gradients), 0-d, empty and non-contiguous inputs."""
import numpy as np
import pytest

import dynet
from core_utils import assert_close, check_grad, host, make, sample


def _np_logcumsumexp(x, axis):
    return np.logaddexp.accumulate(x, axis=axis) if x.size else x


def _np_cumext(x, axis, op):
    """Values and indices of a running max/min, by a plain Python loop (ties: the later)."""
    x = np.moveaxis(x, axis, -1)
    vals, idx = np.empty_like(x), np.zeros(x.shape, np.int64)
    for pos in np.ndindex(x.shape[:-1]):
        best, at = None, 0
        for i, v in enumerate(x[pos]):
            if best is None or (op(v, best) or v == best):
                best, at = v, i
            vals[pos + (i,)], idx[pos + (i,)] = best, at
    return np.moveaxis(vals, -1, axis), np.moveaxis(idx, -1, axis)


# name: (dynet function, NumPy reference, shape, domain)
SCANS = {
    "cumprod_dim1": (lambda t: dynet.cumprod(t, 1), lambda x: np.cumprod(x, 1), (3, 4), "any"),
    "cumprod_dim0": (lambda t: t.cumprod(dim=0), lambda x: np.cumprod(x, 0), (3, 4), "any"),
    "cumprod_0d": (lambda t: dynet.cumprod(t, 0), lambda x: x, (), "any"),
    "cumprod_empty": (lambda t: dynet.cumprod(t, 0), lambda x: x, (0, 3), "any"),
    "logcumsumexp_dim1": (lambda t: dynet.logcumsumexp(t, 1),
                          lambda x: _np_logcumsumexp(x, 1), (3, 5), "any"),
    "logcumsumexp_neg": (lambda t: t.logcumsumexp(-2), lambda x: _np_logcumsumexp(x, 0),
                         (4, 3), "any"),
    "logcumsumexp_large": (lambda t: dynet.logcumsumexp(t * 800, 1),
                           lambda x: _np_logcumsumexp(x * 800, 1), (2, 6), "any"),
    "logcumsumexp_0d": (lambda t: dynet.logcumsumexp(t, 0), lambda x: x, (), "any"),
    "logcumsumexp_empty": (lambda t: dynet.logcumsumexp(t, 1), lambda x: x, (0, 3), "any"),
    "cummax_values": (lambda t: dynet.cummax(t, 1).values,
                      lambda x: np.maximum.accumulate(x, 1), (3, 5), "any"),
    "cummin_values": (lambda t: t.cummin(0)[0], lambda x: np.minimum.accumulate(x, 0),
                      (4, 3), "any"),
    "nansum_all": (dynet.nansum, np.sum, (3, 4), "any"),
    "nansum_dim": (lambda t: dynet.nansum(t, 1, keepdim=True),
                   lambda x: x.sum(1, keepdims=True), (3, 4), "any"),
    "nanmean_dim": (lambda t: t.nanmean(dim=0), lambda x: x.mean(0), (3, 4), "any"),
    "median_all": (dynet.median, lambda x: np.sort(x, None)[(x.size - 1) // 2], (3, 4), "any"),
    "median_dim": (lambda t: dynet.median(t, 1).values,
                   lambda x: np.sort(x, 1)[:, (x.shape[1] - 1) // 2], (3, 4), "any"),
    "median_dim_keepdim": (lambda t: t.median(0, keepdim=True)[0],
                           lambda x: np.sort(x, 0)[[(x.shape[0] - 1) // 2]], (5, 2), "any"),
    "nanmedian_dim": (lambda t: dynet.nanmedian(t, 1).values,
                      lambda x: np.sort(x, 1)[:, (x.shape[1] - 1) // 2], (3, 4), "any"),
    "aminmax_min": (lambda t: dynet.aminmax(t).min, np.min, (3, 4), "any"),
    "aminmax_max_dim": (lambda t: t.aminmax(dim=1, keepdim=True).max,
                        lambda x: x.max(1, keepdims=True), (3, 4), "any"),
}

LAYOUTS = ["contiguous", "transposed", "strided"]


def _kind(shape, layout):
    return layout if len(shape) >= 2 and min(shape) > 1 else "contiguous"


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(SCANS))
def test_forward_matches_numpy(name, layout, device):
    fn, ref, shape, domain = SCANS[name]
    x = sample(shape, domain, seed=len(name))
    assert_close(fn(make(x, device, kind=_kind(shape, layout))), ref(x), rtol=1e-10,
                 atol=1e-12)


@pytest.mark.parametrize("name", [n for n in SCANS if "empty" not in n])
def test_gradcheck(name, device):
    fn, _, shape, domain = SCANS[name]
    x = sample(shape, domain, seed=len(name))
    check_grad(fn, [x], device, kinds=[_kind(shape, "strided")])


@pytest.mark.parametrize("zeros", [[(0, 1)], [(1, 0), (1, 2)], [(2, 3), (0, 0), (0, 2)]])
def test_cumprod_gradient_with_zeros(zeros, device):
    x = sample((3, 5), "any", seed=3)
    for z in zeros:
        x[z] = 0.0
    check_grad(lambda t: dynet.cumprod(t, 1), [x], device)
    check_grad(lambda t: dynet.cumprod(t, 0), [x], device)


def test_cumprod_integer_dtypes(device):
    out = dynet.cumprod(dynet.tensor([1, 2, 3], device=device), 0)
    assert out.dtype == dynet.int64 and host(out).tolist() == [1, 2, 6]
    assert dynet.cumprod(dynet.tensor([True, False], device=device), 0).dtype == dynet.int64
    assert dynet.cumprod(dynet.tensor([1, 2], device=device), 0, dtype=dynet.float64).dtype \
        == dynet.float64
    with pytest.raises(NotImplementedError):
        dynet.logcumsumexp(dynet.tensor([1, 2], device=device), 0)


def test_cumsum_cumprod_in_place_and_out(device):
    t = dynet.tensor([1.0, 2.0, 3.0], device=device)
    assert t.cumprod_(0) is t and host(t).tolist() == [1.0, 2.0, 6.0]
    assert host(t.cumsum_(0)).tolist() == [1.0, 3.0, 9.0]
    out = dynet.empty(3, device=device)
    assert dynet.cumprod(dynet.tensor([2.0, 2.0, 2.0], device=device), 0, out=out) is out
    assert host(out).tolist() == [2.0, 4.0, 8.0]


@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_cumulative_extreme_indices(op, device):
    x = np.array([[1.0, 3.0, 3.0, 2.0, 5.0, 5.0], [4.0, 4.0, 1.0, 1.0, 6.0, 0.0]])
    values, indices = getattr(dynet, op)(make(x, device), 1)
    rv, ri = _np_cumext(x, 1, np.greater if op == "cummax" else np.less)
    assert_close(values, rv)
    assert host(indices).tolist() == ri.tolist() and indices.dtype == dynet.int64
    ints = getattr(dynet, op)(dynet.tensor([2, 1, 2, 7], device=device), 0)
    assert ints.values.dtype == dynet.int64
    zero_d = getattr(dynet, op)(dynet.tensor(2.5, device=device), 0)
    assert zero_d.values.shape == () and host(zero_d.indices) == 0


def test_cumulative_extreme_gradient_goes_to_the_chosen_elements(device):
    x = make(np.array([1.0, 3.0, 3.0, 2.0, 5.0]), device, requires_grad=True)
    dynet.cummax(x, 0).values.sum().backward()
    assert host(x.grad).tolist() == [1.0, 1.0, 2.0, 0.0, 1.0]


def test_scans_match_torch_including_nan(device):
    torch = pytest.importorskip("torch")
    x = np.array([[1.0, np.nan, 3.0, np.nan, 0.0], [2.0, -1.0, 2.0, 7.0, 7.0]], np.float32)
    for op in ("cummax", "cummin"):
        ours = getattr(dynet, op)(dynet.tensor(x, device=device), 1)
        theirs = getattr(torch, op)(torch.tensor(x), 1)
        np.testing.assert_array_equal(host(ours.values), theirs.values.numpy())
        np.testing.assert_array_equal(host(ours.indices), theirs.indices.numpy())
    y = sample((3, 6), "any", seed=5).astype(np.float32) * 30
    for op, kw in (("cumprod", {}), ("logcumsumexp", {}), ("cumsum", {})):
        t = make(y, device, requires_grad=True, dtype=dynet.float32)
        tt = torch.tensor(y, requires_grad=True)
        g = sample((3, 6), "any", seed=6).astype(np.float32)
        getattr(dynet, op)(t, 1, **kw).backward(dynet.tensor(g, device=device))
        ref = getattr(torch, op)(tt, 1, **kw)
        ref.backward(torch.tensor(g))
        np.testing.assert_allclose(host(getattr(dynet, op)(t.detach(), 1)),
                                   ref.detach().numpy(), rtol=1e-5, atol=1e-5, err_msg=op)
        np.testing.assert_allclose(host(t.grad), tt.grad.numpy(), rtol=1e-4, atol=1e-4,
                                   err_msg=op)


def test_median_and_mode_match_torch(device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.permutation(24).reshape(4, 6).astype(np.float32)  # distinct: unique indices
    for dim in (0, 1, -1):
        for keep in (False, True):
            ours = dynet.median(dynet.tensor(x, device=device), dim, keep)
            theirs = torch.median(torch.tensor(x), dim, keep)
            np.testing.assert_array_equal(host(ours.values), theirs.values.numpy())
            np.testing.assert_array_equal(host(ours.indices), theirs.indices.numpy())
    assert host(dynet.median(dynet.tensor(x, device=device))) == torch.median(
        torch.tensor(x)).item()
    nan = np.array([[3.0, np.nan, 2.0, np.nan], [1.0, 5.0, 4.0, np.nan]], np.float32)
    for op in ("median", "nanmedian"):
        ours = getattr(dynet, op)(dynet.tensor(nan, device=device), 1)
        theirs = getattr(torch, op)(torch.tensor(nan), 1)
        np.testing.assert_array_equal(host(ours.values), theirs.values.numpy())
        np.testing.assert_array_equal(host(ours.indices), theirs.indices.numpy())
    m = np.array([[1, 2, 2, 1, 1], [5, 5, 4, 4, 4], [3, 1, 3, 1, 2]])
    for dim in (1, 0):
        ours = dynet.mode(dynet.tensor(m, device=device), dim)
        theirs = torch.mode(torch.tensor(m), dim)
        np.testing.assert_array_equal(host(ours.values), theirs.values.numpy())
        np.testing.assert_array_equal(host(ours.indices), theirs.indices.numpy())
    assert host(dynet.median(dynet.tensor([], device=device))).item() != \
        host(dynet.median(dynet.tensor([], device=device))).item()  # nan, as torch
    with pytest.raises(IndexError):
        dynet.median(dynet.zeros(2, 0, device=device), 1)


def test_median_and_mode_of_0d(device):
    t = dynet.tensor(4.0, device=device)
    for result in (dynet.median(t, 0), dynet.mode(t)):
        assert result.values.shape == () and host(result.values) == 4.0
        assert host(result.indices) == 0


def test_nan_aware_reductions(device):
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]])
    t = make(x, device, requires_grad=True)
    assert_close(dynet.nansum(t, 1), [4.0, 0.0])
    assert_close(dynet.nanmean(t, 1), [2.0, np.nan])
    dynet.nansum(t).backward()
    assert host(t.grad).tolist() == [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    assert dynet.nansum(dynet.tensor([1, 2], device=device)).dtype == dynet.int64
    with pytest.raises(RuntimeError, match="floating point"):
        dynet.nanmean(dynet.tensor([1, 2], device=device))


def test_aminmax(device):
    x = sample((3, 4), "any", seed=2)
    res = dynet.aminmax(make(x, device), dim=0)
    assert_close(res.min, x.min(0))
    assert_close(res.max, x.max(0))
    mn, mx = dynet.aminmax(make(x, device))
    assert mn.shape == () and host(mx) == x.max()
    with pytest.raises(RuntimeError):
        dynet.aminmax(dynet.zeros(0, device=device))


def test_bincount_and_histc_match_torch(device):
    torch = pytest.importorskip("torch")
    idx = np.array([0, 1, 1, 3, 5, 1])
    for w in (None, np.array([0.5, 1, 1, 2, 3, 1], np.float32), np.arange(6)):
        for minlength in (0, 9):
            ours = dynet.bincount(dynet.tensor(idx, device=device),
                                  None if w is None else dynet.tensor(w, device=device),
                                  minlength=minlength)
            theirs = torch.bincount(torch.tensor(idx),
                                    None if w is None else torch.tensor(w), minlength)
            assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
            np.testing.assert_array_equal(host(ours), theirs.numpy())
    assert host(dynet.bincount(dynet.tensor([], dtype=dynet.int64, device=device))).shape \
        == (0,)
    with pytest.raises(RuntimeError, match="non-negative"):
        dynet.bincount(dynet.tensor([1, -1], device=device))
    x = sample((50,), "any", seed=1).astype(np.float32)
    for kw in ({}, {"bins": 7}, {"bins": 4, "min": -1, "max": 1}, {"bins": 3, "min": 0,
                                                                    "max": 0}):
        ours = dynet.histc(dynet.tensor(x, device=device), **kw)
        theirs = torch.histc(torch.tensor(x), **kw)
        np.testing.assert_array_equal(host(ours), theirs.numpy(), err_msg=str(kw))
    edges = np.array([0.0, 1.0, 2.0, 3.0, 3.0, -0.5, 4.0], np.float32)
    np.testing.assert_array_equal(host(dynet.histc(dynet.tensor(edges, device=device), 3, 0, 3)),
                                  torch.histc(torch.tensor(edges), 3, 0, 3).numpy())
    assert host(dynet.histc(dynet.tensor([2.0], device=device), 2)).tolist() == [0.0, 1.0]


def test_unique_matches_torch(device):
    torch = pytest.importorskip("torch")
    x = np.array([[2, 1, 3], [1, 2, 2]])
    for inv in (False, True):
        for cnt in (False, True):
            ours = dynet.unique(dynet.tensor(x, device=device), return_inverse=inv,
                                return_counts=cnt)
            theirs = torch.unique(torch.tensor(x), return_inverse=inv, return_counts=cnt)
            ours = ours if isinstance(ours, tuple) else (ours,)
            theirs = theirs if isinstance(theirs, tuple) else (theirs,)
            assert len(ours) == len(theirs)
            for a, b in zip(ours, theirs):
                np.testing.assert_array_equal(host(a), b.numpy())
    rows = np.array([[2, 1], [1, 1], [2, 1]])
    ours = dynet.tensor(rows, device=device).unique(dim=0, return_inverse=True,
                                                     return_counts=True)
    theirs = torch.unique(torch.tensor(rows), dim=0, return_inverse=True, return_counts=True)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(host(a), b.numpy())
    assert host(dynet.unique(dynet.zeros(0, device=device))).shape == (0,)


def test_cumsum_of_0d_and_integers_as_torch(device):
    torch = pytest.importorskip("torch")
    for value in (2.5, 3, True):
        ours = dynet.cumsum(dynet.tensor(value, device=device), 0)
        theirs = torch.cumsum(torch.tensor(value), 0)
        assert ours.shape == () and str(ours.dtype)[6:] == str(theirs.dtype)[6:]
    bools = dynet.cumsum(dynet.tensor([True, True, False], device=device), 0)
    assert bools.dtype == dynet.int64 and host(bools).tolist() == [1, 2, 2]
