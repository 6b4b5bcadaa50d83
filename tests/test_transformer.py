"""scaled_dot_product_attention, MultiheadAttention and the Transformer layers against torch
2.13 (float64, weights copied from torch): outputs, attention weights and the gradients of
every input and parameter; state_dict names; PyTorch's errors."""
import numpy as np
import pytest

import dynet
from dynet import nn
from tests.conftest import to_numpy

torch = pytest.importorskip("torch")

TOL = dict(rtol=1e-9, atol=1e-10)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def both(array, device, grad=True):
    """(torch tensor, dynet tensor) holding the same float64 values."""
    t = torch.tensor(array, requires_grad=grad and array.dtype.kind == "f")
    d = dynet.tensor(array, device=device, requires_grad=grad and array.dtype.kind == "f")
    return t, d


def check(t, d, what="value"):
    if t is None:
        assert d is None, what
        return
    np.testing.assert_allclose(to_numpy(d), t.detach().numpy(), **TOL, err_msg=what)


def copy_module(tmod, dmod, device):
    dmod.load_state_dict({k: dynet.tensor(v.detach().numpy()) for k, v in
                          tmod.state_dict().items()})
    return dmod.to(device)


def check_param_grads(tmod, dmod):
    dparams = dict(dmod.named_parameters())
    assert list(dparams) == [n for n, _ in tmod.named_parameters()]
    for name, p in tmod.named_parameters():
        check(p.grad, dparams[name].grad, f"grad of {name}")


# ---------------------------------------------------------------- scaled_dot_product_attention

SDPA_CASES = {
    "plain": {},
    "bool mask": {"attn_mask": rand(4, 6, seed=3) > 0},
    "float mask": {"attn_mask": rand(4, 6, seed=4)},
    "batched bool mask": {"attn_mask": rand(2, 1, 4, 6, seed=5) > -0.5},
    "causal": {"is_causal": True},
    "scale": {"scale": 0.3},
}


@pytest.mark.parametrize("case", list(SDPA_CASES))
def test_sdpa_matches_torch(device, case):
    kwargs = dict(SDPA_CASES[case])
    (tq, dq), (tk, dk), (tv, dv) = (both(rand(2, 3, 4, 5, seed=0), device),
                                    both(rand(2, 3, 6, 5, seed=1), device),
                                    both(rand(2, 3, 6, 7, seed=2), device))
    tkw, dkw = dict(kwargs), dict(kwargs)
    if "attn_mask" in kwargs:
        tkw["attn_mask"], dkw["attn_mask"] = both(kwargs["attn_mask"], device, grad=False)
    tout = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **tkw)
    dout = nn.functional.scaled_dot_product_attention(dq, dk, dv, **dkw)
    check(tout, dout)
    g = rand(*tout.shape, seed=9)
    tout.backward(torch.tensor(g))
    dout.backward(dynet.tensor(g, device=device))
    for t, d, n in ((tq, dq, "q"), (tk, dk, "k"), (tv, dv, "v")):
        check(t.grad, d.grad, f"grad of {n}")


def test_sdpa_grouped_query_attention_and_fully_masked_rows(device):
    (tq, dq), (tk, dk), (tv, dv) = (both(rand(2, 4, 3, 5, seed=0), device),
                                    both(rand(2, 2, 6, 5, seed=1), device),
                                    both(rand(2, 2, 6, 5, seed=2), device))
    check(torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, enable_gqa=True),
          nn.functional.scaled_dot_product_attention(dq, dk, dv, enable_gqa=True))
    mask = np.ones((3, 3), bool)
    mask[1] = False  # query 1 may attend to nothing: PyTorch gives 0, not NaN
    tm, dm = both(mask, device, grad=False)
    tout = torch.nn.functional.scaled_dot_product_attention(tq, tq, tq, attn_mask=tm)
    dout = nn.functional.scaled_dot_product_attention(dq, dq, dq, attn_mask=dm)
    check(tout, dout)
    assert not np.isnan(to_numpy(dout)).any()


def test_sdpa_errors():
    q, k, v = dynet.randn(2, 3, 4), dynet.randn(2, 5, 4), dynet.randn(2, 5, 6)
    F = nn.functional
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=dynet.ones(3, 5, dtype=dynet.bool),
                                       is_causal=True)
    with pytest.raises(RuntimeError):
        F.scaled_dot_product_attention(q, dynet.randn(2, 5, 3), v)
    with pytest.raises(RuntimeError):
        F.scaled_dot_product_attention(q, k, dynet.randn(2, 4, 6))
    with pytest.raises(RuntimeError, match="must divide the number of heads"):
        F.scaled_dot_product_attention(dynet.randn(2, 4, 3, 4), dynet.randn(2, 3, 5, 4),
                                       dynet.randn(2, 3, 5, 4), enable_gqa=True)


