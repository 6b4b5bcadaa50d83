"""nn.utils: gradient clipping and parameter vectors, against PyTorch where installed."""
import numpy as np
import pytest

import dynet
from dynet import nn
from conftest import to_numpy


def _params(device, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (4,), (2, 2)]]
    params = []
    for a in arrays:
        p = nn.Parameter(dynet.tensor(a, device=device))
        p.grad = dynet.tensor(a * 3, device=device)
        params.append(p)
    return arrays, params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(device, norm_type, max_norm):
    torch = pytest.importorskip("torch")
    arrays, params = _params(device)
    tparams = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in arrays]
    for tp, a in zip(tparams, arrays):
        tp.grad = torch.from_numpy(a * 3)
    total = nn.utils.clip_grad_norm_(params, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, max_norm, norm_type)
    np.testing.assert_allclose(to_numpy(total), ttotal.numpy(), rtol=1e-5)
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(to_numpy(p.grad), tp.grad.numpy(), rtol=1e-5, atol=1e-6)
        assert p.grad.dtype == dynet.float32


def test_clip_grad_norm_scales_to_max_norm(device):
    _, params = _params(device)
    nn.utils.clip_grad_norm_(params, 1.0)
    joint = np.sqrt(sum((to_numpy(p.grad).astype(np.float64) ** 2).sum() for p in params))
    assert abs(joint - 1.0) < 1e-4


def test_clip_grad_norm_nonfinite_error(device):
    _, params = _params(device)
    params[0].grad._data[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_(device):
    arrays, params = _params(device)
    nn.utils.clip_grad_value_(params, 0.5)
    for a, p in zip(arrays, params):
        np.testing.assert_allclose(to_numpy(p.grad), np.clip(a * 3, -0.5, 0.5))


def test_parameters_to_vector_round_trip(device):
    arrays, params = _params(device)
    vec = nn.utils.parameters_to_vector(params)
    assert vec.shape == (12 + 4 + 4,)
    np.testing.assert_allclose(to_numpy(vec), np.concatenate([a.ravel() for a in arrays]))
    nn.utils.vector_to_parameters(vec * 2, params)
    for a, p in zip(arrays, params):
        np.testing.assert_allclose(to_numpy(p), a * 2)
    with pytest.raises(RuntimeError, match="does not match"):
        nn.utils.vector_to_parameters(dynet.zeros(3, device=device), params)
