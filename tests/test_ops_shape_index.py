"""Shape and indexing ops (tril ... atleast_3d, unfold, view(dtype), masked_*, take, index_*,
scatter*, negative padding): NumPy float64 references, float64 gradchecks, PyTorch parity of
values and gradients, in-place forms, 0-d, empty and non-contiguous inputs.

Each case is written once against a module `m` (dynet or torch): the APIs are the same.
"""
import numpy as np
import pytest

import dynet
from core_utils import assert_close, check_grad, host, make, sample


def _np_scatter(x, dim, idx, src):
    out = x.copy()
    for pos in np.ndindex(idx.shape):
        target = list(pos)
        target[dim] = idx[pos]
        out[tuple(target)] = src[pos]
    return out


def _np_scatter_add(x, dim, idx, src):
    out = x.copy()
    for pos in np.ndindex(idx.shape):
        target = list(pos)
        target[dim] = idx[pos]
        out[tuple(target)] += src[pos]
    return out


def _np_unfold(x, dim, size, step):
    n = (x.shape[dim] - size) // step + 1
    parts = [np.moveaxis(np.take(x, range(i * step, i * step + size), axis=dim), dim, -1)
             for i in range(n)]
    return np.stack(parts, axis=dim)


_I2 = [[0, 2, 1], [2, 0, 1]]  # an index of shape (2, 3) into dim 0 of a (3, 4) tensor
_I2_DISTINCT = [[0, 2, 1], [2, 0, 0]]  # no target twice: scatter's result is defined

