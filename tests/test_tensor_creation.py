"""Tensor factories, attributes, conversions and repr (compared with PyTorch's strings)."""
import numpy as np
import pytest

import dynet
from core_utils import host


# --------------------------------------------------------------------- factories

@pytest.mark.parametrize("data, dtype, values", [
    ([1, 2, 3], dynet.int64, [1, 2, 3]),
    ([1.5, 2.0], dynet.float32, [1.5, 2.0]),
    ([1, 2.5], dynet.float32, [1.0, 2.5]),
    ([True, False], dynet.bool, [True, False]),
    ([[1, 2], [3, 4]], dynet.int64, [[1, 2], [3, 4]]),
    (3.5, dynet.float32, 3.5),
    (7, dynet.int64, 7),
    ([], dynet.float32, []),
    (np.array([1.0, 2.0]), dynet.float64, [1.0, 2.0]),
    (np.array([1, 2], dtype=np.int32), dynet.int32, [1, 2]),
    (np.float64(2.5), dynet.float64, 2.5),  # np.float64 subclasses float: dtype must win
    (np.int32(4), dynet.int32, 4),
], ids=["ints", "floats", "mixed", "bools", "nested", "float_0d", "int_0d", "empty",
        "numpy_f64", "numpy_i32", "numpy_scalar_f64", "numpy_scalar_i32"])
def test_tensor_infers_dtype(data, dtype, values, device):
    t = dynet.tensor(data, device=device)
    assert t.dtype == dtype and t.device == device
    assert t.tolist() == values


def test_tensor_copies_and_accepts_dtype(device):
    a = np.array([1.0, 2.0])
    t = dynet.tensor(a, dtype=dynet.float32, device=device)
    a[0] = 100.0
    assert t.dtype == dynet.float32 and t.tolist() == [1.0, 2.0]
    u = dynet.tensor(t)
    assert u.tolist() == [1.0, 2.0] and u._data is not t._data
    assert dynet.tensor([1, 2], dtype=dynet.float64).dtype == dynet.float64
    assert dynet.tensor([0, 1], dtype=dynet.bool).tolist() == [False, True]
    mixed = dynet.tensor([dynet.tensor(1.5), 2.5])
    assert mixed.tolist() == [1.5, 2.5]


def test_requires_grad_needs_floating_dtype(device):
    t = dynet.tensor([1.0], device=device, requires_grad=True)
    assert t.requires_grad and t.is_leaf
    for make in (lambda: dynet.tensor([1, 2], device=device, requires_grad=True),
                 lambda: dynet.zeros(2, dtype=dynet.int64, device=device, requires_grad=True),
                 lambda: dynet.arange(3, device=device).requires_grad_()):
        with pytest.raises(RuntimeError, match="floating point"):
            make()


def test_as_tensor_and_from_numpy_share_memory():
    a = np.array([1.0, 2.0, 3.0])
    for t in (dynet.from_numpy(a), dynet.as_tensor(a)):
        a[0] = 10.0
        assert t[0].item() == 10.0
        t[1] = 20.0
        assert a[1] == 20.0
    assert dynet.from_numpy(a).dtype == dynet.float64
    copied = dynet.as_tensor(a, dtype=dynet.float32)
    a[2] = -1.0
    assert copied.dtype == dynet.float32 and copied[2].item() == 3.0
    t = dynet.ones(2)
    assert dynet.as_tensor(t) is t
    assert dynet.as_tensor([1, 2]).dtype == dynet.int64
    with pytest.raises(TypeError):
        dynet.from_numpy([1, 2])


