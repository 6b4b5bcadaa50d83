"""Elementwise ops: forward against NumPy float64, finite-difference gradchecks, dtype rules."""
import numpy as np
import pytest

import dynet
from core_utils import assert_close, check_grad, host, make, sample


def _np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# name: (dynet function, NumPy reference, input domain)
UNARY = {
    "neg": (lambda t: -t, np.negative, "any"),
    "neg_method": (lambda t: t.neg(), np.negative, "any"),
    "exp": (dynet.exp, np.exp, "any"),
    "log": (dynet.log, np.log, "pos"),
    "log1p": (dynet.log1p, np.log1p, "pos"),
    "sqrt": (dynet.sqrt, np.sqrt, "pos"),
    "rsqrt": (dynet.rsqrt, lambda x: 1.0 / np.sqrt(x), "pos"),
    "abs": (dynet.abs, np.abs, "away0"),
    "abs_builtin": (abs, np.abs, "away0"),
    "sign": (dynet.sign, np.sign, "away0"),
    "sin": (dynet.sin, np.sin, "any"),
    "cos": (dynet.cos, np.cos, "any"),
    "tanh": (dynet.tanh, np.tanh, "any"),
    "sigmoid": (dynet.sigmoid, _np_sigmoid, "any"),
    "relu": (dynet.relu, lambda x: np.maximum(x, 0.0), "away0"),
    "square": (dynet.square, np.square, "any"),
    "reciprocal": (dynet.reciprocal, lambda x: 1.0 / x, "pos"),
    "clamp": (lambda t: dynet.clamp(t, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), "away0"),
    "clamp_min": (lambda t: t.clamp(min=0.1), lambda x: np.maximum(x, 0.1), "away0"),
    "clamp_max": (lambda t: t.clamp(max=-0.1), lambda x: np.minimum(x, -0.1), "away0"),
    "clip": (lambda t: dynet.clip(t, -0.3, 0.3), lambda x: np.clip(x, -0.3, 0.3), "away0"),
    "pow_scalar": (lambda t: t ** 3, lambda x: x ** 3, "any"),
    "pow_half": (lambda t: t ** 0.5, np.sqrt, "pos"),
    "rpow": (lambda t: 2.0 ** t, lambda x: 2.0 ** x, "any"),
}

SHAPES = {"2d": (3, 4), "0d": (), "empty": (0, 3), "transposed": (4, 3), "strided": (3, 4),
          "3d": (2, 3, 2)}


def _kind(case):
    return case if case in ("transposed", "strided") else "contiguous"


@pytest.mark.parametrize("case", list(SHAPES))
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_forward(name, case, device):
    fn, ref, domain = UNARY[name]
    x = sample(SHAPES[case], domain, seed=len(name))
    t = make(x, device, kind=_kind(case))
    out = fn(t)
    assert out.dtype == dynet.float64
    assert_close(out, ref(x))


@pytest.mark.parametrize("case", ["2d", "0d", "strided"])
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_gradcheck(name, case, device):
    fn, _, domain = UNARY[name]
    x = sample(SHAPES[case], domain, seed=len(name))
    # clamp-style kinks: keep the inputs off the bounds so finite differences are valid
    x = np.where(np.abs(np.abs(x) - 0.5) < 0.05, x + 0.1, x)
    x = np.where(np.abs(np.abs(x) - 0.3) < 0.05, x + 0.1, x)
    x = np.where(np.abs(np.abs(x) - 0.1) < 0.05, x + 0.15, x)
    check_grad(fn, [x], device, kinds=[_kind(case)])


