"""dynet.nn.init: PyTorch's formulas (gains, fans, bounds) and the sampled distributions."""
import math

import numpy as np
import pytest

import dynet
from dynet import nn
from dynet.nn import init
from tests.conftest import to_numpy

try:
    import torch
except ImportError:  # pragma: no cover - torch is optional
    torch = None

GAINS = [("linear", None, 1.0), ("conv2d", None, 1.0), ("sigmoid", None, 1.0),
         ("tanh", None, 5.0 / 3), ("relu", None, math.sqrt(2.0)),
         ("leaky_relu", None, math.sqrt(2.0 / (1 + 0.01 ** 2))),
         ("leaky_relu", 0.2, math.sqrt(2.0 / 1.04)), ("leaky_relu", 1, 1.0),
         ("selu", None, 0.75)]


@pytest.mark.parametrize("name,param,expected", GAINS)
def test_calculate_gain(name, param, expected):
    assert init.calculate_gain(name, param) == pytest.approx(expected, rel=1e-12)
    if torch is not None:
        assert init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity swish"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_fan_in_and_fan_out():
    assert init._calculate_fan_in_and_fan_out(dynet.empty(5, 3)) == (3, 5)
    assert init._calculate_fan_in_and_fan_out(dynet.empty(8, 4, 3, 2)) == (24, 48)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(dynet.empty(4))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(dynet.empty(3, 3), mode="fan_avg")


def _stats(t):
    v = to_numpy(t).astype(np.float64).ravel()
    return v.mean(), v.std(), v.min(), v.max()


def test_uniform_and_normal(device):
    t = dynet.empty(200, 100, device=device)
    assert init.uniform_(t, -2.0, 3.0) is t
    mean, std, lo, hi = _stats(t)
    assert -2.0 <= lo and hi < 3.0 and abs(mean - 0.5) < 0.05
    assert abs(std - 5 / math.sqrt(12)) < 0.03
    assert init.normal_(t, 1.0, 0.5) is t
    mean, std, _, _ = _stats(t)
    assert abs(mean - 1.0) < 0.01 and abs(std - 0.5) < 0.01
    assert t.device == dynet.device(device)


def test_trunc_normal_stays_in_range(device):
    t = dynet.empty(100, 100, device=device)
    assert init.trunc_normal_(t, mean=0.0, std=1.0, a=-1.0, b=1.5) is t
    mean, std, lo, hi = _stats(t)
    assert -1.0 <= lo and hi <= 1.5
    # truncated N(0, 1) on [-1, 1.5]: mean (phi(-1) - phi(1.5)) / (Phi(1.5) - Phi(-1))
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    z = cdf(1.5) - cdf(-1.0)
    expected_mean = (phi(-1.0) - phi(1.5)) / z
    assert abs(mean - expected_mean) < 0.02
    # most of the mass is kept: it is not just clipping
    v = to_numpy(t)
    assert (v == -1.0).mean() < 0.001 and (v == 1.5).mean() < 0.001


def test_constant_zeros_ones_eye(device):
    t = dynet.empty(3, 4, device=device)
    assert init.constant_(t, 2.5) is t and np.all(to_numpy(t) == 2.5)
    assert np.all(to_numpy(init.zeros_(t)) == 0)
    assert np.all(to_numpy(init.ones_(t)) == 1)
    np.testing.assert_array_equal(to_numpy(init.eye_(t)), np.eye(3, 4))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(dynet.empty(2, 2, 2))


def test_xavier_uniform_and_normal():
    t = dynet.empty(300, 200)
    init.xavier_uniform_(t, gain=2.0)
    bound = 2.0 * math.sqrt(6.0 / 500)
    _, std, lo, hi = _stats(t)
    assert -bound <= lo and hi <= bound and hi > 0.98 * bound
    assert abs(std - bound / math.sqrt(3)) < 0.01 * bound
    init.xavier_normal_(t)
    _, std, _, _ = _stats(t)
    assert abs(std - math.sqrt(2.0 / 500)) < 0.02 * math.sqrt(2.0 / 500)


@pytest.mark.parametrize("a,mode,nonlinearity,fan", [
    (0, "fan_in", "leaky_relu", 3 * 9), (math.sqrt(5), "fan_in", "leaky_relu", 3 * 9),
    (0, "fan_out", "relu", 16 * 9), (0, "FAN_IN", "tanh", 3 * 9),
])
def test_kaiming_uniform_bound_formula(a, mode, nonlinearity, fan):
    t = dynet.empty(16, 3, 3, 3)
    init.kaiming_uniform_(t, a=a, mode=mode, nonlinearity=nonlinearity)
    gain = init.calculate_gain(nonlinearity, a)
    bound = gain * math.sqrt(3.0 / fan)
    _, _, lo, hi = _stats(t)
    assert -bound <= lo and hi <= bound
    assert max(-lo, hi) > 0.9 * bound  # 432 draws reach close to the bound


def test_kaiming_normal_std():
    t = dynet.empty(400, 100)
    init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")
    _, std, _, _ = _stats(t)
    expected = math.sqrt(2.0) / math.sqrt(400)
    assert abs(std - expected) < 0.02 * expected


def test_zero_element_tensor_is_a_no_op():
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(dynet.empty(0, 3))


def test_init_on_parameters_is_not_recorded():
    p = nn.Parameter(dynet.empty(4, 4))
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_,
               init.zeros_, init.eye_, init.trunc_normal_):
        assert fn(p) is p
        assert p.is_leaf and p.grad_fn is None and p.requires_grad
    assert dynet.is_grad_enabled()


def test_generator_and_seed_reproducibility():
    a, b = dynet.empty(5, 5), dynet.empty(5, 5)
    init.uniform_(a, generator=dynet.Generator().manual_seed(3))
    init.uniform_(b, generator=dynet.Generator().manual_seed(3))
    np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    dynet.manual_seed(11)
    w1 = to_numpy(nn.Linear(4, 4).weight).copy()
    dynet.manual_seed(11)
    w2 = to_numpy(nn.Linear(4, 4).weight)
    np.testing.assert_array_equal(w1, w2)
    assert not np.array_equal(w1, to_numpy(nn.Linear(4, 4).weight))


def test_layer_defaults_follow_pytorch_distributions():
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    _, std, lo, hi = _stats(lin.weight)
    assert -bound <= lo and hi <= bound and abs(std - bound / math.sqrt(3)) < 0.01 * bound
    bn = nn.BatchNorm2d(5)
    assert np.all(to_numpy(bn.weight) == 1) and not to_numpy(bn.bias).any()
    ln = nn.LayerNorm(5)
    assert np.all(to_numpy(ln.weight) == 1) and not to_numpy(ln.bias).any()
    emb = nn.Embedding(300, 100, padding_idx=0)
    mean, std, _, _ = _stats(emb.weight)
    assert abs(mean) < 0.02 and abs(std - 1.0) < 0.02 and not to_numpy(emb.weight)[0].any()
