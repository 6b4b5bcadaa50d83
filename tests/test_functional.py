"""dynet.nn.functional (minus losses): activations, dropout, norms, embedding, one_hot."""
import contextlib

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


def host(t):
    return t.detach().cpu().numpy()


def tensor(a, device, grad=False):
    return dynet.tensor(np.asarray(a), device=device, requires_grad=grad)


def check_against_torch(fn, tfn, arrays, device, rtol=1e-5, atol=1e-6, grad_of=None):
    """Forward and gradients (random upstream) of fn vs torch's tfn on the same inputs."""
    rng = np.random.default_rng(7)
    grad_of = range(len(arrays)) if grad_of is None else grad_of
    ds = [tensor(a, device, i in grad_of) for i, a in enumerate(arrays)]
    ts = [torch.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    out, ref = fn(*ds), tfn(*ts)
    assert tuple(out.shape) == tuple(ref.shape)
    assert out.dtype == getattr(dynet, str(ref.dtype).replace("torch.", ""))
    np.testing.assert_allclose(host(out), ref.detach().numpy(), rtol=rtol, atol=atol)
    up = rng.standard_normal(ref.shape).astype(arrays[0].dtype)
    out.backward(tensor(up, device))
    ref.backward(torch.tensor(up))
    for i in grad_of:
        np.testing.assert_allclose(host(ds[i].grad), ts[i].grad.numpy(), rtol=rtol,
                                   atol=atol, err_msg=f"gradient of input {i}")


# ---------------------------------------------------------------- activations

# name -> (dynet call, torch call); each takes one tensor
ACTIVATIONS = {
    "relu": (F.relu, lambda t: TF.relu(t)),
    "relu6": (F.relu6, lambda t: TF.relu6(t)),
    "leaky_relu": (F.leaky_relu, lambda t: TF.leaky_relu(t)),
    "leaky_relu_0.2": (lambda x: F.leaky_relu(x, 0.2), lambda t: TF.leaky_relu(t, 0.2)),
    "elu": (F.elu, lambda t: TF.elu(t)),
    "elu_0.5": (lambda x: F.elu(x, alpha=0.5), lambda t: TF.elu(t, alpha=0.5)),
    "selu": (F.selu, lambda t: TF.selu(t)),
    "celu": (lambda x: F.celu(x, 0.7), lambda t: TF.celu(t, 0.7)),
    "gelu": (F.gelu, lambda t: TF.gelu(t)),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda t: TF.gelu(t, approximate="tanh")),
    "silu": (F.silu, lambda t: TF.silu(t)),
    "mish": (F.mish, lambda t: TF.mish(t)),
    "sigmoid": (F.sigmoid, lambda t: torch.sigmoid(t)),
    "tanh": (F.tanh, lambda t: torch.tanh(t)),
    "softplus": (F.softplus, lambda t: TF.softplus(t)),
    "softplus_beta": (lambda x: F.softplus(x, beta=2.0, threshold=3.0),
                      lambda t: TF.softplus(t, beta=2.0, threshold=3.0)),
    "logsigmoid": (F.logsigmoid, lambda t: TF.logsigmoid(t)),
    "softsign": (F.softsign, lambda t: TF.softsign(t)),
    "hardtanh": (lambda x: F.hardtanh(x, -2.0, 1.5), lambda t: TF.hardtanh(t, -2.0, 1.5)),
    "hardsigmoid": (F.hardsigmoid, lambda t: TF.hardsigmoid(t)),
    "hardswish": (F.hardswish, lambda t: TF.hardswish(t)),
    "threshold": (lambda x: F.threshold(x, 0.5, -2.0), lambda t: TF.threshold(t, 0.5, -2.0)),
    "softmax": (lambda x: F.softmax(x, dim=1), lambda t: TF.softmax(t, dim=1)),
    "softmin": (lambda x: F.softmin(x, dim=0), lambda t: TF.softmin(t, dim=0)),
    "log_softmax": (lambda x: F.log_softmax(x, dim=-1), lambda t: TF.log_softmax(t, dim=-1)),
    "glu": (lambda x: F.glu(x, dim=1), lambda t: TF.glu(t, dim=1)),
}