# name: (dynet function of two tensors, NumPy reference, domain of a, domain of b)
BINARY = {
    "add": (lambda a, b: a + b, np.add, "any", "any"),
    "add_fn_alpha": (lambda a, b: dynet.add(a, b, alpha=2.5), lambda a, b: a + 2.5 * b,
                     "any", "any"),
    "sub": (lambda a, b: a - b, np.subtract, "any", "any"),
    "sub_fn_alpha": (lambda a, b: dynet.sub(a, b, alpha=0.5), lambda a, b: a - 0.5 * b,
                     "any", "any"),
    "mul": (lambda a, b: a * b, np.multiply, "any", "any"),
    "div": (lambda a, b: a / b, np.divide, "any", "away0"),
    "pow": (lambda a, b: a ** b, np.power, "pos", "any"),
    "maximum": (dynet.maximum, np.maximum, "any", "any"),
    "minimum": (dynet.minimum, np.minimum, "any", "any"),
    "where": (lambda a, b: dynet.where(a > b, a, b * 2), lambda a, b: np.where(a > b, a, b * 2),
              "any", "any"),
    "clamp_tensor_min": (lambda a, b: dynet.clamp(a, min=b), np.maximum, "any", "any"),
    "clamp_tensor_max": (lambda a, b: a.clamp(max=b), np.minimum, "any", "any"),
    "lerp": (lambda a, b: dynet.lerp(a, b, 0.25), lambda a, b: a + 0.25 * (b - a), "any", "any"),
}

PAIRS = {
    "same": ((3, 4), (3, 4)),
    "broadcast_3x1_2x3x4": ((3, 1), (2, 3, 4)),
    "broadcast_row": ((3, 4), (4,)),
    "zero_dim_right": ((3, 4), ()),
    "zero_dim_left": ((), (2, 3)),
    "both_0d": ((), ()),
    "empty": ((0, 3), (3,)),
}


@pytest.mark.parametrize("pair", list(PAIRS))
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_forward(name, pair, device):
    fn, ref, da, db = BINARY[name]
    sa, sb = PAIRS[pair]
    a, b = sample(sa, da, seed=1), sample(sb, db, seed=2)
    out = fn(make(a, device), make(b, device))
    assert_close(out, ref(a, b))


@pytest.mark.parametrize("pair", ["same", "broadcast_3x1_2x3x4", "zero_dim_right",
                                  "zero_dim_left"])
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_gradcheck(name, pair, device):
    fn, _, da, db = BINARY[name]
    sa, sb = PAIRS[pair]
    check_grad(fn, [sample(sa, da, seed=1), sample(sb, db, seed=2)], device)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])
def test_binary_non_contiguous_inputs(name, device):
    fn, ref, da, db = BINARY[name]
    a, b = sample((3, 4), da, seed=3), sample((3, 4), db, seed=4)
    ta, tb = make(a, device, kind="transposed"), make(b, device, kind="strided")
    assert_close(fn(ta, tb), ref(a, b))
    check_grad(fn, [a, b], device, kinds=["transposed", "strided"])


# scalar on either side: (dynet expression, NumPy reference)
SCALAR_CASES = {
    "add_right": (lambda t: t + 2, lambda x: x + 2),
    "add_left": (lambda t: 2.5 + t, lambda x: 2.5 + x),
    "sub_right": (lambda t: t - 1.5, lambda x: x - 1.5),
    "sub_left": (lambda t: 3 - t, lambda x: 3 - x),
    "mul_right": (lambda t: t * -2.0, lambda x: x * -2.0),
    "mul_left": (lambda t: 0.5 * t, lambda x: 0.5 * x),
    "div_right": (lambda t: t / 4, lambda x: x / 4),
    "div_left": (lambda t: 2 / t, lambda x: 2 / x),
    "pow_right": (lambda t: t ** 2, lambda x: x ** 2),
    "pow_left": (lambda t: 1.5 ** t, lambda x: 1.5 ** x),
    "numpy_scalar_right": (lambda t: t * np.float64(3.0), lambda x: x * 3.0),
    "numpy_scalar_left": (lambda t: np.float64(3.0) + t, lambda x: 3.0 + x),
}


