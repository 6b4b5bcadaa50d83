"""dynet.nn.Module, Parameter and the containers: registration, traversal, state dicts,
device/dtype moves, hooks and repr (compared with PyTorch's where it is installed)."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import dynet
from dynet import nn
from tests.conftest import to_numpy

try:
    import torch
except ImportError:  # pragma: no cover - torch is optional
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed")


class Net(nn.Module):
    """LeNet-ish: conv, pool, two linears; a buffer; a shared-free tree."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(6 * 2 * 2, 3)
        self.register_buffer("steps", dynet.zeros(1))

    def forward(self, x):
        return self.fc(self.pool(self.conv1(x).relu()).flatten(1))


class Tiny(nn.Module):
    def __init__(self, n_in=3, n_out=2):
        super().__init__()
        self.lin = nn.Linear(n_in, n_out)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.lin(x))


# ---------------------------------------------------------------- registration

def test_setattr_routes_parameters_modules_buffers():
    m = nn.Module()
    p = nn.Parameter(dynet.ones(2))
    m.w = p
    m.sub = nn.Linear(2, 2)
    m.register_buffer("buf", dynet.zeros(3))
    m.plain = 5
    assert m._parameters["w"] is p and m.w is p
    assert m._modules["sub"] is m.sub
    assert m._buffers["buf"] is m.buf
    assert "plain" in m.__dict__ and "plain" not in m._parameters
    # a plain tensor is NOT a parameter (PyTorch's rule)
    m.t = dynet.ones(2)
    assert "t" not in m._parameters and "t" in m.__dict__
    # re-assigning a registered buffer keeps it a buffer
    m.buf = dynet.ones(3)
    assert m._buffers["buf"] is m.buf


def test_assign_before_init_raises():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(dynet.ones(1))
            super().__init__()

    class BadModule(nn.Module):
        def __init__(self):
            self.sub = nn.Linear(1, 1)
            super().__init__()

    with pytest.raises(AttributeError, match=r"cannot assign parameters before "
                                             r"Module\.__init__\(\) call"):
        Bad()
    with pytest.raises(AttributeError, match=r"cannot assign module before"):
        BadModule()


def test_register_parameter_errors():
    m = nn.Module()
    with pytest.raises(TypeError, match="cannot assign 'dynet.FloatTensor' object to "
                                        "parameter 'w'"):
        m.register_parameter("w", dynet.ones(2))
    leaf = nn.Parameter(dynet.ones(2))
    with pytest.raises(ValueError, match="Cannot assign non-leaf Tensor to parameter 'w'"):
        m.register_parameter("w", _non_leaf_parameter(leaf))
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", leaf)
    with pytest.raises(KeyError, match="empty string"):
        m.register_parameter("", leaf)
    m.x = 1
    with pytest.raises(KeyError, match="attribute 'x' already exists"):
        m.register_parameter("x", leaf)
    with pytest.raises(TypeError, match="parameter name should be a string"):
        m.register_parameter(3, leaf)
    m.register_parameter("bias", None)
    assert m.bias is None and "bias" in m._parameters
    assert list(m.parameters()) == []
    # assigning a non-Parameter to a parameter slot is an error; None is allowed
    m.w = leaf
    with pytest.raises(TypeError, match="cannot assign 'dynet.FloatTensor' as parameter 'w'"):
        m.w = dynet.ones(2)
    m.w = None
    assert m._parameters["w"] is None


def _non_leaf_parameter(leaf):
    """A Parameter object that carries a grad_fn (only reachable by tampering)."""
    p = nn.Parameter(dynet.ones(2))
    p.grad_fn = (leaf * 2).grad_fn
    return p


def test_register_buffer_and_module_errors():
    m = nn.Module()
    with pytest.raises(TypeError, match="cannot assign 'int' object to buffer 'b'"):
        m.register_buffer("b", 3)
    with pytest.raises(KeyError):
        m.register_buffer("a.b", dynet.ones(1))
    m.register_buffer("b", None)
    assert m.b is None
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("c", 3)
    with pytest.raises(KeyError, match="contain"):
        m.add_module("c.d", nn.ReLU())
    m.register_module("c", nn.ReLU())
    with pytest.raises(TypeError, match="as child module 'c'"):
        m.c = 3
    m.c = None
    assert m._modules["c"] is None
    m.buf2 = nn.Buffer(dynet.ones(2), persistent=False)
    assert "buf2" in m._buffers and "buf2" not in m.state_dict()


