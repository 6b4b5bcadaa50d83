"""Distances, instance / local-response norm, adaptive max pooling and the margin, embedding,
likelihood and CTC losses: NumPy float64 references, float64 gradchecks, PyTorch parity of
values and gradients, modules and errors, over devices."""
import itertools
import math

import numpy as np
import pytest

import dynet
import dynet.nn.functional as F
from dynet import nn
from core_utils import assert_close, check_grad, host, make, sample


def _torch():
    return pytest.importorskip("torch")


def _tf():
    return _torch().nn.functional


def _parity(fn, tfn, arrays, device, grads=None, rtol=1e-10, atol=1e-12, consts=()):
    """fn(dynet tensors) against tfn(torch tensors): values and the gradients of `grads`
    (indices into arrays; all by default) under one random cotangent."""
    torch = _torch()
    grads = range(len(arrays)) if grads is None else grads
    ours = [make(a, device, requires_grad=i in grads) for i, a in enumerate(arrays)]
    theirs = [torch.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    out, tout = fn(*ours, *consts), tfn(*theirs, *consts)
    assert tuple(out.shape) == tuple(tout.shape)
    assert_close(out, tout.detach().numpy(), rtol=rtol, atol=atol)
    g = sample(tuple(out.shape), seed=9)
    out.backward(dynet.tensor(g, dtype=out.dtype, device=device))
    tout.backward(torch.tensor(g))
    for i in grads:
        expected = theirs[i].grad
        assert_close(ours[i].grad, np.zeros_like(arrays[i]) if expected is None else
                     expected.numpy(), rtol=rtol * 100, atol=atol * 100)


# ---------------------------------------------------------------- distances

def test_cosine_similarity(device):
    x1, x2 = sample((3, 4), seed=1), sample((1, 4), seed=2)
    ref = (x1 * x2).sum(1) / (np.linalg.norm(x1, axis=1) * np.linalg.norm(x2, axis=1))
    assert_close(F.cosine_similarity(make(x1, device), make(x2, device)), ref, rtol=1e-12)
    check_grad(lambda a, b: F.cosine_similarity(a, b, dim=-1), [x1, x2], device)
    _parity(lambda a, b: F.cosine_similarity(a, b, 0), lambda a, b: _tf().cosine_similarity(
        a, b, 0), [sample((3, 2), seed=3), sample((3, 2), seed=4)], device)
    # a zero vector: the norm is clamped to eps in value, as PyTorch
    _parity(F.cosine_similarity, _tf().cosine_similarity, [np.zeros((2, 3)), x1[:2, :3]],
            device)
    assert_close(nn.CosineSimilarity(dim=1)(make(x1, device), make(x2, device)), ref,
                 rtol=1e-12)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, math.inf])
def test_pairwise_distance(p, device):
    x1, x2 = sample((3, 4), seed=1), sample((3, 4), seed=2)
    ref = np.linalg.norm(x1 - x2 + 1e-6, ord=p, axis=-1)
    assert_close(F.pairwise_distance(make(x1, device), make(x2, device), p), ref, rtol=1e-12)
    check_grad(lambda a, b: F.pairwise_distance(a, b, p), [x1, x2], device)
    _parity(lambda a, b: F.pairwise_distance(a, b, p, keepdim=True),
            lambda a, b: _tf().pairwise_distance(a, b, p, keepdim=True), [x1, x2[:1]], device)
    _parity(lambda a, b: F.pairwise_distance(a, b, p), lambda a, b: _tf().pairwise_distance(
        a, b, p), [x1[0], x2[0]], device)
    assert_close(nn.PairwiseDistance(p)(make(x1, device), make(x2, device)), ref, rtol=1e-12)


