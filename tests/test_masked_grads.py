"""Masked gradients select, as PyTorch's do: 0 (or +-inf) where a 0/1 mask multiplied into
an inf gradient would give nan (issue 12, item 4)."""
import numpy as np
import pytest

import dynet
from tests.conftest import to_numpy

V = [-1.0, 0.0, 2.0]
INF = np.inf
NAN = np.nan


def _relu6(lib, x):
    return lib.nn.functional.relu6(x)


# (name, f(lib, *inputs), inputs, the gradients PyTorch 2.13 gives, one list per input)
CASES = [
    ("relu_sqrt", lambda lib, x: lib.relu(x).sqrt(), [V], [[0, 0, 0.5 / 2 ** 0.5]]),
    ("relu_method_sqrt", lambda lib, x: x.relu().sqrt(), [V], [[0, 0, 0.5 / 2 ** 0.5]]),
    ("clamp_min_sqrt", lambda lib, x: x.clamp(min=0).sqrt(), [V], [[0, INF, 0.5 / 2 ** 0.5]]),
    ("clamp_max_sqrt", lambda lib, x: x.clamp(max=0).neg().sqrt(), [V], [[-0.5, INF, 0]]),
    ("clamp_tensor_bounds", lambda lib, x, lo, hi: lib.clamp(x, lo, hi).sqrt(),
     [V, [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]], [[0, INF, 0], [INF, 0, 0], [0, 0, 0.5]]),
    ("pow_zero_exponent", lambda lib, x: x ** 0, [V], [[0, 0, 0]]),
    ("pow_tensor_exponent", lambda lib, x, e: x ** e, [[0.0] * 4, [-1.0, -0.5, 0.0, 1.0]],
     [[-INF, -INF, 0, 1], [-INF, -INF, 0, 0]]),
    ("zero_base", lambda lib, x: 0 ** x if lib is dynet else lib.pow(0.0, x), [V],
     [[-INF, 0, 0]]),
    ("zero_float_base", lambda lib, x: 0.0 ** x, [V], [[-INF, 0, 0]]),
    ("maximum_sqrt", lambda lib, x, y: lib.maximum(x, y).sqrt(), [V, [0.0, 0.0, 1.0]],
     [[0, INF, 0.5 / 2 ** 0.5], [INF, INF, 0]]),
    ("minimum_sqrt", lambda lib, x, y: lib.minimum(x, y).sqrt(), [[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]],
     [[0, INF, 0.5 / 2 ** 0.5], [INF, INF, 0]]),
    ("max_two_args", lambda lib, x, y: lib.max(x, y).sqrt(), [V, [0.0, 0.0, 1.0]],
     [[0, INF, 0.5 / 2 ** 0.5], [INF, INF, 0]]),
    ("where_sqrt", lambda lib, x: lib.where(x > 0, x, lib.zeros(3)).sqrt(), [V],
     [[0, 0, 0.5 / 2 ** 0.5]]),
    ("max_full", lambda lib, x: x.max().sqrt(), [[0.0, -1.0, -2.0]], [[INF, 0, 0]]),
    ("max_dim", lambda lib, x: x.max(dim=0)[0].sqrt(), [[0.0, -1.0, -2.0]], [[INF, 0, 0]]),
    ("min_full", lambda lib, x: x.min().neg().sqrt(), [[0.0, 1.0, 2.0]], [[INF, 0, 0]]),
    ("hardtanh_sqrt", lambda lib, x: lib.nn.functional.hardtanh(x, 0.0, 1.0).sqrt(), [V],
     [[0, 0, 0]]),
    ("relu6_sqrt", lambda lib, x: _relu6(lib, x).sqrt(), [V], [[0, 0, 0.5 / 2 ** 0.5]]),
    ("threshold_sqrt", lambda lib, x: lib.nn.functional.threshold(x, 0.5, 0.0).sqrt(), [V],
     [[0, 0, 0.5 / 2 ** 0.5]]),
    # PyTorch multiplies here (grad * sgn(x)), so 0 * inf is nan in PyTorch as well
    ("abs_sqrt", lambda lib, x: x.abs().sqrt(), [V], [[-0.5, NAN, 0.5 / 2 ** 0.5]]),
]


def _grads(lib, fn, inputs, dtype, device=None):
    kw = {"device": device} if device else {}
    xs = [lib.tensor(v, dtype=dtype, requires_grad=True, **kw) for v in inputs]
    fn(lib, *xs).sum().backward()
    return [to_numpy(x.grad) if lib is dynet else x.grad.numpy() for x in xs]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,fn,inputs,expected", CASES, ids=[c[0] for c in CASES])