def test_getattr_and_delattr():
    m = Tiny()
    with pytest.raises(AttributeError, match="'Tiny' object has no attribute 'nope'"):
        m.nope
    m.register_buffer("b", dynet.ones(1), persistent=False)
    del m.lin, m.b
    assert "lin" not in m._modules and "b" not in m._buffers
    assert "b" not in m._non_persistent_buffers_set
    m.x = 1
    del m.x
    assert not hasattr(m, "x")
    assert "act" in dir(m)


def test_forward_missing_raises():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the '
                                                  r'required "forward" function'):
        nn.Module()(1)


# ---------------------------------------------------------------- traversal

def test_named_parameters_and_buffers_order():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["conv1.weight", "conv1.bias",
                                                      "fc.weight", "fc.bias"]
    assert [n for n, _ in net.named_parameters(prefix="m")] == [
        "m.conv1.weight", "m.conv1.bias", "m.fc.weight", "m.fc.bias"]
    assert list(net.named_parameters(recurse=False)) == []
    assert [n for n, _ in net.named_buffers()] == ["steps"]
    assert all(isinstance(p, nn.Parameter) for p in net.parameters())
    assert sum(p.numel() for p in net.parameters()) == 6 * 25 + 6 + 24 * 3 + 3


def test_traversal_is_lazy():
    gen = Net().parameters()
    assert iter(gen) is gen and not isinstance(gen, (list, tuple))
    assert isinstance(next(gen), nn.Parameter)


def test_shared_parameters_and_modules_yielded_once():
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_modules()] == ["", "0", "1"]
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4
    assert len(list(seq.named_modules(remove_duplicate=False))) == 4
    # tied weights across different modules
    a, b = nn.Linear(3, 3), nn.Linear(3, 3)
    b.weight = a.weight
    tied = nn.Sequential(a, b)
    assert [n for n, _ in tied.named_parameters()] == ["0.weight", "0.bias", "1.bias"]


def test_children_and_modules():
    net = Net()
    assert [n for n, _ in net.named_children()] == ["conv1", "pool", "fc"]
    assert list(net.children()) == [net.conv1, net.pool, net.fc]
    assert [type(m).__name__ for m in net.modules()] == ["Net", "Conv2d", "MaxPool2d",
                                                         "Linear"]
    outer = nn.Sequential(OrderedDict(block=Tiny()))
    assert [n for n, _ in outer.named_modules()] == ["", "block", "block.lin", "block.act"]


def test_get_submodule_parameter_buffer():
    outer = nn.Sequential(OrderedDict(block=Net()))
    assert outer.get_submodule("block.fc") is outer.block.fc
    assert outer.get_submodule("") is outer
    assert outer.get_parameter("block.fc.bias") is outer.block.fc.bias
    assert outer.get_buffer("block.steps") is outer.block.steps
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        outer.get_submodule("block.nope")
    with pytest.raises(AttributeError, match="is not an nn.Module"):
        outer.get_submodule("block.fc.weight")
    with pytest.raises(AttributeError, match="is not an nn.Parameter"):
        outer.get_parameter("block.steps")
    with pytest.raises(AttributeError, match="is not a buffer"):
        outer.get_buffer("block.fc.bias")


# ---------------------------------------------------------------- state dict

def test_state_dict_keys_values_and_detach():
    net = Net()
    net.register_buffer("scratch", dynet.ones(2), persistent=False)
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ["steps", "conv1.weight", "conv1.bias", "fc.weight", "fc.bias"]
    for k, v in sd.items():
        assert not isinstance(v, nn.Parameter) and not v.requires_grad and v.grad_fn is None
    # values share memory with the parameters (as in PyTorch)
    assert sd["fc.bias"]._data is net.fc.bias._data
    kept = net.state_dict(keep_vars=True)
    assert kept["fc.weight"] is net.fc.weight
    assert list(net.state_dict(prefix="x.")) == ["x." + k for k in sd]


