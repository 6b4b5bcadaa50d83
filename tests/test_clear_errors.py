"""PyTorch's errors where NumPy would warn, wrap or fail obscurely (issue 12, items 5, 8):
integer division by zero, a 0-d input to linear, argmax/max of empty tensors, out-of-range
gather indices, set_num_threads of a non-positive count."""
import re

import numpy as np
import pytest

import dynet
from dynet import nn
from tests.conftest import to_numpy


def _raises_like_torch(make, device):
    """Runs make(dynet, device) and, where torch is installed, make(torch, 'cpu'): both raise
    the same exception type with the same message (on CUDA, a check of device data raises
    at the next host sync). Returns dynet's exception."""
    with pytest.raises(Exception) as got:
        out = make(dynet, device)
        if isinstance(out, dynet.Tensor):
            out.tolist()
    try:
        import torch
    except ImportError:
        return got.value
    with pytest.raises(Exception) as want:
        make(torch, "cpu")
    assert type(got.value) is type(want.value), (got.value, want.value)
    assert str(got.value) == str(want.value)
    return got.value


INT_DIVISIONS = {
    "floordiv_scalar": lambda lib, a, z: a // 0,
    "mod_scalar": lambda lib, a, z: a % 0,
    "floordiv_tensor": lambda lib, a, z: a // z,
    "mod_tensor": lambda lib, a, z: a % z,
    "rfloordiv": lambda lib, a, z: 5 // z,
    "rmod": lambda lib, a, z: 5 % z,
    "div_trunc": lambda lib, a, z: lib.div(a, 0, rounding_mode="trunc"),
    "div_floor": lambda lib, a, z: lib.div(a, z, rounding_mode="floor"),
    "fmod": lambda lib, a, z: lib.fmod(a, z),
    "remainder": lambda lib, a, z: lib.remainder(a, 0),
    "ifloordiv": lambda lib, a, z: a.__ifloordiv__(z),
    "imod": lambda lib, a, z: a.__imod__(0),
}


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
@pytest.mark.parametrize("name", list(INT_DIVISIONS))
def test_integer_division_by_zero_raises(name, dtype, device):
    def make(lib, dev):
        a = lib.tensor([5, 3], dtype=getattr(lib, dtype), device=dev)
        z = lib.tensor([1, 0], dtype=getattr(lib, dtype), device=dev)
        return INT_DIVISIONS[name](lib, a, z)
    err = _raises_like_torch(make, device)
    assert type(err) is RuntimeError and str(err) == "ZeroDivisionError"