# name: (factory, expected shape, expected dtype, expected values or None)
FACTORIES = {
    "zeros": (lambda d: dynet.zeros(2, 3, device=d), (2, 3), dynet.float32, np.zeros((2, 3))),
    "zeros_tuple": (lambda d: dynet.zeros((2, 3), dtype=dynet.int64, device=d), (2, 3),
                    dynet.int64, np.zeros((2, 3))),
    "zeros_0d": (lambda d: dynet.zeros((), device=d), (), dynet.float32, np.zeros(())),
    "ones": (lambda d: dynet.ones([3], device=d), (3,), dynet.float32, np.ones(3)),
    "ones_bool": (lambda d: dynet.ones(2, dtype=dynet.bool, device=d), (2,), dynet.bool,
                  np.ones(2, bool)),
    "empty": (lambda d: dynet.empty(2, 2, device=d), (2, 2), dynet.float32, None),
    "full_float": (lambda d: dynet.full((2,), 1.5, device=d), (2,), dynet.float32,
                   np.full(2, 1.5)),
    "full_int": (lambda d: dynet.full((2, 1), 3, device=d), (2, 1), dynet.int64,
                 np.full((2, 1), 3)),
    "full_bool": (lambda d: dynet.full((2,), True, device=d), (2,), dynet.bool,
                  np.ones(2, bool)),
    "eye": (lambda d: dynet.eye(3, device=d), (3, 3), dynet.float32, np.eye(3)),
    "eye_rect": (lambda d: dynet.eye(2, 3, dtype=dynet.float64, device=d), (2, 3),
                 dynet.float64, np.eye(2, 3)),
    "arange_int": (lambda d: dynet.arange(5, device=d), (5,), dynet.int64, np.arange(5)),
    "arange_start_end": (lambda d: dynet.arange(2, 7, 2, device=d), (3,), dynet.int64,
                         np.array([2, 4, 6])),
    "arange_float": (lambda d: dynet.arange(0, 1, 0.25, device=d), (4,), dynet.float32,
                     np.array([0.0, 0.25, 0.5, 0.75])),
    "arange_float_start": (lambda d: dynet.arange(0.5, 3, device=d), (3,), dynet.float32,
                           np.array([0.5, 1.5, 2.5])),
    "arange_negative_step": (lambda d: dynet.arange(5, 0, -2, device=d), (3,), dynet.int64,
                             np.array([5, 3, 1])),
    "arange_negative_float_step": (lambda d: dynet.arange(5, 0, -1.5, device=d), (4,),
                                   dynet.float32, np.array([5.0, 3.5, 2.0, 0.5])),
    "arange_dtype": (lambda d: dynet.arange(3, dtype=dynet.float64, device=d), (3,),
                     dynet.float64, np.arange(3.0)),
    "arange_empty": (lambda d: dynet.arange(0, device=d), (0,), dynet.int64, np.arange(0)),
    "linspace": (lambda d: dynet.linspace(0, 1, 5, device=d), (5,), dynet.float32,
                 np.linspace(0, 1, 5)),
    "linspace_one": (lambda d: dynet.linspace(2, 3, 1, device=d), (1,), dynet.float32,
                     np.array([2.0])),
    "linspace_descending": (lambda d: dynet.linspace(1, -1, 3, device=d), (3,), dynet.float32,
                            np.array([1.0, 0.0, -1.0])),
}


@pytest.mark.parametrize("name", list(FACTORIES))
def test_factories(name, device):
    make, shape, dtype, values = FACTORIES[name]
    t = make(device)
    assert t.shape == shape and t.dtype == dtype and t.device == device
    assert t.is_leaf and not t.requires_grad
    if values is not None:
        np.testing.assert_allclose(host(t), values, rtol=1e-6)


def test_arange_rejects_bad_steps(device):
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        dynet.arange(0, 3, 0, device=device)
    with pytest.raises(RuntimeError, match="inconsistent with step sign"):
        dynet.arange(1, 0, 0.3, device=device)


@pytest.mark.parametrize("factory", [dynet.zeros, dynet.ones, dynet.empty, dynet.rand,
                                     dynet.randn])