def test_load_state_dict_round_trip_keeps_identity():
    src, dst = Net(), Net()
    params_before = list(dst.parameters())
    data_before = [p._data for p in params_before]
    result = dst.load_state_dict(src.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert all(a is b for a, b in zip(params_before, dst.parameters()))
    assert all(p._data is d for p, d in zip(dst.parameters(), data_before))  # copied in place
    for (k, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b), err_msg=k)
    # the destination owns its copy
    src.fc.bias._data[...] = 7.0
    assert not np.allclose(to_numpy(dst.fc.bias), 7.0)


def test_load_state_dict_reports_all_errors_together():
    net = Net()
    sd = net.state_dict()
    del sd["fc.bias"]
    sd["extra.weight"] = dynet.ones(1)
    sd["conv1.bias"] = dynet.ones(5)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(sd)
    msg = str(info.value)
    assert msg == (
        "Error(s) in loading state_dict for Net:\n"
        '\tMissing key(s) in state_dict: "fc.bias". \n'
        '\tUnexpected key(s) in state_dict: "extra.weight". \n'
        "\tsize mismatch for conv1.bias: copying a param with shape dynet.Size([5]) from "
        "checkpoint, the shape in current model is dynet.Size([6]).")


@needs_torch
def test_load_state_dict_error_matches_pytorch_wording():
    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(2, 3)
            self.out = torch.nn.Linear(3, 1)

    class DNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 3)
            self.out = nn.Linear(3, 1)

    def bad(sd, make):
        sd = dict(sd)
        del sd["out.bias"]
        sd["fc.extra"] = make(np.ones(1, np.float32))
        sd["fc.weight"] = make(np.ones((4, 2), np.float32))
        return sd

    with pytest.raises(RuntimeError) as t_err:
        TNet().load_state_dict(bad(TNet().state_dict(), torch.from_numpy))
    with pytest.raises(RuntimeError) as d_err:
        DNet().load_state_dict(bad(DNet().state_dict(), dynet.from_numpy))
    expected = str(t_err.value).replace("torch.Size", "dynet.Size").replace("TNet", "DNet")
    assert str(d_err.value) == expected


def test_load_state_dict_non_strict_returns_keys():
    net = Net()
    sd = net.state_dict()
    del sd["fc.bias"]
    sd["bogus"] = dynet.ones(1)
    res = net.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["fc.bias"] and res.unexpected_keys == ["bogus"]
    missing, unexpected = res
    assert missing == ["fc.bias"]
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        net.load_state_dict([1, 2])


def test_load_state_dict_casts_dtype_and_assign():
    net = Tiny()
    sd = {k: v.double() for k, v in Tiny().state_dict().items()}
    net.load_state_dict(sd)
    assert net.lin.weight.dtype == dynet.float32
    np.testing.assert_allclose(to_numpy(net.lin.weight), to_numpy(sd["lin.weight"]), rtol=1e-6)
    old = net.lin.weight
    net.load_state_dict(sd, assign=True)
    assert net.lin.weight is not old and isinstance(net.lin.weight, nn.Parameter)
    assert net.lin.weight.dtype == dynet.float64 and net.lin.weight.requires_grad


def test_cpu_state_dict_loads_into_device_model(device):
    src = Net()
    dst = Net().to(device)
    params = list(dst.parameters())
    dst.load_state_dict(src.state_dict())
    for p_before, p in zip(params, dst.parameters()):
        assert p is p_before and p.device == dynet.device(device)
    np.testing.assert_array_equal(to_numpy(dst.fc.weight), to_numpy(src.fc.weight))
    # and back: a device state dict loads into a CPU model
    back = Net()
    back.load_state_dict(dst.state_dict())
    assert back.fc.weight.device == dynet.device("cpu")
    np.testing.assert_array_equal(to_numpy(back.conv1.bias), to_numpy(src.conv1.bias))


