"""Layer modules against PyTorch: same weights in, same outputs and gradients out; reprs."""
import math

import numpy as np
import pytest

import dynet
from dynet import nn
from tests.conftest import to_numpy

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same.")


def sync(dmod, tmod, device):
    """Copies tmod's state into dmod (strict: the key sets and shapes must match)."""
    dmod.load_state_dict({k: dynet.tensor(v.detach().numpy()) for k, v in
                          tmod.state_dict().items()})
    return dmod.to(device)


def run_both(build, inputs, device, rtol=1e-5, atol=1e-5, int_inputs=(), train=True):
    """Forward + backward of the same module in dynet and torch; compares everything."""
    tmod, dmod = build(torch.nn), build(nn)
    sync(dmod, tmod, device)
    tmod.train(train)
    dmod.train(train)
    t_in = [torch.tensor(a, requires_grad=i not in int_inputs) for i, a in enumerate(inputs)]
    d_in = [dynet.tensor(a, device=device, requires_grad=i not in int_inputs)
            for i, a in enumerate(inputs)]
    t_out, d_out = tmod(*t_in), dmod(*d_in)
    assert tuple(d_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(to_numpy(d_out), t_out.detach().numpy(), rtol=rtol, atol=atol)
    up = np.random.default_rng(7).standard_normal(tuple(t_out.shape)).astype(np.float32)
    t_out.backward(torch.tensor(up))
    d_out.backward(dynet.tensor(up, device=device))
    for i, (t, d) in enumerate(zip(t_in, d_in)):
        if i not in int_inputs:
            np.testing.assert_allclose(to_numpy(d.grad), t.grad.numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"input {i} gradient")
    t_params = dict(tmod.named_parameters())
    for name, p in dmod.named_parameters():
        assert p.device == dynet.device(device)
        np.testing.assert_allclose(to_numpy(p.grad), t_params[name].grad.numpy(), rtol=rtol,
                                   atol=atol, err_msg=f"gradient of {name}")
    return dmod, tmod


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


LAYER_CASES = [
    ("linear", lambda m: m.Linear(4, 3), [(5, 4)]),
    ("linear-3d-nobias", lambda m: m.Linear(4, 3, bias=False), [(2, 5, 4)]),
    ("bilinear", lambda m: m.Bilinear(3, 4, 2), [(5, 3), (5, 4)]),
    ("conv1d", lambda m: m.Conv1d(2, 4, 3), [(2, 2, 9)]),
    ("conv1d-args", lambda m: m.Conv1d(2, 4, 3, stride=2, padding=1, dilation=2, groups=2),
     [(2, 2, 11)]),
    ("conv1d-same-even", lambda m: m.Conv1d(2, 3, 4, padding="same"), [(2, 2, 8)]),
    ("conv1d-circular", lambda m: m.Conv1d(2, 2, 3, padding=2, padding_mode="circular"),
     [(1, 2, 7)]),
    ("conv2d", lambda m: m.Conv2d(3, 4, 3), [(2, 3, 7, 7)]),
    ("conv2d-args", lambda m: m.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), groups=2,
                                       bias=False), [(2, 4, 7, 6)]),
    ("conv2d-same-dilated", lambda m: m.Conv2d(2, 3, 4, padding="same", dilation=2),
     [(1, 2, 9, 8)]),
    ("conv2d-same-odd", lambda m: m.Conv2d(2, 3, 3, padding="same"), [(1, 2, 5, 6)]),
    ("conv2d-valid", lambda m: m.Conv2d(2, 3, 3, padding="valid"), [(1, 2, 5, 5)]),
    ("conv2d-reflect", lambda m: m.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"),
     [(2, 2, 5, 5)]),
    ("conv2d-replicate", lambda m: m.Conv2d(2, 3, 3, padding=(2, 1),
                                            padding_mode="replicate"), [(1, 2, 4, 5)]),
    ("maxpool1d", lambda m: m.MaxPool1d(3, 2, padding=1), [(2, 3, 9)]),
    ("maxpool2d", lambda m: m.MaxPool2d(2), [(2, 3, 6, 6)]),
    ("maxpool2d-ceil", lambda m: m.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
     [(1, 2, 8, 7)]),
    ("avgpool1d", lambda m: m.AvgPool1d(3, 2, padding=1, count_include_pad=False),
     [(2, 3, 8)]),
    ("avgpool2d", lambda m: m.AvgPool2d(2), [(2, 3, 6, 6)]),
    ("avgpool2d-ceil", lambda m: m.AvgPool2d(3, 2, 1, ceil_mode=True,
                                             count_include_pad=False), [(1, 2, 8, 7)]),
    ("avgpool2d-divisor", lambda m: m.AvgPool2d(2, divisor_override=3), [(1, 2, 4, 4)]),
    ("adaptiveavgpool2d", lambda m: m.AdaptiveAvgPool2d((2, 3)), [(2, 3, 7, 8)]),
    ("adaptiveavgpool2d-1", lambda m: m.AdaptiveAvgPool2d(1), [(2, 3, 5, 5)]),
    ("relu", lambda m: m.ReLU(), [(3, 4)]),
    ("leakyrelu", lambda m: m.LeakyReLU(0.2), [(3, 4)]),
    ("elu", lambda m: m.ELU(0.5), [(3, 4)]),
    ("gelu", lambda m: m.GELU(), [(3, 4)]),
    ("gelu-tanh", lambda m: m.GELU("tanh"), [(3, 4)]),
    ("silu", lambda m: m.SiLU(), [(3, 4)]),
    ("sigmoid", lambda m: m.Sigmoid(), [(3, 4)]),
    ("tanh", lambda m: m.Tanh(), [(3, 4)]),
    ("softmax", lambda m: m.Softmax(dim=1), [(3, 4, 2)]),
    ("logsoftmax", lambda m: m.LogSoftmax(dim=-1), [(3, 4)]),
    ("flatten", lambda m: m.Flatten(), [(2, 3, 4)]),
    ("flatten-0-1", lambda m: m.Flatten(0, 1), [(2, 3, 4)]),
    ("unflatten", lambda m: m.Unflatten(1, (2, 3)), [(4, 6)]),
    ("identity", lambda m: m.Identity(3, unused=True), [(2, 2)]),
    ("layernorm", lambda m: m.LayerNorm(5), [(3, 5)]),
    ("layernorm-2d-noaffine", lambda m: m.LayerNorm((3, 5), elementwise_affine=False),
     [(2, 3, 5)]),
    ("layernorm-nobias", lambda m: m.LayerNorm(5, bias=False), [(4, 5)]),
    ("sequential", lambda m: m.Sequential(m.Conv2d(1, 2, 3, padding=1), m.ReLU(),
                                          m.MaxPool2d(2), m.Flatten(), m.Linear(8, 3)),
     [(2, 1, 4, 4)]),
]


