"""dynet.optim: SGD, Adam, AdamW, RMSprop, Adagrad and Adadelta step for step against
torch.optim."""
import copy
import warnings

import numpy as np
import pytest

import dynet
from dynet import optim
from dynet.backend.kernels import optim as K
from dynet.serialization import load, save

torch = pytest.importorskip("torch")

# (optimizer, defaults, overrides for the second param group)
CONFIGS = [
    ("SGD", dict(lr=0.1), dict(lr=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.9), dict(momentum=0.5, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.1), dict(dampening=0.0)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), dict(lr=0.2)),
    ("SGD", dict(lr=0.1, momentum=0.5, maximize=True), dict(weight_decay=0.2)),
    ("SGD", dict(lr=0.1, weight_decay=0.1, maximize=True), dict(momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01), dict(lr=0.05, betas=(0.8, 0.99))),
    ("Adam", dict(lr=0.01, weight_decay=0.1), dict(eps=1e-3)),
    ("Adam", dict(lr=0.01, amsgrad=True), dict(weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.02, betas=(0.3, 0.9), maximize=True), dict(amsgrad=True)),
    ("AdamW", dict(lr=0.01), dict(weight_decay=0.3)),
    ("AdamW", dict(lr=0.01, amsgrad=True, weight_decay=0.1), dict(maximize=True)),
    ("RMSprop", dict(lr=0.01), dict(alpha=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True), dict(alpha=0.3)),
    ("RMSprop", dict(lr=0.01, momentum=0.9), dict(weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1),
     dict(eps=1e-2)),
    ("Adagrad", dict(lr=0.1), dict(lr=0.05)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.5),
     dict(maximize=True)),
    ("Adadelta", dict(), dict(lr=0.5, rho=0.8)),
    ("Adadelta", dict(lr=0.7, weight_decay=0.1, eps=1e-4), dict(maximize=True)),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CONFIGS)]
SHAPES = [(3, 4), (5,), ()]


