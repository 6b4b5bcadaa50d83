"""nn.utils.rnn (pad/pack helpers, PackedSequence) against torch, and packed input to
RNN/LSTM/GRU: outputs, final states and gradients equal torch's."""
import numpy as np
import pytest

import dynet
from dynet import nn
from dynet.nn.utils import rnn as drnn
from tests.conftest import to_numpy

torch = pytest.importorskip("torch")
trnn = torch.nn.utils.rnn

LENGTHS_SORTED = [5, 3, 3, 1]
LENGTHS_MIXED = [2, 5, 1, 4]


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def seqs(lengths, feat=(3,), seed=0):
    arrays = [rand(n, *feat, seed=seed + j) for j, n in enumerate(lengths)]
    return ([torch.tensor(a, requires_grad=True) for a in arrays],
            [dynet.tensor(a, requires_grad=True) for a in arrays])


def same(d, t, tol=1e-12):
    assert tuple(d.shape) == tuple(t.shape)
    np.testing.assert_allclose(to_numpy(d), t.detach().numpy(), rtol=tol, atol=tol)


def same_packed(dp, tp):
    same(dp.data, tp.data)
    assert dp.batch_sizes.tolist() == tp.batch_sizes.tolist()
    assert dp.batch_sizes.dtype == dynet.int64
    for d, t in ((dp.sorted_indices, tp.sorted_indices),
                 (dp.unsorted_indices, tp.unsorted_indices)):
        assert (d is None) == (t is None)
        if d is not None:
            assert d.tolist() == t.tolist()


def backward_both(d_out, t_out, d_leaves, t_leaves):
    up = rand(*t_out.shape, seed=99)
    (t_out * torch.tensor(up)).sum().backward()
    (d_out * dynet.tensor(up)).sum().backward()
    for d, t in zip(d_leaves, t_leaves):
        same(d.grad, t.grad)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("feat", [(3,), (), (2, 2)])
def test_pad_sequence(batch_first, padding_side, feat):
    ts, ds = seqs(LENGTHS_MIXED, feat)
    t_out = trnn.pad_sequence(ts, batch_first=batch_first, padding_value=-1.5,
                              padding_side=padding_side)
    d_out = drnn.pad_sequence(ds, batch_first=batch_first, padding_value=-1.5,
                              padding_side=padding_side)
    same(d_out, t_out)
    backward_both(d_out, t_out, ds, ts)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted, lengths", [(True, LENGTHS_SORTED),
                                                     (False, LENGTHS_MIXED),
                                                     (False, LENGTHS_SORTED)])
@pytest.mark.parametrize("lengths_as_tensor", [False, True])
def test_pack_and_pad_packed_roundtrip(batch_first, enforce_sorted, lengths, lengths_as_tensor):
    shape = (len(lengths), 6, 3) if batch_first else (6, len(lengths), 3)
    x = rand(*shape)
    tx, dx = torch.tensor(x, requires_grad=True), dynet.tensor(x, requires_grad=True)
    t_len = torch.tensor(lengths) if lengths_as_tensor else lengths
    d_len = dynet.tensor(lengths) if lengths_as_tensor else lengths
    tp = trnn.pack_padded_sequence(tx, t_len, batch_first=batch_first,
                                   enforce_sorted=enforce_sorted)
    dp = drnn.pack_padded_sequence(dx, d_len, batch_first=batch_first,
                                   enforce_sorted=enforce_sorted)
    same_packed(dp, tp)
    for total in (None, 7):
        t_pad, t_l = trnn.pad_packed_sequence(tp, batch_first=batch_first, padding_value=2.0,
                                              total_length=total)
        d_pad, d_l = drnn.pad_packed_sequence(dp, batch_first=batch_first, padding_value=2.0,
                                              total_length=total)
        same(d_pad, t_pad)
        assert d_l.tolist() == t_l.tolist() and d_l.dtype == dynet.int64
    backward_both(d_pad, t_pad, [dx], [tx])


@pytest.mark.parametrize("enforce_sorted, lengths", [(True, LENGTHS_SORTED),
                                                     (False, LENGTHS_MIXED)])
def test_pack_sequence_and_unpack(enforce_sorted, lengths):
    ts, ds = seqs(lengths)
    tp = trnn.pack_sequence(ts, enforce_sorted=enforce_sorted)
    dp = drnn.pack_sequence(ds, enforce_sorted=enforce_sorted)
    same_packed(dp, tp)
    t_un, d_un = trnn.unpack_sequence(tp), drnn.unpack_sequence(dp)
    assert len(d_un) == len(t_un)
    for d, t in zip(d_un, t_un):
        same(d, t)
    backward_both(dp.data, tp.data, ds, ts)
    t_pad, t_len = trnn.pad_packed_sequence(tp, batch_first=True)
    for d, t in zip(drnn.unpad_sequence(dynet.tensor(t_pad.detach().numpy()),
                                        dynet.tensor(t_len.numpy()), batch_first=True),
                    trnn.unpad_sequence(t_pad, t_len, batch_first=True)):
        same(d, t)