@pytest.mark.parametrize("name", list(SCALAR_CASES))
def test_scalar_operands(name, device):
    fn, ref = SCALAR_CASES[name]
    x = sample((2, 3), "pos", seed=5)
    assert_close(fn(make(x, device)), ref(x))
    check_grad(fn, [x], device)


def test_scalar_operands_keep_float32(device):
    t = dynet.ones(3, device=device)
    for out in (t + 1, 2 * t, t / 3, 1 - t, t ** 2, 2.0 ** t, t * np.float64(2),
                np.float32(2) * t, t + dynet.tensor(1.0, dtype=dynet.float64, device=device)):
        assert out.dtype == dynet.float32


# (left operand, right operand, expected dtype): PyTorch's promotion rules
PROMOTION = {
    "int_times_float_scalar": (lambda d: dynet.tensor([1, 2], device=d), 1.5, dynet.float32),
    "int_plus_int_scalar": (lambda d: dynet.tensor([1, 2], device=d), 3, dynet.int64),
    "int32_plus_int_scalar": (lambda d: dynet.tensor([1], dtype=dynet.int32, device=d), 3,
                              dynet.int32),
    "int64_plus_float32": (lambda d: dynet.tensor([1, 2], device=d),
                           lambda d: dynet.tensor([1.0, 2.0], device=d), dynet.float32),
    "float32_plus_float64_0d": (lambda d: dynet.tensor([1.0], device=d),
                                lambda d: dynet.tensor(2.0, dtype=dynet.float64, device=d),
                                dynet.float32),
    "float32_plus_float64": (lambda d: dynet.tensor([1.0], device=d),
                             lambda d: dynet.tensor([2.0], dtype=dynet.float64, device=d),
                             dynet.float64),
    "int_plus_float64_0d": (lambda d: dynet.tensor([1], device=d),
                            lambda d: dynet.tensor(2.0, dtype=dynet.float64, device=d),
                            dynet.float64),
    "int32_plus_int64_0d": (lambda d: dynet.tensor([1], dtype=dynet.int32, device=d),
                            lambda d: dynet.tensor(2, device=d), dynet.int32),
    "float16_plus_float_scalar": (lambda d: dynet.tensor([1.0], dtype=dynet.float16,
                                                         device=d), 2.5, dynet.float16),
    "int64_plus_float16": (lambda d: dynet.tensor([1], device=d),
                           lambda d: dynet.tensor([1.0], dtype=dynet.float16, device=d),
                           dynet.float16),
    "bool_plus_int_scalar": (lambda d: dynet.tensor([True], device=d), 1, dynet.int64),
    "bool_plus_bool": (lambda d: dynet.tensor([True], device=d),
                       lambda d: dynet.tensor([False], device=d), dynet.bool),
    "uint8_plus_int8": (lambda d: dynet.tensor([1], dtype=dynet.uint8, device=d),
                        lambda d: dynet.tensor([1], dtype=dynet.int8, device=d), dynet.int16),
    "float_0d_plus_float64_0d": (lambda d: dynet.tensor(1.0, device=d),
                                 lambda d: dynet.tensor(1.0, dtype=dynet.float64, device=d),
                                 dynet.float64),
    "int_tensor_plus_numpy_float": (lambda d: dynet.tensor([1], device=d), np.float64(0.5),
                                    dynet.float32),
}


@pytest.mark.parametrize("name", list(PROMOTION))
def test_dtype_promotion(name, device):
    left, right, expected = PROMOTION[name]
    a = left(device)
    b = right(device) if callable(right) else right
    assert (a + b).dtype == expected
    assert (b + a).dtype == expected
    if expected != dynet.bool:
        assert (a * b).dtype == expected


def test_promotion_values(device):
    out = dynet.tensor([1, 2], device=device) * 1.5
    assert out.tolist() == [1.5, 3.0]
    out = dynet.tensor([1, 2], device=device) + dynet.tensor([0.5, 0.25], device=device)
    assert out.dtype == dynet.float32 and out.tolist() == [1.5, 2.25]


