"""Every public dynet function and Tensor method takes PyTorch's parameter names as keywords
(and out= where PyTorch has it), checked by walking dynet's namespace against PyTorch's own
signatures: inspect where PyTorch's function is Python, else the ATen schemas that its
argument parser reads. NumPy's aliases (axis, keepdims, x, x2) work too, as in PyTorch."""
import inspect

import numpy as np
import pytest

import dynet
from core_utils import host

# PyTorch features dynet does not have: only strided dense tensors, no pinned memory, no
# memory formats, no sparse gradients, no named tensors, no low-precision GEMM outputs
NOT_MODELLED = {"layout", "pin_memory", "memory_format", "sparse_grad", "names", "out_dtype"}
# names that only TorchScript's overloads use (int/list/str arithmetic), not Python callers
TORCHSCRIPT_ONLY = {"a", "b", "l", "n", "list", "idx", "t", "reverse", "separator", "implicit"}

# methods whose Python binding is written by hand (python_variable_methods.cpp) with other
# names than their ATen schemas: x.to(tensor=y), x.copy_(other=y); checked against torch below
HANDWRITTEN = {"to": ["device", "dtype", "non_blocking", "copy", "tensor"],
               "copy_": ["other", "non_blocking"]}

# what is still missing, so the list can only shrink: a name fixed here fails the test too
KNOWN_GAPS = {"functions": {}, "methods": {}}


def _torch_names(torch, obj, name, method):
    try:
        sig = inspect.signature(obj)
        names = [p.name for p in sig.parameters.values()  # positional-only: no keyword
                 if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY)]
        return [n for n in names if n != "self" and n not in NOT_MODELLED]
    except (ValueError, TypeError):
        pass
    try:
        schemas = torch._C._jit_get_schemas_for_operator("aten::" + name)
    except RuntimeError:
        return None
    if method and name in HANDWRITTEN:
        return HANDWRITTEN[name]
    names = []
    packet = getattr(torch.ops.aten, name, None)
    for schema in schemas:
        overload = getattr(packet, schema.overload_name or "default", None)
        if overload is not None and torch.Tag.generated in overload.tags:
            continue  # code-generated overloads (zeros_like.out, ...) get no Python binding
        for arg in schema.arguments:
            n = arg.name
            if arg.alias_info is not None and arg.alias_info.is_write and n != "self":
                n = "out"  # out=, values=/indices= of the out overloads
            if n == "self":
                n = None if method else "input"
            if n and n not in names and n not in NOT_MODELLED | TORCHSCRIPT_ONLY:
                names.append(n)
    if method:
        names = [n for n in names if n != "out"]
    return names or None


def _missing(method):
    torch = pytest.importorskip("torch")
    owner, theirs = (dynet.Tensor, torch.Tensor) if method else (dynet, torch)
    out = {}
    for name in sorted(dir(owner)):
        fn = getattr(owner, name)
        if name.startswith("_") or not hasattr(theirs, name) or not inspect.isfunction(fn):
            continue
        spec = _torch_names(torch, getattr(theirs, name), name, method)
        params = list(inspect.signature(fn).parameters.values())
        if spec is None or any(p.kind == p.VAR_KEYWORD for p in params):
            continue
        have = {p.name for p in params}  # varargs go by name too (zeros(size=...))
        missing = {n for n in spec if n not in have}
        if missing:
            out[name] = missing
    return out


@pytest.mark.parametrize("kind", ["functions", "methods"])
def test_parameter_names_match_torch(kind):
    missing = _missing(kind == "methods")
    known = KNOWN_GAPS[kind]
    new = {n: m - known.get(n, set()) for n, m in missing.items() if m - known.get(n, set())}
    assert not new, f"{kind} without PyTorch's keyword names: {new}"
    fixed = {n: g - missing.get(n, set()) for n, g in known.items() if g - missing.get(n, set())}
    assert not fixed, f"fixed, so remove them from KNOWN_GAPS: {fixed}"


