"""Parity with PyTorch (CPU, float32): forward values, gradients, dtypes and reprs.

Each case is one function written against a module `L` (dynet or torch), so both libraries
run exactly the same code.
"""
import itertools

import numpy as np
import pytest

import dynet
from dynet.ops.functions import pad as dynet_pad
from core_utils import host

torch = pytest.importorskip("torch")


def _pad(L, *args, **kwargs):
    return (torch.nn.functional.pad if L is torch else dynet_pad)(*args, **kwargs)


# name: (function of (L, *tensors), input shapes, input domain)
CASES = {
    "composite_mlp": (lambda L, x, w1, b1, w2: ((x @ w1 + b1).tanh() @ w2).sigmoid().log()
                      .mean(), [(4, 3), (3, 5), (5,), (5, 2)], "any"),
    "composite_loss": (lambda L, x, y: ((x - y) ** 2).sum(1).sqrt().mean()
                       + L.logsumexp(x, 1).sum() / 10, [(4, 3), (4, 3)], "any"),
    "unary_chain": (lambda L, x: x.exp() + x.log() + x.sqrt() + x.rsqrt() + x.sin() * x.cos()
                    + x.log1p() + x.abs() + x.relu() + x.sigmoid() + x.tanh(),
                    [(3, 4)], "pos"),
    "arith_broadcast": (lambda L, a, b, c: (a + b) * c - a / (b + 3) + (a ** 2) * 0.5
                        - 1 / (c + 5) + 2 ** a, [(3, 1), (2, 3, 4), (4,)], "pos"),
    "pow_tensor": (lambda L, a, b: a ** b, [(3, 4), (4,)], "pos"),
    "clamp_max_min": (lambda L, a, b: L.clamp(a, -0.5, 0.5) + L.maximum(a, b)
                      + L.minimum(a, b) + L.where(a > b, a, b), [(3, 4), (3, 4)], "any"),
    "reductions": (lambda L, x: x.sum() + x.mean(0).sum() + x.var(1).sum() + x.std()
                   + x.amax(1).sum() + x.amin(0).sum() + x.max() + x.norm()
                   + x.max(1)[0].sum() + x.min(0).values.sum(), [(3, 4)], "any"),
    "prod_cumsum": (lambda L, x: x.prod(1).sum() + x.cumsum(0).sum(), [(3, 4)], "any"),
    "logsumexp_softmax": (lambda L, x: x.logsumexp(1).sum() + (x.softmax(1) * x).sum()
                          + x.log_softmax(0)[0].sum(), [(3, 4)], "any"),
    "shapes": (lambda L, x: x.reshape(4, 6).t().flatten()[::3]
               + x.permute(2, 0, 1).reshape(-1)[:8]
               + x.transpose(0, 1).unsqueeze(0).squeeze().flip(0).reshape(-1)[:8],
               [(2, 3, 4)], "any"),
    "expand_repeat": (lambda L, x: x.expand(2, 3, 4).sum(0) + x.repeat(1, 4), [(3, 1)], "any"),
    "cat_stack_split": (lambda L, a, b: L.cat([a, b], 1).sum(0) * 1.5
                        + L.stack([a, b]).sum((0, 1)).repeat(2)
                        + a.split(1, 1)[0].sum() + b.chunk(2, 1)[1].sum(),
                        [(2, 3), (2, 3)], "any"),
    "indexing": (lambda L, x: x[1] + x[:, 0].sum() + x[[0, 2, 0]].sum(0) + x[x > 0].sum()
                 + x[None, ..., 1].sum() + x[::2, 1::2].sum()
                 + x.gather(1, L.tensor([[0, 0, 1, 3], [1, 2, 3, 0], [2, 2, 2, 2]])).sum(0),
                 [(3, 4)], "any"),
    "masked_fill_index_select": (lambda L, x: x.masked_fill(x > 0.5, 0.25).sum(0)
                                 + x.index_select(1, L.tensor([3, 0, 0, 1])).sum(0),
                                 [(3, 4)], "any"),
    "matmul_family": (lambda L, a, b, v, m: (a @ b).sum() + (v @ b).sum() + (a @ v[:3, None])
                      .sum() + L.mm(a[0], b[0]).sum() + L.bmm(a, b).sum() + (v @ v) + (m @ a)
                      .sum(), [(2, 4, 3), (2, 3, 5), (3,), (4, 4)], "any"),
    "pad_modes": (lambda L, x: _pad(L, x, (1, 2, 2, 1)).sum()
                  + (_pad(L, x, (2, 1, 1, 2), mode="reflect") ** 2).sum()
                  + (_pad(L, x, (2, 1, 1, 3), mode="replicate") ** 2).sum()
                  + (_pad(L, x, (2, 1, 1, 2), mode="circular") ** 2).sum(),
                  [(1, 2, 3, 4)], "any"),
    "sort_topk": (lambda L, x: (x.sort(1)[0] * L.arange(4.0)).sum()
                  + (x.topk(2, 0)[0] ** 2).sum(), [(3, 4)], "any"),
    "inplace_graph": (lambda L, x: _inplace_graph(x), [(3, 4)], "any"),
}