@pytest.mark.parametrize("expr, expected", [
    (lambda d: dynet.tensor([1, 2], device=d) / 2, dynet.float32),
    (lambda d: dynet.tensor([1, 2], device=d) / dynet.tensor([2, 4], device=d), dynet.float32),
    (lambda d: dynet.tensor([1, 2], device=d) ** 2, dynet.int64),
    (lambda d: dynet.tensor([1, 2], device=d) ** 0.5, dynet.float32),
    (lambda d: 2 ** dynet.tensor([1, 2], device=d), dynet.int64),
    (lambda d: dynet.tensor([1, 4], device=d).sqrt(), dynet.float32),
    (lambda d: dynet.tensor([0, 1], device=d).exp(), dynet.float32),
    (lambda d: dynet.clamp(dynet.tensor([1, 5], device=d), 0.5, 3), dynet.float32),
    (lambda d: dynet.clamp(dynet.tensor([1, 5], device=d), 2, 3), dynet.int64),
    (lambda d: dynet.where(dynet.tensor([True, False], device=d),
                           dynet.tensor([1, 2], device=d), 0.5), dynet.float32),
    (lambda d: dynet.where(dynet.tensor([True, False], device=d), 1.0, 0.0), dynet.float32),
    (lambda d: dynet.maximum(dynet.tensor([1], device=d), dynet.tensor([1.5], device=d)),
     dynet.float32),
    (lambda d: dynet.tensor([5, -5], device=d) // 2, dynet.int64),
    (lambda d: dynet.tensor([5, -5], device=d) // 2.0, dynet.float32),
    (lambda d: dynet.tensor([-1, 2], device=d).abs(), dynet.int64),
    (lambda d: dynet.tensor([1.5], dtype=dynet.float16, device=d) * dynet.tensor(
        [2], device=d), dynet.float16),
], ids=["int_div_scalar", "int_div_int", "int_pow_int", "int_pow_float", "int_rpow",
        "int_sqrt", "int_exp", "clamp_int_float_bounds", "clamp_int_int_bounds",
        "where_int_float", "where_scalars", "maximum_int_float", "floordiv_int",
        "floordiv_int_by_float", "abs_int", "half_times_long"])
def test_result_dtype(expr, expected, device):
    assert expr(device).dtype == expected


def test_rounding_division_matches_python(device):
    a = dynet.tensor([7, -7, 7, -7], device=device)
    b = dynet.tensor([2, 2, -2, -2], device=device)
    assert (a // b).tolist() == [7 // 2, -7 // 2, 7 // -2, -7 // -2]
    assert dynet.div(a, b, rounding_mode="trunc").tolist() == [3, -3, -3, 3]
    assert (a % b).tolist() == [7 % 2, -7 % 2, 7 % -2, -7 % -2]
    x = dynet.tensor([7.5, -7.5], device=device)
    assert (x // 2).tolist() == [3.0, -4.0]
    assert dynet.fmod(x, 2).tolist() == [1.5, -1.5]
    assert (x % 2).tolist() == [1.5, 0.5]


def test_maximum_ties_split_gradient(device):
    a = dynet.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    b = dynet.tensor([1.0, 5.0, 0.0], device=device, requires_grad=True)
    dynet.maximum(a, b).sum().backward()
    assert host(a.grad).tolist() == [0.5, 0.0, 1.0]
    assert host(b.grad).tolist() == [0.5, 1.0, 0.0]


def test_clamp_gradient_masks_clamped_entries(device):
    x = dynet.tensor([-2.0, 0.0, 2.0], device=device, requires_grad=True)
    x.clamp(-1, 1).sum().backward()
    assert host(x.grad).tolist() == [0.0, 1.0, 0.0]


def test_clamp_with_tensor_bounds_routes_gradient(device):
    x = dynet.tensor([-2.0, 0.0, 2.0], device=device, requires_grad=True)
    lo = dynet.tensor([-1.0, -1.0, -1.0], device=device, requires_grad=True)
    hi = dynet.tensor(1.0, device=device, requires_grad=True)
    out = dynet.clamp(x, lo, hi)
    assert host(out).tolist() == [-1.0, 0.0, 1.0]
    out.sum().backward()
    assert host(x.grad).tolist() == [0.0, 1.0, 0.0]
    assert host(lo.grad).tolist() == [1.0, 0.0, 0.0]
    assert host(hi.grad).tolist() == 1.0


def test_clamp_needs_a_bound(device):
    with pytest.raises(RuntimeError, match="min"):
        dynet.clamp(dynet.ones(2, device=device))


def test_where_gradient_goes_to_the_chosen_side(device):
    a = dynet.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    b = dynet.tensor([9.0, 9.0, 9.0], device=device, requires_grad=True)
    cond = dynet.tensor([True, False, True], device=device)
    dynet.where(cond, a, b).sum().backward()
    assert host(a.grad).tolist() == [1.0, 0.0, 1.0]
    assert host(b.grad).tolist() == [0.0, 1.0, 0.0]


def test_pow_gradient_at_zero_base(device):
    a = dynet.tensor([0.0, 1.0, 2.0], dtype=dynet.float64, device=device, requires_grad=True)
    b = dynet.tensor([2.0, 2.0, 2.0], dtype=dynet.float64, device=device, requires_grad=True)
    (a ** b).sum().backward()
    assert host(a.grad).tolist() == [0.0, 2.0, 4.0]
    assert np.all(np.isfinite(host(b.grad)))
    assert host(b.grad)[0] == 0.0


def test_sigmoid_is_stable_for_large_inputs(device):
    x = dynet.tensor([-1000.0, 0.0, 1000.0], device=device)
    assert host(dynet.sigmoid(x)).tolist() == [0.0, 0.5, 1.0]


@pytest.mark.parametrize("name, ref", [
    ("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
    ("gt", np.greater), ("ge", np.greater_equal)])
def test_comparisons(name, ref, device):
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    b = np.array([2.0, 2.0, 2.0])
    ta, tb = make(a, device, requires_grad=True), make(b, device)
    out = getattr(ta, name)(tb)
    assert out.dtype == dynet.bool and not out.requires_grad
    assert host(out).tolist() == ref(a, b).tolist()
    op = {"eq": "__eq__", "ne": "__ne__", "lt": "__lt__", "le": "__le__", "gt": "__gt__",
          "ge": "__ge__"}[name]
    assert host(getattr(ta, op)(2.0)).tolist() == ref(a, 2.0).tolist()


def test_logical_ops(device):
    a = dynet.tensor([True, True, False], device=device)
    b = dynet.tensor([True, False, False], device=device)
    assert dynet.logical_and(a, b).tolist() == [True, False, False]
    assert dynet.logical_or(a, b).tolist() == [True, True, False]
    assert (~a).tolist() == [False, False, True]
    assert (a & b).tolist() == [True, False, False]
    assert (a | b).tolist() == [True, True, False]


def test_rounding_ops_have_zero_gradient(device):
    x = dynet.tensor([-1.5, 0.25, 2.75], device=device, requires_grad=True)
    y = x.floor() + dynet.ceil(x) + dynet.round(x) + dynet.trunc(x) + x.sign()
    assert host(y).tolist() == [-7.0, 2.0, 11.0]
    y.sum().backward()
    assert host(x.grad).tolist() == [0.0, 0.0, 0.0]


def test_isnan_isinf_isfinite(device):
    x = dynet.tensor([1.0, float("nan"), float("inf")], device=device)
    assert x.isnan().tolist() == [False, True, False]
    assert x.isinf().tolist() == [False, False, True]
    assert x.isfinite().tolist() == [True, False, False]


# --------------------------------------------------------------------- matrix products

# name: (dynet function, shape a, shape b)
MATMULS = {
    "1d_1d": (lambda a, b: a @ b, (3,), (3,)),
    "1d_2d": (lambda a, b: a @ b, (3,), (3, 4)),
    "2d_1d": (lambda a, b: a @ b, (2, 3), (3,)),
    "2d_2d": (lambda a, b: a @ b, (2, 3), (3, 4)),
    "3d_3d": (lambda a, b: a @ b, (2, 2, 3), (2, 3, 4)),
    "batch_broadcast": (dynet.matmul, (2, 1, 2, 3), (4, 3, 2)),
    "3d_2d": (lambda a, b: a @ b, (2, 2, 3), (3, 4)),
    "3d_1d": (lambda a, b: a @ b, (2, 2, 3), (3,)),
    "1d_3d": (lambda a, b: a @ b, (3,), (2, 3, 4)),
    "mm": (dynet.mm, (2, 3), (3, 4)),
    "mm_method": (lambda a, b: a.mm(b), (2, 3), (3, 4)),
    "bmm": (dynet.bmm, (2, 2, 3), (2, 3, 4)),
    "mv": (dynet.mv, (2, 3), (3,)),
    "dot": (dynet.dot, (3,), (3,)),
    "empty_rows": (lambda a, b: a @ b, (0, 3), (3, 2)),
}


@pytest.mark.parametrize("kind", ["contiguous", "transposed"])
@pytest.mark.parametrize("name", list(MATMULS))
def test_matmul_forward(name, kind, device):
    fn, sa, sb = MATMULS[name]
    a, b = sample(sa, seed=51), sample(sb, seed=52)
    ka = kind if len(sa) >= 2 else "contiguous"
    kb = kind if len(sb) >= 2 else "contiguous"
    out = fn(make(a, device, kind=ka), make(b, device, kind=kb))
    assert_close(out, np.matmul(a, b), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in MATMULS if n != "empty_rows"])
def test_matmul_gradcheck(name, device):
    fn, sa, sb = MATMULS[name]
    check_grad(fn, [sample(sa, seed=51), sample(sb, seed=52)], device)


def test_matmul_integer_and_float32(device):
    a = dynet.tensor([[1, 2], [3, 4]], device=device)
    assert (a @ a).tolist() == [[7, 10], [15, 22]] and (a @ a).dtype == dynet.int64
    f = dynet.ones(2, 3, device=device) @ dynet.ones(3, device=device)
    assert f.dtype == dynet.float32 and f.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("fn, sa, sb, pattern", [
    (lambda a, b: a @ b, (2, 3), (4, 5), r"2x3 and 4x5"),
    (lambda a, b: a @ b, (3,), (4,), r"\(3,\).*\(4,\)|1x3 and 4x1"),
    (dynet.mm, (2, 3, 1), (1, 3), r"\(2, 3, 1\).*\(1, 3\)"),
    (dynet.bmm, (2, 2, 3), (3, 3, 2), r"\(2, 2, 3\).*\(3, 3, 2\)"),
    (lambda a, b: a @ b, (), (3,), r"0D and 1D"),
], ids=["inner_2d", "inner_1d", "mm_needs_2d", "bmm_batch", "zero_d"])
def test_matmul_shape_errors_name_both_shapes(fn, sa, sb, pattern, device):
    with pytest.raises(RuntimeError, match=pattern):
        fn(dynet.ones(*sa, device=device), dynet.ones(*sb, device=device))


@pytest.mark.parametrize("fn", [lambda a, b: a @ b, lambda a, b: dynet.nn.functional.linear(
    a, b.T)], ids=["matmul", "linear"])
def test_matrix_products_refuse_mixed_dtypes_like_pytorch(fn, device):
    a = dynet.ones(2, 3, dtype=dynet.float64, device=device)
    b = dynet.ones(3, 4, device=device)
    with pytest.raises(RuntimeError, match=r"same dtype.*float64 != dynet.float32"):
        fn(a, b)