def test_the_walk_covers_the_op_surface():
    torch = pytest.importorskip("torch")
    walked = [n for n in dir(dynet) if hasattr(torch, n) and inspect.isfunction(getattr(
        dynet, n)) and _torch_names(torch, getattr(torch, n), n, False) is not None]
    assert len(walked) > 200
    for name in ("matmul", "add", "sum", "scatter_reduce", "cummax", "tril", "atan2"):
        assert name in walked


def test_keywords_and_out(device):
    a = dynet.tensor(np.arange(6.0).reshape(2, 3), device=device)
    assert host(dynet.matmul(input=a, other=a.T)).tolist() == [[5.0, 14.0], [14.0, 50.0]]
    assert host(dynet.pow(input=a, exponent=2))[1, 2] == 25.0
    assert host(dynet.where(condition=a > 2, input=a, other=-a)).tolist() == \
        [[-0.0, -1.0, -2.0], [3.0, 4.0, 5.0]]
    assert dynet.reshape(a, shape=(3, 2)).shape == (3, 2)
    assert dynet.zeros(size=(2, 1), device=device).shape == (2, 1)
    assert a.view(size=(3, 2)).shape == (3, 2) and a.view(dtype=dynet.int64).shape == (2, 3)
    assert a.expand(size=(4, 2, 3)).shape == (4, 2, 3) and a.repeat(repeats=(1, 2)).shape \
        == (2, 6)
    with pytest.raises(TypeError, match="multiple values"):
        dynet.zeros(2, size=(2,))
    ints = dynet.empty(3, dtype=dynet.int64, device=device)
    assert dynet.arange(3, out=ints) is ints and host(ints).tolist() == [0, 1, 2]
    assert dynet.permute(a, dims=(1, 0)).shape == (3, 2)
    assert dynet.swapaxes(a, axis0=0, axis1=1).shape == (3, 2)
    assert host(dynet.max(a, other=a * 0 + 2.5)).tolist() == [[2.5, 2.5, 2.5], [3, 4, 5]]
    out = dynet.empty(2, 3, device=device)
    assert dynet.add(a, 1.0, out=out) is out and host(out)[0, 0] == 1.0
    res = dynet.empty(0, device=device)  # resized, as PyTorch resizes an empty out
    assert dynet.sum(a, dim=1, out=res) is res and host(res).tolist() == [3.0, 12.0]
    values, indices = dynet.empty(0, device=device), dynet.empty(0, dtype=dynet.int64,
                                                                 device=device)
    dynet.sort(a, descending=True, out=(values, indices))
    assert host(indices).tolist() == [[2, 1, 0], [2, 1, 0]]
    with pytest.raises(RuntimeError, match="automatic differentiation"):
        dynet.exp(a.clone().requires_grad_(), out=dynet.empty(2, 3, device=device))


def test_numpy_aliases_as_torch(device):
    torch = pytest.importorskip("torch")
    x = np.arange(6.0).reshape(2, 3)
    d, t = dynet.tensor(x, device=device), torch.tensor(x)
    for call in (lambda m, v: m.sum(v, axis=0, keepdims=True),
                 lambda m, v: m.mean(v, axis=1),
                 lambda m, v: v.std(axis=0),
                 lambda m, v: m.cumsum(v, axis=1),
                 lambda m, v: v.max(axis=1).values,
                 lambda m, v: m.amin(v, axis=0, keepdims=True),
                 lambda m, v: m.add(x=v, x2=v),
                 lambda m, v: m.all(v > 0, axis=1),
                 lambda m, v: m.logsumexp(v, axis=1),
                 lambda m, v: m.mul(x=v, other=v)):
        np.testing.assert_allclose(host(call(dynet, d)), call(torch, t).numpy())
    with pytest.raises(TypeError):
        dynet.sum(d, dim=0, axis=1)



