"""Shape ops: views, tiling, flipping, joining, splitting and padding, forward and gradients."""
import numpy as np
import pytest

import dynet
from dynet.ops.functions import pad
from core_utils import assert_close, check_grad, host, make, sample


def _np_pad(x, pads, mode, value=0.0):
    widths = [(0, 0)] * x.ndim
    for i in range(len(pads) // 2):
        widths[x.ndim - 1 - i] = (pads[2 * i], pads[2 * i + 1])
    np_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
               "circular": "wrap"}[mode]
    kw = {"constant_values": value} if mode == "constant" else {}
    return np.pad(x, widths, mode=np_mode, **kw)


# name: (dynet function, NumPy reference, input shape)
SHAPE_OPS = {
    "reshape": (lambda t: t.reshape(4, 3), lambda x: x.reshape(4, 3), (3, 4)),
    "reshape_infer": (lambda t: dynet.reshape(t, (-1, 2)), lambda x: x.reshape(-1, 2), (3, 4)),
    "view": (lambda t: t.contiguous().view(2, 6), lambda x: x.reshape(2, 6), (3, 4)),
    "view_flat": (lambda t: t.contiguous().view(-1), lambda x: x.reshape(-1), (3, 4)),
    "view_as": (lambda t: t.view_as(dynet.zeros(12)), lambda x: x.reshape(12), (3, 4)),
    "flatten": (lambda t: t.flatten(), lambda x: x.reshape(-1), (2, 3, 2)),
    "flatten_start1": (lambda t: dynet.flatten(t, 1), lambda x: x.reshape(2, -1), (2, 3, 2)),
    "flatten_range": (lambda t: t.flatten(0, 1), lambda x: x.reshape(6, 2), (2, 3, 2)),
    "squeeze_all": (lambda t: t.squeeze(), np.squeeze, (1, 3, 1)),
    "squeeze_dim": (lambda t: t.squeeze(0), lambda x: x[0], (1, 3, 1)),
    "squeeze_neg": (lambda t: dynet.squeeze(t, -1), lambda x: x[..., 0], (1, 3, 1)),
    "squeeze_noop": (lambda t: t.squeeze(1), lambda x: x, (1, 3, 1)),
    "unsqueeze0": (lambda t: t.unsqueeze(0), lambda x: x[None], (3, 4)),
    "unsqueeze_neg": (lambda t: dynet.unsqueeze(t, -1), lambda x: x[..., None], (3, 4)),
    "transpose": (lambda t: t.transpose(0, 2), lambda x: x.transpose(2, 1, 0), (2, 3, 4)),
    "transpose_neg": (lambda t: dynet.transpose(t, -1, -2), lambda x: x.swapaxes(-1, -2),
                      (2, 3, 4)),
    "permute": (lambda t: t.permute(2, 0, 1), lambda x: x.transpose(2, 0, 1), (2, 3, 4)),
    "permute_tuple": (lambda t: dynet.permute(t, (1, 2, 0)), lambda x: x.transpose(1, 2, 0),
                      (2, 3, 4)),
    "t": (lambda t: t.t(), lambda x: x.T, (3, 4)),
    "t_1d": (lambda t: t.t(), lambda x: x, (4,)),
    "T_property": (lambda t: t.T, lambda x: x.T, (3, 4)),
    "mT_property": (lambda t: t.mT, lambda x: x.swapaxes(-1, -2), (2, 3, 4)),
    "expand": (lambda t: t.expand(2, 3, 4), lambda x: np.broadcast_to(x, (2, 3, 4)), (3, 1)),
    "expand_minus1": (lambda t: t.expand(-1, 5), lambda x: np.broadcast_to(x, (3, 5)), (3, 1)),
    "expand_as": (lambda t: t.expand_as(dynet.zeros(2, 3, 4)),
                  lambda x: np.broadcast_to(x, (2, 3, 4)), (1, 4)),
    "repeat": (lambda t: t.repeat(2, 3), lambda x: np.tile(x, (2, 3)), (3, 4)),
    "repeat_new_dims": (lambda t: t.repeat(2, 1, 2), lambda x: np.tile(x, (2, 1, 2)), (3, 4)),
    "flip0": (lambda t: t.flip(0), lambda x: x[::-1], (3, 4)),
    "flip_both": (lambda t: dynet.flip(t, (0, 1)), lambda x: x[::-1, ::-1], (3, 4)),
    "movedim": (lambda t: t.movedim(0, 2), lambda x: np.moveaxis(x, 0, 2), (2, 3, 4)),
    "narrow": (lambda t: t.narrow(1, 1, 2), lambda x: x[:, 1:3], (3, 4)),
    "select": (lambda t: t.select(1, -1), lambda x: x[:, -1], (3, 4)),
    "unflatten": (lambda t: t.unflatten(1, (2, 2)), lambda x: x.reshape(3, 2, 2), (3, 4)),
    "pad_constant": (lambda t: pad(t, (1, 2)), lambda x: _np_pad(x, (1, 2), "constant"),
                     (3, 4)),
    "pad_constant_value": (lambda t: pad(t, (1, 0, 2, 1), value=0.5),
                           lambda x: _np_pad(x, (1, 0, 2, 1), "constant", 0.5), (3, 4)),
    "pad_reflect": (lambda t: pad(t, (2, 1), mode="reflect"),
                    lambda x: _np_pad(x, (2, 1), "reflect"), (2, 3, 4)),
    "pad_reflect_2d": (lambda t: pad(t, (2, 1, 1, 2), mode="reflect"),
                       lambda x: _np_pad(x, (2, 1, 1, 2), "reflect"), (1, 2, 3, 4)),
    "pad_replicate": (lambda t: pad(t, (2, 1, 1, 3), mode="replicate"),
                      lambda x: _np_pad(x, (2, 1, 1, 3), "replicate"), (1, 2, 3, 4)),
    "pad_circular": (lambda t: pad(t, (2, 1, 1, 2), mode="circular"),
                     lambda x: _np_pad(x, (2, 1, 1, 2), "circular"), (1, 2, 3, 4)),
}


