"""The autograd engine: backward, grad accumulation, graph freeing, grad mode, autograd.grad,
hooks, custom Functions, gradcheck itself, in-place rules and the known regression traps."""
import numpy as np
import pytest

import dynet
from dynet.autograd import Function, GradcheckError, gradcheck
from core_utils import assert_close, host, make, sample


def leaf(values, device, dtype=dynet.float32):
    return dynet.tensor(values, dtype=dtype, device=device, requires_grad=True)


# --------------------------------------------------------------------- backward()

def test_scalar_backward_needs_no_gradient(device):
    x = leaf([1.0, 2.0], device)
    (x * x).sum().backward()
    assert host(x.grad).tolist() == [2.0, 4.0]
    assert x.grad.dtype == dynet.float32 and x.grad.device == x.device


def test_non_scalar_backward_needs_a_gradient(device):
    x = leaf([1.0, 2.0], device)
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        (x * 2).backward()


def test_backward_with_explicit_gradient(device):
    x = leaf([1.0, 2.0], device)
    (x * 3).backward(gradient=dynet.tensor([1.0, 0.5], device=device))
    assert host(x.grad).tolist() == [3.0, 1.5]


def test_backward_gradient_shape_mismatch_raises(device):
    x = leaf([1.0, 2.0], device)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 3).backward(dynet.ones(3, device=device))


def test_backward_on_tensor_without_grad_raises(device):
    with pytest.raises(RuntimeError, match="does not require grad"):
        (dynet.ones(2, device=device) * 2).sum().backward()


def test_create_graph_is_not_supported(device):
    x = leaf([1.0], device)
    with pytest.raises(NotImplementedError):
        (x * x).sum().backward(create_graph=True)


def test_gradients_accumulate_on_leaves(device):
    x = leaf([1.0, 2.0], device)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    assert host(x.grad).tolist() == [5.0, 7.0]


def test_grad_is_written_only_on_leaves(device):
    x = leaf([1.0, 2.0], device)
    h = x * 2
    (h * h).sum().backward()
    assert h.grad is None and not h.is_leaf and x.is_leaf
    assert host(x.grad).tolist() == [8.0, 16.0]


def test_retain_grad_keeps_intermediate_gradient(device):
    x = leaf([1.0, 2.0], device)
    h = x * 2
    h.retain_grad()
    assert h.retains_grad
    (h * h).sum().backward()
    assert host(h.grad).tolist() == [4.0, 8.0]


def test_second_backward_without_retain_graph_raises(device):
    x = leaf([1.0, 2.0], device)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_two_backwards_that_accumulate(device):
    x = leaf([1.0, 2.0], device)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert host(x.grad).tolist() == [4.0, 8.0]


def test_saved_arrays_are_freed_after_backward(device):
    x = leaf([1.0, 2.0], device)
    y = x * x
    node = y.grad_fn
    assert node.saved_tensors
    y.sum().backward()
    assert node.saved_tensors is None and node.released


def test_ten_thousand_op_chain(device):
    x = leaf([1.0], device, dtype=dynet.float64)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    assert_close(x.grad, [1.0001 ** 10_000], rtol=1e-9)


def test_ten_thousand_deep_shared_leaf(device):
    x = leaf([1.0], device, dtype=dynet.float64)
    y = x
    for _ in range(10_000):
        y = y + x
    y.backward(dynet.ones(1, dtype=dynet.float64, device=device))
    assert host(x.grad).tolist() == [10_001.0]


def test_backward_on_a_leaf(device):
    x = leaf([1.0, 2.0], device)
    x.backward(dynet.tensor([3.0, 4.0], device=device))
    assert host(x.grad).tolist() == [3.0, 4.0]


def test_caller_gradient_is_not_aliased_into_grad(device):
    x = leaf([1.0, 2.0], device)
    g = dynet.ones(2, device=device)
    x.backward(g)
    g[0] = 100.0
    assert host(x.grad).tolist() == [1.0, 1.0]


