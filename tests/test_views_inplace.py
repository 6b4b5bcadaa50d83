"""Version counters, real views and in-place ops inside a recorded graph (issue 12, items 2-3).

Each case runs the same code on dynet and, where installed, on torch (CPU, float64), and
also checks a closed-form NumPy reference, so it means something without torch too.
"""
import numpy as np
import pytest

import dynet
from conftest import to_numpy

X0 = np.arange(12.0).reshape(3, 4) / 4 - 1  # fixed, distinct values: exact comparisons


def _torch():
    return pytest.importorskip("torch")


def leaf(lib, device, values=X0):
    dev = device if lib is dynet else "cpu"  # torch here is CPU-only
    return lib.tensor(np.array(values), dtype=lib.float64, device=dev, requires_grad=True)


def arrays(*tensors):
    return [np.asarray(to_numpy(t)) for t in tensors]


def same_as_torch(case, device):
    """case(lib, device) -> list of arrays; dynet's must equal torch's."""
    torch = _torch()
    got, want = case(dynet, device), case(torch, "cpu")
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    return got


def raises_like_torch(case, device, match):
    with pytest.raises(RuntimeError, match=match):
        case(dynet, device)
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match=match):
        case(torch, "cpu")


# ------------------------------------------------------------------ version counters

def test_versions_are_shared_by_views_and_detach_not_by_data(device):
    def case(lib, dev):
        a = lib.zeros(3, device=dev if lib is dynet else "cpu")
        v = a[:2]
        a.add_(1)
        a[0] = 2
        v.mul_(2)
        d = a.detach()
        d.add_(1)
        a.data.add_(1)  # .data: untracked
        return [np.array([a._version, v._version, d._version, a.data._version])]
    assert case(dynet, device)[0].tolist() == [4, 4, 4, 0]
    same_as_torch(case, device)


def test_every_inplace_writer_bumps_the_version(device):
    t = dynet.zeros(2, 3, device=device)
    writers = [lambda: t.add_(1), lambda: t.fill_(2), lambda: t.zero_(),
               lambda: t.copy_(dynet.ones(3, device=device)), lambda: t.uniform_(),
               lambda: t.normal_(), lambda: t.clamp_(0, 1), lambda: t.masked_fill_(t > 0, 1),
               lambda: t.__setitem__((0, 1), 5.0), lambda: t[1].sub_(1),
               lambda: dynet.exp2(t, out=t)]
    for i, w in enumerate(writers, 1):
        w()
        assert t._version == i


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"])
def test_optimizer_steps_bump_parameter_versions(name, device):
    lin = dynet.nn.Linear(3, 2).to(device)
    opt = getattr(dynet.optim, name)(lin.parameters(), lr=0.1)
    before = [p._version for p in lin.parameters()]
    lin(dynet.randn(4, 3, device=device)).sum().backward()
    opt.step()
    assert [p._version for p in lin.parameters()] == [v + 1 for v in before]


def _modified_message(shape, now, expected, of=None):
    what = rf"\[(dynet|torch)\.(cuda\.)?DoubleTensor \[{', '.join(map(str, shape))}\]\]"
    if of is not None:
        what += f", which is output 0 of {of},"
    return (r"one of the variables needed for gradient computation has been modified by an "
            rf"inplace operation: {what} is at version {now}; expected version {expected} "
            "instead")


def test_gan_pattern_step_between_forward_and_backward_raises(device):
    def case(lib, dev):
        dev = dev if lib is dynet else "cpu"
        g = lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.Tanh(), lib.nn.Linear(3, 3))
        d = lib.nn.Linear(3, 1)
        g, d = g.double().to(dev), d.double().to(dev)
        opt_g = lib.optim.SGD(g.parameters(), lr=0.1)
        loss_g = d(g(lib.ones(4, 3, dtype=lib.float64, device=dev))).sum()
        loss_g.backward(retain_graph=True)  # gradients from an earlier pass
        opt_g.step()  # then a step while loss_g's graph holds g's last weight
        loss_g.backward()
    raises_like_torch(case, device, "modified by an inplace operation")
    # in the right order the same code runs
    g = dynet.nn.Sequential(dynet.nn.Linear(3, 3), dynet.nn.Linear(3, 3)).to(device)
    opt_g = dynet.optim.SGD(g.parameters(), lr=0.1)
    loss_g = g(dynet.ones(4, 3, device=device)).sum()
    loss_g.backward()
    opt_g.step()