@pytest.mark.parametrize("kind", ["contiguous", "transposed"])
@pytest.mark.parametrize("name", list(SHAPE_OPS))
def test_shape_op_forward(name, kind, device):
    fn, ref, shape = SHAPE_OPS[name]
    if kind == "transposed" and len(shape) < 2:
        pytest.skip("a 1-d tensor has no transposed layout")
    x = sample(shape, seed=21)
    assert_close(fn(make(x, device, kind=kind)), ref(x))


@pytest.mark.parametrize("name", list(SHAPE_OPS))
def test_shape_op_gradcheck(name, device):
    fn, _, shape = SHAPE_OPS[name]
    check_grad(fn, [sample(shape, seed=21)], device)


def test_shape_ops_on_0d_and_empty(device):
    s = make(np.array(2.5), device)
    assert s.reshape(1, 1).shape == (1, 1)
    assert s.unsqueeze(0).shape == (1,)
    assert s.flatten().shape == (1,)
    assert s.squeeze().shape == ()
    assert s.expand(3).tolist() == [2.5, 2.5, 2.5]
    e = make(np.zeros((0, 3)), device)
    assert e.reshape(3, 0).shape == (3, 0)
    assert e.t().shape == (3, 0)
    assert e.flatten().shape == (0,)
    assert e.repeat(2, 2).shape == (0, 6)
    assert dynet.cat([e, make(np.ones((2, 3)), device)]).shape == (2, 3)


# name: (dynet function of two tensors, NumPy reference, shape a, shape b)
JOINS = {
    "cat0": (lambda a, b: dynet.cat([a, b]), lambda a, b: np.concatenate([a, b]), (2, 3), (1, 3)),
    "cat1": (lambda a, b: dynet.cat((a, b), dim=1), lambda a, b: np.concatenate([a, b], 1),
             (2, 3), (2, 1)),
    "cat_neg": (lambda a, b: dynet.concat([a, b, a], -1),
                lambda a, b: np.concatenate([a, b, a], -1), (2, 3), (2, 2)),
    "stack0": (lambda a, b: dynet.stack([a, b]), lambda a, b: np.stack([a, b]), (2, 3), (2, 3)),
    "stack_last": (lambda a, b: dynet.stack((a, b, a), dim=-1),
                   lambda a, b: np.stack([a, b, a], -1), (2, 3), (2, 3)),
    "stack_0d": (lambda a, b: dynet.stack([a, b]), lambda a, b: np.stack([a, b]), (), ()),
}


@pytest.mark.parametrize("name", list(JOINS))
def test_join_forward_and_gradcheck(name, device):
    fn, ref, sa, sb = JOINS[name]
    a, b = sample(sa, seed=22), sample(sb, seed=23)
    assert_close(fn(make(a, device), make(b, device, kind="contiguous")), ref(a, b))
    check_grad(fn, [a, b], device)