# ---------------------------------------------------------------- MultiheadAttention

E, HEADS, L, S, N = 8, 2, 4, 5, 3

MHA_CASES = {  # name: (constructor kwargs, forward kwargs builder, self-attention)
    "self": ({}, lambda: {}, True),
    "cross batch_first": ({"batch_first": True}, lambda: {}, False),
    "kdim vdim": ({"kdim": 6, "vdim": 7}, lambda: {}, False),
    "bias_kv zero_attn": ({"add_bias_kv": True, "add_zero_attn": True},
                          lambda: {"attn_mask": rand(L, S, seed=7) > 0.8,
                                   "key_padding_mask": _padding()}, False),
    "no bias": ({"bias": False}, lambda: {"average_attn_weights": False}, False),
    "bool masks": ({}, lambda: {"attn_mask": rand(L, S, seed=7) > 0.8,
                                "key_padding_mask": _padding()}, False),
    "float masks": ({}, lambda: {"attn_mask": rand(N * HEADS, L, S, seed=8),
                                 "key_padding_mask": rand(N, S, seed=9)}, False),
    "causal hint": ({}, lambda: {"attn_mask": np.triu(np.full((L, S), -np.inf), 1),
                                 "is_causal": True}, False),
    "no weights": ({}, lambda: {"need_weights": False}, True),
}


def _padding():
    pad = np.zeros((N, S), bool)
    pad[0, -2:] = True
    pad[2, 0] = True
    return pad


def _mha_inputs(kw, self_attn, device):
    lay = (lambda n, l, e: (n, l, e)) if kw.get("batch_first") else (lambda n, l, e: (l, n, e))
    q = both(rand(*lay(N, L, E), seed=1), device)
    if self_attn:
        return q, q, q
    k = both(rand(*lay(N, S, kw.get("kdim", E)), seed=2), device)
    v = both(rand(*lay(N, S, kw.get("vdim", E)), seed=3), device)
    return q, k, v


@pytest.mark.parametrize("case", list(MHA_CASES))
def test_multihead_attention_matches_torch(device, case):
    ctor, forward_kwargs, self_attn = MHA_CASES[case]
    torch.manual_seed(0)
    tmod = torch.nn.MultiheadAttention(E, HEADS, **ctor).double()
    dmod = copy_module(tmod, nn.MultiheadAttention(E, HEADS, dtype=dynet.float64, **ctor),
                       device)
    assert list(dmod.state_dict()) == list(tmod.state_dict())
    (tq, dq), (tk, dk), (tv, dv) = _mha_inputs(ctor, self_attn, device)
    tkw, dkw = {}, {}
    for name, value in forward_kwargs().items():
        if isinstance(value, np.ndarray):
            tkw[name], dkw[name] = both(value, device, grad=False)
        else:
            tkw[name] = dkw[name] = value
    tout, tw = tmod(tq, tk, tv, **tkw)
    dout, dw = dmod(dq, dk, dv, **dkw)
    check(tout, dout)
    check(tw, dw, "attention weights")
    g = rand(*tout.shape, seed=11)
    tout.backward(torch.tensor(g))
    dout.backward(dynet.tensor(g, device=device))
    for t, d, n in ((tq, dq, "query"), (tk, dk, "key"), (tv, dv, "value")):
        check(t.grad, d.grad, f"grad of {n}")
    check_param_grads(tmod, dmod)


def test_multihead_attention_unbatched_input(device):
    torch.manual_seed(0)
    tmod = torch.nn.MultiheadAttention(E, HEADS).double()
    dmod = copy_module(tmod, nn.MultiheadAttention(E, HEADS, dtype=dynet.float64), device)
    tx, dx = both(rand(L, E), device)
    tout, tw = tmod(tx, tx, tx)
    dout, dw = dmod(dx, dx, dx)
    assert tuple(dout.shape) == (L, E) and tuple(dw.shape) == (L, L)
    check(tout, dout)
    check(tw, dw)


def test_multihead_attention_init_and_dropout():
    m = nn.MultiheadAttention(E, HEADS, dropout=0.5, add_bias_kv=True)
    assert to_numpy(m.in_proj_bias).max() == 0 and to_numpy(m.out_proj.bias).max() == 0
    bound = np.sqrt(6 / (E + 3 * E))  # xavier_uniform_ of the (3E, E) in_proj_weight
    assert np.abs(to_numpy(m.in_proj_weight)).max() <= bound
    x = dynet.randn(L, N, E)
    m.eval()
    a, b = m(x, x, x)[0], m(x, x, x)[0]
    np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    m.train()
    assert not np.allclose(to_numpy(m(x, x, x)[0]), to_numpy(a))