def test_leaf_grads_do_not_share_buffers(device):
    a, b = leaf([1.0, 2.0], device), leaf([1.0, 2.0], device)
    (a + b).sum().backward()
    a.grad[0] = 9.0
    assert host(b.grad).tolist() == [1.0, 1.0]
    c = leaf([1.0], device)
    c.expand(3).sum().backward()
    c.grad.add_(1)
    assert host(c.grad).tolist() == [4.0]


def test_grad_zero_in_place(device):
    x = leaf([1.0, 2.0], device)
    (x * x).sum().backward()
    x.grad.zero_()
    assert host(x.grad).tolist() == [0.0, 0.0]
    (x * 3).sum().backward()
    assert host(x.grad).tolist() == [3.0, 3.0]


def test_float32_leaf_through_float64_gets_float32_grad(device):
    x = leaf([1.0, 2.0], device)
    (x.double() * 2).sum().backward()
    assert x.grad.dtype == dynet.float32 and host(x.grad).tolist() == [2.0, 2.0]


def test_integer_casts_leave_the_graph(device):
    x = leaf([1.5, 2.5], device)
    assert not x.long().requires_grad
    assert not (x > 1).requires_grad and not x.argmax().requires_grad


def test_grad_fn_and_next_functions(device):
    x = leaf([1.0, 2.0], device)
    y = x * 2
    z = y.exp().sum()
    assert y.grad_fn.name() == "MulBackward0"
    assert z.grad_fn.name() == "SumBackward0"
    assert "MulBackward0" in repr(y) and x.grad_fn is None
    (exp_node, _), = z.grad_fn.next_functions
    assert exp_node.name() == "ExpBackward0"
    assert exp_node.next_functions[0][0] is y.grad_fn


# --------------------------------------------------------------------- regression traps

def test_x_minus_x_has_zero_gradient(device):
    x = leaf([1.0, 2.0], device)
    (x - x).sum().backward()
    assert host(x.grad).tolist() == [0.0, 0.0]


def test_x_over_x_has_zero_gradient(device):
    x = leaf([1.0, 2.0, 4.0], device, dtype=dynet.float64)
    (x / x).sum().backward()
    assert_close(x.grad, [0.0, 0.0, 0.0], atol=1e-12)


def test_shared_input_used_twice(device):
    x = leaf([1.0, -3.0], device)
    (x * x).sum().backward()
    assert host(x.grad).tolist() == [2.0, -6.0]