def test_cat_gradient_only_for_inputs_that_need_it(device):
    a = make(np.ones((2, 2)), device, requires_grad=True)
    b = make(np.ones((1, 2)), device)
    (dynet.cat([a, b]) * make(np.arange(6.0).reshape(3, 2), device)).sum().backward()
    assert host(a.grad).tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert b.grad is None


def test_cat_promotes_dtypes(device):
    out = dynet.cat([dynet.tensor([1, 2], device=device), dynet.tensor([0.5], device=device)])
    assert out.dtype == dynet.float32 and out.tolist() == [1.0, 2.0, 0.5]


@pytest.mark.parametrize("split_arg, dim, sizes", [
    (2, 0, [2, 2, 1]), ([1, 4], 0, [1, 4]), (3, 1, [3]), (1, 1, [1, 1, 1])])
def test_split(split_arg, dim, sizes, device):
    x = sample((5, 3), seed=24)
    parts = make(x, device).split(split_arg, dim)
    assert [p.shape[dim] for p in parts] == sizes
    assert_close(dynet.cat(parts, dim), x)
    check_grad(lambda t: dynet.cat([p * (i + 1) for i, p in
                                    enumerate(dynet.split(t, split_arg, dim))], dim), [x], device)


@pytest.mark.parametrize("chunks, dim, sizes", [(3, 0, [2, 2, 1]), (4, 0, [2, 2, 1]),
                                                (2, 1, [2, 1]), (5, 0, [1, 1, 1, 1, 1])])
def test_chunk(chunks, dim, sizes, device):
    x = sample((5, 3), seed=25)
    parts = make(x, device).chunk(chunks, dim)
    assert [p.shape[dim] for p in parts] == sizes
    check_grad(lambda t: dynet.cat([p * (i + 2) for i, p in
                                    enumerate(dynet.chunk(t, chunks, dim))], dim), [x], device)


def test_unbind_and_iteration(device):
    x = sample((3, 2), seed=26)
    t = make(x, device, requires_grad=True)
    rows = t.unbind(0)
    assert len(rows) == 3 and rows[1].shape == (2,)
    assert_close(rows[2], x[2])
    sum(r * (i + 1) for i, r in enumerate(t)).sum().backward()
    assert host(t.grad).tolist() == [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]


def test_views_share_memory_in_no_grad(device):
    t = dynet.zeros(2, 3, device=device)
    v = t.view(6)
    v[0] = 5.0
    assert t[0, 0].item() == 5.0
    u = t.t()
    u[2, 1] = 7.0
    assert t[1, 2].item() == 7.0


def test_reshape_error_names_the_size(device):
    with pytest.raises(RuntimeError, match=r"shape '\[4, 4\]' is invalid for input of size 12"):
        dynet.ones(3, 4, device=device).reshape(4, 4)


def test_expand_error(device):
    with pytest.raises(RuntimeError, match="expanded size"):
        dynet.ones(3, 2, device=device).expand(3, 4)


def test_cat_error_names_shapes(device):
    with pytest.raises(RuntimeError, match=r"Sizes of tensors must match.*\[2, 3\].*\[2, 4\]"):
        dynet.cat([dynet.ones(2, 3, device=device), dynet.ones(2, 4, device=device)])


def test_stack_error_names_shapes(device):
    with pytest.raises(RuntimeError, match=r"\[2, 3\].*\[3, 2\]"):
        dynet.stack([dynet.ones(2, 3, device=device), dynet.ones(3, 2, device=device)])


def test_permute_rejects_bad_dims(device):
    t = dynet.ones(2, 3, device=device)
    with pytest.raises(RuntimeError):
        t.permute(0, 0)
    with pytest.raises(RuntimeError):
        t.permute(0)


def test_reflect_pad_too_large_raises(device):
    with pytest.raises(RuntimeError, match="Padding size"):
        pad(dynet.ones(1, 2, 3, device=device), (3, 0), mode="reflect")


def test_size_and_shape_are_dynet_size(device):
    t = dynet.zeros(2, 3, 4, device=device)
    assert isinstance(t.shape, dynet.Size) and t.shape == (2, 3, 4)
    assert repr(t.shape) == "dynet.Size([2, 3, 4])"
    assert t.size() == (2, 3, 4) and t.size(-1) == 4 and t.size(0) == 2
    assert t.shape.numel() == 24