def test_the_corrections_to_the_schemas_are_torchs_own():
    """What the walk leaves out or renames is what PyTorch's Python binding does."""
    torch = pytest.importorskip("torch")
    x, y = torch.ones(2, 3), torch.ones(1, dtype=torch.int64)
    for call in (lambda: torch.zeros_like(x, out=torch.empty(0)),  # generated .out overload
                 lambda: torch.clone(x, out=torch.empty(0)),
                 lambda: torch.normal(input=x),
                 lambda: torch.set_default_dtype(d=torch.float32),  # positional-only
                 lambda: x.to(other=y), lambda: x.clone().copy_(src=x)):
        with pytest.raises(TypeError):
            call()
    assert x.to(tensor=y, non_blocking=False, copy=True).dtype == torch.int64
    assert x.clone().copy_(other=y, non_blocking=False).dtype == torch.float32


def test_the_like_factories_take_no_out_and_a_generator(device):
    x = dynet.ones(2, 3, device=device)
    for fn in (dynet.zeros_like, dynet.ones_like, dynet.empty_like, dynet.rand_like):
        with pytest.raises(TypeError):
            fn(x, out=dynet.empty(0, device=device))
    for fn, args in ((dynet.rand_like, ()), (dynet.randn_like, ()), (dynet.randint_like, (5,))):
        a = fn(x, *args, generator=dynet.Generator(device).manual_seed(3))
        b = fn(x, *args, generator=dynet.Generator(device).manual_seed(3))
        assert a.shape == (2, 3) and host(a).tolist() == host(b).tolist()
    g = dynet.Generator(device).manual_seed(5)
    expected = host(dynet.randn(2, 3, generator=dynet.Generator(device).manual_seed(5)))
    assert host(dynet.randn_like(x, generator=g)).tolist() == expected.tolist()


def test_factories_write_out_in_its_dtype(device):
    for fn, value in ((dynet.zeros, 0), (dynet.ones, 1)):
        out = dynet.empty(0, dtype=dynet.int64, device=device)
        assert fn(2, 3, out=out) is out and out.dtype == dynet.int64
        assert host(out).tolist() == [[value] * 3] * 2
        with pytest.raises(RuntimeError, match=r"dtype Float does not match dtype of out "
                                               r"parameter \(Long\)"):
            fn(2, out=out, dtype=dynet.float32)
    out = dynet.empty(0, dtype=dynet.float64, device=device)
    assert dynet.empty(4, out=out) is out and out.shape == (4,) and out.dtype == dynet.float64


def test_normal_with_tensor_arguments(device):
    torch = pytest.importorskip("torch")
    mean = dynet.zeros(2, 1, dtype=dynet.float64, device=device, requires_grad=True)
    std = dynet.tensor([1.0, 2.0, 3.0], device=device)
    r = dynet.normal(mean, std, generator=dynet.Generator(device).manual_seed(0))
    z = host(dynet.randn(2, 3, dtype=dynet.float64,
                         generator=dynet.Generator(device).manual_seed(0)))
    np.testing.assert_allclose(host(r), z * [1.0, 2.0, 3.0])
    assert r.dtype == dynet.float64 and r.requires_grad
    r.sum().backward()  # recorded with a zero gradient, as PyTorch's NormalBackward
    assert host(mean.grad).tolist() == [[0.0], [0.0]]
    tm, ts = torch.zeros(2, 1, dtype=torch.float64), torch.tensor([1.0, 2.0, 3.0])
    assert torch.normal(tm, ts).dtype == torch.float64
    assert dynet.normal(0.5, std).dtype == dynet.float32 and dynet.normal(mean=std).shape == (3,)
    out = dynet.empty(0, device=device)
    assert dynet.normal(std, 1.0, out=out) is out and out.shape == (3,)
    for lib, dev in ((torch, "cpu"), (dynet, "cpu")):
        with pytest.raises(RuntimeError, match="must match the size of tensor b"):
            lib.normal(lib.zeros(2, 3, device=dev), lib.ones(3, 2, device=dev))
        with pytest.raises(RuntimeError, match="normal expects std >= 0.0, but found std -1"):
            lib.normal(lib.zeros(3, device=dev), -1.0)
        with pytest.raises(RuntimeError, match="normal expects all elements of std >= 0.0"):
            lib.normal(lib.zeros(3, device=dev), -lib.ones(3, device=dev))
        with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
            lib.normal(lib.zeros(3, dtype=lib.int64, device=dev), 1.0)
        with pytest.raises(TypeError):
            lib.normal(0.0, 1.0)