# the kinks and thresholds where the conventions for gradients differ between libraries
SPECIAL = [0.0, -3.0, 3.0, 6.0, -1.0, 1.0, 1.5, -2.0, 0.5, 20.0, 25.0, -30.0, 40.0, -0.0]


def activation_input(dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((4, 6, 3)) * 3).astype(dtype)
    x.reshape(-1)[:len(SPECIAL)] = SPECIAL
    return x


@needs_torch
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_matches_torch(name, device):
    fn, tfn = ACTIVATIONS[name]
    check_against_torch(fn, tfn, [activation_input()], device)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradcheck(name, device):
    fn, _ = ACTIVATIONS[name]
    rng = np.random.default_rng(3)
    # away from the kinks, where finite differences are meaningless
    x = rng.uniform(0.1, 4.0, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
    x[np.abs(np.abs(x) - 3.0) < 0.05] += 0.2
    x[np.abs(x - 1.5) < 0.05] += 0.2
    x[np.abs(x - 0.5) < 0.05] += 0.2
    assert gradcheck(fn, (tensor(x, device, True),))


def test_gelu_matches_math_erf_in_float64(device):
    import math
    x = np.linspace(-9.0, 9.0, 721)
    ref = np.array([0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))) for v in x])
    np.testing.assert_allclose(host(F.gelu(tensor(x, device))), ref, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_activations_keep_dtype(dtype, device):
    x = tensor(activation_input(np.dtype(dtype)), device)
    for name, (fn, _) in ACTIVATIONS.items():
        assert fn(x).dtype == getattr(dynet, dtype), name


def test_relu_inplace_mutates_and_returns_input(device):
    x = tensor([-1.0, 0.5, 2.0], device)
    out = F.relu(x, inplace=True)
    assert out is x
    np.testing.assert_array_equal(host(x), [0.0, 0.5, 2.0])
    y = tensor([-1.0, 3.0], device)
    assert F.leaky_relu(y, 0.5, inplace=True) is y
    np.testing.assert_array_equal(host(y), [-0.5, 3.0])


@pytest.mark.parametrize("grad_mode", ["no_grad", "plain"])
def test_relu_inplace_without_graph_writes_the_array_itself(device, grad_mode, split_cpu):
    """Nothing recorded: relu_ writes the tensor's own array (no copy back), bumps its
    version, shows through views and the base, and keeps NaN and -0.0 as torch's relu_."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    base_np = rng.standard_normal((4, 70000)).astype(np.float32)  # large: split in blocks
    base_np[0, :4] = [np.nan, -np.inf, np.inf, -0.0]
    base = tensor(base_np.copy(), device)
    view = base[:, ::2]  # non-contiguous
    data, version = view._data, view._version
    with (dynet.no_grad() if grad_mode == "no_grad" else contextlib.nullcontext()):
        out = F.relu(view, inplace=True)
    assert out is view and view._data is data and view._version > version
    ref = torch.tensor(base_np.copy())
    torch.nn.functional.relu(ref[:, ::2], inplace=True)
    np.testing.assert_array_equal(host(base), ref.numpy())
    np.testing.assert_array_equal(host(view), ref[:, ::2].numpy())
    whole = tensor(base_np.copy(), device)
    F.relu(whole, inplace=True)
    np.testing.assert_array_equal(host(whole), torch.relu(torch.tensor(base_np)).numpy())


def test_relu_inplace_without_graph_on_expanded_raises(device):
    x = tensor([-1.0, 2.0], device).expand(3, 2)
    with pytest.raises(RuntimeError, match="more than one element"):
        F.relu(x, inplace=True)


def test_inplace_on_leaf_requiring_grad_raises(device):
    x = tensor([-1.0, 2.0], device, True)
    with pytest.raises(RuntimeError, match="leaf"):
        F.relu(x, inplace=True)


def test_inplace_in_graph_backpropagates(device):
    x = tensor([-1.0, 0.5, 2.0], device, True)
    h = x * 2.0
    out = F.relu6(h, inplace=True)
    assert out is h
    out.sum().backward()
    np.testing.assert_array_equal(host(x.grad), [0.0, 2.0, 2.0])


def test_activation_argument_errors():
    x = dynet.randn(3)
    with pytest.raises(RuntimeError, match="approximate"):
        F.gelu(x, approximate="fast")
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(RuntimeError, match="even"):
        F.glu(dynet.randn(2, 3), dim=1)


@needs_torch
def test_prelu_matches_torch(device):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    w = np.array([0.1, 0.25, -0.5], np.float32)
    check_against_torch(F.prelu, TF.prelu, [x, w], device)
    check_against_torch(F.prelu, TF.prelu, [x, np.array([0.3], np.float32)], device)


@needs_torch
def test_linear_matches_torch(device):
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in ((2, 5, 4), (3, 4), (3,))]
    check_against_torch(F.linear, TF.linear, arrays, device)
    check_against_torch(F.linear, TF.linear, arrays[:2], device)


@needs_torch
def test_bilinear_matches_torch(device):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s).astype(np.float32)
              for s in ((2, 3, 4), (2, 3, 5), (6, 4, 5), (6,))]
    check_against_torch(F.bilinear, TF.bilinear, arrays, device)
    check_against_torch(F.bilinear, TF.bilinear, [a[0] if a.ndim == 3 and i < 2 else a
                                                  for i, a in enumerate(arrays[:3])], device)
    with pytest.raises(RuntimeError, match="weight"):
        F.bilinear(tensor(arrays[0], device), tensor(arrays[1], device),
                   tensor(arrays[2][:, :3], device))


def _seeded(fn):
    """fn with the generator reseeded on every call, so random masks repeat (gradcheck)."""
    def call(*args):
        dynet.manual_seed(3)
        return fn(*args)
    return call


COMPOSITE_GRADCHECKS = {
    "linear": (lambda x, w, b: F.linear(x, w, b), [(2, 3), (4, 3), (4,)]),
    "bilinear": (lambda x, y, w, b: F.bilinear(x, y, w, b), [(2, 3), (2, 2), (4, 3, 2), (4,)]),
    "prelu": (F.prelu, [(2, 3, 2), (3,)]),
    "normalize": (lambda x: F.normalize(x, p=3.0, dim=0), [(3, 4)]),
    "dropout": (_seeded(lambda x: F.dropout(x, 0.4)), [(4, 5)]),
    "dropout2d": (_seeded(lambda x: F.dropout2d(x, 0.5)), [(2, 3, 2, 2)]),
}


@pytest.mark.parametrize("name", sorted(COMPOSITE_GRADCHECKS))
def test_gradcheck_linear_dropout_and_friends(name, device):
    fn, shapes = COMPOSITE_GRADCHECKS[name]
    rng = np.random.default_rng(4)
    args = [tensor(rng.standard_normal(s), device, True) for s in shapes]
    assert gradcheck(fn, args)


# ---------------------------------------------------------------- dropout

def test_dropout_scales_kept_elements_and_gradient(device):
    x = tensor(np.full((200, 50), 2.0, np.float32), device, True)
    out = F.dropout(x, p=0.3)
    vals = host(out)
    kept = vals != 0
    np.testing.assert_allclose(vals[kept], 2.0 / 0.7, rtol=1e-6)
    assert abs(kept.mean() - 0.7) < 0.02
    out.sum().backward()
    np.testing.assert_allclose(host(x.grad), kept / 0.7, rtol=1e-6)


def test_dropout_eval_and_p0_are_identity(device):
    x = tensor([1.0, 2.0], device)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout2d(dynet.randn(2, 3, 4, 4), 0.5, training=False).shape == (2, 3, 4, 4)


def test_dropout_p1_zeroes_everything(device):
    x = tensor(np.ones((4, 4), np.float32), device, True)
    out = F.dropout(x, 1.0)
    out.sum().backward()
    assert not host(out).any() and not np.isnan(host(x.grad)).any()
    assert not host(x.grad).any()


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_bad_p(p):
    x = dynet.randn(3)
    for fn in (F.dropout, F.dropout1d, F.dropout2d, F.dropout3d):
        with pytest.raises(ValueError, match="between 0 and 1"):
            fn(x.reshape(1, 1, 1, 3) if fn is not F.dropout1d else x.reshape(1, 3), p)


def test_dropout_is_reproducible_under_manual_seed(device):
    x = tensor(np.ones((10, 10), np.float32), device)
    dynet.manual_seed(5)
    a = host(F.dropout(x, 0.5))
    dynet.manual_seed(5)
    b = host(F.dropout(x, 0.5))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, host(F.dropout(x, 0.5)))


def test_dropout_inplace(device):
    x = tensor(np.ones((50, 4), np.float32), device)
    out = F.dropout(x, 0.5, inplace=True)
    assert out is x
    assert set(np.unique(host(x))) <= {0.0, 2.0}


@pytest.mark.parametrize("fn,shape,lead", [(F.dropout1d, (6, 8, 5), 2),
                                           (F.dropout1d, (8, 5), 1),
                                           (F.dropout2d, (6, 8, 3, 3), 2),
                                           (F.dropout3d, (6, 8, 2, 2, 2), 2),
                                           (F.dropout3d, (8, 2, 2, 2), 1)])
def test_feature_dropout_drops_whole_channels(fn, shape, lead, device):
    x = tensor(np.ones(shape, np.float32), device, True)
    out = fn(x, p=0.5)
    vals = host(out).reshape(shape[:lead] + (-1,))
    per_channel = vals.min(axis=-1) == vals.max(axis=-1)
    assert per_channel.all() and set(np.unique(vals)) == {0.0, 2.0}
    out.sum().backward()
    np.testing.assert_array_equal(host(x.grad), host(out))


def test_dropout2d_warns_on_3d_input():
    with pytest.warns(UserWarning, match="3D input"):
        F.dropout2d(dynet.ones(2, 3, 4))
    with pytest.raises(RuntimeError, match="2D or 3D"):
        F.dropout1d(dynet.ones(2, 3, 4, 5))


# ---------------------------------------------------------------- batch_norm

BN_SHAPES = [(8, 3), (4, 3, 5), (4, 3, 2, 3)]


@needs_torch
@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training_matches_torch(shape, affine, device):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    rm, rv = rng.standard_normal(3).astype(np.float32), rng.uniform(0.5, 2, 3).astype(np.float32)
    w, b = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    d_rm, d_rv = tensor(rm, device), tensor(rv, device)
    t_rm, t_rv = torch.tensor(rm), torch.tensor(rv)
    grad_of = (0, 1, 2) if affine else (0,)

    def fn(x, w=None, b=None):
        return F.batch_norm(x, d_rm, d_rv, w, b, training=True, momentum=0.2, eps=1e-3)

    def tfn(x, w=None, b=None):
        return TF.batch_norm(x, t_rm, t_rv, w, b, training=True, momentum=0.2, eps=1e-3)

    check_against_torch(fn, tfn, [x, w, b] if affine else [x], device, grad_of=grad_of,
                        rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(host(d_rm), t_rm.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(host(d_rv), t_rv.numpy(), rtol=1e-5, atol=1e-6)


@needs_torch
def test_batch_norm_eval_matches_torch(device):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 2, 2)).astype(np.float32)
    rm, rv = rng.standard_normal(3).astype(np.float32), rng.uniform(0.5, 2, 3).astype(np.float32)
    w, b = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    d_rm, d_rv = tensor(rm, device), tensor(rv, device)
    check_against_torch(lambda x, w, b: F.batch_norm(x, d_rm, d_rv, w, b),
                        lambda x, w, b: TF.batch_norm(x, torch.tensor(rm), torch.tensor(rv),
                                                      w, b),
                        [x, w, b], device)
    np.testing.assert_array_equal(host(d_rm), rm)  # eval leaves the running stats alone


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(training, device):
    rng = np.random.default_rng(6)
    x = tensor(rng.standard_normal((3, 2, 2, 2)), device, True)
    w = tensor(rng.standard_normal(2), device, True)
    b = tensor(rng.standard_normal(2), device, True)
    rm, rv = tensor(np.zeros(2), device), tensor(np.ones(2) * 1.5, device)
    # training mutates the running stats on each call; momentum 0 keeps them fixed
    assert gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training, 0.0), (x, w, b))


def test_batch_norm_without_running_stats_in_training(device):
    x = tensor(np.arange(12.0).reshape(4, 3), device)
    out = host(F.batch_norm(x, None, None, training=True, eps=0.0))
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(out.std(axis=0), 1.0, rtol=1e-5)


def test_batch_norm_errors():
    x = dynet.randn(4, 3)
    with pytest.raises(RuntimeError, match="running_mean must be defined"):
        F.batch_norm(x, None, None)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(dynet.randn(1, 3), None, None, training=True)
    with pytest.raises(RuntimeError, match="should contain 3 elements not 4"):
        F.batch_norm(x, dynet.zeros(4), dynet.ones(4), training=True)


# ---------------------------------------------------------------- layer_norm, group_norm

@needs_torch
@pytest.mark.parametrize("normalized", [(5,), (3, 5)])
def test_layer_norm_matches_torch(normalized, device):
    rng = np.random.default_rng(8)
    x = (rng.standard_normal((2, 3, 5)) * 3 + 2).astype(np.float32)
    w = rng.standard_normal(normalized).astype(np.float32)
    b = rng.standard_normal(normalized).astype(np.float32)
    check_against_torch(lambda x, w, b: F.layer_norm(x, normalized, w, b),
                        lambda x, w, b: TF.layer_norm(x, normalized, w, b), [x, w, b], device,
                        rtol=1e-4, atol=1e-5)
    check_against_torch(lambda x: F.layer_norm(x, normalized, eps=1e-2),
                        lambda x: TF.layer_norm(x, normalized, eps=1e-2), [x], device,
                        rtol=1e-4, atol=1e-5)


def test_layer_norm_gradcheck(device):
    rng = np.random.default_rng(9)
    x = tensor(rng.standard_normal((3, 4)), device, True)
    w = tensor(rng.standard_normal(4), device, True)
    b = tensor(rng.standard_normal(4), device, True)
    assert gradcheck(lambda x, w, b: F.layer_norm(x, (4,), w, b), (x, w, b))


def test_layer_norm_errors():
    with pytest.raises(RuntimeError, match=r"expected input with shape \[\*, 4\]"):
        F.layer_norm(dynet.randn(3, 5), (4,))
    with pytest.raises(RuntimeError, match="weight"):
        F.layer_norm(dynet.randn(3, 5), 5, weight=dynet.ones(4))


@needs_torch
def test_group_norm_matches_torch_and_gradcheck(device):
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 6, 3)).astype(np.float32)
    w, b = rng.standard_normal(6).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    check_against_torch(lambda x, w, b: F.group_norm(x, 3, w, b),
                        lambda x, w, b: TF.group_norm(x, 3, w, b), [x, w, b], device,
                        rtol=1e-4, atol=1e-5)
    args = [tensor(a.astype(np.float64), device, True) for a in (x, w, b)]
    assert gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), args)
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        F.group_norm(args[0], 4)


# ---------------------------------------------------------------- embedding, one_hot

@needs_torch
@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 1}, {"padding_idx": -2},
                                    {"scale_grad_by_freq": True}])
def test_embedding_matches_torch(kwargs, device):
    rng = np.random.default_rng(11)
    w = rng.standard_normal((6, 3)).astype(np.float32)
    idx = np.array([[1, 4, 4], [0, 1, 4]])
    check_against_torch(lambda w: F.embedding(tensor(idx, device), w, **kwargs),
                        lambda w: TF.embedding(torch.tensor(idx), w, **kwargs), [w], device)


def test_embedding_padding_row_gets_no_gradient(device):
    w = tensor(np.ones((4, 2)), device, True)
    out = F.embedding(tensor([0, 2, 2, 3], device), w, padding_idx=2)
    np.testing.assert_array_equal(host(out), np.ones((4, 2)))  # the row is still looked up
    (out * 3.0).sum().backward()
    np.testing.assert_array_equal(host(w.grad), [[3, 3], [0, 0], [0, 0], [3, 3]])


def test_embedding_gradcheck(device):
    w = tensor(np.random.default_rng(12).standard_normal((5, 2)), device, True)
    idx = tensor([[0, 3], [3, 3]], device)
    # (padding_idx breaks the Jacobian on purpose, so it is tested separately above)
    assert gradcheck(lambda w: F.embedding(idx, w), (w,))


@needs_torch
def test_embedding_max_norm_renormalises_rows_in_place(device):
    rng = np.random.default_rng(13)
    w = (rng.standard_normal((5, 3)) * 3).astype(np.float32)
    idx = np.array([0, 2, 2])
    dw, tw = tensor(w, device), torch.tensor(w)
    out = F.embedding(tensor(idx, device), dw, max_norm=1.0)
    ref = TF.embedding(torch.tensor(idx), tw, max_norm=1.0)
    np.testing.assert_allclose(host(out), ref.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(host(dw), tw.numpy(), rtol=1e-5, atol=1e-6)


def test_embedding_errors(device):
    w = tensor(np.ones((5, 2), np.float32), device)
    with pytest.raises(IndexError, match="index out of range"):
        F.embedding(tensor([1, 5], device), w)
    with pytest.raises(IndexError, match="index out of range"):
        F.embedding(tensor([-1], device), w)
    with pytest.raises(RuntimeError, match="indices"):
        F.embedding(tensor([1.0], device), w)
    with pytest.raises(AssertionError, match="Padding_idx"):
        F.embedding(tensor([1], device), w, padding_idx=5)


def test_one_hot(device):
    out = F.one_hot(tensor([[0, 2], [1, 0]], device))
    assert out.dtype == dynet.int64 and out.shape == (2, 2, 3)
    np.testing.assert_array_equal(host(out), np.eye(3, dtype=np.int64)[[[0, 2], [1, 0]]])
    assert F.one_hot(tensor([1], device), num_classes=4).shape == (1, 4)
    empty = F.one_hot(dynet.tensor(np.zeros(0, np.int64), device=device), 3)
    assert empty.shape == (0, 3)


def test_one_hot_errors(device):
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(tensor([-1, 2], device))
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(tensor([1, 2], device), 2)
    with pytest.raises(RuntimeError, match="empty tensor"):
        F.one_hot(dynet.tensor(np.zeros(0, np.int64), device=device))
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(tensor([1.0], device))


# ---------------------------------------------------------------- pad, normalize, re-exports

@needs_torch
def test_normalize_matches_torch(device):
    rng = np.random.default_rng(14)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    check_against_torch(F.normalize, TF.normalize, [x], device)
    check_against_torch(lambda x: F.normalize(x, p=1.0, dim=0),
                        lambda x: TF.normalize(x, p=1.0, dim=0), [x], device)


def test_pad_reexport(device):
    x = tensor(np.ones((1, 2, 2), np.float32), device)
    out = F.pad(x, (1, 0, 0, 1), value=5.0)
    assert out.shape == (1, 3, 3)
    assert host(out)[0, 0, 0] == 5.0 and host(out)[0, 2, 2] == 5.0


def test_conv_and_pool_names_resolve_lazily():
    import importlib.util
    for name, module in (("conv2d", "dynet.ops.conv"), ("max_pool2d", "dynet.ops.pool")):
        if importlib.util.find_spec(module) is None:
            with pytest.raises(AttributeError, match=module):
                getattr(F, name)
        else:
            assert getattr(F, name) is getattr(importlib.import_module(module), name)
    with pytest.raises(AttributeError, match="no_such_function"):
        F.no_such_function  # noqa: B018