# ---------------------------------------------------------------- modes and grads

def test_train_eval_recursive_and_grad_mode_untouched():
    net = nn.Sequential(Tiny(), nn.Dropout())
    assert net.training and net[0].lin.training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert dynet.is_grad_enabled()
    out = net(dynet.randn(2, 3))
    assert out.requires_grad  # eval() must not switch off autograd (PyDyNet's bug)
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train("yes")


def test_zero_grad_and_requires_grad_():
    net = Tiny()
    net(dynet.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not to_numpy(p.grad).any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert net.requires_grad_(False) is net
    assert not any(p.requires_grad for p in net.parameters())
    assert not net(dynet.randn(1, 3)).requires_grad


def test_apply_visits_children_first():
    seen = []
    net = nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU()))
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]


# ---------------------------------------------------------------- device and dtype

def test_to_dtype_keeps_parameter_identity_and_moves_grads():
    net = Net()
    net(dynet.randn(2, 1, 4, 4)).sum().backward()
    params = list(net.parameters())
    grads = [p.grad for p in params]
    assert net.double() is net
    for p, q, g in zip(params, net.parameters(), grads):
        assert p is q and p.dtype == dynet.float64 and p.grad is g
        assert p.grad.dtype == dynet.float64 and p.requires_grad and p.is_leaf
    assert net.steps.dtype == dynet.float64
    assert net.to(dynet.float32) is net and net.fc.weight.dtype == dynet.float32
    assert net.half().fc.weight.dtype == dynet.float16
    assert net.float().fc.bias.dtype == dynet.float32
    assert net.type(dynet.float64).fc.bias.dtype == dynet.float64
    with pytest.raises(TypeError, match="only accepts floating point"):
        net.to(dynet.int64)


def test_to_leaves_integer_buffers_alone():
    bn = nn.BatchNorm1d(3)
    bn.double()
    assert bn.num_batches_tracked.dtype == dynet.int64
    assert bn.running_mean.dtype == dynet.float64


def test_optimizer_step_after_dtype_change():
    net = Tiny()
    params = list(net.parameters())
    net.double()
    x = dynet.randn(4, 3, dtype=dynet.float64)
    net(x).sum().backward()
    before = to_numpy(params[0]).copy()
    with dynet.no_grad():
        for p in params:  # what an optimizer holding the old objects does
            p -= 0.1 * p.grad
    assert not np.allclose(before, to_numpy(net.lin.weight))


def test_to_device_in_place(device):
    net = Net()
    net(dynet.randn(1, 1, 4, 4)).sum().backward()
    params = list(net.parameters())
    assert net.to(device) is net
    for p, q in zip(params, net.parameters()):
        assert p is q and p.device == dynet.device(device)
        assert p.grad.device == dynet.device(device)
    assert net.steps.device == dynet.device(device)
    out = net(dynet.randn(2, 1, 4, 4, device=device))
    assert out.device == dynet.device(device)
    net.to(dynet.randn(1, dtype=dynet.float64))  # to(tensor): its device and dtype
    assert net.fc.weight.device == dynet.device("cpu")
    assert net.fc.weight.dtype == dynet.float64
    assert net.cpu() is net


# ---------------------------------------------------------------- hooks

def test_forward_hooks_replace_output_and_remove():
    lin = nn.Linear(2, 2)
    calls = []

    def hook(module, args, output):
        calls.append((module, args, output))
        return output * 0

    handle = lin.register_forward_hook(hook)
    x = dynet.ones(1, 2)
    out = lin(x)
    assert calls[0][0] is lin and calls[0][1][0] is x and isinstance(calls[0][1], tuple)
    assert not to_numpy(out).any()
    handle.remove()
    assert to_numpy(lin(x)).any() and len(calls) == 1
    handle.remove()  # idempotent


