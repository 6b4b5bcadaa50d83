"""Loss functions of dynet.nn.functional against PyTorch, gradchecks and error cases."""
import warnings

import numpy as np
import pytest

import dynet
import dynet.nn.functional as F
from dynet.autograd import gradcheck

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # pragma: no cover - torch is optional
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed")
REDUCTIONS = ["none", "mean", "sum"]


def host(t):
    return t.detach().cpu().numpy()


def tensor(a, device, grad=False):
    return dynet.tensor(np.asarray(a), device=device, requires_grad=grad)


def compare(fn, tfn, arrays, device, grad_of=(0,), rtol=1e-5, atol=1e-6, **kwargs):
    """fn(*tensors, **kwargs) vs tfn(...): value and the gradients of `grad_of` inputs.

    Array kwargs become tensors on both sides (weights, pos_weight).
    """
    ds = [tensor(a, device, i in grad_of) for i, a in enumerate(arrays)]
    ts = [torch.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    dkw = {k: tensor(v, device) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    out, ref = fn(*ds, **dkw), tfn(*ts, **tkw)
    assert tuple(out.shape) == tuple(ref.shape)
    assert out.dtype == getattr(dynet, str(ref.dtype).replace("torch.", ""))
    scale = max(1.0, float(np.abs(ref.detach().numpy()).max(initial=0.0)))
    np.testing.assert_allclose(host(out), ref.detach().numpy(), rtol=rtol, atol=atol * scale)
    if grad_of:
        up = np.random.default_rng(0).standard_normal(ref.shape).astype(arrays[0].dtype)
        out.backward(tensor(up, device))
        ref.backward(torch.tensor(up))
        for i in grad_of:
            np.testing.assert_allclose(host(ds[i].grad), ts[i].grad.numpy(), rtol=rtol,
                                       atol=atol, err_msg=f"gradient of input {i}")
    return out


def logits(shape, seed=0, dtype=np.float32):
    return (np.random.default_rng(seed).standard_normal(shape) * 2).astype(dtype)


def classes(shape, n, seed=1):
    return np.random.default_rng(seed).integers(0, n, shape)


# (input shape, target shape) for class-index targets, C = 5
CLASS_SHAPES = [((6, 5), (6,)), ((3, 5, 2, 3), (3, 2, 3)), ((5,), ())]
CE_OPTIONS = {
    "plain": {},
    "weight": {"weight": np.array([0.5, 2.0, 1.0, 0.1, 3.0], np.float32)},
    "ignore": {"ignore_index": 2},
    "smooth": {"label_smoothing": 0.25},
    "all": {"weight": np.array([0.5, 2.0, 1.0, 0.1, 3.0], np.float32), "ignore_index": 1,
            "label_smoothing": 0.1},
}


# ---------------------------------------------------------------- cross_entropy

@needs_torch
@pytest.mark.parametrize("shapes", CLASS_SHAPES, ids=["NC", "NCd1d2", "C"])
@pytest.mark.parametrize("option", sorted(CE_OPTIONS))
def test_cross_entropy_class_indices_matches_torch(shapes, option, device):
    in_shape, t_shape = shapes
    x = logits(in_shape)
    t = classes(t_shape, 5)
    if t.ndim:
        t.reshape(-1)[:3] = [1, 2, 2]  # make sure ignored entries are present
    for reduction in REDUCTIONS:
        compare(lambda x: F.cross_entropy(x, tensor(t, device), reduction=reduction,
                                          **_tensors(CE_OPTIONS[option], device)),
                lambda x: TF.cross_entropy(x, torch.tensor(t), reduction=reduction,
                                           **_tensors(CE_OPTIONS[option], None)),
                [x], device)


def _tensors(options, device):
    """Options with arrays as dynet tensors on `device`, or torch tensors for device None."""
    conv = (lambda a: torch.tensor(a)) if device is None else (lambda a: tensor(a, device))
    return {k: conv(v) if isinstance(v, np.ndarray) else v for k, v in options.items()}


@needs_torch
@pytest.mark.parametrize("option", ["plain", "weight", "smooth"])
@pytest.mark.parametrize("shape", [(4, 5), (2, 5, 3), (5,)])
def test_cross_entropy_probabilities_matches_torch(option, shape, device):
    x = logits(shape)
    p = np.random.default_rng(2).dirichlet(np.ones(5), size=int(np.prod(shape)) // 5)
    p = np.moveaxis(p.reshape((-1,) + shape[2:] + (5,)), -1, 1).reshape(shape)
    p = p.astype(np.float32)
    opts = {k: v for k, v in CE_OPTIONS[option].items()}
    for reduction in REDUCTIONS:
        compare(lambda x, p: F.cross_entropy(x, p, reduction=reduction,
                                             **_tensors(opts, device)),
                lambda x, p: TF.cross_entropy(x, p, reduction=reduction,
                                              **_tensors(opts, None)),
                [x, p], device, grad_of=(0, 1))


@pytest.mark.parametrize("option", sorted(CE_OPTIONS))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradcheck(option, reduction, device):
    x = tensor(logits((4, 5), seed=3, dtype=np.float64), device, True)
    t = tensor([1, 4, 2, 0], device)
    opts = {k: v.astype(np.float64) if isinstance(v, np.ndarray) else v
            for k, v in CE_OPTIONS[option].items()}
    assert gradcheck(lambda x: F.cross_entropy(x, t, reduction=reduction,
                                               **_tensors(opts, device)), (x,))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probabilities_gradcheck(reduction, device):
    x = tensor(logits((3, 4, 2), seed=4, dtype=np.float64), device, True)
    p = np.random.default_rng(5).uniform(0.1, 1.0, (3, 4, 2))
    p = tensor(p / p.sum(axis=1, keepdims=True), device, True)
    w = tensor([0.3, 1.0, 2.0, 0.7], device)
    assert gradcheck(lambda x, p: F.cross_entropy(x, p, w, reduction=reduction,
                                                  label_smoothing=0.2), (x, p))


def test_cross_entropy_spatial_gradcheck(device):
    x = tensor(logits((2, 3, 2, 2), seed=6, dtype=np.float64), device, True)
    t = tensor([[[0, 2], [1, 1]], [[2, 2], [0, -100]]], device)
    assert gradcheck(lambda x: F.cross_entropy(x, t, weight=tensor([1.0, 2.0, 0.5], device),
                                               label_smoothing=0.1), (x,))


def test_cross_entropy_is_one_fused_node(device):
    x = tensor(logits((4, 3)), device, True)
    out = F.cross_entropy(x, tensor([0, 1, 2, 1], device))
    # the loss node's first parent is the leaf itself: no log_softmax/nll/mean chain between
    assert out.grad_fn.parents[0] is x
    assert all(fn is None for fn, _ in out.grad_fn.next_functions)


def test_cross_entropy_equals_log_softmax_nll(device):
    x = tensor(logits((7, 4), seed=8), device, True)
    t = tensor(classes((7,), 4), device)
    a = F.cross_entropy(x, t)
    b = F.nll_loss(F.log_softmax(x, dim=1), t)
    np.testing.assert_allclose(host(a), host(b), rtol=1e-6)


def test_cross_entropy_all_ignored_and_empty_give_nan(device):
    x = tensor(logits((3, 4)), device, True)
    out = F.cross_entropy(x, tensor([-100, -100, -100], device))
    assert np.isnan(host(out))
    assert float(host(F.cross_entropy(x, tensor([-100] * 3, device), reduction="sum"))) == 0.0
    empty = F.cross_entropy(tensor(np.zeros((0, 4), np.float32), device),
                            dynet.tensor(np.zeros(0, np.int64), device=device))
    assert np.isnan(host(empty))


def test_cross_entropy_large_logits_are_stable(device):
    x = tensor(np.array([[1000.0, -1000.0, 0.0]], np.float32), device, True)
    out = F.cross_entropy(x, tensor([1], device))
    out.backward()
    assert np.isclose(float(host(out)), 2000.0)
    np.testing.assert_allclose(host(x.grad), [[1.0, -1.0, 0.0]], atol=1e-6)


def test_cross_entropy_class_index_errors(device):
    x = tensor(logits((3, 5)), device)
    with pytest.raises(IndexError, match=r"Target 7 .*5 classes"):
        F.cross_entropy(x, tensor([1, 2, 7], device))
    with pytest.raises(IndexError, match=r"Target -3 .*5 classes"):
        F.cross_entropy(x, tensor([1, -3, 0], device))
    with pytest.raises(IndexError, match="Target 5"):
        F.nll_loss(x, tensor([5, 0, 0], device), ignore_index=0)
    with pytest.raises(ValueError, match=r"batch_size \(3\) to match target batch_size \(2\)"):
        F.cross_entropy(x, tensor([1, 2], device))
    with pytest.raises(RuntimeError, match=r"Expected target size \[2, 4\], got \[2, 5\]"):
        F.cross_entropy(tensor(logits((2, 3, 4)), device),
                        dynet.tensor(np.zeros((2, 5), np.int64), device=device))
    with pytest.raises(RuntimeError, match="class-probability targets"):
        F.cross_entropy(x, tensor([1.0, 2.0, 0.0], device))
    with pytest.raises(RuntimeError, match="Expected floating point type"):
        F.cross_entropy(x, dynet.tensor(np.zeros((3, 5), np.int64), device=device))
    with pytest.raises(RuntimeError, match="ignore_index is not supported"):
        F.cross_entropy(x, tensor(np.full((3, 5), 0.2, np.float32), device), ignore_index=1)
    with pytest.raises(RuntimeError, match="label_smoothing"):
        F.cross_entropy(x, tensor([1, 2, 0], device), label_smoothing=1.5)
    with pytest.raises(RuntimeError, match=r"shape: \[4\]"):
        F.cross_entropy(x, tensor([1, 2, 0], device), weight=dynet.ones(4, device=device))


# ---------------------------------------------------------------- nll_loss

@needs_torch
@pytest.mark.parametrize("shapes", CLASS_SHAPES, ids=["NC", "NCd1d2", "C"])
@pytest.mark.parametrize("option", ["plain", "weight", "ignore"])
def test_nll_loss_matches_torch(shapes, option, device):
    in_shape, t_shape = shapes
    x = logits(in_shape, seed=9)
    t = classes(t_shape, 5, seed=10)
    if t.ndim:
        t.reshape(-1)[:2] = [2, 3]
    opts = CE_OPTIONS[option]
    for reduction in REDUCTIONS:
        compare(lambda x: F.nll_loss(x, tensor(t, device), reduction=reduction,
                                     **_tensors(opts, device)),
                lambda x: TF.nll_loss(x, torch.tensor(t), reduction=reduction,
                                      **_tensors(opts, None)),
                [x], device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_gradcheck(reduction, device):
    x = tensor(logits((5, 3), seed=11, dtype=np.float64), device, True)
    t = tensor([0, 2, 1, 2, 1], device)
    w = tensor([0.2, 1.0, 3.0], device)
    assert gradcheck(lambda x: F.nll_loss(x, t, w, ignore_index=1, reduction=reduction),
                     (x,))


def test_nll_loss_weighted_mean_divides_by_kept_weights(device):
    x = tensor(-np.arange(12.0).reshape(4, 3), device)
    t = tensor([0, 1, 2, 1], device)
    w = tensor([1.0, 2.0, 4.0], device)
    # kept: rows 0 (w 1, -x 0), 2 (w 4, -x 8); row 1 and 3 ignored (class 1)
    out = F.nll_loss(x, t, w, ignore_index=1)
    np.testing.assert_allclose(float(host(out)), (1 * 0 + 4 * 8) / 5.0)


# ---------------------------------------------------------------- regression losses

REGRESSION = {
    "mse": (F.mse_loss, lambda *a, **k: TF.mse_loss(*a, **k), {}),
    "l1": (F.l1_loss, lambda *a, **k: TF.l1_loss(*a, **k), {}),
    "smooth_l1": (F.smooth_l1_loss, lambda *a, **k: TF.smooth_l1_loss(*a, **k), {}),
    "smooth_l1_beta": (F.smooth_l1_loss, lambda *a, **k: TF.smooth_l1_loss(*a, **k),
                       {"beta": 0.5}),
    "smooth_l1_beta0": (F.smooth_l1_loss, lambda *a, **k: TF.smooth_l1_loss(*a, **k),
                        {"beta": 0.0}),
    "huber": (F.huber_loss, lambda *a, **k: TF.huber_loss(*a, **k), {}),
    "huber_delta": (F.huber_loss, lambda *a, **k: TF.huber_loss(*a, **k), {"delta": 2.5}),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(REGRESSION))
def test_regression_losses_match_torch(name, device):
    fn, tfn, kw = REGRESSION[name]
    x, y = logits((4, 6), seed=12), logits((4, 6), seed=13)
    y[0, :3] = x[0, :3]  # zero differences: the sign/kink conventions
    for reduction in REDUCTIONS:
        compare(lambda x, y: fn(x, y, reduction=reduction, **kw),
                lambda x, y: tfn(x, y, reduction=reduction, **kw), [x, y], device,
                grad_of=(0, 1))


@needs_torch
@pytest.mark.parametrize("name", ["mse", "l1", "huber"])
def test_weighted_regression_losses_match_torch(name, device):
    fn, tfn, _ = REGRESSION[name]
    x, y = logits((3, 4), seed=14), logits((3, 4), seed=15)
    w = np.random.default_rng(16).uniform(0.1, 2.0, (3, 4)).astype(np.float32)
    for reduction in REDUCTIONS:
        compare(lambda x, y, w: fn(x, y, reduction=reduction, weight=w),
                lambda x, y, w: tfn(x, y, reduction=reduction, weight=w), [x, y, w], device,
                grad_of=(0, 1, 2))


@needs_torch
def test_regression_loss_broadcasts_target_with_warning(device):
    x, y = logits((3, 4), seed=17), logits((4,), seed=18)
    with pytest.warns(UserWarning, match="target size"):
        compare(F.mse_loss, TF.mse_loss, [x, y], device, grad_of=(0, 1))


@pytest.mark.parametrize("name", sorted(REGRESSION))
def test_regression_losses_gradcheck(name, device):
    fn, _, kw = REGRESSION[name]
    rng = np.random.default_rng(19)
    x = tensor(rng.standard_normal((3, 4)) * 2, device, True)
    y = tensor(rng.standard_normal((3, 4)) * 2, device, True)
    assert gradcheck(lambda x, y: fn(x, y, **kw), (x, y))
    if "weight" in fn.__code__.co_varnames:
        w = tensor(rng.uniform(0.5, 2.0, (3, 4)), device, True)
        assert gradcheck(lambda x, y, w: fn(x, y, weight=w, **kw), (x, y, w))


def test_regression_loss_errors(device):
    x = tensor(logits((3, 4)), device)
    with pytest.raises(RuntimeError, match=r"\[3, 4\].*\[2, 4\]"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            F.mse_loss(x, tensor(logits((2, 4)), device))
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        F.l1_loss(x, x, weight=dynet.ones(4, device=device))
    with pytest.raises(RuntimeError, match="negative values for beta"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(RuntimeError, match="non-positive values for delta"):
        F.huber_loss(x, x, delta=0.0)


# ---------------------------------------------------------------- binary losses

@needs_torch
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_matches_torch(weighted, device):
    rng = np.random.default_rng(20)
    p = rng.uniform(0.02, 0.98, (4, 3)).astype(np.float32)
    y = rng.uniform(0, 1, (4, 3)).astype(np.float32)
    kw = {"weight": rng.uniform(0.5, 2, (3,)).astype(np.float32)} if weighted else {}
    for reduction in REDUCTIONS:
        compare(lambda p, y, **k: F.binary_cross_entropy(p, y, reduction=reduction, **k),
                lambda p, y, **k: TF.binary_cross_entropy(p, y, reduction=reduction, **k),
                [p, y], device, grad_of=(0, 1), **kw)


@needs_torch
def test_binary_cross_entropy_clamps_log_at_saturation(device):
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5], np.float32)
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0], np.float32)
    out = compare(lambda p, y: F.binary_cross_entropy(p, y, reduction="none"),
                  lambda p, y: TF.binary_cross_entropy(p, y, reduction="none"), [p, y],
                  device)
    np.testing.assert_allclose(host(out)[:2], [100.0, 100.0])


@needs_torch
@pytest.mark.parametrize("option", ["plain", "weight", "pos_weight", "both"])
def test_bce_with_logits_matches_torch(option, device):
    rng = np.random.default_rng(21)
    x = logits((4, 3), seed=22) * 5
    x[0] = [80.0, -80.0, 0.0]  # saturated logits must stay finite
    y = rng.uniform(0, 1, (4, 3)).astype(np.float32)
    kw = {}
    if option in ("weight", "both"):
        kw["weight"] = rng.uniform(0.5, 2, (4, 1)).astype(np.float32)
    if option in ("pos_weight", "both"):
        kw["pos_weight"] = np.array([0.5, 1.0, 3.0], np.float32)
    for reduction in REDUCTIONS:
        compare(lambda x, y, **k: F.binary_cross_entropy_with_logits(x, y, reduction=reduction,
                                                                     **k),
                lambda x, y, **k: TF.binary_cross_entropy_with_logits(x, y,
                                                                      reduction=reduction,
                                                                      **k),
                [x, y], device, grad_of=(0, 1), **kw)


def test_binary_losses_gradcheck(device):
    rng = np.random.default_rng(23)
    p = tensor(rng.uniform(0.1, 0.9, (3, 4)), device, True)
    x = tensor(rng.standard_normal((3, 4)) * 3, device, True)
    y = tensor(rng.uniform(0, 1, (3, 4)), device, True)
    w = tensor(rng.uniform(0.5, 2, (4,)), device, True)
    pw = tensor(rng.uniform(0.5, 2, (4,)), device, True)
    assert gradcheck(lambda p, y: F.binary_cross_entropy(p, y, w.detach()), (p, y))
    assert gradcheck(lambda x, y, w, pw: F.binary_cross_entropy_with_logits(
        x, y, w, pos_weight=pw, reduction="sum"), (x, y, w, pw))


def test_binary_loss_errors(device):
    p = tensor(np.full((2, 3), 0.5, np.float32), device)
    with pytest.raises(ValueError, match="target size"):
        F.binary_cross_entropy(p, tensor(np.ones(3, np.float32), device))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(p * 3.0, p)
    with pytest.raises(ValueError, match=r"Target size .* must be the same as input size"):
        F.binary_cross_entropy_with_logits(p, tensor(np.ones(3, np.float32), device))


# ---------------------------------------------------------------- kl_div

@needs_torch
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(log_target, device):
    rng = np.random.default_rng(24)
    x = np.log(rng.dirichlet(np.ones(4), 3)).astype(np.float32)
    t = rng.dirichlet(np.ones(4), 3).astype(np.float32)
    if log_target:
        t = np.log(t + 0.1).astype(np.float32)
    else:
        # 0 * log 0 = 0; torch's target gradient there is NaN, dynet's the finite -input
        t[0, 1] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn about reduction='mean'
        for reduction in ["none", "mean", "sum", "batchmean"]:
            compare(lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=log_target),
                    lambda x, t: TF.kl_div(x, t, reduction=reduction, log_target=log_target),
                    [x, t], device, grad_of=(0, 1) if log_target else (0,))


def test_kl_div_gradcheck(device):
    rng = np.random.default_rng(25)
    x = tensor(rng.standard_normal((2, 3)), device, True)
    t = tensor(rng.uniform(0.1, 1, (2, 3)), device, True)
    assert gradcheck(lambda x, t: F.kl_div(x, t, reduction="batchmean"), (x, t))
    assert gradcheck(lambda x, t: F.kl_div(x, t, reduction="sum", log_target=True), (x, t))


# ---------------------------------------------------------------- reduction arguments

LOSS_CALLS = {
    "cross_entropy": lambda r: F.cross_entropy(dynet.randn(2, 3), dynet.tensor([0, 1]),
                                               reduction=r),
    "nll_loss": lambda r: F.nll_loss(dynet.randn(2, 3), dynet.tensor([0, 1]), reduction=r),
    "mse_loss": lambda r: F.mse_loss(dynet.randn(2), dynet.randn(2), reduction=r),
    "l1_loss": lambda r: F.l1_loss(dynet.randn(2), dynet.randn(2), reduction=r),
    "smooth_l1_loss": lambda r: F.smooth_l1_loss(dynet.randn(2), dynet.randn(2), reduction=r),
    "huber_loss": lambda r: F.huber_loss(dynet.randn(2), dynet.randn(2), reduction=r),
    "bce": lambda r: F.binary_cross_entropy(dynet.rand(2), dynet.rand(2), reduction=r),
    "bce_logits": lambda r: F.binary_cross_entropy_with_logits(dynet.randn(2), dynet.rand(2),
                                                               reduction=r),
    "kl_div": lambda r: F.kl_div(dynet.randn(2), dynet.rand(2), reduction=r),
}


@pytest.mark.parametrize("name", sorted(LOSS_CALLS))
def test_invalid_reduction_raises_value_error(name):
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        LOSS_CALLS[name]("avg")
    assert LOSS_CALLS[name]("sum").shape == ()


def test_legacy_size_average_and_reduce(device):
    x, y = tensor([1.0, 2.0], device), tensor([0.0, 0.0], device)
    with pytest.warns(UserWarning, match="size_average and reduce"):
        assert float(host(F.mse_loss(x, y, size_average=False))) == 5.0
    with pytest.warns(UserWarning):
        assert F.mse_loss(x, y, reduce=False).shape == (2,)
    with pytest.warns(UserWarning):
        assert float(host(F.l1_loss(x, y, size_average=True, reduce=True))) == 1.5