@pytest.mark.parametrize("name,build,shapes", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_layer_matches_pytorch(name, build, shapes, device):
    inputs = [randn(*s, seed=i) for i, s in enumerate(shapes)]
    run_both(build, inputs, device)


# ---------------------------------------------------------------- normalisation

@pytest.mark.parametrize("build,shape", [
    (lambda m: m.BatchNorm1d(3), (8, 3)),
    (lambda m: m.BatchNorm1d(3, momentum=None), (4, 3, 5)),
    (lambda m: m.BatchNorm2d(3, eps=1e-3, momentum=0.3), (4, 3, 2, 2)),
    (lambda m: m.BatchNorm2d(2, affine=False), (3, 2, 3, 3)),
    (lambda m: m.BatchNorm1d(2, bias=False), (5, 2)),
], ids=["bn1d", "bn1d-cumulative", "bn2d", "bn2d-noaffine", "bn1d-nobias"])
def test_batchnorm_training_and_eval_match_pytorch(build, shape, device):
    dmod, tmod = run_both(build, [randn(*shape)], device, rtol=1e-4, atol=1e-5)
    for step in range(1, 3):  # more steps: running statistics keep tracking torch's
        x = randn(*shape, seed=step) * 2 + 1
        tmod(torch.tensor(x))
        dmod(dynet.tensor(x, device=device))
    for key, value in tmod.state_dict().items():
        np.testing.assert_allclose(to_numpy(dmod.state_dict()[key]), value.numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=key)
    assert dmod.num_batches_tracked.item() == 3
    assert dmod.num_batches_tracked.dtype == dynet.int64
    x = randn(*shape, seed=9)
    tmod.eval()
    dmod.eval()
    np.testing.assert_allclose(to_numpy(dmod(dynet.tensor(x, device=device))),
                               tmod(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_batchnorm_eval_gradients_and_no_stat_update(device):
    dmod, _ = run_both(lambda m: m.BatchNorm2d(3), [randn(2, 3, 2, 2)], device,
                       rtol=1e-4, atol=1e-5, train=False)
    assert dmod.num_batches_tracked.item() == 0
    assert not to_numpy(dmod.running_mean).any()


def test_batchnorm_without_running_stats(device):
    dmod, tmod = run_both(lambda m: m.BatchNorm1d(3, track_running_stats=False),
                          [randn(6, 3)], device, rtol=1e-4, atol=1e-5, train=False)
    assert dmod.running_mean is None and dmod.num_batches_tracked is None
    assert list(dmod.state_dict()) == list(tmod.state_dict()) == ["weight", "bias"]


def test_batchnorm_buffers_and_input_checks():
    bn = nn.BatchNorm2d(4)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                  "num_batches_tracked"]
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input\)"):
        bn(dynet.randn(2, 4))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(4)(dynet.randn(2, 4, 1, 1))


# ---------------------------------------------------------------- embedding and dropout

def test_embedding_matches_pytorch(device):
    idx = np.array([[0, 2, 5], [2, 9, 1]], dtype=np.int64)
    dmod, _ = run_both(lambda m: m.Embedding(10, 4, padding_idx=2), [idx], device,
                       int_inputs=(0,))
    assert not to_numpy(dmod.weight.grad)[2].any()  # the padding row gets no gradient


def test_embedding_init_and_from_pretrained(device):
    emb = nn.Embedding(50, 8, padding_idx=-1, device=device)
    assert emb.padding_idx == 49 and emb.weight.device == dynet.device(device)
    w = to_numpy(emb.weight)
    assert not w[49].any() and abs(w[:49].std() - 1.0) < 0.15
    pre = nn.Embedding.from_pretrained(dynet.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert not pre.weight.requires_grad
    assert pre(dynet.tensor([1])).tolist() == [[3.0, 4.0]]
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(3, 2, padding_idx=3)


def test_dropout_train_and_eval(device):
    drop = nn.Dropout(0.5)
    x = dynet.ones(20000, device=device, requires_grad=True)
    y = drop(x)
    values = to_numpy(y)
    zero_frac = float((values == 0).mean())
    assert 0.47 < zero_frac < 0.53
    assert set(np.unique(values).tolist()) == {0.0, 2.0}
    y.sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), values)  # mask * 1/(1-p)
    drop.eval()
    np.testing.assert_array_equal(to_numpy(drop(x)), 1.0)
    assert not to_numpy(nn.Dropout(1.0)(x)).any()
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, "
                                         "but got 1.5"):
        nn.Dropout(1.5)