def test_forward_pre_hook_replaces_args():
    lin = nn.Identity()
    h1 = lin.register_forward_pre_hook(lambda m, args: args[0] + 1)  # bare value -> tuple
    h2 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 10,))
    assert lin(dynet.ones(1)).item() == 20.0
    h1.remove()
    assert lin(dynet.ones(1)).item() == 10.0
    h2.remove()
    lin.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] * 3,), kwargs),
                                  with_kwargs=True)
    assert lin(dynet.ones(1)).item() == 3.0


def test_hook_order_prepend_kwargs_and_context_manager():
    order = []
    m = nn.Identity()
    m.register_forward_hook(lambda *a: order.append("a"))
    m.register_forward_hook(lambda *a: order.append("b"), prepend=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: order.append(("kw", kwargs)),
                            with_kwargs=True)
    m(1)
    assert order == ["b", "a", ("kw", {})]
    with m.register_forward_hook(lambda *a: order.append("ctx")):
        m(1)
    m(1)
    assert order.count("ctx") == 1


def test_always_call_forward_hook_runs_on_error():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    seen = []
    m = Boom()
    m.register_forward_hook(lambda *a: seen.append("always"), always_call=True)
    m.register_forward_hook(lambda *a: seen.append("normal"))
    with pytest.raises(ValueError, match="boom"):
        m(1)
    assert seen == ["always"]


def test_full_backward_hook_receives_gradients(device):
    lin = nn.Linear(3, 2).to(device)
    seen = []
    handle = lin.register_full_backward_hook(
        lambda mod, gin, gout: seen.append((mod, gin, gout)))
    x = dynet.randn(4, 3, device=device, requires_grad=True)
    w = dynet.randn(4, 2, device=device)
    (lin(x) * w).sum().backward()
    assert len(seen) == 1
    mod, gin, gout = seen[0]
    assert mod is lin and isinstance(gin, tuple) and isinstance(gout, tuple)
    np.testing.assert_allclose(to_numpy(gout[0]), to_numpy(w), rtol=1e-6)
    np.testing.assert_allclose(to_numpy(gin[0]), to_numpy(w) @ to_numpy(lin.weight),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(x.grad), to_numpy(gin[0]), rtol=1e-6)
    handle.remove()
    x.grad = None
    lin(x).sum().backward()
    assert len(seen) == 1


def test_full_backward_hook_can_replace_grad_input():
    lin = nn.Linear(3, 2)
    lin.register_full_backward_hook(lambda mod, gin, gout: (gin[0] * 0 + 5,))
    x = dynet.randn(2, 3, requires_grad=True)
    lin(x).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), np.full((2, 3), 5.0, np.float32))
    assert lin.weight.grad is not None  # parameter gradients are unaffected


def test_full_backward_hook_input_without_grad_and_multiple_inputs():
    lin = nn.Linear(3, 2)
    seen = []
    lin.register_full_backward_hook(lambda mod, gin, gout: seen.append((gin, gout)))
    lin(dynet.randn(2, 3)).sum().backward()
    gin, gout = seen[0]
    assert gin == (None,) and gout[0].shape == (2, 2)

    class Mix(nn.Module):
        def forward(self, a, scale, b):
            return a * scale + b * 2

    mix = Mix()
    got = []
    mix.register_full_backward_hook(lambda mod, gin, gout: got.append(gin))
    a = dynet.randn(3, requires_grad=True)
    b = dynet.randn(3, requires_grad=True)
    mix(a, 3.0, b).sum().backward()
    gin = got[0]
    assert len(gin) == 3 and gin[1] is None
    np.testing.assert_allclose(to_numpy(gin[0]), 3.0)
    np.testing.assert_allclose(to_numpy(gin[2]), 2.0)
    np.testing.assert_allclose(to_numpy(a.grad), 3.0)


def test_full_backward_pre_hook_replaces_grad_output():
    m = nn.Identity()
    m.register_full_backward_pre_hook(lambda mod, gout: (gout[0] * 4,))
    x = dynet.ones(2, requires_grad=True)
    m(x).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), [4.0, 4.0])