# name: (case over module m and tensors, NumPy reference over arrays, input shapes, domain)
CASES = {
    "tril": (lambda m, t: m.tril(t), np.tril, [(3, 4)], "any"),
    "tril_neg": (lambda m, t: m.tril(t, -1), lambda x: np.tril(x, -1), [(2, 3, 4)], "any"),
    "triu_method": (lambda m, t: t.triu(diagonal=1), lambda x: np.triu(x, 1), [(4, 3)], "any"),
    "diag_1d": (lambda m, t: m.diag(t), np.diag, [(3,)], "any"),
    "diag_1d_off": (lambda m, t: m.diag(t, -2), lambda x: np.diag(x, -2), [(3,)], "any"),
    "diag_2d": (lambda m, t: m.diag(t, 1), lambda x: np.diag(x, 1), [(3, 4)], "any"),
    "diagonal": (lambda m, t: m.diagonal(t, offset=-1, dim1=1, dim2=2),
                 lambda x: np.diagonal(x, -1, 1, 2), [(2, 4, 3)], "any"),
    "diagonal_method": (lambda m, t: t.diagonal(1, 0, -1), lambda x: np.diagonal(x, 1, 0, 2),
                        [(3, 2, 4)], "any"),
    "diag_embed": (lambda m, t: m.diag_embed(t), lambda x: np.stack([np.diag(r) for r in x]),
                   [(2, 3)], "any"),
    "diag_embed_dims": (lambda m, t: m.diag_embed(t, offset=1, dim1=0, dim2=2),
                        lambda x: np.moveaxis(np.stack([np.diag(r, 1) for r in x]), 0, 1),
                        [(2, 3)], "any"),
    "roll_flat": (lambda m, t: m.roll(t, 2), lambda x: np.roll(x, 2), [(3, 4)], "any"),
    "roll_dims": (lambda m, t: t.roll((1, -3), (0, 1)), lambda x: np.roll(x, (1, -3), (0, 1)),
                  [(3, 4)], "any"),
    "rot90": (lambda m, t: m.rot90(t), np.rot90, [(3, 4)], "any"),
    "rot90_k": (lambda m, t: m.rot90(t, -1, [1, 2]), lambda x: np.rot90(x, -1, (1, 2)),
                [(2, 3, 4)], "any"),
    "rot90_k2": (lambda m, t: t.rot90(2), lambda x: np.rot90(x, 2), [(3, 4)], "any"),
    "meshgrid_ij": (lambda m, a, b: m.stack(m.meshgrid(a, b, indexing="ij")),
                    lambda x, y: np.stack(np.meshgrid(x, y, indexing="ij")), [(3,), (2,)],
                    "any"),
    "meshgrid_xy": (lambda m, a, b, c: m.stack(m.meshgrid([a, b, c], indexing="xy")),
                    lambda x, y, z: np.stack(np.meshgrid(x, y, z, indexing="xy")),
                    [(3,), (2,), (2,)], "any"),
    "unfold": (lambda m, t: t.unfold(1, 2, 1), lambda x: _np_unfold(x, 1, 2, 1), [(3, 5)],
               "any"),
    "unfold_step": (lambda m, t: t.unfold(0, 2, 2), lambda x: _np_unfold(x, 0, 2, 2),
                    [(5, 3)], "any"),
    "repeat_interleave": (lambda m, t: m.repeat_interleave(t, 2),
                          lambda x: np.repeat(x, 2), [(2, 3)], "any"),
    "repeat_interleave_dim": (lambda m, t: t.repeat_interleave(
        m.tensor([1, 0, 3], device=getattr(t, "device", None)), dim=1),
        lambda x: np.repeat(x, [1, 0, 3], axis=1), [(2, 3)], "any"),
    "tile": (lambda m, t: m.tile(t, (2,)), lambda x: np.tile(x, (2,)), [(2, 3)], "any"),
    "tile_more": (lambda m, t: t.tile((2, 1, 2)), lambda x: np.tile(x, (2, 1, 2)), [(2, 3)],
                  "any"),
    "broadcast_tensors": (lambda m, a, b: m.stack(m.broadcast_tensors(a, b)),
                          lambda x, y: np.stack(np.broadcast_arrays(x, y)), [(3, 1), (4,)],
                          "any"),
    "atleast_3d": (lambda m, t: m.atleast_3d(t), lambda x: np.atleast_3d(x), [(3,)], "any"),
    "atleast_2d": (lambda m, t: m.atleast_2d(t), lambda x: np.atleast_2d(x), [()], "any"),
    "movedim": (lambda m, t: m.movedim(t, (0, 1), (2, 0)),
                lambda x: np.moveaxis(x, (0, 1), (2, 0)), [(2, 3, 4)], "any"),
    "moveaxis": (lambda m, t: m.moveaxis(t, -1, 0), lambda x: np.moveaxis(x, -1, 0),
                 [(2, 3, 4)], "any"),
    "swapdims": (lambda m, t: m.swapdims(t, 0, 2), lambda x: np.swapaxes(x, 0, 2),
                 [(2, 3, 4)], "any"),
    "narrow_neg": (lambda m, t: m.narrow(t, 1, -3, 2), lambda x: x[:, 1:3], [(2, 4)], "any"),
    "unflatten_minus1": (lambda m, t: m.unflatten(t, 1, (2, -1)),
                         lambda x: x.reshape(3, 2, 2), [(3, 4)], "any"),
    "masked_select": (lambda m, t: m.masked_select(t, t > 0), lambda x: x[x > 0], [(3, 4)],
                      "away0"),
    "masked_select_bcast": (lambda m, t: t.masked_select(
        m.tensor([True, False, True, True], device=getattr(t, "device", None))),
        lambda x: x[:, [True, False, True, True]].reshape(-1), [(3, 4)], "any"),
    "masked_scatter": (lambda m, t, s: m.masked_scatter(t, t > 0, s),
                       lambda x, s: _masked_scatter(x, x > 0, s), [(3, 4), (13,)], "away0"),
    "take": (lambda m, t: m.take(t, m.tensor([[0, -1], [5, 5]],
                                             device=getattr(t, "device", None))),
             lambda x: np.take(x, [[0, -1], [5, 5]]), [(3, 4)], "any"),
    "take_along_dim": (lambda m, t: m.take_along_dim(t, m.tensor(
        [[0], [2], [1]], device=getattr(t, "device", None)), dim=1),
        lambda x: np.take_along_axis(x, np.array([[0], [2], [1]]), 1), [(3, 4)], "any"),
    "take_along_dim_bcast": (lambda m, t: m.take_along_dim(t, m.tensor(
        [[1, 0]], device=getattr(t, "device", None)), dim=0),
        lambda x: np.take_along_axis(x, np.array([[1, 0]] * 1), 0).repeat(1, 0)
        if x.shape[1] == 2 else None, [(3, 2)], "any"),
    "take_along_dim_flat": (lambda m, t: m.take_along_dim(t, m.tensor(
        [3, 0, 3], device=getattr(t, "device", None))),
        lambda x: x.reshape(-1)[[3, 0, 3]], [(2, 3)], "any"),
    "index_select": (lambda m, t: m.index_select(t, 1, m.tensor(
        [2, 0, 2], device=getattr(t, "device", None))), lambda x: x[:, [2, 0, 2]], [(3, 4)],
        "any"),
    "index_add": (lambda m, t, s: m.index_add(t, 0, m.tensor(
        [2, 0, 2], device=getattr(t, "device", None)), s, alpha=2.0),
        lambda x, s: _index_add(x, [2, 0, 2], s * 2.0), [(3, 4), (3, 4)], "any"),
    "index_copy": (lambda m, t, s: t.index_copy(1, m.tensor(
        [3, 0], device=getattr(t, "device", None)), s),
        lambda x, s: _index_copy(x, [3, 0], s), [(3, 4), (3, 2)], "any"),
    "index_fill": (lambda m, t: m.index_fill(t, 1, m.tensor(
        [1, 3, 1], device=getattr(t, "device", None)), -2.0),
        lambda x: _index_fill(x, [1, 3], -2.0), [(3, 4)], "any"),
    "scatter": (lambda m, t, s: m.scatter(t, 0, m.tensor(
        _I2_DISTINCT, device=getattr(t, "device", None)), s),
        lambda x, s: _np_scatter(x, 0, np.array(_I2_DISTINCT), s), [(3, 4), (2, 3)], "any"),
    # src larger than index: only its leading block is read (PyTorch's own backward fails
    # on this shape, so it is checked against NumPy and by gradcheck only)
    "scatter_big_src": (lambda m, t, s: t.scatter(0, m.tensor(
        _I2_DISTINCT, device=getattr(t, "device", None)), src=s),
        lambda x, s: _np_scatter(x, 0, np.array(_I2_DISTINCT), s), [(3, 4), (2, 5)], "any"),
    "scatter_value": (lambda m, t: t.scatter(1, m.tensor(
        [[0], [3], [1]], device=getattr(t, "device", None)), 1.5),
        lambda x: _np_scatter(x, 1, np.array([[0], [3], [1]]), np.full((3, 1), 1.5)),
        [(3, 4)], "any"),
    "scatter_add": (lambda m, t, s: m.scatter_add(t, 0, m.tensor(
        _I2, device=getattr(t, "device", None)), s),
        lambda x, s: _np_scatter_add(x, 0, np.array(_I2), s), [(3, 4), (2, 3)], "any"),
}
for _reduce in ("sum", "prod", "mean", "amax", "amin"):
    for _self in (True, False):
        CASES[f"scatter_reduce_{_reduce}_{_self}"] = (
            lambda m, t, s, r=_reduce, inc=_self: m.scatter_reduce(
                t, 0, m.tensor(_I2, device=getattr(t, "device", None)), s, r,
                include_self=inc),
            None, [(3, 4), (2, 3)], "any")