def test_broadcast_3x1_times_2x3x4(device):
    a = make(sample((3, 1), seed=41), device, requires_grad=True)
    b = make(sample((2, 3, 4), seed=42), device, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (2, 3, 4)
    assert_close(a.grad, host(b).sum(axis=(0, 2))[:, None])
    assert_close(b.grad, np.broadcast_to(host(a), (2, 3, 4)))


def test_diamond_graph(device):
    x = leaf([2.0], device)
    a, b = x * 3, x * x
    (a * b).sum().backward()  # d/dx 3x^3 = 9x^2
    assert host(x.grad).tolist() == [36.0]


def test_shape_errors_name_both_shapes(device):
    with pytest.raises(RuntimeError, match=r"\(2, 3\).*\(4,\)"):
        dynet.ones(2, 3, device=device) + dynet.ones(4, device=device)
    with pytest.raises(RuntimeError, match=r"\(2, 3\).*\(2,\)"):
        dynet.ones(2, 3, device=device) * dynet.ones(2, device=device)
    with pytest.raises(RuntimeError, match=r"2x3 and 2x3"):
        dynet.ones(2, 3, device=device) @ dynet.ones(2, 3, device=device)
    with pytest.raises(RuntimeError, match=r"\(2, 2, 3\).*\(3, 3, 2\)"):
        dynet.ones(2, 2, 3, device=device) @ dynet.ones(3, 3, 2, device=device)
    with pytest.raises(RuntimeError, match=r"\(2, 2, 3\).*\(2, 4, 3\)"):
        dynet.bmm(dynet.ones(2, 2, 3, device=device), dynet.ones(2, 4, 3, device=device))


def test_mixed_devices_raise(device):
    if device != "cuda":
        pytest.skip("needs a GPU to have two devices")
    message = ("Expected all tensors to be on the same device, but found at least two "
               "devices, cuda:0 and cpu!")
    a, b = dynet.ones(2, device="cuda"), dynet.ones(2)
    for fn in (lambda: a + b, lambda: b * a, lambda: dynet.cat([b, a]),
               lambda: dynet.matmul(a, b)):
        with pytest.raises(RuntimeError) as info:
            fn()
        assert message in str(info.value) or "cpu and cuda:0" in str(info.value)


# --------------------------------------------------------------------- grad mode

def test_no_grad_context(device):
    x = leaf([1.0], device)
    with dynet.no_grad():
        assert not dynet.is_grad_enabled()
        y = x * 2
    assert dynet.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_no_grad_decorator_with_and_without_parentheses(device):
    x = leaf([1.0], device)

    @dynet.no_grad()
    def f():
        return x * 2

    @dynet.no_grad
    def g():
        return x * 2

    assert not f().requires_grad and not g().requires_grad
    assert dynet.is_grad_enabled() and f.__name__ == "f"


def test_enable_grad_inside_no_grad(device):
    x = leaf([1.0], device)
    with dynet.no_grad():
        with dynet.enable_grad():
            y = x * 2
        z = x * 2

    @dynet.enable_grad()
    def h():
        return x * 2

    with dynet.no_grad():
        w = h()
    assert y.requires_grad and not z.requires_grad and w.requires_grad


def test_set_grad_enabled_as_function_context_and_decorator(device):
    x = leaf([1.0], device)
    with dynet.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    dynet.set_grad_enabled(False)
    try:
        assert not dynet.is_grad_enabled()
    finally:
        dynet.set_grad_enabled(True)

    @dynet.set_grad_enabled(False)
    def f():
        return dynet.is_grad_enabled()

    assert dynet.is_grad_enabled() and f() is False and dynet.is_grad_enabled()


def test_grad_mode_restored_after_exception(device):
    with pytest.raises(ValueError):
        with dynet.no_grad():
            raise ValueError("boom")
    assert dynet.is_grad_enabled()


def test_inference_mode(device):
    x = leaf([1.0], device)
    with dynet.inference_mode():
        assert not (x * 2).requires_grad
    with dynet.inference_mode(False):
        assert (x * 2).requires_grad


def test_requires_grad_propagates(device):
    x = leaf([1.0], device)
    c = dynet.ones(1, device=device)
    assert (x + c).requires_grad and not (c + c).requires_grad
    assert not x.detach().requires_grad and x.detach().is_leaf


# --------------------------------------------------------------------- autograd.grad

def test_autograd_grad_leaves_dot_grad_untouched(device):
    x, y = leaf([1.0, 2.0], device), leaf([3.0, 4.0], device)
    gx, gy = dynet.autograd.grad((x * y).sum(), [x, y])
    assert host(gx).tolist() == [3.0, 4.0] and host(gy).tolist() == [1.0, 2.0]
    assert x.grad is None and y.grad is None


def test_autograd_grad_with_grad_outputs_and_retain_graph(device):
    x = leaf([1.0, 2.0], device)
    y = x * x
    (g,) = dynet.autograd.grad(y, x, grad_outputs=dynet.tensor([1.0, 3.0], device=device),
                               retain_graph=True)
    assert host(g).tolist() == [2.0, 12.0]
    (g2,) = dynet.autograd.grad(y.sum(), x)
    assert host(g2).tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="second time"):
        dynet.autograd.grad(y.sum(), x)