def test_masked_gradient_matches_torch(device, dtype, name, fn, inputs, expected):
    got = _grads(dynet, fn, inputs, getattr(dynet, dtype), device)
    for g, e in zip(got, expected):
        assert g.dtype == np.dtype(dtype)
        np.testing.assert_allclose(g, np.array(e, dtype), rtol=1e-6, err_msg=name)
    torch = pytest.importorskip("torch")
    for g, t in zip(got, _grads(torch, fn, inputs, getattr(torch, dtype))):
        np.testing.assert_allclose(g, t, rtol=1e-6, err_msg=name)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_relu_backward_selects_on_large_blocks(device, split_cpu):
    """The CPU relu backward multiplies (fast) and redoes by selection a block with a nan."""
    gen = np.random.default_rng(0)
    x = gen.standard_normal((3, 50, 7))
    x[1, 3, 2] = -1.0
    t = dynet.tensor(x, dtype=dynet.float32, device=device, requires_grad=True)
    g = gen.standard_normal(x.shape)
    g[1, 3, 2] = np.inf  # flows into a masked position
    g[0, 0, 0] = np.nan if x[0, 0, 0] > 0 else g[0, 0, 0]
    dynet.relu(t).backward(dynet.tensor(g, dtype=dynet.float32, device=device))
    expected = np.where(x > 0, g, 0).astype(np.float32)
    np.testing.assert_array_equal(to_numpy(t.grad), expected)


# nan inputs: PyTorch masks by comparisons that are false for nan (relu: out <= 0, hardtanh:
# a <= lo or a >= hi, maximum: self < other, ...), so the gradient passes where dynet used
# to write 0; sgn(nan) is 0 (not nan); max() shares the gradient among the nans.
W = [NAN, -1.0, 0.0, 2.0]
NAN_CASES = [
    ("relu", lambda lib, x: lib.relu(x), [W], [[1, 0, 0, 1]]),
    ("relu_module", lambda lib, x: lib.nn.ReLU()(x.reshape(1, 4)), [W], [[1, 0, 0, 1]]),
    ("threshold", lambda lib, x: lib.nn.functional.threshold(x, 0.5, -2.0), [W],
     [[1, 0, 0, 1]]),
    ("hardtanh", lambda lib, x: lib.nn.functional.hardtanh(x), [W], [[1, 0, 1, 0]]),
    ("relu6", _relu6, [W], [[1, 0, 0, 1]]),
    ("elu", lambda lib, x: lib.nn.functional.elu(x), [W], [[1, np.exp(-1.0), 1, 1]]),
    ("selu", lambda lib, x: lib.nn.functional.selu(x), [W],
     [[1.0507009873554805, 1.0507009873554805 * 1.6732632423543772 * np.exp(-1.0),
       1.0507009873554805 * 1.6732632423543772, 1.0507009873554805]]),
    ("abs", lambda lib, x: x.abs(), [W], [[0, -1, 0, 1]]),
    ("maximum", lambda lib, x, y: lib.maximum(x, y), [W, [0.0, 0.0, 0.0, NAN]],
     [[1, 0, 0.5, 1], [1, 1, 0.5, 1]]),
    ("minimum", lambda lib, x, y: lib.minimum(x, y), [W, [0.0, 0.0, 0.0, NAN]],
     [[1, 1, 0.5, 1], [1, 0, 0.5, 1]]),
    ("max_full", lambda lib, x: x.max(), [[NAN, 3.0, NAN, 2.0]], [[0.5, 0, 0.5, 0]]),
    ("min_full", lambda lib, x: x.min(), [[1.0, NAN, -3.0, 2.0]], [[0, 1, 0, 0]]),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,fn,inputs,expected", NAN_CASES, ids=[c[0] for c in NAN_CASES])
def test_nan_input_gradient_matches_torch(device, dtype, name, fn, inputs, expected):
    with np.errstate(invalid="raise", divide="raise"):  # and no NumPy warning on the way
        got = _grads(dynet, lambda lib, *x: fn(lib, *x).sum(), inputs, getattr(dynet, dtype),
                     device)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, np.array(e, dtype), rtol=1e-6, err_msg=name)
    torch = pytest.importorskip("torch")
    for g, t in zip(got, _grads(torch, lambda lib, *x: fn(lib, *x).sum(), inputs,
                                getattr(torch, dtype))):
        np.testing.assert_allclose(g, t, rtol=1e-6, err_msg=name)


def test_threshold_keeps_nan_and_relu_backward_large_nan_block(device):
    x = dynet.tensor([NAN, 0.2, 0.9], device=device)
    np.testing.assert_array_equal(to_numpy(dynet.nn.functional.threshold(x, 0.5, -2.0)),
                                  np.float32([NAN, -2.0, 0.9]))
    # a block large enough for the CPU's blockwise path, nan in the forward input
    v = np.linspace(-1, 1, 300_000)
    v[::1000] = np.nan
    t = dynet.tensor(v, dtype=dynet.float32, device=device, requires_grad=True)
    dynet.relu(t).sum().backward()
    np.testing.assert_array_equal(to_numpy(t.grad), np.where(v <= 0, 0, 1).astype(np.float32))