def test_factory_requires_grad_and_dtype(factory, device):
    t = factory(2, 3, dtype=dynet.float64, device=device, requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.dtype == dynet.float64


def test_rand_randn_ranges_and_dtypes(device):
    u = dynet.rand(4000, device=device)
    n = dynet.randn(4000, device=device)
    assert u.dtype == dynet.float32 and n.dtype == dynet.float32
    hu, hn = host(u), host(n)
    assert hu.min() >= 0.0 and hu.max() < 1.0 and abs(hu.mean() - 0.5) < 0.05
    assert abs(hn.mean()) < 0.1 and abs(hn.std() - 1.0) < 0.1
    assert dynet.rand(2, 3, dtype=dynet.float64, device=device).dtype == dynet.float64
    assert dynet.randn((2, 3), device=device).shape == (2, 3)
    with pytest.raises(RuntimeError, match="floating"):
        dynet.rand(2, dtype=dynet.int64, device=device)


def test_randint(device):
    t = dynet.randint(3, 7, (500,), device=device)
    values = host(t)
    assert t.dtype == dynet.int64 and t.shape == (500,)
    assert values.min() >= 3 and values.max() <= 6 and len(set(values.tolist())) == 4
    assert dynet.randint(5, (2, 2), device=device).shape == (2, 2)
    assert host(dynet.randint(5, (100,), device=device)).max() < 5
    assert dynet.randint(0, 5, (3,), dtype=dynet.int32, device=device).dtype == dynet.int32


def test_randperm(device):
    p = dynet.randperm(10, device=device)
    assert p.dtype == dynet.int64 and sorted(p.tolist()) == list(range(10))
    assert dynet.randperm(4, dtype=dynet.float32, device=device).dtype == dynet.float32


def test_manual_seed_makes_cpu_sampling_bit_reproducible():
    dynet.manual_seed(42)
    a = [dynet.rand(5).numpy().copy(), dynet.randn(2, 3).numpy().copy(),
         dynet.randint(0, 100, (4,)).numpy().copy(), dynet.randperm(6).numpy().copy()]
    dynet.manual_seed(42)
    b = [dynet.rand(5).numpy(), dynet.randn(2, 3).numpy(), dynet.randint(0, 100, (4,)).numpy(),
         dynet.randperm(6).numpy()]
    for x, y in zip(a, b):
        assert x.tobytes() == y.tobytes()
    dynet.manual_seed(43)
    assert dynet.rand(5).numpy().tobytes() != a[0].tobytes()


def test_generator_argument_and_rng_state():
    g = dynet.Generator().manual_seed(7)
    first = dynet.rand(3, generator=g).tolist()
    assert dynet.rand(3, generator=dynet.Generator().manual_seed(7)).tolist() == first
    state = dynet.get_rng_state()
    x = dynet.randn(4).tolist()
    dynet.set_rng_state(state)
    assert dynet.randn(4).tolist() == x


LIKES = {
    "zeros_like": (dynet.zeros_like, lambda x: np.zeros_like(x)),
    "ones_like": (dynet.ones_like, lambda x: np.ones_like(x)),
    "full_like": (lambda t, **kw: dynet.full_like(t, 2.5, **kw), lambda x: np.full_like(x, 2.5)),
    "empty_like": (dynet.empty_like, None),
    "rand_like": (dynet.rand_like, None),
    "randn_like": (dynet.randn_like, None),
}


@pytest.mark.parametrize("name", list(LIKES))
def test_like_factories(name, device):
    make, ref = LIKES[name]
    src = dynet.zeros(2, 3, dtype=dynet.float64, device=device, requires_grad=True)
    t = make(src)
    assert t.shape == (2, 3) and t.dtype == dynet.float64 and t.device == device
    assert not t.requires_grad
    if ref is not None:
        np.testing.assert_array_equal(host(t), ref(np.zeros((2, 3))))
    assert make(src, dtype=dynet.float32).dtype == dynet.float32
    assert make(src, requires_grad=True).requires_grad


def test_int_like_factories_keep_dtype(device):
    src = dynet.tensor([1, 2], device=device)
    assert dynet.zeros_like(src).dtype == dynet.int64
    assert dynet.full_like(src, 7).tolist() == [7, 7]
    r = dynet.randint_like(src, 3, 5)
    assert r.dtype == dynet.int64 and set(r.tolist()) <= {3, 4}


def test_new_factories(device):
    t = dynet.ones(2, dtype=dynet.float64, device=device)
    assert t.new_zeros(3).dtype == dynet.float64 and t.new_zeros(3).device == device
    assert t.new_ones((2, 2)).tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert t.new_full((2,), 4.0).tolist() == [4.0, 4.0]
    assert t.new_tensor([1, 2]).dtype == dynet.float64


def test_legacy_tensor_constructor():
    assert dynet.Tensor([1, 2]).dtype == dynet.float32
    assert dynet.Tensor(2, 3).shape == (2, 3)
    assert dynet.Tensor().shape == (0,)
    src = dynet.tensor([1, 2])
    assert dynet.Tensor(src).tolist() == [1, 2]


# --------------------------------------------------------------------- attributes

def test_basic_attributes(device):
    t = dynet.zeros(2, 3, 4, device=device)
    assert t.shape == dynet.Size([2, 3, 4]) and isinstance(t.shape, dynet.Size)
    assert isinstance(t.shape[1:], dynet.Size) and t.shape[1:].numel() == 12
    assert t.shape[-1] == 4 and type(t.shape[0]) is int
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.dim() == 3 and t.ndim == 3 and t.numel() == 24 and dynet.numel(t) == 24
    assert t.dtype == dynet.float32 and t.element_size() == 4
    assert len(t) == 2 and t.is_floating_point() and t.is_contiguous()
    assert t.T.shape == (4, 3, 2) and t.mT.shape == (2, 4, 3)
    assert dynet.is_tensor(t) and not dynet.is_tensor([1])
    with pytest.raises(IndexError):
        t.size(3)


def test_leaf_grad_and_grad_fn(device):
    x = dynet.ones(2, device=device, requires_grad=True)
    y = x * 2
    assert x.is_leaf and not y.is_leaf and x.grad is None and x.grad_fn is None
    assert y.grad_fn.name() == "MulBackward0"
    assert f"<{y.grad_fn.name()}>" in repr(y)
    assert (x + 1).grad_fn.name() == "AddBackward0"
    assert x.sum().grad_fn.name() == "SumBackward0"
    assert x.clone().grad_fn.name() == "CloneBackward0"
    assert x.view(2, 1).grad_fn.name() == "ViewBackward0"


def test_data_is_readable_and_assignable(device):
    x = dynet.tensor([1.0, 2.0], device=device, requires_grad=True)
    d = x.data
    assert not d.requires_grad and d.tolist() == [1.0, 2.0]
    d[0] = 5.0  # shares memory with x
    assert x.tolist() == [5.0, 2.0]
    x.data = dynet.tensor([3.0, 4.0, 5.0], device=device)
    assert x.shape == (3,) and x.requires_grad and x.is_leaf
    x.data.mul_(2)
    assert x.tolist() == [6.0, 8.0, 10.0]


@pytest.mark.parametrize("conversion, dtype, values", [
    (lambda t: t.float(), dynet.float32, [1.75, -1.75, 0.0]),
    (lambda t: t.double(), dynet.float64, [1.75, -1.75, 0.0]),
    (lambda t: t.long(), dynet.int64, [1, -1, 0]),
    (lambda t: t.int(), dynet.int32, [1, -1, 0]),
    (lambda t: t.bool(), dynet.bool, [True, True, False]),
    (lambda t: t.half(), dynet.float16, [1.75, -1.75, 0.0]),
    (lambda t: t.to(dynet.int64), dynet.int64, [1, -1, 0]),
    (lambda t: t.type(dynet.float64), dynet.float64, [1.75, -1.75, 0.0]),
], ids=["float", "double", "long", "int", "bool", "half", "to_dtype", "type"])
def test_dtype_conversions(conversion, dtype, values, device):
    t = dynet.tensor([1.75, -1.75, 0.0], device=device)
    out = conversion(t)
    assert out.dtype == dtype and out.tolist() == values


def test_to_returns_self_when_nothing_changes(device):
    t = dynet.ones(2, device=device)
    assert t.to(device) is t and t.to(dynet.float32) is t and t.float() is t
    assert t.to(device, dynet.float32) is t and t.to(t) is t
    assert t.to(dtype=dynet.float32, device=device) is t
    assert t.to(device, copy=True) is not t
    u = t.to(dynet.ones(1, dtype=dynet.float64))
    assert u.dtype == dynet.float64 and u is not t
    assert t.to(device, dynet.float64).dtype == dynet.float64
    assert t.type() == ("dynet.FloatTensor" if device == "cpu" else "dynet.cuda.FloatTensor")


def test_cpu_and_cuda_methods(device):
    t = dynet.ones(2, device=device)
    assert t.cpu().device == "cpu"
    if device == "cpu":
        assert t.cpu() is t
    else:
        assert t.cuda() is t


def test_numpy_item_tolist(device):
    t = dynet.tensor([[1.5, 2.0]], device=device)
    assert t.tolist() == [[1.5, 2.0]]
    assert dynet.tensor([2.5], device=device).item() == 2.5
    assert isinstance(dynet.tensor(3, device=device).item(), int)
    assert dynet.tensor(1.5, device=device).tolist() == 1.5
    with pytest.raises(RuntimeError, match="2 elements"):
        t.item()
    assert float(dynet.tensor([2.5], device=device)) == 2.5
    assert int(dynet.tensor(7, device=device)) == 7
    assert [10, 20, 30][dynet.tensor(1, device=device)] == 20
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(t)


def test_numpy_on_cpu_shares_memory_and_refuses_grad():
    t = dynet.zeros(3)
    a = t.numpy()
    a[0] = 4.0
    assert t[0].item() == 4.0
    x = dynet.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        x.numpy()
    assert x.detach().numpy().tolist() == [1.0, 1.0]
    assert np.asarray(x).tolist() == [1.0, 1.0]


def test_clone_copies_and_passes_gradient(device):
    x = dynet.tensor([1.0, 2.0], device=device, requires_grad=True)
    c = x.clone()
    assert c._data is not x._data and not c.is_leaf
    (c * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    with dynet.no_grad():
        c[0] = 9.0
    assert x.tolist() == [1.0, 2.0]


def test_detach_shares_data_and_leaves_graph(device):
    x = dynet.tensor([1.0, 2.0], device=device, requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    e = x.detach()
    e[0] = 7.0
    assert x.tolist() == [7.0, 2.0]


def test_requires_grad_and_retain_grad(device):
    t = dynet.ones(2, device=device)
    assert t.requires_grad_() is t and t.requires_grad
    t.requires_grad_(False)
    assert not t.requires_grad
    y = dynet.ones(2, device=device, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad_(False)
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        dynet.ones(2, device=device).retain_grad()


def test_contiguous(device):
    t = dynet.arange(6.0, device=device).reshape(2, 3)
    assert t.contiguous() is t
    tt = t.t()
    assert not tt.is_contiguous()
    c = tt.contiguous()
    assert c.is_contiguous() and c.tolist() == tt.tolist()


# --------------------------------------------------------------------- repr

# expected strings are PyTorch 2.13's reprs with "torch." replaced by "dynet."
REPRS = {
    "ints": (lambda: dynet.tensor([1, 2, 3]), "tensor([1, 2, 3])"),
    "negative_ints": (lambda: dynet.tensor([[-1, 20], [3, 400]]),
                      "tensor([[ -1,  20],\n        [  3, 400]])"),
    "floats": (lambda: dynet.tensor([1.5, -2.25, 3.0]), "tensor([ 1.5000, -2.2500,  3.0000])"),
    "int_valued_floats": (lambda: dynet.tensor([1.0, 2.0, -3.0]), "tensor([ 1.,  2., -3.])"),
    "scientific": (lambda: dynet.tensor([1e-5, 1.0, 1e5]),
                   "tensor([1.0000e-05, 1.0000e+00, 1.0000e+05])"),
    "scientific_big": (lambda: dynet.tensor([1e10, 1.0]), "tensor([1.0000e+10, 1.0000e+00])"),
    "bools": (lambda: dynet.tensor([True, False]), "tensor([ True, False])"),
    "2d": (lambda: dynet.tensor([[1.5, 2.0], [3.0, 4.25]]),
           "tensor([[1.5000, 2.0000],\n        [3.0000, 4.2500]])"),
    "3d": (lambda: dynet.arange(8.0).reshape(2, 2, 2),
           "tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])"),
    "requires_grad": (lambda: dynet.tensor([1.0, 2.0], requires_grad=True),
                      "tensor([1., 2.], requires_grad=True)"),
    "grad_fn": (lambda: dynet.tensor([1.0, 2.0], requires_grad=True) * 2,
                "tensor([2., 4.], grad_fn=<MulBackward0>)"),
    "float64": (lambda: dynet.tensor([1.5, 2.0], dtype=dynet.float64),
                "tensor([1.5000, 2.0000], dtype=dynet.float64)"),
    "float64_requires_grad": (lambda: dynet.tensor([1.5], dtype=dynet.float64,
                                                   requires_grad=True),
                              "tensor([1.5000], dtype=dynet.float64, requires_grad=True)"),
    "int32": (lambda: dynet.tensor([1, 2], dtype=dynet.int32), "tensor([1, 2], dtype=dynet.int32)"),
    "0d_float": (lambda: dynet.tensor(3.5), "tensor(3.5000)"),
    "0d_int": (lambda: dynet.tensor(3), "tensor(3)"),
    "0d_bool": (lambda: dynet.tensor(True), "tensor(True)"),
    "0d_float64": (lambda: dynet.tensor(2.0, dtype=dynet.float64),
                   "tensor(2., dtype=dynet.float64)"),
    "empty": (lambda: dynet.tensor([]), "tensor([])"),
    "empty_2d": (lambda: dynet.zeros(0, 3), "tensor([], size=(0, 3))"),
    "empty_int": (lambda: dynet.tensor([], dtype=dynet.int64), "tensor([], dtype=dynet.int64)"),
    "nan_inf": (lambda: dynet.tensor([float("nan"), float("inf"), 1.5]),
                "tensor([   nan,    inf, 1.5000])"),
    "negative_zero": (lambda: dynet.tensor([-0.0, 1.0]), "tensor([-0., 1.])"),
    "zeros": (lambda: dynet.zeros(3), "tensor([0., 0., 0.])"),
    "summarized": (lambda: dynet.arange(2000.0),
                   "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,"
                   "\n        1.9990e+03])"),
    "wrapped": (lambda: dynet.arange(12.0) / 7,
                "tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, "
                "1.1429,\n        1.2857, 1.4286, 1.5714])"),
}


@pytest.mark.parametrize("name", list(REPRS))
def test_repr_matches_pytorch(name):
    make, expected = REPRS[name]
    assert repr(make()) == expected