@needs_torch
def test_full_backward_hook_matches_pytorch():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((2, 3)).astype(np.float32)
    xv = rng.standard_normal((4, 3)).astype(np.float32)
    results = []
    for lib, mod in ((torch, torch.nn), (dynet, nn)):
        lin = mod.Linear(3, 2, bias=False)
        lin.weight.data = lib.tensor(w)
        got = []
        lin.register_full_backward_hook(
            lambda m, gin, gout: got.append([np.asarray(g.detach().numpy()) for g in
                                             gin + gout]))
        x = lib.tensor(xv, requires_grad=True)
        (lin(x).tanh()).sum().backward()
        results.append(got[0])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- Parameter

def test_parameter_basics():
    t = dynet.ones(2, 2)
    p = nn.Parameter(t)
    assert isinstance(p, dynet.Tensor) and isinstance(p, nn.Parameter)
    assert p._data is t._data and p.requires_grad and p.is_leaf and p.grad_fn is None
    assert repr(p) == "Parameter containing:\ntensor([[1., 1.],\n        [1., 1.]], " \
                      "requires_grad=True)"
    frozen = nn.Parameter(dynet.ones(2), requires_grad=False)
    assert repr(frozen) == "Parameter containing:\ntensor([1., 1.])"
    assert type(p * 2) is dynet.Tensor and type(p.detach()) is dynet.Tensor
    assert nn.Parameter().shape == (0,)
    with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype "
                                           "can require gradients"):
        nn.Parameter(dynet.tensor([1, 2]))
    ints = nn.Parameter(dynet.tensor([1, 2]), requires_grad=False)
    assert repr(ints) == "Parameter containing:\ntensor([1, 2])"
    # a non-leaf source gives a leaf parameter
    src = dynet.ones(2, requires_grad=True) * 3
    assert nn.Parameter(src).is_leaf


@needs_torch
def test_parameter_repr_matches_pytorch():
    for data, rg in (([1.5, -2.0], True), ([[1.0, 2.0]], False)):
        ours = repr(nn.Parameter(dynet.tensor(data), requires_grad=rg))
        theirs = repr(torch.nn.Parameter(torch.tensor(data), requires_grad=rg))
        assert ours == theirs


def test_deepcopy_gives_independent_model():
    net = Net()
    twin = copy.deepcopy(net)
    assert twin.fc.weight is not net.fc.weight and isinstance(twin.fc.weight, nn.Parameter)
    np.testing.assert_array_equal(to_numpy(twin.fc.weight), to_numpy(net.fc.weight))
    twin.fc.weight._data[...] = 0
    assert to_numpy(net.fc.weight).any()
    shared = nn.Linear(1, 1)
    seq = copy.deepcopy(nn.Sequential(shared, shared))
    assert seq[0] is seq[1]


def test_pickle_round_trip():
    net = Net()
    back = pickle.loads(pickle.dumps(net))
    assert isinstance(back.fc.weight, nn.Parameter) and back.fc.weight.requires_grad
    for (k, a), b in zip(net.state_dict().items(), back.state_dict().values()):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b), err_msg=k)
    x = dynet.randn(1, 1, 4, 4)
    np.testing.assert_allclose(to_numpy(back(x)), to_numpy(net(x)), rtol=1e-6)


# ---------------------------------------------------------------- containers

def test_sequential_indexing_and_editing():
    a, b, c = nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 3)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c and list(seq) == [a, b, c]
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    assert list(sub._modules) == ["1", "2"]  # slicing keeps the original keys
    with pytest.raises(IndexError, match="index 3 is out of range"):
        seq[3]
    d = nn.Tanh()
    assert seq.append(d) is seq and seq[3] is d
    seq.insert(0, nn.Identity())
    assert [type(m).__name__ for m in seq] == ["Identity", "Linear", "ReLU", "Linear", "Tanh"]
    seq.extend([nn.Sigmoid()])
    del seq[0]
    assert list(seq._modules) == [str(i) for i in range(5)] and seq[0] is a
    seq[1] = nn.GELU()
    assert isinstance(seq[1], nn.GELU)
    assert seq.pop(-1).__class__ is nn.Sigmoid and len(seq) == 4
    both = nn.Sequential(a) + nn.Sequential(c)
    assert list(both) == [a, c]
    named = nn.Sequential(OrderedDict([("first", a), ("act", b)]))
    assert named.first is a and list(named._modules) == ["first", "act"]
    out = nn.Sequential(a, b, c)(dynet.ones(4, 1))
    assert out.shape == (4, 3)