def test_errors_match_torch():
    cases = [
        lambda lib, u: u.pad_sequence([]),
        lambda lib, u: u.pad_sequence([lib.ones(2)], padding_side="mid"),
        lambda lib, u: u.pack_padded_sequence(lib.ones(3, 2), [1, 2]),
        lambda lib, u: u.pack_padded_sequence(lib.ones(3, 2), [2, 0], enforce_sorted=False),
        lambda lib, u: u.pack_padded_sequence(lib.ones(3, 2), [1, 1, 1]),
        lambda lib, u: u.pack_sequence([lib.ones(2, 3), lib.ones(3, 3)]),
        lambda lib, u: u.pad_packed_sequence(u.pack_sequence([lib.ones(3, 1)]),
                                             total_length=2),
    ]
    for case in cases:
        with pytest.raises(Exception) as t_err:
            case(torch, trnn)
        with pytest.raises(type(t_err.value)) as d_err:
            case(dynet, drnn)
        assert str(d_err.value) == str(t_err.value)


def test_packed_sequence_namedtuple_and_to():
    p = drnn.pack_sequence([dynet.ones(2, 3), dynet.ones(1, 3)])
    data, batch_sizes, sorted_indices, unsorted_indices = p
    assert p._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    assert sorted_indices is None and unsorted_indices is None
    q = p.double()
    assert q.data.dtype == dynet.float64 and q.batch_sizes is p.batch_sizes
    assert p.to("cpu") is p and not p.is_cuda
    r = drnn.PackedSequence(p.data, p.batch_sizes, dynet.tensor([1, 0]))
    assert r.unsorted_indices.tolist() == [1, 0]


MODES = {
    "rnn": lambda m, **kw: m.RNN(3, 4, **kw),
    "lstm": lambda m, **kw: m.LSTM(3, 4, **kw),
    "lstm_proj": lambda m, **kw: m.LSTM(3, 4, proj_size=2, **kw),
    "gru": lambda m, **kw: m.GRU(3, 4, **kw),
}


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("enforce_sorted, lengths", [(True, LENGTHS_SORTED),
                                                     (False, LENGTHS_MIXED)])
@pytest.mark.parametrize("with_h0", [False, True])
def test_layers_take_packed_sequences(mode, bidirectional, enforce_sorted, lengths, with_h0):
    torch.manual_seed(0)
    tmod = MODES[mode](torch.nn, num_layers=2, bidirectional=bidirectional).double()
    dmod = MODES[mode](nn, num_layers=2, bidirectional=bidirectional).double()
    dmod.load_state_dict({k: dynet.tensor(v.detach().numpy())
                          for k, v in tmod.state_dict().items()})
    ts, ds = seqs(lengths)
    tp = trnn.pack_sequence(ts, enforce_sorted=enforce_sorted)
    dp = drnn.pack_sequence(ds, enforce_sorted=enforce_sorted)
    is_lstm = mode.startswith("lstm")
    d = 2 if bidirectional else 1
    shapes = [(2 * d, len(lengths), 2 if mode == "lstm_proj" else 4)]
    if is_lstm:
        shapes.append((2 * d, len(lengths), 4))
    states = [rand(*s, seed=7 + k) for k, s in enumerate(shapes)] if with_h0 else []
    t_st = [torch.tensor(s, requires_grad=True) for s in states]
    d_st = [dynet.tensor(s, requires_grad=True) for s in states]
    t_hx = (tuple(t_st) if is_lstm else t_st[0]) if states else None
    d_hx = (tuple(d_st) if is_lstm else d_st[0]) if states else None
    t_out, t_h = tmod(tp, t_hx)
    d_out, d_h = dmod(dp, d_hx)
    assert isinstance(d_out, drnn.PackedSequence)
    same_packed(d_out, t_out)
    t_h = t_h if is_lstm else (t_h,)
    d_h = d_h if is_lstm else (d_h,)
    for dd, tt in zip(d_h, t_h):
        same(dd, tt)
    t_pad, _ = trnn.pad_packed_sequence(t_out, batch_first=True)
    d_pad, _ = drnn.pad_packed_sequence(d_out, batch_first=True)
    same(d_pad, t_pad)
    ups = [rand(*t.shape, seed=20 + i) for i, t in enumerate((t_pad,) + tuple(t_h))]
    sum((t * torch.tensor(u)).sum() for t, u in zip((t_pad,) + tuple(t_h), ups)).backward()
    sum((t * dynet.tensor(u)).sum() for t, u in zip((d_pad,) + tuple(d_h), ups)).backward()
    for dd, tt in zip(ds + d_st, ts + t_st):
        same(dd.grad, tt.grad)
    tparams = dict(tmod.named_parameters())
    for name, p in dmod.named_parameters():
        np.testing.assert_allclose(to_numpy(p.grad), tparams[name].grad.numpy(), atol=1e-12,
                                   err_msg=name)


def test_packed_equals_per_sequence_runs():
    """Each sequence's packed result is what the layer gives that sequence alone."""
    m = nn.GRU(3, 4, bidirectional=True)
    _, ds = seqs(LENGTHS_MIXED)
    ds = [s.detach().float() for s in ds]
    out, h = m(drnn.pack_sequence(ds, enforce_sorted=False))
    padded, lengths = drnn.pad_packed_sequence(out)
    for j, s in enumerate(ds):
        alone, h_alone = m(s.unsqueeze(1))
        n = int(lengths[j])
        np.testing.assert_allclose(to_numpy(padded[:n, j]), to_numpy(alone[:, 0]), atol=1e-6)
        np.testing.assert_allclose(to_numpy(h[:, j]), to_numpy(h_alone[:, 0]), atol=1e-6)