@pytest.mark.parametrize("p", [2.0, 1.0, 0.5, math.inf, 0.0])
def test_cdist(p, device):
    torch = _torch()
    x1, x2 = sample((2, 3, 4), seed=1), sample((2, 5, 4), seed=2)
    x2[0, 0] = x1[0, 1]  # a zero distance: the gradient there is 0, as PyTorch
    ref = np.stack([[[np.linalg.norm(a - b, ord=p) if p else np.count_nonzero(a - b)
                      for b in x2[k]] for a in x1[k]] for k in range(2)])
    assert_close(dynet.cdist(make(x1, device), make(x2, device), p), ref, rtol=1e-12)
    _parity(lambda a, b: dynet.cdist(a, b, p), lambda a, b: torch.cdist(a, b, p), [x1, x2],
            device, rtol=1e-9)
    if p not in (0.0, 0.5):
        check_grad(lambda a, b: dynet.cdist(a, b, p), [x1[:, :2], x2[:, 1:3]], device)


@pytest.mark.parametrize("case", [
    lambda m: m.cdist(m.ones(3), m.ones(2, 3)),
    lambda m: m.cdist(m.ones(2, 3), m.ones(2, 4)),
    lambda m: m.cdist(m.ones(2, 3), m.ones(2, 3), p=-1.0),
    lambda m: m.cdist(m.ones(2, 3, dtype=m.int64), m.ones(2, 3, dtype=m.int64)),
])
def test_cdist_errors_match_torch(case):
    torch = _torch()
    with pytest.raises(RuntimeError) as theirs:
        case(torch)
    with pytest.raises(RuntimeError) as ours:
        case(dynet)
    assert str(ours.value) == str(theirs.value)


def test_pdist(device):
    torch = _torch()
    x = sample((4, 3), seed=5)
    _parity(dynet.nn.functional.pdist, torch.nn.functional.pdist, [x], device)


def test_softmin_module(device):
    x = sample((2, 3), seed=1)
    e = np.exp(-x)
    assert_close(nn.Softmin(dim=1)(make(x, device)), e / e.sum(1, keepdims=True), rtol=1e-12)
    assert repr(nn.Softmin(1)) == "Softmin(dim=1)"
    assert isinstance(nn.Identity()(make(x, device)), dynet.Tensor)


# ---------------------------------------------------------------- normalisation

@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 2, 3), (1, 2, 4)])
def test_instance_norm_forward_gradcheck_and_torch(shape, device):
    x = sample(shape, seed=2)
    axes = tuple(range(2, len(shape)))
    ref = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + 1e-5)
    assert_close(F.instance_norm(make(x, device)), ref, rtol=1e-10, atol=1e-12)
    w, b = sample(shape[1:2], seed=3), sample(shape[1:2], seed=4)
    check_grad(lambda t, ww, bb: F.instance_norm(t, weight=ww, bias=bb), [x, w, b], device)
    _parity(lambda t, ww, bb: F.instance_norm(t, weight=ww, bias=bb, eps=1e-3),
            lambda t, ww, bb: _tf().instance_norm(t, weight=ww, bias=bb, eps=1e-3),
            [x, w, b], device, rtol=1e-9)