def test_module_list_and_dict():
    layers = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    layers.append(nn.ReLU())
    layers.extend([nn.Tanh()])
    layers.insert(0, nn.Identity())
    assert [type(m).__name__ for m in layers] == ["Identity", "Linear", "Linear", "Linear",
                                                  "ReLU", "Tanh"]
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    assert layers[-1].__class__ is nn.Tanh
    del layers[0]
    assert isinstance(layers[0], nn.Linear) and list(layers._modules) == list("01234")
    with pytest.raises(IndexError):
        layers[10]
    with pytest.raises(TypeError, match="ModuleList.extend should be called with an iterable"):
        layers.extend(nn.ReLU())
    d = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
    assert list(d.keys()) == ["a", "b"] and "a" in d and len(d) == 2
    d["c"] = nn.Tanh()
    d.update([("e", nn.Identity())])
    assert list(d) == ["a", "b", "c", "e"]
    assert isinstance(d.pop("b"), nn.ReLU) and "b" not in d
    assert [n for n, _ in d.named_parameters()] == ["a.weight", "a.bias"]


def test_parameter_list_and_dict():
    pl = nn.ParameterList([nn.Parameter(dynet.ones(2, 3)), dynet.zeros(1)])
    assert len(pl) == 2 and all(isinstance(p, nn.Parameter) for p in pl)
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    assert repr(pl) == ("ParameterList(\n"
                        "    (0): Parameter containing: [dynet.float32 of size 2x3]\n"
                        "    (1): Parameter containing: [dynet.float32 of size 1]\n)")
    pd = nn.ParameterDict({"w": dynet.ones(2)})
    assert isinstance(pd["w"], nn.Parameter) and list(pd.keys()) == ["w"]
    assert [n for n, _ in pd.named_parameters()] == ["w"]


# ---------------------------------------------------------------- repr

def _both(build):
    """(dynet repr, torch repr) of the same structure built by build(nn_module)."""
    return repr(build(nn)), repr(build(torch.nn))


@needs_torch
@pytest.mark.parametrize("build", [
    lambda m: m.Sequential(m.Conv2d(1, 6, 5, padding=2), m.ReLU(), m.MaxPool2d(2),
                           m.Flatten(), m.Linear(400, 120), m.Dropout(0.25)),
    lambda m: m.Sequential(OrderedDict(block=m.Sequential(m.Linear(2, 2), m.Tanh()),
                                       head=m.Linear(2, 1, bias=False))),
    lambda m: m.ModuleList([m.Linear(2, 2), m.Linear(2, 2), m.ReLU(), m.Linear(2, 2)]),
    lambda m: m.ModuleList([m.Sequential(m.Linear(2, 2), m.ReLU())] * 3),
    lambda m: m.ModuleList([]),
    lambda m: m.ModuleDict({"conv": m.Conv1d(2, 4, 3), "act": m.LeakyReLU(0.2)}),
    lambda m: m.Sequential(),
], ids=["lenet-ish", "nested", "modulelist", "modulelist-blocks", "empty-list", "moduledict",
        "empty-seq"])
def test_container_repr_matches_pytorch(build):
    ours, theirs = _both(build)
    assert ours == theirs


def test_repr_tree_exact():
    class TNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
            self.fc = nn.Linear(400, 120)

    assert repr(TNet()) == ("TNet(\n"
                            "  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), "
                            "padding=(2, 2))\n"
                            "  (fc): Linear(in_features=400, out_features=120, bias=True)\n"
                            ")")

    class Multi(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(1, 1)

        def extra_repr(self):
            return "first\nsecond"

    assert repr(Multi()) == ("Multi(\n  first\n  second\n"
                             "  (lin): Linear(in_features=1, out_features=1, bias=True)\n)")
    assert repr(nn.Module()) == "Module()"