def test_multihead_attention_errors():
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(5, 2)
    m = nn.MultiheadAttention(4, 2)
    x = dynet.randn(3, 2, 4)
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 4"):
        m(dynet.randn(3, 2, 5), x, x)
    with pytest.raises(RuntimeError, match=r"The shape of the 2D attn_mask is .*\[2, 2\].*, "
                                           r"but should be \(3, 3\)"):
        m(x, x, x, attn_mask=dynet.zeros(2, 2))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)


# ---------------------------------------------------------------- Transformer layers

D_MODEL, FF = 8, 12


def _activation_pair(kind):
    if kind == "callable":
        return torch.nn.functional.silu, nn.functional.silu
    return kind, kind


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu", "callable"])
def test_encoder_layer_and_encoder_match_torch(device, norm_first, activation):
    ta, da = _activation_pair(activation)
    torch.manual_seed(0)
    kw = dict(dim_feedforward=FF, dropout=0.0, norm_first=norm_first, batch_first=True)
    tlayer = torch.nn.TransformerEncoderLayer(D_MODEL, HEADS, activation=ta, **kw)
    tmod = torch.nn.TransformerEncoder(tlayer, 2, norm=torch.nn.LayerNorm(D_MODEL),
                                       enable_nested_tensor=False).double()
    dlayer = nn.TransformerEncoderLayer(D_MODEL, HEADS, activation=da, **kw)
    dmod = copy_module(tmod, nn.TransformerEncoder(dlayer, 2, norm=nn.LayerNorm(D_MODEL))
                       .to(dynet.float64), device)
    assert list(dmod.state_dict()) == list(tmod.state_dict())
    tx, dx = both(rand(N, L, D_MODEL), device)
    tmask, dmask = both(np.triu(np.full((L, L), -np.inf), 1), device, grad=False)
    tpad, dpad = both(_padding()[:, :L], device, grad=False)
    tout = tmod(tx, mask=tmask, src_key_padding_mask=tpad)
    dout = dmod(dx, mask=dmask, src_key_padding_mask=dpad)
    check(tout, dout)
    g = rand(*tout.shape, seed=5)
    tout.backward(torch.tensor(g))
    dout.backward(dynet.tensor(g, device=device))
    check(tx.grad, dx.grad, "grad of src")
    check_param_grads(tmod, dmod)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_torch(device, norm_first):
    torch.manual_seed(0)
    kw = dict(d_model=D_MODEL, nhead=HEADS, num_encoder_layers=2, num_decoder_layers=2,
              dim_feedforward=FF, dropout=0.0, norm_first=norm_first)
    tmod = torch.nn.Transformer(**kw).double()
    dmod = copy_module(tmod, nn.Transformer(**kw).to(dynet.float64), device)
    assert list(dmod.state_dict()) == list(tmod.state_dict())
    (ts, ds), (tt, dt) = both(rand(S, N, D_MODEL, seed=1), device), \
        both(rand(L, N, D_MODEL, seed=2), device)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(L, dtype=torch.float64)
    dmask = nn.Transformer.generate_square_subsequent_mask(L, device=device,
                                                           dtype=dynet.float64)
    check(tmask, dmask, "square subsequent mask")
    tpad, dpad = both(_padding(), device, grad=False)
    tout = tmod(ts, tt, tgt_mask=tmask, src_key_padding_mask=tpad,
                memory_key_padding_mask=tpad, tgt_is_causal=True)
    dout = dmod(ds, dt, tgt_mask=dmask, src_key_padding_mask=dpad,
                memory_key_padding_mask=dpad, tgt_is_causal=True)
    check(tout, dout)
    g = rand(*tout.shape, seed=6)
    tout.backward(torch.tensor(g))
    dout.backward(dynet.tensor(g, device=device))
    check(ts.grad, ds.grad, "grad of src")
    check(tt.grad, dt.grad, "grad of tgt")
    check_param_grads(tmod, dmod)


def test_transformer_init_and_errors():
    m = nn.Transformer(D_MODEL, HEADS, 1, 1, FF)
    w = to_numpy(m.encoder.layers[0].linear1.weight)  # xavier_uniform_: U(+-sqrt(6/(in+out)))
    assert np.abs(w).max() <= np.sqrt(6 / (D_MODEL + FF))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(D_MODEL, HEADS, activation="tanh")
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        m(dynet.randn(S, 2, D_MODEL), dynet.randn(L, 3, D_MODEL))
    with pytest.raises(RuntimeError, match="feature number of src and tgt must be equal"):
        m(dynet.randn(S, 2, D_MODEL), dynet.randn(L, 2, 4))