def test_data_batch_edited_after_forward_raises(device):
    def case(lib, dev):
        w = leaf(lib, dev)
        batch = lib.ones(5, 3, dtype=lib.float64, device=dev if lib is dynet else "cpu")
        loss = (batch @ w).sum()
        batch[0, 0] = 7.0  # the batch matmul saved for w's gradient
        loss.backward()
    raises_like_torch(case, device, _modified_message((5, 3), 1, 0))


def test_conv_input_edited_after_forward_raises(device):
    def case(lib, dev):
        dev = dev if lib is dynet else "cpu"
        conv = lib.nn.Conv2d(1, 2, 3).double().to(dev)
        batch = lib.ones(2, 1, 5, 5, dtype=lib.float64, device=dev)
        loss = conv(batch).sum()
        batch.mul_(2)
        loss.backward()
    raises_like_torch(case, device, _modified_message((2, 1, 5, 5), 1, 0))


def test_saved_output_modified_in_place_raises(device):
    def case(lib, dev):
        y = leaf(lib, dev).exp()  # exp saves its output
        y.add_(1)
        y.sum().backward()
    raises_like_torch(case, device, _modified_message((3, 4), 1, 0, of="Exp"))


def test_write_through_detach_is_tracked(device):
    def case(lib, dev):
        y = leaf(lib, dev).exp()
        y.detach().mul_(2)
        y.sum().backward()
    raises_like_torch(case, device, "modified by an inplace operation")


def test_write_through_data_is_untracked_and_uses_new_values(device):
    def case(lib, dev):
        x = leaf(lib, dev)
        w = leaf(lib, dev, values=np.ones((4, 2)))
        z = x @ w
        w.data.add_(1)  # untracked: backward uses the new w, as PyTorch does
        z.sum().backward()
        return arrays(x.grad) + [np.array([w._version])]
    got = case(dynet, device)
    np.testing.assert_array_equal(got[0], np.full((3, 4), 4.0))
    assert got[1].tolist() == [0]
    same_as_torch(case, device)


def test_second_backward_after_inplace_raises(device):
    def case(lib, dev):
        w = leaf(lib, dev)
        y = w * 1
        z = (y * w).sum()
        z.backward(retain_graph=True)
        y.add_(1)
        z.backward()
    # the tensor is named by its node at the time of the error, as PyTorch does
    raises_like_torch(case, device, _modified_message((3, 4), 1, 0, of="Add"))


def test_no_false_alarm_where_the_old_value_is_not_needed(device):
    def case(lib, dev):
        x = leaf(lib, dev)
        y = x * 1
        z = y * 2 + y / 4 + y.relu() + y.t().sum()  # none of these saves y itself
        y.add_(1)
        (z * z).sum().backward()
        return arrays(x.grad, y)
    got = case(dynet, device)
    z = 2 * X0 + X0 / 4 + np.maximum(X0, 0) + X0.sum()
    dz = 2 * z
    ref = dz * (2 + 0.25 + (X0 > 0)) + dz.sum()
    np.testing.assert_allclose(got[0], ref, rtol=1e-12)
    np.testing.assert_allclose(got[1], X0 + 1)
    same_as_torch(case, device)


# ------------------------------------------------------------------ views in a graph

def test_inplace_on_slice_updates_base_and_gradients(device):
    def case(lib, dev):
        x = leaf(lib, dev)
        y = x * 1
        v = y[:2]
        c = (x[:2] + 2).detach()
        v.add_(1)
        v.mul_(c)  # v <- (x + 1)(x + 2) on rows 0-1
        ((y * y).sum() + (v * 3).sum()).backward()
        return arrays(y, v, x.grad)
    got = case(dynet, device)
    y = X0.copy()
    y[:2] = (X0[:2] + 1) * (X0[:2] + 2)
    np.testing.assert_allclose(got[0], y)
    np.testing.assert_allclose(got[1], y[:2])
    g = 2 * X0.copy()
    g[:2] = (2 * y[:2] + 3) * (X0[:2] + 2)  # d/dx of v = (x+1) * c, c = x+2 held constant
    np.testing.assert_allclose(got[2], g, rtol=1e-12)
    same_as_torch(case, device)