CASES["pad_negative"] = (lambda m, t: _pad(m)(t, (-1, 2, 1, -1)),
                         lambda x: np.pad(x[:, :-1, 1:], ((0, 0), (1, 0), (0, 2))),
                         [(2, 3, 4)], "any")
for _mode in ("reflect", "replicate", "circular"):
    CASES[f"pad_negative_{_mode}"] = (
        lambda m, t, mode=_mode: _pad(m)(t, (-1, 2), mode=mode), None, [(1, 2, 5)], "any")


def _pad(m):
    return dynet.nn.functional.pad if m is dynet else __import__(
        "torch.nn.functional", fromlist=["pad"]).pad


def _masked_scatter(x, mask, s):
    out = x.copy()
    out[mask] = s[:mask.sum()]
    return out


def _index_add(x, idx, s):
    out = x.copy()
    np.add.at(out, (idx,), s)
    return out


def _index_copy(x, idx, s):
    out = x.copy()
    out[:, idx] = s
    return out


def _index_fill(x, idx, v):
    out = x.copy()
    out[:, idx] = v
    return out


def _inputs(name, seed=0):
    _, _, shapes, domain = CASES[name]
    return [sample(s, domain, seed=seed + i) for i, s in enumerate(shapes)]


LAYOUTS = ["contiguous", "strided"]


