"""The flat multi-tensor step of SGD, Adam and AdamW (dynet.optim._flat): bit for bit the
per-parameter path (foreach=False), close to torch's foreach and for-loop paths, and the
storage model kept (live state tensors, aliases, version counters, saved-tensor checks)."""
import copy
import itertools

import numpy as np
import pytest

import dynet
from dynet import nn, optim
from dynet.autograd import views

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (5,), (), (2, 0), (4, 1, 3)]


def _sgd_configs():
    for momentum, dampening, nesterov, wd, maximize in itertools.product(
            (0.0, 0.9), (0.0, 0.3), (False, True), (0.0, 0.05), (False, True)):
        if nesterov and (momentum == 0 or dampening != 0):
            continue
        yield "SGD", dict(lr=0.05, momentum=momentum, dampening=dampening, nesterov=nesterov,
                          weight_decay=wd, maximize=maximize)


def _adam_configs():
    for name, amsgrad, wd, maximize in itertools.product(
            ("Adam", "AdamW"), (False, True), (0.0, 0.1), (False, True)):
        yield name, dict(lr=0.01, betas=(0.8, 0.99), amsgrad=amsgrad, weight_decay=wd,
                         maximize=maximize)


CONFIGS = list(_sgd_configs()) + list(_adam_configs())
IDS = [f"{n}-" + "-".join(f"{k}={v}" for k, v in kw.items() if k not in ("lr", "betas"))
       for n, kw in CONFIGS]


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.detach().cpu().numpy()


def _data(steps, dtype, seed, holes=False):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    if holes:  # torch skips a parameter without a gradient (its step count falls behind)
        grads[2][1] = grads[5][0] = grads[5][3] = None
    return init, grads


def _dynet_run(cfg, init, grads, device, halve_lr=True, **flags):
    name, kw = cfg
    params = [dynet.tensor(a, device=device, requires_grad=True) for a in init]
    opt = getattr(optim, name)([{"params": params[:3]}, {"params": params[3:], "lr": 0.02}],
                               **kw, **flags)
    for i, step_grads in enumerate(grads):
        for p, g in zip(params, step_grads):
            # every other step a non-contiguous gradient (a transposed copy's transpose)
            p.grad = None if g is None else (
                dynet.tensor(g.T.copy(), device=device).T if i % 2 else
                dynet.tensor(g, device=device))
        if halve_lr and i == len(grads) // 2:
            opt.param_groups[0]["lr"] *= 0.5  # lr changes between steps are read each step
        opt.step()
    return params, opt


def _torch_run(cfg, init, grads, foreach):
    name, kw = cfg
    params = [torch.tensor(a, requires_grad=True) for a in init]
    opt = getattr(torch.optim, name)([{"params": params[:3]},
                                      {"params": params[3:], "lr": 0.02}],
                                     **kw, foreach=foreach)
    for i, step_grads in enumerate(grads):
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else torch.tensor(g)
        if i == len(grads) // 2:
            opt.param_groups[0]["lr"] *= 0.5
        opt.step()
    return params, opt


def _owner(t):
    """The array owning t's memory (CuPy may not collapse a view's .base as NumPy does)."""
    return views._owner(t._data)


def _flat_sets(opt):
    return [fs for entry in opt._flat_cache.values() for fs in entry[1].values()]


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_flat_step_equals_the_per_parameter_path_bit_for_bit(cfg, device):
    init, grads = _data(30, np.float32, seed=0)
    flat, fopt = _dynet_run(cfg, init, grads, device)
    loop, lopt = _dynet_run(cfg, init, grads, device, foreach=False)
    assert len(_flat_sets(fopt)) == 2 and not getattr(lopt, "_flat_cache", None)
    for fs in _flat_sets(fopt):  # the flat path ran, over parameters living in its buffer
        assert fs.mirrored == [] and all(_owner(p) is fs.pflat for p in fs.params)
    for a, b in zip(flat, loop):
        assert a.dtype == dynet.float32
        np.testing.assert_array_equal(_np(a), _np(b))
        assert a._version == b._version
        sa, sb = fopt.state[a], lopt.state[b]
        assert list(sa) == list(sb)  # torch's keys, in torch's order
        for key in sa:
            np.testing.assert_array_equal(_np(sa[key]), _np(sb[key]), err_msg=key)


@pytest.mark.parametrize("cfg", CONFIGS[::3], ids=IDS[::3])
def test_flat_step_matches_torch_foreach_and_for_loop(cfg, device):
    init, grads = _data(30, np.float32, seed=1, holes=True)
    ours, opt = _dynet_run(cfg, init, grads, device, foreach=True)
    for foreach in (True, False):
        theirs, topt = _torch_run(cfg, init, grads, foreach)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(_np(a), _np(b), rtol=1e-5, atol=1e-6)
            assert set(opt.state[a]) == set(topt.state[b])
            for key, tv in topt.state[b].items():
                np.testing.assert_allclose(_np(opt.state[a][key]), _np(tv), rtol=1e-5,
                                           atol=1e-6, err_msg=key)