def test_inplace_on_transpose_updates_base_and_gradients(device):
    def case(lib, dev):
        x = leaf(lib, dev)
        y = x * 1
        y.t().mul_(2)
        w = lib.arange(12.0, dtype=lib.float64, device=dev if lib is dynet else "cpu")
        (y * w.reshape(3, 4)).sum().backward()
        return arrays(y, x.grad)
    got = case(dynet, device)
    np.testing.assert_allclose(got[0], 2 * X0)
    np.testing.assert_allclose(got[1], 2 * np.arange(12.0).reshape(3, 4))
    same_as_torch(case, device)


def test_view_stays_current_after_base_inplace(device):
    def case(lib, dev):
        x = leaf(lib, dev)
        y = x * 1
        v = y[:2]
        c = (x + 1).detach()
        y.add_(1)
        y.mul_(c)  # y <- (x + 1) * const
        assert v.grad_fn is not None
        ((v * v).sum() + y.sum()).backward()
        return arrays(v, x.grad)
    got = case(dynet, device)
    c = X0 + 1
    y = c * c
    np.testing.assert_allclose(got[0], y[:2])
    g = c.copy()
    g[:2] += 2 * y[:2] * c[:2]
    np.testing.assert_allclose(got[1], g, rtol=1e-12)
    same_as_torch(case, device)


def test_sibling_views_and_view_of_view(device):
    def case(lib, dev):
        x = leaf(lib, dev)
        y = x * 1
        a, b = y[0], y[1]
        a.mul_(3)
        y.view(12)[5:9].add_(y.view(12)[0:4])  # row 1 += the new row 0
        (b * a).sum().backward()
        return arrays(y, a, b, x.grad)
    got = case(dynet, device)
    y = X0.copy()
    y[0] *= 3
    y.reshape(12)[5:9] += y.reshape(12)[0:4]
    np.testing.assert_allclose(got[0], y)
    np.testing.assert_allclose(got[1], y[0])
    np.testing.assert_allclose(got[2], y[1])
    same_as_torch(case, device)


def test_setitem_and_copy_through_views(device):
    def case(lib, dev):
        x = leaf(lib, dev)
        w = leaf(lib, dev, values=[5.0, 6.0, 7.0])
        y = x * 1
        col = y[:, 1]
        col[0] = w[0] * 2  # __setitem__ on a view
        y[1:, 2:].copy_(w[1:].reshape(2, 1))  # copy_ into a strided view, broadcast
        (y * y).sum().backward()
        return arrays(y, x.grad, w.grad)
    got = case(dynet, device)
    y = X0.copy()
    y[0, 1] = 10.0
    y[1:, 2:] = np.array([[6.0], [7.0]])
    np.testing.assert_allclose(got[0], y)
    gx = 2 * X0
    gx[0, 1] = 0
    gx[1:, 2:] = 0
    np.testing.assert_allclose(got[1], gx)
    np.testing.assert_allclose(got[2], [4 * 10.0, 2 * 2 * 6.0, 2 * 2 * 7.0])
    same_as_torch(case, device)


def test_zero_d_and_empty_views(device):
    def case(lib, dev):
        x = leaf(lib, dev)
        y = x * 1
        y[1, 2].mul_(5)  # a 0-d view
        y[:0].add_(1)  # an empty one
        y[:, 3:].sub_(y[:, :1])  # non-contiguous view, other operand a view of the base too
        (y ** 2).sum().backward()
        return arrays(y, x.grad)
    got = case(dynet, device)
    y = X0.copy()
    y[1, 2] *= 5
    y[:, 3] -= y[:, 0]
    np.testing.assert_allclose(got[0], y)
    g = 2 * y
    g[1, 2] *= 5
    g[:, 0] -= 2 * y[:, 3]
    np.testing.assert_allclose(got[1], g, rtol=1e-12)
    same_as_torch(case, device)


def test_view_of_plain_tensor_gets_history_from_inplace(device):
    def case(lib, dev):
        dev = dev if lib is dynet else "cpu"
        a = lib.zeros(3, 4, dtype=lib.float64, device=dev)
        v = a[1:]
        w = leaf(lib, dev)
        a.add_(w)  # a now requires grad; the view follows its base
        assert v.requires_grad and v.grad_fn is not None
        v[0].mul_(2)
        (a * 3).sum().backward()
        return arrays(a, v, w.grad)
    got = case(dynet, device)
    a = X0.copy()
    a[1] *= 2
    np.testing.assert_allclose(got[0], a)
    np.testing.assert_allclose(got[1], a[1:])
    g = np.full((3, 4), 3.0)
    g[1] = 6.0
    np.testing.assert_allclose(got[2], g)
    same_as_torch(case, device)


