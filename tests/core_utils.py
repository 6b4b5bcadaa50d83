"""Helpers shared by the core-engine tests: seeded inputs, NumPy references, gradchecks."""
import numpy as np

import dynet
from dynet.autograd import gradcheck


def host(t):
    """A tensor's values as a NumPy array (from any device)."""
    return np.asarray(t.detach().cpu().numpy())


def sample(shape, domain="any", seed=0):
    """Seeded float64 values; `domain` keeps them where an op is smooth.

    any: N(0, 1); pos: [0.5, 2); away0: |x| >= 0.2 (for kinks at 0); unit: (-0.9, 0.9).
    """
    rng = np.random.default_rng(seed)
    if domain == "pos":
        return np.asarray(rng.uniform(0.5, 2.0, shape))
    if domain == "unit":
        return np.asarray(rng.uniform(-0.9, 0.9, shape))
    x = np.asarray(rng.standard_normal(shape))
    if domain == "away0":
        x = np.where(x < 0, x - 0.2, x + 0.2)
    return x


def make(array, device, requires_grad=False, dtype=None, kind="contiguous"):
    """A dynet tensor holding `array` on `device` (float64 unless `dtype` says otherwise).

    kind 'transposed' or 'strided' makes the tensor a non-contiguous view with those values:
    the transpose of a contiguous buffer, or every other column of a twice-as-wide one.
    """
    dtype = dtype or dynet.float64
    if kind == "contiguous":
        t = dynet.tensor(array, dtype=dtype, device=device)
    elif kind == "transposed":
        base = dynet.tensor(np.ascontiguousarray(array.T), dtype=dtype, device=device)
        t = dynet.Tensor._make(base._data.T, False)
    elif kind == "strided":
        padded = np.zeros(array.shape[:-1] + (2 * array.shape[-1],))
        padded[..., ::2] = array
        base = dynet.tensor(padded, dtype=dtype, device=device)
        t = dynet.Tensor._make(base._data[..., ::2], False)
    else:
        raise ValueError(f"unknown layout {kind!r}")
    if kind != "contiguous" and array.ndim >= 2 and min(array.shape) > 1:
        assert not t.is_contiguous()
    if requires_grad:
        t.requires_grad_()
    return t


def assert_close(got, expected, rtol=1e-6, atol=1e-8):
    """Compares a tensor (or array) against a NumPy reference, shapes included."""
    got = host(got) if isinstance(got, dynet.Tensor) else np.asarray(got)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, f"shape {got.shape} != expected {expected.shape}"
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)


def check_grad(fn, arrays, device, kinds=None):
    """dynet.autograd.gradcheck of fn on float64 leaves built from `arrays` (raises on error)."""
    kinds = kinds or ["contiguous"] * len(arrays)
    inputs = tuple(make(a, device, requires_grad=True, kind=k) for a, k in zip(arrays, kinds))
    assert gradcheck(fn, inputs)