def test_dropout2d_zeroes_whole_channels(device):
    drop = nn.Dropout2d(0.5)
    y = to_numpy(drop(dynet.ones(8, 16, 3, 3, device=device)))
    per_channel = y.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0 < (per_channel == 0).all(-1).sum() < 8 * 16


def test_inplace_activation_modifies_input():
    x = dynet.tensor([-1.0, 2.0])
    out = nn.ReLU(inplace=True)(x)
    assert x.tolist() == [0.0, 2.0] and out.tolist() == [0.0, 2.0]


# ---------------------------------------------------------------- losses

def _targets(kind, shape, classes=4):
    rng = np.random.default_rng(3)
    if kind == "index":
        return rng.integers(0, classes, size=shape).astype(np.int64)
    if kind == "prob":
        return rng.uniform(0.05, 0.95, size=shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


LOSS_CASES = [
    ("ce", lambda m, lib: m.CrossEntropyLoss(), (6, 4), "index", (6,)),
    ("ce-weight", lambda m, lib: m.CrossEntropyLoss(weight=lib.tensor([1.0, 2.0, 0.5, 1.0])),
     (6, 4), "index", (6,)),
    ("ce-ignore-sum", lambda m, lib: m.CrossEntropyLoss(ignore_index=1, reduction="sum"),
     (6, 4), "index", (6,)),
    ("ce-smoothing", lambda m, lib: m.CrossEntropyLoss(label_smoothing=0.1), (5, 4), "index",
     (5,)),
    ("ce-spatial", lambda m, lib: m.CrossEntropyLoss(), (2, 4, 3), "index", (2, 3)),
    ("nll", lambda m, lib: m.NLLLoss(weight=lib.tensor([1.0, 0.2, 3.0, 1.0])), (6, 4),
     "index", (6,)),
    ("mse", lambda m, lib: m.MSELoss(), (3, 5), "real", (3, 5)),
    ("mse-none", lambda m, lib: m.MSELoss(reduction="none"), (3, 5), "real", (3, 5)),
    ("l1", lambda m, lib: m.L1Loss(reduction="sum"), (3, 5), "real", (3, 5)),
    ("smoothl1", lambda m, lib: m.SmoothL1Loss(beta=0.5), (4, 5), "real", (4, 5)),
    ("bce", lambda m, lib: m.BCELoss(weight=lib.tensor([1.0, 2.0, 0.5])), (4, 3), "prob",
     (4, 3)),
    ("bce-logits", lambda m, lib: m.BCEWithLogitsLoss(pos_weight=lib.tensor([1.0, 3.0, 0.5])),
     (4, 3), "prob", (4, 3)),
]


@pytest.mark.parametrize("name,build,in_shape,kind,t_shape", LOSS_CASES,
                         ids=[c[0] for c in LOSS_CASES])
def test_loss_matches_pytorch(name, build, in_shape, kind, t_shape, device):
    x = randn(*in_shape)
    if name == "bce":
        x = 1 / (1 + np.exp(-x))
    target = _targets(kind, t_shape)
    tloss = build(torch.nn, torch)
    dloss = build(nn, dynet).to(device)
    assert list(dloss.state_dict()) == list(tloss.state_dict())
    tx = torch.tensor(x, requires_grad=True)
    dx = dynet.tensor(x, device=device, requires_grad=True)
    t_out = tloss(tx, torch.tensor(target))
    d_out = dloss(dx, dynet.tensor(target, device=device))
    np.testing.assert_allclose(to_numpy(d_out), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    t_out.sum().backward()
    d_out.sum().backward()
    np.testing.assert_allclose(to_numpy(dx.grad), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_loss_weights_are_buffers():
    loss = nn.BCEWithLogitsLoss(weight=dynet.ones(3), pos_weight=dynet.ones(3))
    assert [n for n, _ in loss.named_buffers()] == ["weight", "pos_weight"]
    loss.double()
    assert loss.pos_weight.dtype == dynet.float64
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert nn.MSELoss(size_average=False).reduction == "sum"


# ---------------------------------------------------------------- construction

@pytest.mark.parametrize("expr", [
    "nn.Linear(400, 120)", "nn.Linear(3, 1, bias=False)", "nn.Bilinear(2, 3, 4)",
    "nn.Conv2d(1, 6, 5)", "nn.Conv2d(1, 6, 5, padding=2)", "nn.Conv2d(1, 6, 5, padding='same')",
    "nn.Conv2d(4, 8, (3, 1), stride=2, padding='valid', dilation=(1, 2), groups=4, "
    "bias=False, padding_mode='reflect')",
    "nn.Conv1d(2, 4, 3)", "nn.Conv1d(2, 4, 3, padding_mode='circular', padding=1)",
    "nn.MaxPool2d(2)", "nn.MaxPool2d((3, 2), stride=1, padding=1, ceil_mode=True)",
    "nn.MaxPool1d(3, 1)", "nn.AvgPool1d(2)", "nn.AvgPool2d(2)", "nn.AvgPool2d(3, 1, 1)",
    "nn.AdaptiveAvgPool2d((5, 7))", "nn.AdaptiveAvgPool2d(1)",
    "nn.ReLU()", "nn.ReLU(inplace=True)", "nn.LeakyReLU()", "nn.LeakyReLU(0.2, True)",
    "nn.ELU()", "nn.ELU(alpha=0.5, inplace=True)", "nn.GELU()", "nn.GELU('tanh')", "nn.SiLU()",
    "nn.Sigmoid()", "nn.Tanh()", "nn.Softmax(dim=1)", "nn.Softmax()", "nn.LogSoftmax(-1)",
    "nn.Dropout()", "nn.Dropout(0.1, inplace=True)", "nn.Dropout2d(0.2)",
    "nn.BatchNorm1d(6)", "nn.BatchNorm2d(6, momentum=None, affine=False)",
    "nn.BatchNorm2d(3, track_running_stats=False, bias=False)",
    "nn.LayerNorm(4)", "nn.LayerNorm([3, 4], eps=1e-6, bias=False)",
    "nn.LayerNorm(4, elementwise_affine=False)",
    "nn.Embedding(10, 3)", "nn.Embedding(10, 3, padding_idx=-1, max_norm=1.0)",
    "nn.Flatten()", "nn.Flatten(0, 2)", "nn.Unflatten(1, (2, 3))", "nn.Identity()",
    "nn.CrossEntropyLoss()", "nn.NLLLoss()", "nn.MSELoss()", "nn.L1Loss()",
    "nn.SmoothL1Loss()", "nn.BCELoss()", "nn.BCEWithLogitsLoss()",
])
def test_repr_and_parameters_match_pytorch(expr):
    ours = eval(expr, {"nn": nn})  # noqa: S307 - fixed test expressions
    theirs = eval(expr, {"nn": torch.nn})  # noqa: S307
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape), p.requires_grad) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape), p.requires_grad) for n, p in theirs.named_parameters()]
    assert [(n, tuple(b.shape)) for n, b in ours.named_buffers()] == \
        [(n, tuple(b.shape)) for n, b in theirs.named_buffers()]
    for attr in ("kernel_size", "stride", "padding", "dilation", "normalized_shape",
                 "padding_idx", "output_size", "unflattened_size", "reduction", "p"):
        if hasattr(theirs, attr):
            assert getattr(ours, attr) == getattr(theirs, attr), attr