def _inplace_graph(x):
    h = x * 2
    h[0] = h[1] * 3
    h.mul_(x)
    h.add_(1)
    return h.sum()


def _run(L, name, arrays):
    fn = CASES[name][0]
    if L is torch:
        tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    else:
        tensors = [dynet.tensor(a, device=_run.device, requires_grad=True) for a in arrays]
    out = fn(L, *tensors)
    out.backward(L.ones_like(out))
    to_np = (lambda t: t.detach().numpy()) if L is torch else host
    return to_np(out), [to_np(t.grad) for t in tensors]


@pytest.mark.parametrize("name", list(CASES))
def test_forward_and_gradients_match_torch(name, device):
    _, shapes, domain = CASES[name]
    rng = np.random.default_rng(abs(hash(name)) % 2 ** 32)
    arrays = [(rng.uniform(0.5, 2.0, s) if domain == "pos" else rng.standard_normal(s))
              .astype(np.float32) for s in shapes]
    _run.device = device
    ours, our_grads = _run(dynet, name, arrays)
    theirs, their_grads = _run(torch, name, arrays)
    assert ours.dtype == theirs.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=2e-5)
    for i, (g, h) in enumerate(zip(our_grads, their_grads)):
        assert g.dtype == np.float32, f"grad {i} dtype"
        np.testing.assert_allclose(g, h, rtol=2e-5, atol=2e-5, err_msg=f"gradient of input {i}")


_DTYPES = ["bool", "uint8", "int32", "int64", "float16", "float32", "float64"]


def _operand(L, kind, dtype):
    if kind == "scalar":
        return {"bool": True, "int64": 2, "float32": 2.5}[dtype]
    dt = getattr(L, dtype)
    return L.tensor([1, 2], dtype=dt) if kind == "1d" else L.tensor(1, dtype=dt)


@pytest.mark.parametrize("op", ["add", "mul", "div", "maximum", "where"])
def test_dtype_promotion_matches_torch(op):
    fns = {"add": lambda L, a, b: a + b, "mul": lambda L, a, b: b * a,
           "div": lambda L, a, b: a / b, "maximum": lambda L, a, b: L.maximum(a, b),
           "where": lambda L, a, b: L.where(L.tensor([True, False]), a, b)}
    fn = fns[op]
    operands = [(k, d) for k in ("1d", "0d") for d in _DTYPES]
    if op != "maximum":
        operands += [("scalar", d) for d in ("bool", "int64", "float32")]
    mismatches = []
    for (ka, da), (kb, db) in itertools.product(operands[:14], operands):
        theirs = fn(torch, _operand(torch, ka, da), _operand(torch, kb, db)).dtype
        ours = fn(dynet, _operand(dynet, ka, da), _operand(dynet, kb, db)).dtype
        if str(ours).replace("dynet.", "") != str(theirs).replace("torch.", ""):
            mismatches.append(f"{ka} {da} {op} {kb} {db}: {ours} vs {theirs}")
    assert not mismatches, "\n".join(mismatches)


REPR_CASES = [
    lambda L: L.tensor([1, 2, 3]),
    lambda L: L.tensor([[-1, 20], [3, 400]]),
    lambda L: L.tensor([1.5, -2.25, 3.0]),
    lambda L: L.tensor([1e-5, 1.0, 1e5]),
    lambda L: L.tensor([True, False, True]),
    lambda L: L.arange(24.0).reshape(2, 3, 4) / 7 - 1,
    lambda L: L.tensor([1.0, 2.0], requires_grad=True) * 2,
    lambda L: L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True),
    lambda L: L.tensor(2.5, dtype=L.float64),
    lambda L: L.zeros(2, 0, 3),
    lambda L: L.tensor([], dtype=L.bool),
    lambda L: L.arange(3000).reshape(30, 100),
    lambda L: L.arange(40.0).reshape(4, 10) * 1e6,
    lambda L: L.tensor([float("nan"), 1.0, -float("inf")]),
    lambda L: L.tensor([123456.789, 0.5, -3.0]),
]


@pytest.mark.parametrize("index", range(len(REPR_CASES)))
def test_repr_matches_torch(index):
    make = REPR_CASES[index]
    assert repr(make(dynet)) == repr(make(torch)).replace("torch.", "dynet.")
