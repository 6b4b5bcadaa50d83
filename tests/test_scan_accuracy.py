"""float32 cumsum accumulates as PyTorch's CPU kernel does, in float64 (issue 12, item 6)."""
import numpy as np
import pytest

import dynet
from tests.conftest import to_numpy

N = 2_000_000


def test_cumsum_of_many_tenths_is_accurate(device):
    x = dynet.full((N,), 0.1, device=device, requires_grad=True)
    y = dynet.cumsum(x, 0)
    exact = np.arange(1, N + 1) * np.float64(np.float32(0.1))
    out = to_numpy(y)
    assert out.dtype == np.float32
    # each partial sum is the exact one rounded to float32 (a running float32 sum: 1.5% off)
    np.testing.assert_array_equal(out, exact.astype(np.float32))
    y.backward(dynet.full((N,), 0.1, device=device))
    np.testing.assert_array_equal(to_numpy(x.grad), exact[::-1].astype(np.float32))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum_matches_torch_bitwise(dim, device, rng):
    data = rng.standard_normal((3, 4000)).astype(np.float32) * 1e3
    grad = rng.standard_normal(data.shape).astype(np.float32)
    x = dynet.tensor(data, device=device, requires_grad=True)
    y = dynet.cumsum(x.t() if dim == 0 else x, dim)
    y.backward(dynet.tensor(grad.T.copy() if dim == 0 else grad, device=device))
    ref = np.cumsum((data.T if dim == 0 else data).astype(np.float64), axis=dim)
    np.testing.assert_array_equal(to_numpy(y), ref.astype(np.float32))
    torch = pytest.importorskip("torch")
    tx = torch.tensor(data, requires_grad=True)
    ty = torch.cumsum(tx.t() if dim == 0 else tx, dim)
    ty.backward(torch.tensor(grad.T.copy() if dim == 0 else grad))
    np.testing.assert_array_equal(to_numpy(y), ty.detach().numpy())
    np.testing.assert_array_equal(to_numpy(x.grad), tx.grad.numpy())


def test_cumsum_dtypes_follow_torch(device):
    half = dynet.cumsum(dynet.full((5,), 0.1, dtype=dynet.float16, device=device), 0)
    assert half.dtype == dynet.float16
    ref = np.cumsum(np.full(5, 0.1, np.float16).astype(np.float32)).astype(np.float16)
    np.testing.assert_array_equal(to_numpy(half), ref)
    assert dynet.cumsum(dynet.tensor([1, 2], dtype=dynet.int32, device=device), 0).dtype \
        == dynet.int64
    x = dynet.tensor([[1.0, 2.0]], dtype=dynet.float64, device=device)
    assert dynet.cumsum(x, 1).dtype == dynet.float64
    assert dynet.cumsum(dynet.tensor(2.5, device=device), 0).shape == ()
    assert dynet.cumsum(dynet.ones(0, 3, device=device), 0).shape == (0, 3)