@pytest.mark.parametrize("cfg", CONFIGS[::2], ids=IDS[::2])
def test_missing_gradients_fall_back_and_stay_identical(cfg, device):
    init, grads = _data(8, np.float64, seed=2, holes=True)
    flat, fopt = _dynet_run(cfg, init, grads, device)
    loop, _ = _dynet_run(cfg, init, grads, device, foreach=False)
    for a, b in zip(flat, loop):
        np.testing.assert_array_equal(_np(a), _np(b))


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_state_dict_is_live_and_round_trips_exactly(name, device):
    cfg = next(c for c in CONFIGS if c[0] == name and c[1].get("momentum", 1) != 0)
    init, grads = _data(10, np.float32, seed=3)
    ref, _ = _dynet_run(cfg, init, grads, device, halve_lr=False)
    a, opt_a = _dynet_run(cfg, init, grads[:4], device, halve_lr=False)
    sd = opt_a.state_dict()
    key = "momentum_buffer" if name == "SGD" else "exp_avg"
    live, before = sd["state"][0][key], _np(sd["state"][0][key]).copy()
    saved = copy.deepcopy(sd)
    # a second optimizer over copies of the parameters resumes from the saved state
    b = [dynet.tensor(_np(p), device=device, requires_grad=True) for p in a]
    opt_b = getattr(optim, name)([{"params": b[:3]}, {"params": b[3:], "lr": 0.02}], **cfg[1])
    opt_b.load_state_dict(saved)
    held = opt_b.state[b[0]][key]
    for params, opt in ((a, opt_a), (b, opt_b)):
        for i, step_grads in enumerate(grads[4:], 4):
            for p, g in zip(params, step_grads):
                p.grad = dynet.tensor(g, device=device)
            opt.step()
    for x, y, z in zip(a, b, ref):
        np.testing.assert_array_equal(_np(x), _np(z))
        np.testing.assert_array_equal(_np(y), _np(z))
    # as in torch, state_dict() holds the live state tensors: they moved on with training
    assert live is opt_a.state[a[0]][key] and not np.array_equal(_np(live), before)
    assert held is opt_b.state[b[0]][key]  # loaded state was adopted into the flat buffer
    assert all(fs.mirrored == [] for fs in _flat_sets(opt_b))
    assert _owner(held) is next(iter(_flat_sets(opt_b))).state[key][0]


def test_aliases_taken_before_the_first_step_keep_seeing_the_parameter(device):
    init, grads = _data(3, np.float32, seed=4)
    params = [dynet.tensor(a, device=device, requires_grad=True) for a in init]
    detached, view = params[0].detach(), params[1][1:3]
    data_alias = params[2].data
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = dynet.tensor(g, device=device)
        opt.step()
    # shared memory stays shared: those parameters are mirrored, not moved
    np.testing.assert_array_equal(_np(detached), _np(params[0]))
    np.testing.assert_array_equal(_np(view), _np(params[1])[1:3])
    np.testing.assert_array_equal(_np(data_alias), _np(params[2]))
    (fs,) = _flat_sets(opt)
    assert fs.mirrored == [0, 1, 2]
    assert _owner(params[3]) is fs.pflat
    # an alias taken after the parameters moved into the buffer shares the buffer; once
    # the old aliases are gone (or data is replaced) the parameter moves in too
    late = params[4].detach()
    del detached
    params[2].data = params[2].data * 2
    for p, g in zip(params, grads[0]):
        p.grad = dynet.tensor(g, device=device)
    opt.step()
    np.testing.assert_array_equal(_np(late), _np(params[4]))
    np.testing.assert_array_equal(_np(view), _np(params[1])[1:3])
    assert fs.mirrored == [1] and _owner(params[0]) is fs.pflat
    assert _owner(params[2]) is fs.pflat