def test_integer_division_without_zero_and_float_division_by_zero(device):
    a = dynet.tensor([7, -7, 0], device=device)
    b = dynet.tensor([2, 2, -3], device=device)
    assert to_numpy(a // b).tolist() == [3, -4, 0]
    assert to_numpy(a % b).tolist() == [1, 1, 0]
    assert to_numpy(dynet.fmod(a, b)).tolist() == [1, -1, 0]
    with np.errstate(divide="ignore"):
        assert to_numpy(dynet.tensor([5.0], device=device) // 0).tolist() == [np.inf]
    assert to_numpy(dynet.tensor([], dtype=dynet.int64, device=device) // 0).shape == (0,)


@pytest.mark.parametrize("functional", [False, True])
def test_linear_of_a_0d_input(functional, device):
    def make(lib, dev):
        lib.manual_seed(0)
        layer = lib.nn.Linear(3, 2).to(dev)
        x = lib.tensor(1.0, device=dev)
        if functional:
            return lib.nn.functional.linear(x, layer.weight)
        return layer(x)
    err = _raises_like_torch(make, device)
    assert str(err) == "both arguments to linear need to be at least 1D, but they are 0D and 2D"
    with pytest.raises(RuntimeError, match="they are 1D and 0D"):
        nn.functional.linear(dynet.ones(3, device=device), dynet.tensor(1.0, device=device))


EMPTY_REDUCTIONS = {
    "argmax": (lambda t: t.argmax(), (0,), IndexError,
               "argmax(): Expected reduction dim to be specified for input.numel() == 0."),
    "argmin_2d": (lambda t: dynet_or_torch(t).argmin(t), (2, 0), IndexError,
                  "argmin(): Expected reduction dim to be specified for input.numel() == 0."),
    "argmax_keepdim": (lambda t: t.argmax(keepdim=True), (0,), IndexError,
                       "argmax(): Expected reduction dim to be specified for "
                       "input.numel() == 0."),
    "argmax_dim": (lambda t: t.argmax(dim=1), (2, 0), IndexError,
                   "argmax(): Expected reduction dim 1 to have non-zero size."),
    "max": (lambda t: t.max(), (0,), RuntimeError,
            "max(): Expected reduction dim to be specified for input.numel() == 0. Specify "
            "the reduction dim with the 'dim' argument."),
    "min": (lambda t: t.min(), (3, 0), RuntimeError,
            "min(): Expected reduction dim to be specified for input.numel() == 0. Specify "
            "the reduction dim with the 'dim' argument."),
    "amax": (lambda t: t.amax(), (0,), RuntimeError,
             "amax(): Expected reduction dim to be specified for input.numel() == 0. Specify "
             "the reduction dim with the 'dim' argument."),
    "max_dim": (lambda t: t.max(dim=-1), (2, 0), IndexError,
                "max(): Expected reduction dim 1 to have non-zero size."),
    "amin_dim": (lambda t: t.amin(1), (2, 0), IndexError,
                 "amin(): Expected reduction dim 1 to have non-zero size."),
}


def dynet_or_torch(t):
    return dynet if isinstance(t, dynet.Tensor) else __import__("torch")


@pytest.mark.parametrize("name", list(EMPTY_REDUCTIONS))
def test_reductions_of_empty_tensors(name, device):
    fn, shape, kind, message = EMPTY_REDUCTIONS[name]
    err = _raises_like_torch(lambda lib, dev: fn(lib.ones(shape, device=dev)), device)
    assert type(err) is kind and str(err) == message


def test_reductions_over_a_nonempty_dim_of_an_empty_tensor(device):
    t = dynet.ones(2, 0, device=device)
    assert t.argmax(dim=0).shape == (0,) and t.amax(0).shape == (0,)
    values, indices = t.max(dim=0)
    assert values.shape == indices.shape == (0,)


@pytest.mark.parametrize("index,dim", [([[0, 3]], 1), ([[0, -1]], 1), ([[2, 0]], 0),
                                       ([[0, 1], [1, 7]], 1)])
def test_gather_out_of_range_index(index, dim, device):
    def make(lib, dev):
        x = lib.ones(2, 3, device=dev)
        return lib.gather(x, dim, lib.tensor(index, device=dev))
    err = _raises_like_torch(make, device)
    bad = [v for row in index for v in row if not 0 <= v < (3 if dim else 2)][0]
    assert type(err) is RuntimeError and str(err) == \
        f"index {bad} is out of bounds for dimension {dim} with size {3 if dim else 2}"


def test_gather_out_of_range_index_of_an_empty_dim(device):
    with pytest.raises(RuntimeError, match="index 0 is out of bounds for dimension 1 with size 0"):
        dynet.ones(2, 0, device=device).gather(1, dynet.zeros(2, 1, dtype=dynet.int64,
                                                               device=device))


def test_gather_in_range_still_works(device):
    x = dynet.arange(6.0, device=device).reshape(2, 3)
    out = x.gather(1, dynet.tensor([[2, 0], [1, 1]], device=device))
    assert to_numpy(out).tolist() == [[2.0, 0.0], [4.0, 4.0]]
    empty = dynet.tensor(np.zeros((2, 0), np.int64), device=device)
    assert x.gather(1, empty).shape == (2, 0)


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "2"])
def test_set_num_threads_rejects_what_torch_rejects(n):
    prev = dynet.get_num_threads()
    try:
        err = _raises_like_torch(lambda lib, dev: lib.set_num_threads(n), "cpu")
    finally:
        dynet.set_num_threads(prev)
        try:
            import torch
            torch.set_num_threads(prev)
        except ImportError:
            pass
    assert type(err) is RuntimeError
    assert re.fullmatch(r"set_num_threads expects (a positive integer|an int, but got \w+)",
                        str(err))
    assert dynet.get_num_threads() == prev
    dynet.set_num_threads(np.int64(prev))
    assert dynet.get_num_threads() == prev


# out-of-range index arrays: torch's CPU errors, on CUDA at the next host sync (where CuPy
# would otherwise wrap the index and read another element)
OUT_OF_RANGE_INDEX = {
    "take": lambda lib, x, i: lib.take(x, i([6])),
    "take_negative": lambda lib, x, i: x.take(i([0, -7])),
    "take_empty": lambda lib, x, i: lib.take(x[:0], i([0])),
    "index_select_dim1": lambda lib, x, i: x.index_select(1, i([0, 3])),
    "index_select_negative": lambda lib, x, i: lib.index_select(x, 1, i([-1])),
    "index_select_dim0": lambda lib, x, i: x.index_select(0, i([-1])),
    "index_select_1d": lambda lib, x, i: x[0].index_select(0, i([3])),
    "index_select_empty": lambda lib, x, i: x[:, :0].index_select(1, i([0])),
    "index_fill": lambda lib, x, i: x.index_fill(1, i([-4]), 1.0),
    "index_add": lambda lib, x, i: x.index_add(1, i([-1]), lib.ones(2, 1, device=x.device)),
    "index_copy": lambda lib, x, i: x.index_copy(0, i([2]), lib.ones(1, 3, device=x.device)),
    "scatter": lambda lib, x, i: x.scatter(1, i([[0, -1]]), 1.0),
    "scatter_add": lambda lib, x, i: x.scatter_add(0, i([[2]]), lib.ones(1, 1,
                                                                         device=x.device)),
    "scatter_reduce": lambda lib, x, i: x.scatter_reduce(
        1, i([[5]]), lib.ones(1, 1, device=x.device), "amax"),
}


@pytest.mark.parametrize("name", list(OUT_OF_RANGE_INDEX))
def test_out_of_range_index_arrays(name, device):
    call = OUT_OF_RANGE_INDEX[name]

    def make(lib, dev):
        x = lib.arange(6.0, device=dev).reshape(2, 3)
        return call(lib, x, lambda v: lib.tensor(v, device=dev))
    _raises_like_torch(make, device)


@pytest.mark.parametrize("key", [[2], [-3], ([0, 1], [1, 3]), (slice(None), [-4]),
                                 (1, [0, 3])])
def test_out_of_range_getitem_and_setitem(key, device):
    def index(lib, dev):
        return tuple(lib.tensor(k, device=dev) if isinstance(k, list) else k for k in key) \
            if isinstance(key, tuple) else lib.tensor(key, device=dev)

    def get(lib, dev):
        return lib.arange(6.0, device=dev).reshape(2, 3)[index(lib, dev)]

    def put(lib, dev):
        x = lib.arange(6.0, device=dev).reshape(2, 3)
        x[index(lib, dev)] = 1.0
        return x
    for make in (get, put):
        with pytest.raises(IndexError, match=r"index -?\d is out of bounds for dimension \d "
                                             r"with size \d"):
            out = make(dynet, device)
            out.tolist()
    x = dynet.arange(6.0, device=device).reshape(2, 3)
    assert x[dynet.tensor([-1, 0], device=device)].tolist() == [[3, 4, 5], [0, 1, 2]]
    assert x.index_select(1, dynet.tensor([2, 2], device=device)).tolist() == [[2, 2], [5, 5]]
    assert x.take(dynet.tensor([-1, 0], device=device)).tolist() == [5.0, 0.0]