def test_autograd_grad_of_intermediate(device):
    x = leaf([1.0, 2.0], device)
    h = x * 2
    (g,) = dynet.autograd.grad((h * h).sum(), h)
    assert host(g).tolist() == [4.0, 8.0]


def test_autograd_grad_unused_input(device):
    x, y = leaf([1.0], device), leaf([1.0], device)
    with pytest.raises(RuntimeError, match="allow_unused"):
        dynet.autograd.grad((x * 2).sum(), [x, y], retain_graph=True)
    gx, gy = dynet.autograd.grad((x * 2).sum(), [x, y], allow_unused=True)
    assert host(gx).tolist() == [2.0] and gy is None


def test_autograd_backward_function(device):
    x = leaf([1.0, 2.0], device)
    dynet.autograd.backward([(x * x).sum()])
    assert host(x.grad).tolist() == [2.0, 4.0]


# --------------------------------------------------------------------- hooks

def test_register_hook_modifies_leaf_grad(device):
    x = leaf([1.0, 2.0], device)
    x.register_hook(lambda g: g * 10)
    (x * x).sum().backward()
    assert host(x.grad).tolist() == [20.0, 40.0]


def test_hook_on_intermediate_changes_upstream_grads(device):
    x = leaf([1.0, 2.0], device)
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(host(g).tolist()))
    h.register_hook(lambda g: g * 0)
    (h * h).sum().backward()
    assert seen == [[4.0, 8.0]]
    assert host(x.grad).tolist() == [0.0, 0.0]


def test_hook_handle_remove(device):
    x = leaf([1.0, 2.0], device)
    handle = x.register_hook(lambda g: g * 10)
    handle.remove()
    (x * x).sum().backward()
    assert host(x.grad).tolist() == [2.0, 4.0]


def test_hook_on_tensor_without_grad_raises(device):
    with pytest.raises(RuntimeError):
        dynet.ones(2, device=device).register_hook(lambda g: g)


# --------------------------------------------------------------------- custom Functions

class Cube(Function):
    @staticmethod
    def forward(ctx, a, scale=1.0):
        ctx.save_for_backward(a)
        ctx.scale = scale
        return a * a * a * scale

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * 3 * a * a * ctx.scale


class BuggyCube(Cube):
    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * 2 * a * a  # wrong on purpose: gradcheck must notice


class MulAdd(Function):
    """a * b + c, returning one gradient per positional argument."""

    @staticmethod
    def forward(ctx, a, b, c):
        ctx.save_for_backward(a, b)
        return a * b + c

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (grad * b if ctx.needs_input_grad[0] else None,
                grad * a if ctx.needs_input_grad[1] else None,
                grad if ctx.needs_input_grad[2] else None)


def test_custom_function_forward_backward(device):
    x = leaf([1.0, 2.0], device)
    y = Cube.apply(x, scale=2.0)
    assert host(y).tolist() == [2.0, 16.0]
    assert y.grad_fn.name() == "CubeBackward0"
    y.sum().backward()
    assert host(x.grad).tolist() == [6.0, 24.0]


def test_custom_function_needs_input_grad(device):
    a = leaf([2.0], device)
    b = dynet.tensor([3.0], device=device)
    c = leaf([1.0], device)
    out = MulAdd.apply(a, b, c)
    assert out.grad_fn.needs_input_grad == (True, False, True)
    out.sum().backward()
    assert host(a.grad).tolist() == [3.0] and host(c.grad).tolist() == [1.0]
    assert b.grad is None


def test_custom_function_under_no_grad_records_nothing(device):
    x = leaf([1.0], device)
    with dynet.no_grad():
        y = Cube.apply(x)
    assert y.grad_fn is None and not y.requires_grad


