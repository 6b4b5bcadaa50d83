"""dynet.optim.lr_scheduler: learning-rate sequences against torch's, and state dicts."""
import math
import warnings

import pytest

import dynet
from dynet import optim
from dynet.optim import lr_scheduler as S
from dynet.serialization import load, save

torch = pytest.importorskip("torch")
TS = torch.optim.lr_scheduler


def _opt(lib, name="SGD", **kwargs):
    """An optimizer with two param groups (lr 0.1 and 0.05) from dynet or torch."""
    if lib == "torch":
        mk, mod = (lambda: torch.zeros(2, requires_grad=True)), torch.optim
    else:
        mk, mod = (lambda: dynet.zeros(2, requires_grad=True)), optim
    kwargs.setdefault("lr", 0.1)
    return getattr(mod, name)([{"params": [mk()]}, {"params": [mk()], "lr": 0.05}], **kwargs)


def _lambda1(epoch):
    return 0.95 ** epoch


def _lambda2(epoch):
    return 1.0 / (1 + epoch)


# (class name, optimizer, optimizer kwargs, scheduler kwargs)
SCHEDULES = [
    ("StepLR", "SGD", {}, dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", "SGD", {}, dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", "SGD", {}, dict(gamma=0.9)),
    ("CosineAnnealingLR", "SGD", {}, dict(T_max=10, eta_min=0.001)),
    ("CosineAnnealingLR", "Adam", {}, dict(T_max=7)),
    ("LambdaLR", "SGD", {}, dict(lr_lambda=_lambda1)),
    ("LambdaLR", "SGD", {}, dict(lr_lambda=[_lambda1, _lambda2])),
    ("MultiplicativeLR", "SGD", {}, dict(lr_lambda=lambda e: 0.9)),
    ("ConstantLR", "SGD", {}, dict(factor=0.5, total_iters=4)),
    ("LinearLR", "SGD", {}, dict(start_factor=0.25, end_factor=0.9, total_iters=8)),
    ("PolynomialLR", "SGD", {}, dict(total_iters=12, power=2.0)),
    ("OneCycleLR", "SGD", dict(momentum=0.9), dict(max_lr=[1.0, 0.5], total_steps=30)),
    ("OneCycleLR", "SGD", dict(momentum=0.9),
     dict(max_lr=0.4, epochs=3, steps_per_epoch=10, anneal_strategy="linear")),
    ("OneCycleLR", "Adam", {}, dict(max_lr=0.01, total_steps=31, three_phase=True,
                                    base_momentum=0.8, max_momentum=(0.95, 0.9))),
    ("OneCycleLR", "RMSprop", dict(momentum=0.5),
     dict(max_lr=0.2, total_steps=30, pct_start=0.25, cycle_momentum=False)),
]
SCHED_IDS = [f"{s[0]}-{i}" for i, s in enumerate(SCHEDULES)]


def _sched(lib, spec):
    cls, opt_name, opt_kwargs, kwargs = spec
    opt = _opt(lib, opt_name, **opt_kwargs)
    module = TS if lib == "torch" else S
    return opt, getattr(module, cls)(opt, **kwargs)


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


@pytest.mark.parametrize("spec", SCHEDULES, ids=SCHED_IDS)
def test_lr_sequence_matches_torch(spec):
    topt, tsched = _sched("torch", spec)
    dopt, dsched = _sched("dynet", spec)
    assert dsched.get_last_lr() == tsched.get_last_lr()
    for _ in range(30):
        topt.step()
        dopt.step()
        tsched.step()
        dsched.step()
        assert dsched.get_last_lr() == tsched.get_last_lr()
        # same formulas in the same order: the values are bit-identical to PyTorch's
        assert [g["lr"] for g in dopt.param_groups] == [g["lr"] for g in topt.param_groups]
        assert _momenta(dopt) == _momenta(topt)
    assert dsched.last_epoch == tsched.last_epoch == 30


def test_sequential_lr_matches_torch():
    def build(lib):
        opt = _opt(lib)
        mod = TS if lib == "torch" else S
        warm = mod.LinearLR(opt, start_factor=0.1, total_iters=5)
        cos = mod.CosineAnnealingLR(opt, T_max=20)
        return opt, mod.SequentialLR(opt, [warm, cos], milestones=[5])

    (topt, ts), (dopt, ds) = build("torch"), build("dynet")
    for _ in range(25):
        topt.step()
        dopt.step()
        ts.step()
        ds.step()
        assert ds.get_last_lr() == ts.get_last_lr()


PLATEAU = [
    dict(),
    dict(mode="max", factor=0.5, patience=2, threshold=0.1),
    dict(mode="min", threshold_mode="abs", threshold=0.05, patience=1, cooldown=2),
    dict(mode="max", threshold_mode="abs", patience=0, min_lr=[0.02, 0.01], factor=0.3),
    dict(patience=1, min_lr=0.04, eps=1e-3),
]
METRICS = [1.0, 0.9, 0.95, 0.95, 0.97, 0.6, 0.61, 0.62, 0.7, 0.59, 0.58, 0.58, 0.9, 1.2, 0.3,
           0.31, 0.32, 0.33, 0.34, 0.2, 0.25, 0.26, 0.27, 0.28, 0.29]