def test_reshape_copy_is_not_a_view(device):
    def case(lib, dev):
        x = leaf(lib, dev)
        y = x * 1
        r = y.t().reshape(12)  # non-contiguous: a copy
        r.add_(1)
        (y.sum() + r.sum()).backward()
        return arrays(y, x.grad)
    got = case(dynet, device)
    np.testing.assert_allclose(got[0], X0)
    np.testing.assert_allclose(got[1], np.full((3, 4), 2.0))
    same_as_torch(case, device)


def test_hooks_and_retain_grad_follow_a_view_whose_history_changed(device):
    x = leaf(dynet, device)
    y = x * 1
    v = y[0]
    v.retain_grad()
    seen = []
    v.register_hook(lambda g: seen.append(to_numpy(g)))
    y.mul_(2)  # v's history is regenerated from y's new node
    (v * v).sum().backward()
    np.testing.assert_allclose(to_numpy(v.grad), 4 * X0[0])
    np.testing.assert_allclose(seen[0], 4 * X0[0])
    np.testing.assert_allclose(to_numpy(x.grad)[0], 8 * X0[0])


def test_gradcheck_through_inplace_on_views(device):
    def f(x):
        y = x * 1
        y[1:].mul_(x[:2])
        y.t()[::2].add_(y[0, 0])
        return y.sin()
    x = dynet.tensor(np.random.default_rng(0).normal(size=(3, 4)), dtype=dynet.float64,
                     device=device, requires_grad=True)
    assert dynet.autograd.gradcheck(f, (x,))


# ------------------------------------------------------------------ errors as PyTorch's

@pytest.mark.parametrize("make_view", [lambda x: x[:2], lambda x: x[:2][0], lambda x: x.t(),
                                       lambda x: x.view(12)])
def test_inplace_on_a_view_of_a_leaf_raises(make_view, device):
    def case(lib, dev):
        make_view(leaf(lib, dev)).add_(1)
    raises_like_torch(case, device, "^a view of a leaf Variable that requires grad is being "
                                    r"used in an in-place operation\.$")

    def setitem(lib, dev):
        make_view(leaf(lib, dev))[0] = 1.0
    raises_like_torch(setitem, device, "a view of a leaf Variable that requires grad")


def test_inplace_on_leaf_still_allowed_under_no_grad(device):
    x = leaf(dynet, device)
    with dynet.no_grad():
        x[:2].mul_(0)
        x.t()[0].fill_(1)
    expected = X0.copy()
    expected[:2] = 0
    expected[:, 0] = 1
    np.testing.assert_array_equal(to_numpy(x), expected)
    assert x._version == 2


def test_view_made_under_no_grad_modified_with_grad_raises(device):
    def case(lib, dev):
        y = leaf(lib, dev) * 1
        with lib.no_grad():
            v = y[:2]
        v.add_(1)
    raises_like_torch(case, device, "A view was created in no_grad mode and is being modified "
                                    "inplace with grad mode enabled")


@pytest.mark.parametrize("split, name", [(lambda y: y.unbind(0), "Unbind"),
                                         (lambda y: y.split(2), "Split"),
                                         (lambda y: y.chunk(2), "Split"),
                                         (lambda y: y.split([1, 2]), "SplitWithSizes")])
def test_inplace_on_multi_output_view_raises(split, name, device):
    def case(lib, dev):
        split(leaf(lib, dev) * 1)[0].add_(1)
    raises_like_torch(case, device, f"Output 0 of {name} is a view and is being modified "
                                    "inplace. This view is the output of a function that "
                                    "returns multiple views")

    def plain(lib, dev):  # outside a graph the same write is fine
        a = lib.zeros(3, 4, device=dev if lib is dynet else "cpu")
        split(a)[0].add_(1)
        return arrays(a)
    assert plain(dynet, device)[0].sum() == split(dynet.zeros(3, 4))[0].numel()
    same_as_torch(plain, device)


def test_expanded_write_raises_on_every_device(device):
    y = dynet.zeros(1, 3, device=device)
    for write in (lambda e: e.add_(1), lambda e: e.fill_(1),
                  lambda e: e.__setitem__(0, 1.0)):
        with pytest.raises(RuntimeError, match="more than one element of the written-to"):
            write(y.expand(2, 3))
    assert to_numpy(y).sum() == 0