def test_replaced_parameter_data_and_param_lists_are_followed(device):
    init, grads = _data(9, np.float64, seed=5)

    def run(foreach):
        params = [dynet.tensor(a, device=device, requires_grad=True) for a in init]
        opt = optim.Adam(params, lr=0.01, amsgrad=True, foreach=foreach)
        extra = dynet.tensor(init[0] * 2, device=device, requires_grad=True)
        for i, step_grads in enumerate(grads):
            if i == 3:
                params[1].data = params[1].data * 0.5  # a new array: mirrored from now on
            if i == 5:
                opt.add_param_group({"params": [extra], "lr": 0.1})
            if i == 6:
                opt.param_groups[0]["amsgrad"] = False
            if i == 7:
                opt.param_groups[0]["params"][0] = params[0] = dynet.tensor(
                    init[0], device=device, requires_grad=True)  # fresh state for it
            for p, g in zip(params, step_grads):
                p.grad = dynet.tensor(g, device=device)
            extra.grad = dynet.tensor(step_grads[0], device=device)
            opt.step()
        return params + [extra], opt

    flat, fopt = run(None)
    loop, _ = run(False)
    for a, b in zip(flat, loop):
        np.testing.assert_array_equal(_np(a), _np(b))
    assert len(_flat_sets(fopt)) == 2


def test_a_parameter_changing_dtype_leaves_the_set_and_stays_identical():
    init, grads = _data(6, np.float32, seed=6)

    def run(foreach):
        params = [dynet.tensor(a, requires_grad=True) for a in init[:3]]
        opt = optim.SGD(params, lr=0.1, momentum=0.9, foreach=foreach)
        for i, step_grads in enumerate(grads):
            if i == 2:
                params[1].data = params[1].data.double()
            for p, g in zip(params, step_grads):
                p.grad = dynet.tensor(g.astype(p.detach().numpy().dtype))
            opt.step()
        return params

    for a, b in zip(run(None), run(False)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(_np(a), _np(b))


def test_version_counter_bumps_once_per_step_and_saved_tensors_are_checked():
    w = dynet.randn(3, 3, requires_grad=True)
    b = dynet.randn(3, requires_grad=True)
    opt = optim.SGD([w, b], lr=0.1)
    x = dynet.randn(2, 3)
    (x @ w + b).sum().backward()
    opt.step()
    assert _owner(w) is _owner(b)  # both live in the flat buffer now
    v = w._version
    w.data.add_(1.0)  # writes through .data are not counted, as in torch
    assert w._version == v
    out = (x @ w.t() * b).sum()  # saves views of the flat buffer
    out2 = (b * b).sum()
    opt.step()
    assert w._version == v + 1 and b._version == v + 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out2.backward()


def test_saved_views_of_a_shared_buffer_name_their_own_input():
    buf = np.arange(12.0)
    a = dynet.Tensor._make(buf[:6].reshape(2, 3), True)
    b = dynet.Tensor._make(buf[6:].reshape(3, 2), True)
    assert views._input_owning(b._data.T, (a, b)) is b
    assert views._input_owning(a._data[:, ::-1], (b, a)) is a
    assert views._input_owning(buf[7:9], (a, b)) is b


def test_foreach_and_fused_arguments_as_torch():
    p, tp = dynet.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    for name in ("SGD", "Adam", "AdamW"):
        with pytest.raises(RuntimeError) as theirs:
            getattr(torch.optim, name)([tp], foreach=True, fused=True)
        with pytest.raises(RuntimeError) as ours:
            getattr(optim, name)([p], foreach=True, fused=True)
        assert str(ours.value) == str(theirs.value)
        for kwargs in ({}, dict(foreach=False), dict(fused=True), dict(foreach=True)):
            ours = getattr(optim, name)([p], **kwargs).param_groups[0]
            theirs = getattr(torch.optim, name)([tp], **kwargs).param_groups[0]
            assert {k: v for k, v in ours.items() if k != "params"} == \
                {k: v for k, v in theirs.items() if k != "params"}


def test_fused_runs_flat_and_foreach_false_runs_the_loop():
    for flags, flat in ((dict(fused=True), True), (dict(foreach=False), False),
                        (dict(foreach=False, fused=True), True), ({}, True)):
        p = dynet.randn(4, requires_grad=True)
        opt = optim.Adam([p], **flags)
        p.grad = dynet.ones(4)
        opt.step()
        assert bool(getattr(opt, "_flat_cache", None)) == flat, flags


def test_lenet_training_with_a_closure_is_identical_either_way():
    def run(foreach):
        dynet.manual_seed(0)
        from dynet.examples.lenet import LeNet5
        m = LeNet5()
        opt = optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4,
                        foreach=foreach)
        x, y = dynet.randn(4, 1, 28, 28), dynet.randint(0, 10, (4,))

        def closure():
            opt.zero_grad()
            loss = nn.functional.cross_entropy(m(x), y)
            loss.backward()
            return loss
        losses = [opt.step(closure).item() for _ in range(4)]
        return losses, [_np(p) for p in m.parameters()], opt

    (la, pa, oa), (lb, pb, _) = run(None), run(False)
    assert la == lb
    for a, b in zip(pa, pb):
        np.testing.assert_array_equal(a, b)
    assert [fs.mirrored for fs in _flat_sets(oa)] == [[]]