@pytest.mark.parametrize("kwargs", PLATEAU)
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    topt, dopt = _opt("torch"), _opt("dynet")
    ts, ds = TS.ReduceLROnPlateau(topt, **kwargs), S.ReduceLROnPlateau(dopt, **kwargs)
    for m in METRICS:
        ts.step(m)
        ds.step(dynet.tensor(m))  # a 0-d tensor metric, as from loss.item()-less code
        assert ds.get_last_lr() == ts.get_last_lr()
        assert (ds.best, ds.num_bad_epochs, ds.cooldown_counter) == \
            (pytest.approx(ts.best), ts.num_bad_epochs, ts.cooldown_counter)


ROUND_TRIP = [SCHEDULES[1], SCHEDULES[3], SCHEDULES[6], SCHEDULES[11], SCHEDULES[13]]


@pytest.mark.parametrize("spec", ROUND_TRIP, ids=[s[0] for s in ROUND_TRIP])
def test_state_dict_round_trip_through_checkpoint(spec, tmp_path):
    opt_a, sched_a = _sched("dynet", spec)
    for _ in range(10):
        opt_a.step()
        sched_a.step()
    path = tmp_path / "sched.ckpt"
    save({"optimizer": opt_a.state_dict(), "scheduler": sched_a.state_dict(), "epoch": 10}, path)
    ckpt = load(path)
    assert ckpt["epoch"] == 10
    opt_b, sched_b = _sched("dynet", spec)
    opt_b.load_state_dict(ckpt["optimizer"])
    sched_b.load_state_dict(ckpt["scheduler"])
    assert sched_b.get_last_lr() == sched_a.get_last_lr()
    for _ in range(15):
        opt_a.step()
        opt_b.step()
        sched_a.step()
        sched_b.step()
        assert sched_b.get_last_lr() == sched_a.get_last_lr()
        assert opt_b.param_groups[0]["lr"] == opt_a.param_groups[0]["lr"]
        assert _momenta(opt_b) == _momenta(opt_a)


def test_plateau_state_dict_round_trip_keeps_infinite_best(tmp_path):
    opt = _opt("dynet")
    sched = S.ReduceLROnPlateau(opt, mode="max", patience=1)
    save(sched.state_dict(), tmp_path / "p.ckpt")
    sd = load(tmp_path / "p.ckpt")
    assert sd["best"] == -math.inf and sd["mode_worse"] == -math.inf
    sched2 = S.ReduceLROnPlateau(_opt("dynet"))
    sched2.load_state_dict(sd)
    for m in (1.0, 0.5, 0.5, 0.5):
        sched.step(m)
        sched2.step(m)
    assert sched2.get_last_lr() == sched.get_last_lr() == pytest.approx([0.01, 0.005])


def test_state_dict_keeps_callable_object_state_only():
    class Warmup:
        def __init__(self):
            self.scale = 2.0

        def __call__(self, epoch):
            return self.scale * epoch

    opt = _opt("dynet")
    fn = Warmup()
    sched = S.LambdaLR(opt, [fn, _lambda1])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [{"scale": 2.0}, None]
    assert "optimizer" not in sd
    fn.scale = 5.0
    sched.load_state_dict(sd)
    assert fn.scale == 2.0


def test_initial_lr_and_resume_requirements():
    opt = _opt("dynet")
    S.StepLR(opt, step_size=2)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
    with pytest.raises(KeyError, match=r"initial_lr' is not specified in param_groups\[0\]"):
        S.StepLR(_opt("dynet"), step_size=2, last_epoch=3)
    sched = S.StepLR(opt, step_size=2, gamma=0.5, last_epoch=3)  # resumes from initial_lr
    assert sched.last_epoch == 4


def test_scheduler_warnings():
    opt = _opt("dynet")
    sched = S.ExponentialLR(opt, gamma=0.5)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()
    opt2 = _opt("dynet")
    sched2 = S.ExponentialLR(opt2, gamma=0.5)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        sched2.step(5)
    assert sched2.get_last_lr() == pytest.approx([0.1 * 0.5 ** 5, 0.05 * 0.5 ** 5])


def test_scheduler_argument_errors():
    with pytest.raises(TypeError, match="is not an Optimizer"):
        S.StepLR(object(), step_size=1)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        S.LambdaLR(_opt("dynet"), [_lambda1])
    with pytest.raises(ValueError, match="You must define either total_steps"):
        S.OneCycleLR(_opt("dynet"), max_lr=0.1)
    with pytest.raises(ValueError, match="Expected positive integer total_steps"):
        S.OneCycleLR(_opt("dynet"), max_lr=0.1, total_steps=0)
    with pytest.raises(ValueError, match="anneal_strategy must be one of"):
        S.OneCycleLR(_opt("dynet"), max_lr=0.1, total_steps=5, anneal_strategy="exp")
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        S.OneCycleLR(_opt("dynet", "Adagrad"), max_lr=0.1, total_steps=5)
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        S.ReduceLROnPlateau(_opt("dynet"), factor=1.0)
    with pytest.raises(ValueError, match="mode avg is unknown!"):
        S.ReduceLROnPlateau(_opt("dynet"), mode="avg")
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 3"):
        S.ReduceLROnPlateau(_opt("dynet"), min_lr=[0, 0, 0])
    opt = _opt("dynet")
    sched = S.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()