def _np(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    if isinstance(t, dynet.Tensor):
        return np.asarray(t.detach().cpu().numpy())
    return np.asarray(t)


def _problem(steps, dtype, seed=0):
    """Initial values and per-step gradients; some params miss a gradient on some steps."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    grads[1][2] = None  # torch skips a param without grad: its step count falls behind
    if steps > 3:
        grads[3][0] = None
    return init, grads


def _make(lib, init, device, cfg):
    name, defaults, override = cfg
    if lib == "torch":
        params = [torch.tensor(a, requires_grad=True) for a in init]
        cls = getattr(torch.optim, name)
    else:
        params = [dynet.tensor(a, device=device, requires_grad=True) for a in init]
        cls = getattr(optim, name)
    groups = [{"params": params[:2]}, {"params": params[2:], **override}]
    return params, cls(groups, **defaults)


def _set_grads(lib, params, grads, device):
    for p, g in zip(params, grads):
        if g is None:
            p.grad = None
        elif lib == "torch":
            p.grad = torch.tensor(g)
        else:
            p.grad = dynet.tensor(g, device=device)


def _assert_state_close(dopt, dparams, topt, tparams, rtol, atol):
    for dp, tp in zip(dparams, tparams):
        ts, ds = topt.state[tp], dopt.state[dp]
        assert set(ds) == set(ts), (sorted(ds), sorted(ts))
        for key, tv in ts.items():
            dv = ds[key]
            if tv is None:
                assert dv is None
                continue
            if key == "step":
                assert dv.device == dynet.device("cpu") and dv.dtype == dynet.float32
            else:
                assert dv.device == dp.device and dv.dtype == dp.dtype, key
            np.testing.assert_allclose(_np(dv), _np(tv), rtol=rtol, atol=atol, err_msg=key)


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_matches_torch_float64(cfg, device):
    init, grads = _problem(5, np.float64)
    tparams, topt = _make("torch", init, device, cfg)
    dparams, dopt = _make("dynet", init, device, cfg)
    for step_grads in grads:
        _set_grads("torch", tparams, step_grads, device)
        _set_grads("dynet", dparams, step_grads, device)
        topt.step()
        dopt.step()
        for dp, tp in zip(dparams, tparams):
            np.testing.assert_allclose(_np(dp), _np(tp), rtol=1e-12, atol=1e-14)
        _assert_state_close(dopt, dparams, topt, tparams, 1e-12, 1e-14)


@pytest.mark.parametrize("cfg", [CONFIGS[3], CONFIGS[8], CONFIGS[11], CONFIGS[15], CONFIGS[17]],
                         ids=["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_float32_stays_float32_and_matches_torch(cfg, device):
    init, grads = _problem(4, np.float32, seed=1)
    tparams, topt = _make("torch", init, device, cfg)
    dparams, dopt = _make("dynet", init, device, cfg)
    for step_grads in grads:
        _set_grads("torch", tparams, step_grads, device)
        _set_grads("dynet", dparams, step_grads, device)
        topt.step()
        dopt.step()
    for dp, tp in zip(dparams, tparams):
        assert dp.dtype == dynet.float32
        np.testing.assert_allclose(_np(dp), _np(tp), rtol=2e-6, atol=2e-6)
    _assert_state_close(dopt, dparams, topt, tparams, 2e-5, 2e-6)


@pytest.mark.parametrize("cfg", CONFIGS[1::2], ids=IDS[1::2])
def test_state_dict_round_trip_continues_identically(cfg, device, tmp_path):
    init, grads = _problem(6, np.float64, seed=2)
    grads[1][2] = grads[3][0] = None
    pa, opt_a = _make("dynet", init, device, cfg)
    for g in grads[:3]:
        _set_grads("dynet", pa, g, device)
        opt_a.step()
    path = tmp_path / "opt.ckpt"
    save({"params": [p.detach() for p in pa], "optim": opt_a.state_dict()}, path)
    ckpt = load(path)
    pb, opt_b = _make("dynet", [_np(p) for p in ckpt["params"]], device, cfg)
    opt_b.load_state_dict(ckpt["optim"])
    for g in grads[3:]:
        _set_grads("dynet", pa, g, device)
        _set_grads("dynet", pb, g, device)
        opt_a.step()
        opt_b.step()
    for a, b in zip(pa, pb):
        np.testing.assert_array_equal(_np(a), _np(b))


@pytest.mark.parametrize("cfg", [CONFIGS[2], CONFIGS[8], CONFIGS[10], CONFIGS[15], CONFIGS[17]],
                         ids=["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_state_dict_layout_and_exchange_with_torch(cfg, device):
    init, grads = _problem(4, np.float64, seed=3)
    tparams, topt = _make("torch", init, device, cfg)
    dparams, dopt = _make("dynet", init, device, cfg)
    for g in grads[:2]:
        _set_grads("torch", tparams, g, device)
        _set_grads("dynet", dparams, g, device)
        topt.step()
        dopt.step()
    tsd, dsd = topt.state_dict(), dopt.state_dict()
    assert set(dsd) == {"state", "param_groups"}
    assert [g["params"] for g in dsd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]
    assert {k: sorted(v) for k, v in dsd["state"].items()} == \
        {k: sorted(v) for k, v in tsd["state"].items()}
    for dg, tg in zip(dsd["param_groups"], tsd["param_groups"]):
        for key, value in dg.items():
            assert tg[key] == value, key
    # torch's state dict, converted tensor by tensor, loads into dynet and continues alike
    converted = copy.deepcopy(tsd)
    for st in converted["state"].values():
        for key, value in st.items():
            if isinstance(value, torch.Tensor):
                st[key] = dynet.tensor(value.numpy())
    fresh, dopt2 = _make("dynet", [_np(p) for p in tparams], device, cfg)
    dopt2.load_state_dict(converted)
    for g in grads[2:]:
        _set_grads("torch", tparams, g, device)
        _set_grads("dynet", fresh, g, device)
        topt.step()
        dopt2.step()
    for dp, tp in zip(fresh, tparams):
        np.testing.assert_allclose(_np(dp), _np(tp), rtol=1e-12, atol=1e-14)


def test_load_state_dict_places_state_on_param_device_and_dtype(device):
    src = dynet.randn(2, 3, requires_grad=True)  # float32 on the CPU
    opt = optim.Adam([src], amsgrad=True)
    src.grad = dynet.ones(2, 3)
    opt.step()
    sd = opt.state_dict()
    dst = dynet.randn(2, 3, dtype=dynet.float64, device=device, requires_grad=True)
    opt2 = optim.Adam([dst], amsgrad=True)
    opt2.load_state_dict(sd)
    st = opt2.state[dst]
    for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        assert st[key].device == dst.device and st[key].dtype == dynet.float64
        np.testing.assert_allclose(_np(st[key]), _np(sd["state"][0][key]), rtol=1e-7)
    assert st["step"].device == dynet.device("cpu") and st["step"].dtype == dynet.float32
    assert st["step"].item() == 1.0
    # a loaded state never aliases the dict it came from: stepping leaves sd alone
    before = _np(sd["state"][0]["exp_avg"]).copy()
    opt3 = optim.Adam([src])
    opt3.load_state_dict(sd)
    src.grad = dynet.full((2, 3), 5.0)
    opt3.step()
    np.testing.assert_array_equal(_np(sd["state"][0]["exp_avg"]), before)
    assert sd["state"][0]["step"].item() == 1.0


def test_load_state_dict_validates_groups_and_shapes():
    a, b = dynet.randn(3, requires_grad=True), dynet.randn(4, requires_grad=True)
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = dynet.ones(3), dynet.ones(4)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], momentum=0.9).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        optim.SGD([a], momentum=0.9).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"momentum_buffer' of shape \(3,\) for parameter 0"):
        optim.SGD([b, a], momentum=0.9).load_state_dict(sd)


def test_step_count_is_per_parameter_and_numbers_load_as_tensors():
    a, b = dynet.randn(2, requires_grad=True), dynet.randn(2, requires_grad=True)
    opt = optim.Adam([a, b])
    for i in range(3):
        a.grad = dynet.ones(2)
        b.grad = dynet.ones(2) if i == 0 else None
        opt.step()
    assert opt.state[a]["step"].item() == 3.0 and opt.state[b]["step"].item() == 1.0
    sd = opt.state_dict()
    sd["state"][0]["step"] = 3  # older checkpoints hold a plain number
    opt2 = optim.Adam([a, b])
    opt2.load_state_dict(sd)
    assert isinstance(opt2.state[a]["step"], dynet.Tensor)
    assert opt2.state[a]["step"].item() == 3.0


def test_zero_grad(device):
    p = dynet.randn(3, device=device, requires_grad=True)
    q = dynet.randn(2, device=device, requires_grad=True)
    opt = optim.SGD([p, q], lr=0.1)
    (p * p).sum().backward()
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and q.grad is None
    assert not p.grad.requires_grad
    np.testing.assert_array_equal(_np(p.grad), np.zeros(3, np.float32))
    opt.zero_grad()
    assert p.grad is None


def test_step_updates_in_place_without_recording(device):
    p = dynet.randn(4, device=device, requires_grad=True)
    data = p._data
    opt = optim.Adam([p], lr=0.1)
    p.grad = dynet.ones(4, device=device)
    opt.step()
    assert p._data is data and p.grad_fn is None and p.requires_grad and p.is_leaf


def test_closure_runs_with_grad_enabled_and_returns_loss(device):
    p = dynet.tensor([1.0, -2.0], device=device, requires_grad=True)
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with dynet.no_grad():
        loss = opt.step(closure)
    assert loss.item() == pytest.approx(5.0)
    np.testing.assert_allclose(_np(p), [0.5, -1.0])  # p - 0.25 * 2p


def test_adam_trains_a_regression_through_autograd(device):
    rng = np.random.default_rng(0)
    x = dynet.tensor(rng.standard_normal((64, 3)), dtype=dynet.float32, device=device)
    w_true = dynet.tensor([[1.5], [-2.0], [0.5]], device=device)
    y = x @ w_true
    w = dynet.zeros(3, 1, device=device, requires_grad=True)
    b = dynet.zeros(1, device=device, requires_grad=True)
    opt = optim.Adam([w, b], lr=0.1)
    for _ in range(200):
        opt.zero_grad()
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-3
    np.testing.assert_allclose(_np(w).ravel(), [1.5, -2.0, 0.5], atol=0.05)


VALIDATION = [
    ("SGD", dict(lr=-1)), ("SGD", dict(momentum=-0.5)), ("SGD", dict(weight_decay=-1e-3)),
    ("SGD", dict(nesterov=True)), ("SGD", dict(momentum=0.9, dampening=0.1, nesterov=True)),
    ("Adam", dict(lr=-0.1)), ("Adam", dict(eps=-1.0)), ("Adam", dict(betas=(1.0, 0.9))),
    ("Adam", dict(betas=(0.9, -0.1))), ("Adam", dict(weight_decay=-1.0)),
    ("Adam", dict(betas=(0, 0.9))), ("AdamW", dict(betas=(0.9, 1.5))),
    ("RMSprop", dict(lr=-1)), ("RMSprop", dict(alpha=-0.1)), ("RMSprop", dict(eps=-1.0)),
    ("RMSprop", dict(momentum=-1.0)), ("RMSprop", dict(weight_decay=-1.0)),
    ("Adagrad", dict(lr=-1)), ("Adagrad", dict(lr_decay=-1)),
    ("Adagrad", dict(initial_accumulator_value=-1)), ("Adagrad", dict(eps=-1)),
    ("Adagrad", dict(weight_decay=-1)),
]


@pytest.mark.parametrize("name,kwargs", VALIDATION)
def test_argument_validation_matches_torch(name, kwargs):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([dynet.zeros(1, requires_grad=True)], **kwargs)
    assert str(ours.value) == str(theirs.value)


def test_defaults_match_torch():
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad"):
        ours = getattr(optim, name)([dynet.zeros(1, requires_grad=True)]).defaults
        theirs = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)]).defaults
        for key, value in ours.items():
            assert theirs[key] == value, (name, key)


def test_params_validation():
    p = dynet.randn(2, requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts, but got dynet.Tensor"):
        optim.SGD(p)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([])
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([p, 3.0])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2])
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}])
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}])
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p, p])
    with pytest.raises(NotImplementedError):
        optim.Optimizer([p], {}).step()


def test_add_param_group_and_named_params(device):
    a = dynet.randn(2, device=device, requires_grad=True)
    b = dynet.randn(3, device=device, requires_grad=True)
    opt = optim.Adagrad([("a", a)], lr=0.5)
    opt.add_param_group({"params": [("b", b)], "lr": 0.1})
    assert opt.param_groups[1]["lr"] == 0.1 and opt.param_groups[1]["eps"] == 1e-10
    assert opt.state_dict()["param_groups"][1]["param_names"] == ["b"]
    before = _np(b).copy()
    a.grad, b.grad = dynet.ones(2, device=device), dynet.ones(3, device=device)
    opt.step()  # b's state is created lazily: Adagrad made a's at construction
    np.testing.assert_allclose(_np(b), before - 0.1 / (1 + 1e-10), rtol=1e-6)
    with pytest.raises(ValueError, match="with/without names"):
        opt.add_param_group({"params": [dynet.randn(1, requires_grad=True)]})


def test_repr_lists_groups_like_torch():
    p, tp = dynet.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    for name, kwargs in (("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", {}), ("AdamW", {}),
                         ("SGD", dict(foreach=False)), ("Adam", dict(fused=True))):
        ours = repr(getattr(optim, name)([p], **kwargs))
        assert ours == repr(getattr(torch.optim, name)([tp], **kwargs))


def test_kernels_numpy_path_leaves_gradient_untouched():
    rng = np.random.default_rng(0)
    p, g = rng.standard_normal(5), rng.standard_normal(5)
    g0 = g.copy()
    m, v, vmax = np.zeros(5), np.zeros(5), np.zeros(5)
    K.adam_update(p, g, m, v, vmax, 0.1, 0.9, 0.999, 1e-8, 0.1, 1.0, True, True, False)
    buf = np.empty(5)
    p_before = p.copy()
    K.sgd_update(p, g, buf, 0.1, 0.9, 0.0, 0.1, True, True, True)
    np.testing.assert_allclose(buf, -g0 + 0.1 * p_before)  # the first step copies d
    K.rmsprop_update(p, g, np.zeros(5), np.zeros(5), np.zeros(5), 0.1, 0.9, 1e-8, 0.1, 0.9,
                     True, True)
    K.adagrad_update(p, g, np.zeros(5), 0.1, 0.1, 1e-10, True)
    np.testing.assert_array_equal(g, g0)


def test_lr_as_python_float_keeps_float32_state():
    p = dynet.randn(3, requires_grad=True)
    opt = optim.RMSprop([p], lr=np.float64(0.01), momentum=0.9, centered=True)
    p.grad = dynet.ones(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
    assert p.dtype == dynet.float32
    assert all(v.dtype == dynet.float32 for v in opt.state[p].values())