def _kinds(arrays, layout):
    return [layout if a.ndim >= 2 and min(a.shape) > 1 else "contiguous" for a in arrays]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", [n for n in CASES if CASES[n][1] is not None])
def test_forward_matches_numpy(name, layout, device):
    fn, ref, _, _ = CASES[name]
    arrays = _inputs(name)
    tensors = [make(a, device, kind=k) for a, k in zip(arrays, _kinds(arrays, layout))]
    assert_close(fn(dynet, *tensors), ref(*arrays), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck(name, device):
    fn, _, _, _ = CASES[name]
    arrays = _inputs(name)
    if "amax" in name or "amin" in name:  # distinct values: away from the ties' kinks
        arrays = [a + np.arange(a.size).reshape(a.shape) * 0.37 for a in arrays]
    check_grad(lambda *t: fn(dynet, *t), arrays, device, kinds=_kinds(arrays, "strided"))


@pytest.mark.parametrize("name", [n for n in CASES if n != "scatter_big_src"])
def test_matches_torch(name, device):
    torch = pytest.importorskip("torch")
    fn, _, _, _ = CASES[name]
    arrays = _inputs(name, seed=5)
    if "prod" in name:  # zeros, single and repeated, in what lands on one target
        arrays[1][0, 1] = 0.0
        arrays[1][1, 2] = 0.0
        arrays[0][0, 2] = 0.0
    if "amax" in name or "amin" in name:  # ties among src, and with input where it counts
        arrays[1][0, 0] = arrays[1][1, 0] = 5.0
        if name.endswith("True"):
            # (with include_self=False PyTorch still counts a tie with the left-out input
            # value when it shares the gradient, so its src gradients no longer sum to the
            # output's; dynet's follow the math, which gradcheck verifies)
            arrays[0][2, 0] = 5.0
    ours = [make(a, device, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = fn(dynet, *ours), fn(torch, *theirs)
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(host(out), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = sample(tuple(ref.shape), "any", seed=9)
    out.backward(dynet.tensor(g, device=device))
    ref.backward(torch.tensor(g))
    for mine, t in zip(ours, theirs):
        expected = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        got = np.zeros(t.shape) if mine.grad is None else host(mine.grad)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- in-place forms

INPLACE = {
    "tril_": lambda m, t: t.tril_(-1),
    "triu_": lambda m, t: t.triu_(),
    "index_add_": lambda m, t: t.index_add_(1, m.tensor([0, 0], device=t.device),
                                            m.ones(3, 2, dtype=t.dtype, device=t.device)),
    "index_copy_": lambda m, t: t.index_copy_(0, m.tensor([2], device=t.device),
                                              m.zeros(1, 4, dtype=t.dtype, device=t.device)),
    "index_fill_": lambda m, t: t.index_fill_(1, m.tensor([1], device=t.device), 7.0),
    "masked_scatter_": lambda m, t: t.masked_scatter_(t > 0, m.arange(
        12, dtype=t.dtype, device=t.device)),
    "scatter_": lambda m, t: t.scatter_(0, m.tensor([[1, 0]], device=t.device), 3.0),
    "scatter_add_": lambda m, t: t.scatter_add_(1, m.tensor([[0, 0]], device=t.device),
                                                m.ones(1, 2, dtype=t.dtype, device=t.device)),
    "scatter_reduce_": lambda m, t: t.scatter_reduce_(
        0, m.tensor([[2, 2, 0, 1]], device=t.device),
        m.full((1, 4), -9.0, dtype=t.dtype, device=t.device), "amin", include_self=False),
    "scatter_reduce_max_": lambda m, t: t.scatter_reduce_(
        1, m.tensor([[3, 3]], device=t.device), m.full((1, 2), 9.0, dtype=t.dtype,
                                                       device=t.device), "max"),
    "scatter_multiply_": lambda m, t: t.scatter_(
        1, m.tensor([[0, 0]], device=t.device),
        m.full((1, 2), 2.0, dtype=t.dtype, device=t.device), reduce="multiply"),
}


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
@pytest.mark.parametrize("name", list(INPLACE))
def test_in_place_forms_match_torch(name, device):
    torch = pytest.importorskip("torch")
    x = sample((3, 4), "any", seed=3)
    t = dynet.tensor(x, device=device)
    tt = torch.tensor(x)
    assert INPLACE[name](dynet, t) is t
    INPLACE[name](torch, tt)
    np.testing.assert_allclose(host(t), tt.numpy(), rtol=1e-12)


def test_in_place_form_records_the_graph(device):
    x = make(sample((3, 4), "any"), device, requires_grad=True)
    y = x * 1.0
    y.index_fill_(1, dynet.tensor([0, 2], device=device), 0.0)
    y.sum().backward()
    assert host(x.grad).tolist() == [[0.0, 1.0, 0.0, 1.0]] * 3


# ---------------------------------------------------------------- edge cases and errors

def test_zero_d_and_empty(device):
    torch = pytest.importorskip("torch")
    z = dynet.tensor(3.0, device=device)
    assert host(dynet.roll(z, 1)) == 3.0
    assert dynet.atleast_1d(z).shape == (1,) and dynet.atleast_3d(z).shape == (1, 1, 1)
    assert dynet.nonzero(z).shape == (1, 0) and len(dynet.nonzero(z, as_tuple=True)) == 1
    assert dynet.argwhere(dynet.tensor([0.0, 2.0, 0.0, 1.0], device=device)).tolist() == \
        [[1], [3]]
    assert z.unfold(0, 1, 1).shape == (1,)
    assert host(dynet.index_fill(z, 0, dynet.tensor([0], device=device), 1.0)) == 1.0
    assert host(dynet.index_add(z, 0, dynet.tensor([0], device=device),
                                dynet.tensor([2.0], device=device))) == 5.0
    assert host(dynet.scatter(z, 0, dynet.tensor(0, device=device), 4.0)) == 4.0
    e = dynet.zeros(0, 3, device=device)
    assert dynet.tril(e).shape == (0, 3) and dynet.diag_embed(e).shape == (0, 3, 3)
    assert dynet.masked_select(e, e > 0).shape == (0,)
    assert dynet.repeat_interleave(e, 2, dim=1).shape == (0, 6)
    assert dynet.meshgrid(dynet.zeros(0, device=device), dynet.zeros(2, device=device),
                          indexing="ij")[0].shape == (0, 2)
    a = np.arange(6.0).reshape(2, 3)
    for fn in (lambda m, t: m.diag(t, 5), lambda m, t: m.diagonal(t, -4),
               lambda m, t: m.tril(t, 9), lambda m, t: m.triu(t, -9)):
        assert fn(dynet, dynet.tensor(a, device=device)).tolist() == \
            fn(torch, torch.tensor(a)).tolist()


def test_repeat_interleave_counts_and_broadcasts():
    assert dynet.repeat_interleave(dynet.tensor([2, 0, 1])).tolist() == [0, 0, 2]
    assert dynet.broadcast_shapes((3, 1), 4, (2, 1, 1)) == (2, 3, 4)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        dynet.broadcast_shapes((3,), (4,))


def test_view_dtype_matches_torch(device):
    torch = pytest.importorskip("torch")
    x = np.array([[1.5, -2.0, 0.25, 3.0]], np.float32)
    for dt in ("int32", "int16", "float64", "uint8", "float16"):
        ours = dynet.tensor(x, device=device).view(getattr(dynet, dt))
        theirs = torch.tensor(x).view(getattr(torch, dt))
        assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype == getattr(dynet, dt)
        np.testing.assert_array_equal(host(ours), theirs.numpy())
    with pytest.raises(RuntimeError, match="cannot be 0"):
        dynet.tensor(1.0, device=device).view(dynet.float64)
    with pytest.raises(RuntimeError, match="divisible by 2"):
        dynet.ones(3, device=device).view(dynet.float64)
    assert not dynet.ones(2, requires_grad=True, device=device).view(dynet.int32).requires_grad


ERRORS = [
    (lambda m: m.tril(m.ones(3)), RuntimeError),
    (lambda m: m.diag(m.ones(2, 2, 2)), RuntimeError),
    (lambda m: m.diagonal(m.ones(2, 2), 0, 1, 1), RuntimeError),
    (lambda m: m.roll(m.ones(2, 2), (1, 1), 0), RuntimeError),
    (lambda m: m.rot90(m.ones(2, 2), 1, (0, 0)), RuntimeError),
    (lambda m: m.rot90(m.ones(2), 1), RuntimeError),
    (lambda m: m.ones(3).unfold(0, 4, 1), RuntimeError),
    (lambda m: m.ones(3).unfold(0, 2, 0), RuntimeError),
    (lambda m: m.narrow(m.ones(3), 0, 2, 2), RuntimeError),
    (lambda m: m.movedim(m.ones(2, 3), (0, 0), (0, 1)), RuntimeError),
    (lambda m: m.unflatten(m.ones(6), 0, (4, -1)), RuntimeError),
    (lambda m: m.masked_select(m.ones(3), m.ones(3)), RuntimeError),
    (lambda m: m.masked_scatter(m.ones(3), m.ones(3) > 0, m.ones(2)), RuntimeError),
    (lambda m: m.index_add(m.ones(3, 2), 0, m.tensor([0]), m.ones(2, 2)), RuntimeError),
    (lambda m: m.index_select(m.ones(3), 0, m.tensor([0.0])), (IndexError, RuntimeError)),
    (lambda m: m.scatter(m.ones(3, 2), 0, m.tensor([0, 1]), m.ones(3, 2)), RuntimeError),
    (lambda m: m.scatter(m.ones(3, 2), 0, m.tensor([[0.0]]), 1.0), RuntimeError),
    (lambda m: m.scatter_reduce(m.ones(3), 0, m.tensor([0]), m.ones(1), "add"), RuntimeError),
    (lambda m: m.repeat_interleave(m.ones(3), m.tensor([1, 2])), RuntimeError),
    (lambda m: m.meshgrid(m.ones(2), m.ones(2), indexing="yx"), RuntimeError),
    (lambda m: _pad(m)(m.ones(1, 1, 3), (4, 0), mode="circular"), RuntimeError),
    (lambda m: _pad(m)(m.ones(1, 1, 3), (-2, -2)), RuntimeError),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(case):
    torch = pytest.importorskip("torch")
    fn, kind = ERRORS[case]
    with pytest.raises(kind):
        fn(torch)
    with pytest.raises(kind):
        fn(dynet)
