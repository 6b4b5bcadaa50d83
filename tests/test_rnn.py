"""RNN, LSTM, GRU and their cells against torch.nn (weights copied from torch): outputs,
final states and the gradients of the input, the initial states and every parameter."""
import itertools

import numpy as np
import pytest

import dynet
from dynet import nn
from dynet.autograd.gradcheck import gradcheck
from tests.conftest import to_numpy

torch = pytest.importorskip("torch")

T, B, I, H = 4, 3, 5, 6

MODES = {
    "rnn_tanh": lambda m, **kw: m.RNN(I, H, **kw),
    "rnn_relu": lambda m, **kw: m.RNN(I, H, nonlinearity="relu", **kw),
    "lstm": lambda m, **kw: m.LSTM(I, H, **kw),
    "lstm_proj": lambda m, **kw: m.LSTM(I, H, proj_size=4, **kw),
    "gru": lambda m, **kw: m.GRU(I, H, **kw),
}


def rand(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def pair(mode, dtype=torch.float64, device="cpu", **kw):
    """(torch module, dynet module with torch's state_dict loaded)."""
    torch.manual_seed(0)
    tmod = MODES[mode](torch.nn, **kw).to(dtype)
    dmod = MODES[mode](nn, **kw).to(getattr(dynet, str(dtype).split(".")[1]))
    dmod.load_state_dict({k: dynet.tensor(v.detach().numpy()) for k, v in
                          tmod.state_dict().items()})
    return tmod, dmod.to(device)


def hidden_shapes(tmod, batch):
    d = 2 if tmod.bidirectional else 1
    real = tmod.proj_size or tmod.hidden_size
    shapes = [(tmod.num_layers * d, batch, real)]
    if isinstance(tmod, torch.nn.LSTM):
        shapes.append((tmod.num_layers * d, batch, tmod.hidden_size))
    return shapes


def run_both(tmod, dmod, x, states, device, tol=1e-10, unbatched=False):
    """Forward and backward of both; compares outputs, states and every gradient."""
    is_lstm = isinstance(tmod, torch.nn.LSTM)
    tx = torch.tensor(x, requires_grad=True)
    dx = dynet.tensor(x, device=device, requires_grad=True)
    ts = [torch.tensor(s, requires_grad=True) for s in states]
    ds = [dynet.tensor(s, device=device, requires_grad=True) for s in states]
    targ = (tuple(ts) if is_lstm else ts[0]) if ts else None
    darg = (tuple(ds) if is_lstm else ds[0]) if ds else None
    tout, th = tmod(tx, targ)
    dout, dh = dmod(dx, darg)
    th = th if is_lstm else (th,)
    dh = dh if is_lstm else (dh,)
    results = [(tout, dout)] + list(zip(th, dh))
    for i, (t, d) in enumerate(results):
        assert tuple(d.shape) == tuple(t.shape), i
        np.testing.assert_allclose(to_numpy(d), t.detach().numpy(), rtol=tol, atol=tol,
                                   err_msg=f"result {i}")
    ups = [rand(*t.shape, seed=10 + i) for i, (t, _) in enumerate(results)]
    sum((t * torch.tensor(u)).sum() for (t, _), u in zip(results, ups)).backward()
    total = None
    for (_, d), u in zip(results, ups):
        term = (d * dynet.tensor(u, device=device)).sum()
        total = term if total is None else total + term
    total.backward()
    np.testing.assert_allclose(to_numpy(dx.grad), tx.grad.numpy(), rtol=tol, atol=tol,
                               err_msg="input gradient")
    for i, (t, d) in enumerate(zip(ts, ds)):
        np.testing.assert_allclose(to_numpy(d.grad), t.grad.numpy(), rtol=tol, atol=tol,
                                   err_msg=f"initial state {i} gradient")
    tparams = dict(tmod.named_parameters())
    for name, p in dmod.named_parameters():
        np.testing.assert_allclose(to_numpy(p.grad), tparams[name].grad.numpy(), rtol=tol,
                                   atol=tol, err_msg=f"gradient of {name}")


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("num_layers, bidirectional, batch_first, with_h0",
                         list(itertools.product([1, 2], [False, True], [False, True],
                                                [False, True])))
def test_matches_torch_float64(mode, num_layers, bidirectional, batch_first, with_h0):
    tmod, dmod = pair(mode, num_layers=num_layers, bidirectional=bidirectional,
                      batch_first=batch_first)
    x = rand(B, T, I) if batch_first else rand(T, B, I)
    states = [rand(*s, seed=1 + k) for k, s in enumerate(hidden_shapes(tmod, B))] \
        if with_h0 else []
    run_both(tmod, dmod, x, states, "cpu")


@pytest.mark.parametrize("mode", list(MODES))
def test_matches_torch_float32_on_device(mode, device):
    tmod, dmod = pair(mode, dtype=torch.float32, device=device, num_layers=2,
                      bidirectional=True)
    x = rand(T, B, I, dtype=np.float32)
    states = [rand(*s, seed=1 + k, dtype=np.float32) for k, s in
              enumerate(hidden_shapes(tmod, B))]
    run_both(tmod, dmod, x, states, device, tol=2e-5)


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_relu"])
@pytest.mark.parametrize("with_h0", [False, True])
def test_unbatched_input(mode, with_h0):
    tmod, dmod = pair(mode, num_layers=2)
    states = [rand(*s[::2], seed=3 + k) for k, s in enumerate(hidden_shapes(tmod, 1))] \
        if with_h0 else []
    run_both(tmod, dmod, rand(T, I), states, "cpu")


def test_long_sequence_and_bias_free():
    tmod, dmod = pair("lstm", bias=False, num_layers=2)
    assert [n for n, _ in dmod.named_parameters()] == [n for n, _ in tmod.named_parameters()]
    run_both(tmod, dmod, rand(40, 2, I), [], "cpu", tol=1e-9)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_state_dict_names_shapes_and_order_equal_torch(mode, bidirectional):
    tmod = MODES[mode](torch.nn, num_layers=2, bidirectional=bidirectional)
    dmod = MODES[mode](nn, num_layers=2, bidirectional=bidirectional)
    t_sd, d_sd = tmod.state_dict(), dmod.state_dict()
    assert list(d_sd) == list(t_sd)
    assert [tuple(v.shape) for v in d_sd.values()] == [tuple(v.shape) for v in t_sd.values()]
    assert repr(dmod) == repr(tmod)
    assert [[n for n in names] for names in dmod._all_weights] == tmod._all_weights
    assert [[tuple(w.shape) for w in ws] for ws in dmod.all_weights] == \
        [[tuple(w.shape) for w in ws] for ws in tmod.all_weights]


def test_init_is_uniform_within_one_over_sqrt_hidden():
    m = nn.LSTM(3, 100, num_layers=2)
    bound = 1 / np.sqrt(100)
    for name, p in m.named_parameters():
        v = to_numpy(p)
        assert np.abs(v).max() <= bound, name
        assert np.abs(v).max() > 0.9 * bound, name  # spread over the interval
        assert abs(v.mean()) < 0.1 * bound, name


def test_gradcheck_lstm_proj_bidirectional():
    m = nn.LSTM(3, 4, num_layers=2, proj_size=2, bidirectional=True).double()
    x = dynet.tensor(rand(3, 2, 3), requires_grad=True)
    h0 = dynet.tensor(rand(4, 2, 2, seed=1), requires_grad=True)
    c0 = dynet.tensor(rand(4, 2, 4, seed=2), requires_grad=True)
    w = m.weight_hh_l1_reverse

    def f(x, h0, c0, w):
        out, (h, c) = m(x, (h0, c0))
        return out, h, c
    assert gradcheck(f, (x, h0, c0, w))


@pytest.mark.parametrize("mode", ["gru", "rnn_tanh", "rnn_relu"])
def test_gradcheck_gru_rnn(mode):
    m = MODES[mode](nn, bidirectional=True).double()
    x = dynet.tensor(rand(3, 2, I) + 0.1, requires_grad=True)  # relu: away from the kink
    h0 = dynet.tensor(rand(2, 2, H, seed=1), requires_grad=True)
    assert gradcheck(lambda x, h0, w: m(x, h0), (x, h0, m.weight_hh_l0))


def test_dropout_between_layers():
    m = nn.LSTM(I, H, num_layers=2, dropout=0.5)
    x = dynet.tensor(rand(T, B, I, dtype=np.float32))
    m.eval()
    a, b = to_numpy(m(x)[0]), to_numpy(m(x)[0])
    np.testing.assert_array_equal(a, b)
    m.train()
    c = to_numpy(m(x)[0])
    assert not np.allclose(a, c)
    # the last layer's output is not dropped: with p=1 the second layer sees zeros
    m.dropout = 1.0
    out, (h, _) = m(x)
    ref = nn.LSTM(H, H)
    ref.load_state_dict({k.replace("_l1", "_l0"): v for k, v in m.state_dict().items()
                         if "_l1" in k})
    expected, _ = ref(dynet.zeros(T, B, H))
    np.testing.assert_allclose(to_numpy(out), to_numpy(expected), rtol=1e-6, atol=1e-6)


def test_dropout_warning_and_argument_errors():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.GRU(2, 3, dropout=0.2)
    cases = [
        (lambda: nn.LSTM(2, 3, dropout=1.5), ValueError, "dropout should be a number"),
        (lambda: nn.LSTM(2, 0), ValueError, "hidden_size must be greater than zero"),
        (lambda: nn.LSTM(2, 3, num_layers=0), ValueError, "num_layers must be greater"),
        (lambda: nn.LSTM(2, 3, proj_size=3), ValueError, "proj_size has to be smaller"),
        (lambda: nn.GRU(2, 3, proj_size=1), ValueError, "only supported for LSTM"),
        (lambda: nn.RNN(2, 3, nonlinearity="gelu"), ValueError, "Unknown nonlinearity 'gelu'"),
        (lambda: nn.LSTM(2.0, 3), TypeError, "input_size should be of type int"),
        (lambda: nn.LSTM(2, 3, bias=1), TypeError, "bias should be of type bool"),
    ]
    for build, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            build()


def test_forward_errors_match_torch():
    m, tm = nn.LSTM(I, H), torch.nn.LSTM(I, H)
    g, tg = nn.GRU(I, H), torch.nn.GRU(I, H)
    cases = [
        (lambda mod, lib: mod(lib.zeros(2, 3, 4, I))),
        (lambda mod, lib: mod(lib.zeros(2, 3, I + 1))),
        (lambda mod, lib: mod(lib.zeros(2, 3, I), (lib.zeros(1, 2, H), lib.zeros(1, 2, H)))),
        (lambda mod, lib: mod(lib.zeros(2, 3, I), (lib.zeros(1, 3, H), lib.zeros(3, H)))),
        (lambda mod, lib: mod(lib.zeros(2, I), (lib.zeros(1, 1, H), lib.zeros(1, 1, H)))),
        (lambda mod, lib: mod(lib.zeros(2, 3, I, dtype=lib.float64))),
    ]
    for case in cases:
        with pytest.raises(Exception) as t_err:
            case(tm, torch)
        with pytest.raises(type(t_err.value)) as d_err:
            case(m, dynet)
        assert str(d_err.value).replace("dynet", "torch") == str(t_err.value)
    for case in [lambda mod, lib: mod(lib.zeros(2, 3, I), lib.zeros(2, 3, H)),
                 lambda mod, lib: mod(lib.zeros(2, 3, I), lib.zeros(3, H))]:
        with pytest.raises(RuntimeError) as t_err:
            case(tg, torch)
        with pytest.raises(RuntimeError) as d_err:
            case(g, dynet)
        assert str(d_err.value) == str(t_err.value)


CELLS = {
    "rnn_cell": lambda m, **kw: m.RNNCell(I, H, **kw),
    "rnn_cell_relu": lambda m, **kw: m.RNNCell(I, H, nonlinearity="relu", **kw),
    "lstm_cell": lambda m, **kw: m.LSTMCell(I, H, **kw),
    "gru_cell": lambda m, **kw: m.GRUCell(I, H, **kw),
}


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("batched, with_h, bias", list(itertools.product(
    [True, False], [True, False], [True, False])))
def test_cells_match_torch(cell, batched, with_h, bias):
    torch.manual_seed(0)
    tmod = CELLS[cell](torch.nn, bias=bias).double()
    dmod = CELLS[cell](nn, bias=bias).double()
    dmod.load_state_dict({k: dynet.tensor(v.detach().numpy()) for k, v in
                          tmod.state_dict().items()})
    assert repr(dmod) == repr(tmod)
    lead = (B,) if batched else ()
    x = rand(*lead, I)
    n_states = 2 if cell == "lstm_cell" else 1
    states = [rand(*lead, H, seed=1 + k) for k in range(n_states)] if with_h else []
    tx, dx = torch.tensor(x, requires_grad=True), dynet.tensor(x, requires_grad=True)
    ts = [torch.tensor(s, requires_grad=True) for s in states]
    ds = [dynet.tensor(s, requires_grad=True) for s in states]
    if cell == "lstm_cell":
        tout = tmod(tx, tuple(ts) if ts else None)
        dout = dmod(dx, tuple(ds) if ds else None)
    else:
        tout = (tmod(tx, ts[0] if ts else None),)
        dout = (dmod(dx, ds[0] if ds else None),)
    for t, d in zip(tout, dout):
        assert tuple(d.shape) == tuple(t.shape)
        np.testing.assert_allclose(to_numpy(d), t.detach().numpy(), atol=1e-12)
    ups = [rand(*t.shape, seed=5 + i) for i, t in enumerate(tout)]
    sum((t * torch.tensor(u)).sum() for t, u in zip(tout, ups)).backward()
    sum((d * dynet.tensor(u)).sum() for d, u in zip(dout, ups)).backward()
    np.testing.assert_allclose(dx.grad.numpy(), tx.grad.numpy(), atol=1e-12)
    for t, d in zip(ts, ds):
        np.testing.assert_allclose(d.grad.numpy(), t.grad.numpy(), atol=1e-12)
    tparams = dict(tmod.named_parameters())
    for name, p in dmod.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), atol=1e-12,
                                   err_msg=name)