def test_wrong_gradient_shape_is_caught(device):
    class BadShape(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            return grad.sum()

    with pytest.raises(RuntimeError, match="invalid gradient.*expected shape"):
        BadShape.apply(leaf([1.0, 2.0], device)).sum().backward()


# --------------------------------------------------------------------- gradcheck itself

def test_gradcheck_passes_a_correct_function(device):
    x = make(sample((2, 3), seed=43), device, requires_grad=True)
    assert gradcheck(lambda t: Cube.apply(t, scale=0.5), (x,))


def test_gradcheck_catches_a_wrong_backward(device):
    x = make(sample((2, 3), seed=44), device, requires_grad=True)
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradcheck(BuggyCube.apply, (x,))
    assert gradcheck(BuggyCube.apply, (x,), raise_exception=False) is False


def test_gradcheck_catches_a_wrong_backward_on_large_inputs(device):
    x = make(sample((10, 10), seed=45), device, requires_grad=True)
    with pytest.raises(GradcheckError):
        gradcheck(BuggyCube.apply, (x,))


def test_gradcheck_checks_every_output_and_input(device):
    def two_outputs(a, b):
        return MulAdd.apply(a, b, b), BuggyCube.apply(b)

    a = make(sample((3,), seed=46), device, requires_grad=True)
    b = make(sample((3,), seed=47), device, requires_grad=True)
    with pytest.raises(GradcheckError, match="output 1"):
        gradcheck(two_outputs, (a, b))


def test_gradcheck_rejects_float32(device):
    with pytest.raises(ValueError, match="float64"):
        gradcheck(lambda t: t * 2, (leaf([1.0], device),))


# --------------------------------------------------------------------- in-place rules

INPLACE = {
    "add_": (lambda t: t.add_(2), lambda x: x + 2),
    "add_alpha": (lambda t: t.add_(dynet.ones(3, device=t.device), alpha=3), lambda x: x + 3),
    "sub_": (lambda t: t.sub_(1.5), lambda x: x - 1.5),
    "mul_": (lambda t: t.mul_(-2), lambda x: x * -2),
    "div_": (lambda t: t.div_(4), lambda x: x / 4),
    "iadd_operator": (lambda t: t.__iadd__(1), lambda x: x + 1),
    "imul_operator": (lambda t: t.__imul__(3), lambda x: x * 3),
    "zero_": (lambda t: t.zero_(), np.zeros_like),
    "fill_": (lambda t: t.fill_(2.5), lambda x: np.full_like(x, 2.5)),
    "copy_": (lambda t: t.copy_(dynet.tensor([7.0, 8.0, 9.0], device=t.device)),
              lambda x: np.array([7.0, 8.0, 9.0])),
    "copy_broadcast": (lambda t: t.copy_(dynet.tensor(4.0, device=t.device)),
                       lambda x: np.full_like(x, 4.0)),
    "clamp_": (lambda t: t.clamp_(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5)),
    "masked_fill_": (lambda t: t.masked_fill_(t > 0, 0.0), lambda x: np.where(x > 0, 0.0, x)),
    "exp_": (lambda t: t.exp_(), np.exp),
}


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_under_no_grad_on_leaf(name, device):
    fn, ref = INPLACE[name]
    x = np.array([-1.0, 0.25, 2.0], dtype=np.float32)
    t = dynet.tensor(x, device=device, requires_grad=True)
    data_before = t._data
    with dynet.no_grad():
        out = fn(t)
    assert out is t and t.is_leaf and t.requires_grad
    assert t._data is data_before  # really in place: same buffer
    assert_close(t, ref(x.astype(np.float64)), rtol=1e-6)


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_on_leaf_requiring_grad_raises(name, device):
    fn, _ = INPLACE[name]
    t = dynet.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        fn(t)


def test_random_fills_under_no_grad(device):
    t = dynet.empty(2000, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        t.uniform_()
    with dynet.no_grad():
        t.uniform_(-2.0, 3.0)
        values = host(t)
        assert values.min() >= -2.0 and values.max() < 3.0 and values.std() > 1.0
        t.normal_(5.0, 0.1)
        assert abs(host(t).mean() - 5.0) < 0.05
    assert t.is_leaf and t.requires_grad


def test_inplace_on_graph_tensor_records_correct_gradient(device):
    x = leaf([1.0, 2.0], device)
    h = x * 2
    h.mul_(h)
    h.add_(1)
    assert host(h).tolist() == [5.0, 17.0]
    h.sum().backward()  # d/dx (2x)^2 = 8x
    assert host(x.grad).tolist() == [8.0, 16.0]


def test_fill_on_graph_tensor_cuts_the_gradient(device):
    x = leaf([1.0, 2.0], device)
    h = x * 2
    h.fill_(3.0)
    assert h.requires_grad
    (h * x).sum().backward()
    assert host(x.grad).tolist() == [3.0, 3.0]


def test_copy_from_graph_tensor_records_gradient(device):
    x = leaf([1.0, 2.0], device)
    y = dynet.zeros(2, device=device)
    y.copy_(x * 3)
    y.sum().backward()
    assert host(y).tolist() == [3.0, 6.0] and host(x.grad).tolist() == [3.0, 3.0]


def test_inplace_dtype_and_shape_rules(device):
    ints = dynet.tensor([1, 2], device=device)
    with pytest.raises(RuntimeError, match="can't be cast"):
        ints.add_(1.5)
    ints.mul_(3)
    assert ints.tolist() == [3, 6] and ints.dtype == dynet.int64
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        dynet.zeros(3, device=device).add_(dynet.ones(2, 3, device=device))
    rows = dynet.zeros(2, 3, device=device)
    rows.add_(dynet.tensor([1.0, 2.0, 3.0], device=device))
    assert rows.tolist() == [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    # the same rules hold while recording a graph
    h = leaf([1.0, 2.0], device) * 2
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        h.add_(dynet.ones(3, 2, device=device))
    h.add_(leaf([1.0, 1.0], device, dtype=dynet.float64))
    assert h.shape == (2,) and h.dtype == dynet.float32 and h.tolist() == [3.0, 5.0]


def test_inplace_write_to_expanded_cpu_tensor_is_runtime_error():
    # NumPy marks broadcast views read-only; PyTorch's error type is RuntimeError
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        dynet.ones(1, 3).expand(2, 3).add_(1)


def test_inplace_after_use_keeps_earlier_consumers_correct(device):
    x = leaf([1.0, 2.0], device)
    h = x * 2
    y = h + 1  # recorded before h changes: must keep seeing the old h
    h.mul_(3)
    (y + h).sum().backward()  # d/dx (2x + 1) + 6x = 8
    assert host(x.grad).tolist() == [8.0, 8.0]


def test_setitem_reading_the_same_tensor(device):
    x = leaf([1.0, 2.0, 3.0], device)
    h = x * 2
    h[0] = h[1] * 3
    (h * x).sum().backward()  # sum = 6 x1 x0 + 2 x1^2 + 2 x2^2
    assert host(x.grad).tolist() == [12.0, 14.0, 12.0]


def test_retain_grad_and_hooks_follow_inplace_rebinding(device):
    x = leaf([1.0, 2.0], device)
    h = x * 2
    h.retain_grad()
    seen = []
    h.register_hook(lambda g: seen.append(host(g).tolist()))
    h.add_(1)
    (h * 3).sum().backward()
    assert host(h.grad).tolist() == [3.0, 3.0]
    assert seen == [[3.0, 3.0]]
    assert host(x.grad).tolist() == [6.0, 6.0]


def test_backward_inputs_limits_accumulation(device):
    x, y = leaf([1.0, 2.0], device), leaf([3.0, 4.0], device)
    (x * y).sum().backward(inputs=[x])
    assert host(x.grad).tolist() == [3.0, 4.0] and y.grad is None