def test_renamed_parameters_as_torch(device):
    x = dynet.arange(6.0, device=device).reshape(2, 3)
    assert dynet.broadcast_to(x, size=(4, 2, 3)).shape == (4, 2, 3)
    assert [p.shape for p in x.split(split_size=1)] == [(1, 3), (1, 3)]
    assert [p.shape for p in dynet.split(x, split_size_or_sections=[1, 2], dim=1)] == \
        [(2, 1), (2, 2)]
    y = dynet.zeros(2, 3, dtype=dynet.int64, device=device)
    assert y.copy_(other=x, non_blocking=False) is y and host(y).tolist() == [[0, 1, 2],
                                                                              [3, 4, 5]]
    assert x.to(tensor=y).dtype == dynet.int64 and x.to(y, False, True) is not x
    assert x.to(dynet.float32, False, False) is x and x.to(dynet.float32, False, True) is not x
    state = dynet.get_rng_state()
    a = dynet.rand(3)
    dynet.set_rng_state(new_state=state)
    assert dynet.rand(3).tolist() == a.tolist()
    with pytest.raises(TypeError):
        dynet.set_default_dtype(d=dynet.float32)  # positional-only, as in PyTorch


def test_uniform_bounds_by_position_or_keyword(device):
    t = dynet.empty(1000, dtype=dynet.float64, device=device)
    values = host(t.uniform_(**{"from": 2.0, "to": 3.0}))
    assert 2.0 <= values.min() and values.max() < 3.0 and values.max() > 2.9
    values = host(t.uniform_(-5.0, generator=dynet.Generator(device).manual_seed(1)))
    assert -5.0 <= values.min() and values.max() < 1.0 and values.min() < -4.9
    again = host(t.uniform_(**{"to": 1.0, "from": -5.0},
                            generator=dynet.Generator(device).manual_seed(1)))
    assert again.tolist() == values.tolist()
    with pytest.raises(TypeError, match="unexpected keyword argument 'a'"):
        t.uniform_(a=0.0)
    with pytest.raises(TypeError, match="multiple values for argument 'from'"):
        t.uniform_(0.0, **{"from": 1.0})
    with pytest.raises(TypeError):
        t.uniform_(0.0, 1.0, 2.0)


def test_from_dlpack_device_and_copy(device):
    a = np.arange(3.0)
    dynet.from_dlpack(a, copy=True)[0] = 9
    assert a[0] == 0
    dynet.from_dlpack(a, copy=False)[0] = 9
    assert a[0] == 9
    shared = dynet.from_dlpack(a, device="cpu")
    shared[1] = 7
    assert a[1] == 7
    with pytest.raises(AssertionError, match="unsupported device type"):
        dynet.from_dlpack(a, device=0)
    capsule = dynet.utils.dlpack.to_dlpack(dynet.ones(2))
    with pytest.raises(AssertionError, match="already a DLPack capsule"):
        dynet.from_dlpack(capsule, copy=True)
    if device != "cpu":
        moved = dynet.from_dlpack(a, device=device)
        assert moved.device == dynet.device(device) and host(moved).tolist() == a.tolist()
        with pytest.raises(ValueError, match="without copying"):
            dynet.from_dlpack(a, device=device, copy=False)


def test_save_takes_torchs_private_flag(tmp_path):
    path = tmp_path / "t.pt"
    dynet.save({"w": dynet.arange(3)}, path, _disable_byteorder_record=True)
    assert dynet.load(path)["w"].tolist() == [0, 1, 2]
