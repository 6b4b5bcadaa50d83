"""Errors (and non-errors) where PyTorch has them: repeated flip dims, bool linspace,
squeeze/reductions over dim 0 of a 0-d tensor, integers to negative powers."""
import numpy as np
import pytest

import dynet
from core_utils import assert_close, check_grad, host


def test_flip_with_a_repeated_dim_raises(device):
    x = dynet.ones(2, 3, device=device)
    for dims in ([0, 0], [1, -1], (0, 1, 0)):
        with pytest.raises(RuntimeError, match="appears multiple times in the list of dims"):
            dynet.flip(x, dims)
    assert host(dynet.flip(dynet.tensor(2.0, device=device), [0])).tolist() == 2.0


@pytest.mark.parametrize("fn", [dynet.linspace, dynet.logspace])
def test_bool_linspace_raises(fn, device):
    with pytest.raises(NotImplementedError, match="not implemented for 'Bool'"):
        fn(0, 1, 3, dtype=dynet.bool, device=device)


def test_squeeze_of_a_0d_tensor_checks_the_dim(device):
    s = dynet.tensor(2.0, device=device)
    for dim in (0, -1, (0,)):
        assert s.squeeze(dim).shape == ()
    for dim in (10, 1, -2):
        with pytest.raises(IndexError, match=r"expected to be in range of \[-1, 0\]"):
            s.squeeze(dim)


@pytest.mark.parametrize("name", ["sum", "prod", "logsumexp", "mean", "amax", "amin", "std"])
def test_0d_reductions_accept_dim_0_and_minus_1(name, device):
    fn = getattr(dynet, name)
    kwargs = {"unbiased": False} if name == "std" else {}
    for dim in (0, -1):
        for keepdim in (False, True):
            s = dynet.tensor(1.5, dtype=dynet.float64, device=device)
            out = fn(s, dim, keepdim=keepdim, **kwargs)
            assert out.shape == ()
            assert_close(out, 0.0 if name == "std" else 1.5)
    with pytest.raises(IndexError, match="Dimension out of range"):
        fn(dynet.tensor(1.5, device=device), 1, **kwargs)
    if name != "std":
        check_grad(lambda t: fn(t, 0), [np.array(0.7)], device)


def test_integer_to_negative_integer_power(device):
    torch = pytest.importorskip("torch")
    i = dynet.tensor([3, -4], device=device)
    for expr in (lambda t: t ** -1, lambda t: dynet.pow(t, -2), lambda t: t.pow(-1)):
        with pytest.raises(RuntimeError, match="Integers to negative integer powers are not "
                                               "allowed."):
            expr(i)
    with pytest.raises(RuntimeError, match="negative integer powers"):
        dynet.tensor(2, device=device) ** -1
    base = np.array([1, -1, 2, 0, -1, 3])
    exp = np.array([-1, -3, -2, 2, -2, 2])
    for L, conv in ((dynet, lambda v: dynet.tensor(v, device=device)), (torch, torch.tensor)):
        got = [L.pow(conv(base), conv(exp)), 2 ** conv(exp), conv(base) ** 2,
               conv(base) ** -1.0, conv(base > 0) ** 2]
        if L is dynet:
            ours = got
        else:
            theirs = got
    for o, r in zip(ours, theirs):
        assert str(o.dtype)[6:] == str(r.dtype)[6:]
        np.testing.assert_allclose(host(o), r.numpy())