def test_instance_norm_running_stats_match_torch(device):
    torch = _torch()
    x = sample((4, 3, 6), seed=5)
    ours = nn.InstanceNorm1d(3, affine=True, track_running_stats=True).double().to(device)
    theirs = torch.nn.InstanceNorm1d(3, affine=True, track_running_stats=True).double()
    for _ in range(2):
        out = ours(make(x, device))
        tout = theirs(torch.tensor(x))
    assert_close(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert_close(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-12)
    assert_close(ours.running_var, theirs.running_var.numpy(), rtol=1e-12)
    ours.eval()
    theirs.eval()
    assert_close(ours(make(x, device)), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    # unbatched (C, L) input, 2-D module
    x2 = sample((3, 4, 5), seed=6)
    m2, t2 = nn.InstanceNorm2d(3).to(device), torch.nn.InstanceNorm2d(3)
    assert_close(m2(make(x2, device, dtype=dynet.float32)),
                 t2(torch.tensor(x2, dtype=torch.float32)).numpy(), rtol=1e-5, atol=1e-6)
    assert repr(nn.InstanceNorm2d(3)) == repr(torch.nn.InstanceNorm2d(3))
    no_bias = nn.InstanceNorm1d(3, affine=True, bias=False)
    assert no_bias.bias is None and repr(no_bias) == repr(
        torch.nn.InstanceNorm1d(3, affine=True, bias=False))


def test_instance_norm_errors():
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(dynet.ones(2, 3, 1))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.InstanceNorm1d(3)(dynet.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match="to match num_features"):
        nn.InstanceNorm1d(4, affine=True)(dynet.ones(2, 3, 4))
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(4)(dynet.randn(2, 3, 4))


@pytest.mark.parametrize("shape,size", [((2, 5, 3), 3), ((2, 4, 3, 2), 2), ((1, 3, 2, 2, 2), 5)])
def test_local_response_norm(shape, size, device):
    x = sample(shape, seed=7)
    sq = np.pad(x * x, [(0, 0), (size // 2, (size - 1) // 2)] + [(0, 0)] * (len(shape) - 2))
    avg = np.stack([sq[:, c:c + size].sum(1) for c in range(shape[1])], 1) / size
    ref = x / (1.0 + 1e-2 * avg) ** 0.75
    out = F.local_response_norm(make(x, device), size, alpha=1e-2)
    assert_close(out, ref, rtol=1e-12)
    check_grad(lambda t: F.local_response_norm(t, size, alpha=0.5, beta=0.6, k=2.0), [x], device)
    _parity(lambda t: nn.LocalResponseNorm(size, 0.3, 0.7, 1.5)(t),
            lambda t: _torch().nn.LocalResponseNorm(size, 0.3, 0.7, 1.5)(t), [x], device)
    with pytest.raises(ValueError, match="3D or higher"):
        F.local_response_norm(dynet.ones(2, 3), 2)


# ---------------------------------------------------------------- adaptive max pooling

def _np_adaptive_max(x, out):
    """NumPy reference: PyTorch's bins over the last len(out) dims, first max index."""
    spatial = x.shape[-len(out):]
    bins = [[(i * s // o, -(-(i + 1) * s // o)) for i in range(o)] for s, o in zip(spatial, out)]
    values = np.empty(x.shape[:-len(out)] + tuple(out))
    index = np.empty(values.shape, dtype=np.int64)
    for cell in itertools.product(*(range(o) for o in out)):
        sl = tuple(slice(*bins[d][c]) for d, c in enumerate(cell))
        win = x[(Ellipsis,) + sl]
        flat = win.reshape(win.shape[:-len(out)] + (-1,))
        arg = flat.argmax(-1)
        values[(Ellipsis,) + cell] = flat.max(-1)
        local = np.unravel_index(arg, win.shape[-len(out):])
        pos = [bins[d][c][0] + local[d] for d, c in enumerate(cell)]
        index[(Ellipsis,) + cell] = pos[0] * spatial[1] + pos[1] if len(out) == 2 else pos[0]
    return values, index


@pytest.mark.parametrize("shape,out", [((2, 3, 5, 7), (3, 4)), ((2, 3, 6, 6), (3, 3)),
                                       ((3, 4, 5), (2, 7)), ((1, 2, 4, 4), (1, 1))])
def test_adaptive_max_pool2d(shape, out, device):
    x = sample(shape, seed=8)
    values, index = F.adaptive_max_pool2d(make(x, device), out, return_indices=True)
    rv, ri = _np_adaptive_max(x, out)
    assert_close(values, rv, rtol=0, atol=0)
    np.testing.assert_array_equal(host(index), ri)
    check_grad(lambda t: F.adaptive_max_pool2d(t, out), [x], device)
    _parity(lambda t: nn.AdaptiveMaxPool2d(out)(t),
            lambda t: _torch().nn.AdaptiveMaxPool2d(out)(t), [x], device)
    torch = _torch()
    _, tidx = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), out, return_indices=True)
    np.testing.assert_array_equal(host(index), tidx.numpy())


@pytest.mark.parametrize("shape,out", [((2, 3, 7), 3), ((3, 5), 5), ((2, 2, 4), 6)])
def test_adaptive_max_pool1d(shape, out, device):
    x = sample(shape, seed=9)
    values, index = nn.AdaptiveMaxPool1d(out, return_indices=True)(make(x, device))
    rv, ri = _np_adaptive_max(x, (out,))
    assert_close(values, rv, rtol=0, atol=0)
    np.testing.assert_array_equal(host(index), ri)
    check_grad(lambda t: F.adaptive_max_pool1d(t, out), [x], device)
    _parity(lambda t: F.adaptive_max_pool1d(t, out),
            lambda t: _tf().adaptive_max_pool1d(t, out), [x], device)


def test_adaptive_max_pool_none_size_ties_and_errors(device):
    x = np.ones((1, 1, 3, 4))
    values, index = F.adaptive_max_pool2d(make(x, device), (2, None), return_indices=True)
    assert tuple(values.shape) == (1, 1, 2, 4)
    np.testing.assert_array_equal(host(index)[0, 0, 0], [0, 1, 2, 3])  # ties: the first
    with pytest.raises(RuntimeError, match="Expected 3D or 4D tensor"):
        F.adaptive_max_pool2d(dynet.ones(2, 3), 2)
    with pytest.raises(RuntimeError, match="non-zero size"):
        F.adaptive_max_pool2d(dynet.ones(1, 0, 3, 3), 2)
    empty = F.adaptive_max_pool2d(make(np.ones((0, 2, 3, 3)), device), 2)
    assert tuple(empty.shape) == (0, 2, 2, 2)


# ---------------------------------------------------------------- losses

REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_loss(reduction, swap, device):
    a, p, n = (sample((4, 3), seed=s) for s in (1, 2, 3))

    def d(x, y):
        return np.linalg.norm(x - y + 1e-6, axis=-1)
    dn = np.minimum(d(a, n), d(p, n)) if swap else d(a, n)
    loss = np.maximum(d(a, p) - dn + 0.7, 0)
    ref = loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss
    args = dict(margin=0.7, swap=swap, reduction=reduction)
    assert_close(F.triplet_margin_loss(*(make(v, device) for v in (a, p, n)), **args), ref,
                 rtol=1e-12)
    check_grad(lambda *t: F.triplet_margin_loss(*t, **args), [a, p, n], device)
    _parity(lambda *t: nn.TripletMarginLoss(**args)(*t),
            lambda *t: _torch().nn.TripletMarginLoss(**args)(*t), [a, p, n], device)
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_loss(*(make(v, device) for v in (a, p, n)), margin=0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_loss(reduction, device):
    x1, x2 = sample((5,), seed=1), sample((5,), seed=2)
    y = np.array([1.0, -1.0, 1.0, 1.0, -1.0])
    loss = np.maximum(0, -y * (x1 - x2) + 0.3)
    ref = loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss
    assert_close(F.margin_ranking_loss(make(x1, device), make(x2, device), make(y, device),
                                       margin=0.3, reduction=reduction), ref, rtol=1e-12)
    _parity(lambda a, b, t: nn.MarginRankingLoss(0.3, reduction=reduction)(a, b, t),
            lambda a, b, t: _torch().nn.MarginRankingLoss(0.3, reduction=reduction)(a, b, t),
            [x1, x2, y], device, grads=[0, 1])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cosine_embedding_loss(reduction, device):
    x1, x2 = sample((4, 3), seed=1), sample((4, 3), seed=2)
    y = np.array([1.0, -1.0, -1.0, 1.0])
    cos = (x1 * x2).sum(1) / np.sqrt(((x1 * x1).sum(1) + 1e-12) * ((x2 * x2).sum(1) + 1e-12))
    loss = np.where(y == 1, 1 - cos, np.maximum(cos - (-0.2), 0))
    ref = loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss
    assert_close(F.cosine_embedding_loss(make(x1, device), make(x2, device), make(y, device),
                                         margin=-0.2, reduction=reduction), ref, rtol=1e-12)
    check_grad(lambda a, b: F.cosine_embedding_loss(a, b, make(y, device), -0.2), [x1, x2],
               device)
    _parity(lambda a, b, t: nn.CosineEmbeddingLoss(-0.2, reduction=reduction)(a, b, t),
            lambda a, b, t: _torch().nn.CosineEmbeddingLoss(-0.2, reduction=reduction)(a, b, t),
            [x1, x2, y], device, grads=[0, 1])
    _parity(lambda a, b, t: F.cosine_embedding_loss(a, b, t),
            lambda a, b, t: _tf().cosine_embedding_loss(a, b, t),
            [x1[0], x2[0], np.array(-1.0)], device, grads=[0, 1])


@pytest.mark.parametrize("log_input,full", [(True, False), (False, False), (True, True),
                                            (False, True)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_poisson_nll_loss(log_input, full, reduction, device):
    x = sample((3, 4), "pos", seed=1)
    y = np.array([[0.0, 1.0, 2.0, 5.0], [3.0, 0.5, 1.0, 0.0], [2.0, 2.0, 7.0, 1.5]])
    loss = np.exp(x) - y * x if log_input else x - y * np.log(x + 1e-8)
    if full:
        safe = np.where(y > 1, y, 2.0)
        loss = loss + np.where(y > 1, safe * np.log(safe) - safe + 0.5 * np.log(2 * np.pi * safe),
                               0)
    ref = loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss
    args = dict(log_input=log_input, full=full, reduction=reduction)
    assert_close(F.poisson_nll_loss(make(x, device), make(y, device), **args), ref, rtol=1e-12)
    check_grad(lambda t: F.poisson_nll_loss(t, make(y, device), **args), [x], device)
    _parity(lambda a, b: nn.PoissonNLLLoss(log_input, full, reduction=reduction)(a, b),
            lambda a, b: _torch().nn.PoissonNLLLoss(log_input, full, reduction=reduction)(a, b),
            [x, y], device, grads=[0] if full else None)
    if full:  # PyTorch's target gradient is nan at target 0; dynet's is 0 there
        t = make(y, device, requires_grad=True)
        F.poisson_nll_loss(make(x, device), t, log_input=log_input, full=True,
                           reduction="sum").backward()
        big = np.where(y > 1, y, 1.0)
        stirling = np.where(y > 1, np.log(big) + 0.5 / big, 0.0)
        assert_close(t.grad, stirling - (x if log_input else np.log(x + 1e-8)), rtol=1e-10)


@pytest.mark.parametrize("var_shape", [(4, 3), (4,), (4, 1), "float"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_loss(var_shape, reduction, device):
    x, y = sample((4, 3), seed=1), sample((4, 3), seed=2)
    var = 1.7 if var_shape == "float" else sample(var_shape, "pos", seed=3)
    if not isinstance(var, float):
        var.reshape(-1)[0] = 1e-9  # below eps: clamped in value, gradient passes as PyTorch
    v = np.maximum(var if isinstance(var, float) else
                   (var[:, None] if var_shape == (4,) else var), 1e-6)
    loss = 0.5 * (np.log(v) + (x - y) ** 2 / v) + 0.5 * np.log(2 * np.pi)
    ref = loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss
    if isinstance(var, float):
        out = F.gaussian_nll_loss(make(x, device), make(y, device), var, full=True,
                                  reduction=reduction)
        assert_close(out, ref, rtol=1e-12)
        return
    out = F.gaussian_nll_loss(make(x, device), make(y, device), make(var, device), full=True,
                              reduction=reduction)
    assert_close(out, ref, rtol=1e-12)
    _parity(lambda a, b, c: nn.GaussianNLLLoss(full=True, reduction=reduction)(a, b, c),
            lambda a, b, c: _torch().nn.GaussianNLLLoss(full=True, reduction=reduction)(a, b, c),
            [x, y, var], device)
    good = sample(var_shape, "pos", seed=4)
    check_grad(lambda a, c: F.gaussian_nll_loss(a, make(y, device), c), [x, good], device)


def test_gaussian_nll_loss_errors():
    x = dynet.ones(4, 3)
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(x, x, dynet.ones(3, 3))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(x, x, -dynet.ones(4, 3))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(x, x, -1.0)


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin_loss(p, weighted, reduction, device):
    x = sample((4, 5), seed=1)
    y = np.array([0, 3, 4, 3])
    w = sample((5,), "pos", seed=2) if weighted else None
    z = np.maximum(0, 0.8 - x[np.arange(4), y][:, None] + x) ** p
    if weighted:
        z = z * w[y][:, None]
    z[np.arange(4), y] = 0
    loss = z.sum(1) / 5
    ref = loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss
    weight = make(w, device) if weighted else None
    out = F.multi_margin_loss(make(x, device), dynet.tensor(y, device=device), p, 0.8, weight,
                              reduction=reduction)
    assert_close(out, ref, rtol=1e-12)
    check_grad(lambda t: F.multi_margin_loss(t, dynet.tensor(y, device=device), p, 0.8, weight),
               [x], device)
    torch = _torch()
    tw = torch.tensor(w) if weighted else None
    _parity(lambda t: nn.MultiMarginLoss(p, 0.8, weight, reduction=reduction)(
        t, dynet.tensor(y, device=device)),
        lambda t: torch.nn.MultiMarginLoss(p, 0.8, tw, reduction=reduction)(t, torch.tensor(y)),
        [x], device)
    _parity(lambda t: F.multi_margin_loss(t, dynet.tensor(2, device=device)),
            lambda t: torch.nn.functional.multi_margin_loss(t, torch.tensor(2)), [x[0]], device)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_soft_margin_loss(weighted, reduction, device):
    x = sample((3, 4), seed=1)
    y = np.array([[1.0, 0, 1, 0], [0, 0, 1, 1], [1, 1, 1, 0]])
    w = sample((4,), "pos", seed=2) if weighted else None

    def logsig(v):
        return -np.logaddexp(0, -v)
    loss = -(y * logsig(x) + (1 - y) * logsig(-x)) * (w if weighted else 1)
    loss = loss.sum(1) / 4
    ref = loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss
    weight = make(w, device) if weighted else None
    assert_close(F.multilabel_soft_margin_loss(make(x, device), make(y, device), weight,
                                               reduction=reduction), ref, rtol=1e-12)
    check_grad(lambda t: F.multilabel_soft_margin_loss(t, make(y, device), weight), [x], device)
    torch = _torch()
    tw = torch.tensor(w) if weighted else None
    _parity(lambda a, b: nn.MultiLabelSoftMarginLoss(weight, reduction=reduction)(a, b),
            lambda a, b: torch.nn.MultiLabelSoftMarginLoss(tw, reduction=reduction)(a, b),
            [x, y], device, grads=[0])


# ---------------------------------------------------------------- CTC

def _ctc_brute_force(log_probs, target, blank=0):
    """-log of the summed probability of every frame path that collapses to `target`."""
    t_len, classes = log_probs.shape
    total = 0.0
    for path in itertools.product(range(classes), repeat=t_len):
        collapsed = [c for i, c in enumerate(path) if c != blank and (i == 0 or c != path[i - 1])]
        if collapsed == list(target):
            total += np.exp(sum(log_probs[t, c] for t, c in enumerate(path)))
    return -np.log(total)


def _log_softmax(x):
    return x - np.logaddexp.reduce(x, axis=-1, keepdims=True)


def test_ctc_loss_matches_brute_force(device):
    x = sample((5, 3, 3), seed=1)
    lp = _log_softmax(x)
    targets = np.array([[1, 2], [1, 1], [2, 0]])
    in_len, tgt_len = [5, 4, 3], [2, 2, 1]
    ref = [_ctc_brute_force(lp[:in_len[n], n], targets[n, :tgt_len[n]]) for n in range(3)]
    out = F.ctc_loss(make(lp, device), dynet.tensor(targets, device=device), in_len, tgt_len,
                     reduction="none")
    assert_close(out, ref, rtol=1e-10)
    mean = F.ctc_loss(make(lp, device), dynet.tensor(targets, device=device), in_len, tgt_len)
    assert_close(mean, np.mean(np.array(ref) / np.array(tgt_len)), rtol=1e-10)
    # blank elsewhere than 0, and concatenated targets
    ref2 = [_ctc_brute_force(lp[:in_len[n], n], [t - 1 if t else 2 for t in
                                                 targets[n, :tgt_len[n]]], blank=2)
            for n in range(3)]
    flat = np.array([0, 1, 0, 0, 1])
    out2 = F.ctc_loss(make(lp, device), dynet.tensor(flat, device=device),
                      dynet.tensor(in_len), dynet.tensor(tgt_len), blank=2, reduction="none")
    assert_close(out2, ref2, rtol=1e-10)


def test_ctc_loss_gradcheck_through_log_softmax(device):
    x = sample((6, 2, 4), seed=2)
    targets = dynet.tensor([[1, 3, 3], [2, 1, 0]], device=device)
    check_grad(lambda t: F.ctc_loss(F.log_softmax(t, 2), targets, [6, 5], [3, 2],
                                    reduction="sum"), [x], device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_loss_matches_torch(reduction, zero_infinity, device):
    torch = _torch()
    x = sample((7, 3, 5), seed=3)
    lp = _log_softmax(x)
    targets = np.array([[1, 2, 2, 4], [3, 3, 1, 0], [4, 1, 1, 2]])
    # the last sample cannot fit its 4 labels (with a repeat) in 3 frames: an infinite loss
    in_len, tgt_len = [7, 6, 3], [4, 2, 4]
    t = make(lp, device, requires_grad=True)
    tt = torch.tensor(lp, requires_grad=True)
    out = nn.CTCLoss(reduction=reduction, zero_infinity=zero_infinity)(
        t, dynet.tensor(targets, device=device), in_len, tgt_len)
    tout = torch.nn.CTCLoss(reduction=reduction, zero_infinity=zero_infinity)(
        tt, torch.tensor(targets), torch.tensor(in_len), torch.tensor(tgt_len))
    assert_close(out, tout.detach().numpy(), rtol=1e-10)
    if zero_infinity or reduction == "none":
        g = np.ones(tuple(out.shape))
        out.backward(dynet.tensor(g, dtype=out.dtype, device=device))
        tout.backward(torch.tensor(g))
        tg = tt.grad.numpy()
        if not zero_infinity:  # the infeasible sample's gradient is nan in both
            assert np.isnan(host(t.grad)[:, 2]).all() == np.isnan(tg[:, 2]).all()
            tg, ours = tg[:, :2], host(t.grad)[:, :2]
        else:
            ours = host(t.grad)
        assert_close(ours, tg, rtol=1e-9, atol=1e-12)


def test_ctc_loss_unbatched_float32_matches_torch(device):
    torch = _torch()
    x = sample((6, 4), seed=4).astype(np.float32)
    lp = x - np.log(np.exp(x).sum(-1, keepdims=True))
    t = make(lp, device, requires_grad=True, dtype=dynet.float32)
    tt = torch.tensor(lp, requires_grad=True)
    out = F.ctc_loss(t, dynet.tensor([1, 2, 1], device=device), [6], [3])
    tout = torch.nn.functional.ctc_loss(tt, torch.tensor([1, 2, 1]), torch.tensor([6]),
                                        torch.tensor([3]))
    assert out.dtype == dynet.float32 and tuple(out.shape) == ()
    assert_close(out, tout.detach().numpy(), rtol=1e-5)
    out.backward()
    tout.backward()
    assert_close(t.grad, tt.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_ctc_loss_errors():
    lp = dynet.zeros(4, 2, 3)
    tg = dynet.tensor([[1, 2], [1, 1]])
    with pytest.raises(RuntimeError, match="input_lengths to have value at most 4"):
        F.ctc_loss(lp, tg, [5, 4], [2, 2])
    with pytest.raises(RuntimeError, match="size at least 3 at dimension 1"):
        F.ctc_loss(lp, tg, [4, 4], [3, 2])
    with pytest.raises(RuntimeError, match="blank must be in label range"):
        F.ctc_loss(lp, tg, [4, 4], [2, 2], blank=3)
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.ctc_loss(lp, tg, [4, 4], [2, 2], reduction="avg")


def test_modules_are_exported():
    torch = _torch()
    for name in ("Softmin", "Identity", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
                 "LocalResponseNorm", "InstanceNorm1d", "InstanceNorm2d", "CosineSimilarity",
                 "PairwiseDistance", "TripletMarginLoss", "MarginRankingLoss",
                 "CosineEmbeddingLoss", "PoissonNLLLoss", "GaussianNLLLoss", "MultiMarginLoss",
                 "MultiLabelSoftMarginLoss", "CTCLoss"):
        assert name in nn.__all__ and hasattr(torch.nn, name), name
        assert repr(getattr(nn, name).__name__) == repr(name)
    for name in F.__all__:
        assert hasattr(F, name), name


def test_non_contiguous_and_empty_inputs(device):
    torch = _torch()
    x = sample((4, 6), seed=11)
    y = sample((5, 6), seed=12)
    xt = make(x, device, kind="transposed")  # holds x, non-contiguous
    assert not xt.is_contiguous()
    assert_close(dynet.cdist(xt, make(y, device)),
                 torch.cdist(torch.tensor(x), torch.tensor(y)).numpy(), rtol=1e-10)
    assert_close(F.cosine_similarity(xt, make(x, device)), np.ones(4), rtol=1e-12)
    img = sample((2, 3, 5, 4), seed=13)
    view = make(img, device).transpose(2, 3)  # (2, 3, 4, 5), non-contiguous
    ref = torch.nn.functional.adaptive_max_pool2d(torch.tensor(img).transpose(2, 3), (2, 3))
    assert_close(F.adaptive_max_pool2d(view, (2, 3)), ref.numpy(), rtol=0, atol=0)
    assert tuple(dynet.cdist(make(np.zeros((0, 3)), device),
                             make(np.zeros((2, 3)), device)).shape) == (0, 2)
    assert tuple(F.cosine_similarity(make(np.zeros((0, 3)), device),
                                     make(np.zeros((0, 3)), device)).shape) == (0,)
    empty = F.triplet_margin_loss(*(make(np.zeros((0, 3)), device) for _ in range(3)),
                                  reduction="sum")
    assert host(empty) == 0.0


@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist_if_necessary",
                                  "use_mm_for_euclid_dist",
                                  "donot_use_mm_for_euclid_dist"])
def test_cdist_euclidean_modes(mode, device):
    torch = _torch()
    x1, x2 = sample((30, 3), seed=1), sample((2, 4, 3), seed=2)  # batch dims broadcast
    x2[0, 1] = x1[3]
    ref = np.linalg.norm(x1[None, :, None, :] - x2[:, None, :, :], axis=-1)
    out = dynet.cdist(make(x1, device), make(x2, device), compute_mode=mode)
    assert_close(out, ref, rtol=1e-7, atol=1e-7)
    _parity(lambda a, b: dynet.cdist(a, b, compute_mode=mode),
            lambda a, b: torch.cdist(a, b, compute_mode=mode), [x1, x2], device, rtol=1e-8)
    check_grad(lambda a, b: dynet.cdist(a, b, compute_mode=mode), [x1[:5], x2[:, 2:]], device)