def test_parameter_container_reprs_match_pytorch():
    ours = nn.ParameterList([nn.Parameter(dynet.ones(2, 3)), dynet.zeros(1)])
    theirs = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2, 3)), torch.zeros(1)])
    assert repr(ours) == repr(theirs).replace("torch.", "dynet.")
    ours = nn.ParameterDict({"w": dynet.ones(2), "b": dynet.ones(1, 2)})
    theirs = torch.nn.ParameterDict({"w": torch.ones(2), "b": torch.ones(1, 2)})
    assert repr(ours) == repr(theirs).replace("torch.", "dynet.")


def test_factory_kwargs(device):
    lin = nn.Linear(3, 2, device=device, dtype=dynet.float64)
    conv = nn.Conv2d(1, 2, 3, device=device, dtype=dynet.float64)
    bn = nn.BatchNorm1d(3, device=device)
    for p in list(lin.parameters()) + list(conv.parameters()):
        assert p.device == dynet.device(device) and p.dtype == dynet.float64
    assert bn.running_var.device == dynet.device(device)
    assert bn.num_batches_tracked.device == dynet.device(device)
    out = lin(dynet.randn(4, 3, dtype=dynet.float64, device=device))
    assert out.dtype == dynet.float64 and out.device == dynet.device(device)


def test_conv_argument_errors():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="Invalid padding string 'full'"):
        nn.Conv1d(3, 4, 3, padding="full")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints"):
        nn.Unflatten(1, 6)


def test_maxpool_return_indices_matches_pytorch():
    x = randn(1, 2, 4, 4)
    out, idx = nn.MaxPool2d(2, return_indices=True)(dynet.tensor(x))
    t_out, t_idx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(to_numpy(idx), t_idx.numpy())
    np.testing.assert_allclose(to_numpy(out), t_out.numpy())


def test_default_init_bounds_match_pytorch_formula():
    lin = nn.Linear(50, 40)
    bound = 1 / math.sqrt(50)
    w, b = to_numpy(lin.weight), to_numpy(lin.bias)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.abs(b).max() <= bound
    conv = nn.Conv2d(3, 8, 3)
    cb = 1 / math.sqrt(3 * 9)
    assert np.abs(to_numpy(conv.weight)).max() <= cb
    assert np.abs(to_numpy(conv.bias)).max() <= cb
    bil = nn.Bilinear(4, 3, 2)
    assert np.abs(to_numpy(bil.weight)).max() <= 0.5