def test_cell_errors_match_torch():
    for build in (lambda m: m.LSTMCell(I, H), lambda m: m.GRUCell(I, H)):
        tc, dc = build(torch.nn), build(nn)
        lstm = isinstance(tc, torch.nn.LSTMCell)
        for lib_case in [lambda c, lib: c(lib.zeros(3, I + 1)),
                         lambda c, lib: c(lib.zeros(3, I), (lib.zeros(2, H),) * 2 if lstm
                                          else lib.zeros(2, H)),
                         lambda c, lib: c(lib.zeros(3, I), (lib.zeros(3, H + 1),) * 2 if lstm
                                          else lib.zeros(3, H + 1)),
                         lambda c, lib: c(lib.zeros(2, 3, I))]:
            with pytest.raises(Exception) as t_err:
                lib_case(tc, torch)
            with pytest.raises(type(t_err.value)) as d_err:
                lib_case(dc, dynet)
            assert str(d_err.value) == str(t_err.value)


def test_no_grad_forward_stores_nothing_and_matches():
    tmod, dmod = pair("lstm", num_layers=2)
    x = rand(T, B, I)
    with dynet.no_grad():
        out, (h, c) = dmod(dynet.tensor(x))
    assert not out.requires_grad and out.grad_fn is None
    np.testing.assert_allclose(out.numpy(), tmod(torch.tensor(x))[0].detach().numpy(),
                               atol=1e-12)


def test_training_reduces_loss():
    dynet.manual_seed(0)
    m = nn.GRU(2, 8, batch_first=True)
    head = nn.Linear(8, 1)
    opt = dynet.optim.Adam(list(m.parameters()) + list(head.parameters()), lr=0.05)
    x = dynet.tensor(rand(16, 5, 2, dtype=np.float32))
    y = x.sum(dim=(1, 2)).unsqueeze(1)  # sum of the whole sequence
    losses = []
    for _ in range(60):
        opt.zero_grad()
        out, h = m(x)
        loss = ((head(h[-1]) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
