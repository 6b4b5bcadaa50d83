"""The extra elementwise ops (tan ... xlogy, bitwise, dynet.special): NumPy float64 references,
float64 gradchecks, PyTorch parity, dtype rules, in-place forms and out=."""
import math

import numpy as np
import pytest

import dynet
from core_utils import assert_close, check_grad, host, make, sample


def _vec(f):
    return lambda x: np.vectorize(f, otypes=[np.float64])(x) if np.size(x) else \
        np.zeros(np.shape(x))


def _lgamma_ref(x):
    return np.vectorize(lambda v: math.lgamma(v) if not (v <= 0 and v == int(v)) else np.inf,
                        otypes=[np.float64])(x) if np.size(x) else np.zeros(np.shape(x))


def _digamma_ref(x):
    # a NumPy reference independent of the implementation: the derivative of math.lgamma
    # by a high-order central difference is too noisy; use the series psi(x) = -gamma +
    # sum_k (1/(k+1) - 1/(k+x)), with the tail summed in closed form
    def one(v):
        n = 200000
        k = np.arange(n, dtype=np.float64)
        s = np.sum(1.0 / (k + 1) - 1.0 / (k + v))
        return -0.5772156649015329 + s + (v - 1) / n  # tail ~ (x - 1) / N
    return np.vectorize(one, otypes=[np.float64])(x) if np.size(x) else np.zeros(np.shape(x))


def _erfinv_ref(y):
    # Newton on math.erf from a coarse start, in float64
    def one(v):
        if abs(v) >= 1:
            return math.copysign(math.inf, v) if abs(v) == 1 else math.nan
        x = 0.0
        for _ in range(100):
            x -= (math.erf(x) - v) / (2 / math.sqrt(math.pi) * math.exp(-x * x))
        return x
    return np.vectorize(one, otypes=[np.float64])(y) if np.size(y) else np.zeros(np.shape(y))


def _np_sinc(x):
    return np.sinc(x)


# name: (dynet function, NumPy float64 reference, domain, torch name)
UNARY = {
    "tan": (dynet.tan, np.tan, "unit", "tan"),
    "asin": (dynet.asin, np.arcsin, "unit", "asin"),
    "acos": (dynet.acos, np.arccos, "unit", "acos"),
    "atan": (dynet.atan, np.arctan, "any", "atan"),
    "arctan_alias": (dynet.arctan, np.arctan, "any", "arctan"),
    "sinh": (dynet.sinh, np.sinh, "any", "sinh"),
    "cosh": (dynet.cosh, np.cosh, "any", "cosh"),
    "asinh": (dynet.asinh, np.arcsinh, "any", "asinh"),
    "acosh": (lambda t: dynet.acosh(t + 1.0), lambda x: np.arccosh(x + 1.0), "pos", None),
    "atanh": (dynet.atanh, np.arctanh, "unit", "atanh"),
    "erf": (dynet.erf, _vec(math.erf), "any", "erf"),
    "erfc": (dynet.erfc, _vec(math.erfc), "any", "erfc"),
    "erfinv": (dynet.erfinv, _erfinv_ref, "unit", "erfinv"),
    "exp2": (dynet.exp2, np.exp2, "any", "exp2"),
    "expm1": (dynet.expm1, np.expm1, "any", "expm1"),
    "log2": (dynet.log2, np.log2, "pos", "log2"),
    "log10": (dynet.log10, np.log10, "pos", "log10"),
    "lgamma": (dynet.lgamma, _lgamma_ref, "away0", "lgamma"),
    "digamma": (dynet.digamma, _digamma_ref, "pos", "digamma"),
    "sinc": (dynet.sinc, _np_sinc, "any", "sinc"),
    "frac": (dynet.frac, lambda x: x - np.trunc(x), "away0", "frac"),
    "deg2rad": (dynet.deg2rad, np.deg2rad, "any", "deg2rad"),
    "rad2deg": (dynet.rad2deg, np.rad2deg, "any", "rad2deg"),
    "logit": (lambda t: dynet.logit(t * 0.4 + 0.5), lambda x: np.log((x * 0.4 + 0.5) /
                                                                      (0.5 - x * 0.4)),
              "unit", None),
    "square": (dynet.square, np.square, "any", "square"),
    "reciprocal": (dynet.reciprocal, np.reciprocal, "pos", "reciprocal"),
    "negative": (dynet.negative, np.negative, "any", "negative"),
    "special_expit": (dynet.special.expit, lambda x: 1 / (1 + np.exp(-x)), "any",
                      "special.expit"),
    "special_ndtr": (dynet.special.ndtr, lambda x: 0.5 * _vec(math.erfc)(-x / math.sqrt(2)),
                     "any", "special.ndtr"),
    "special_ndtri": (lambda t: dynet.special.ndtri(t * 0.45 + 0.5),
                      lambda x: math.sqrt(2) * _erfinv_ref(2 * (x * 0.45 + 0.5) - 1), "unit",
                      None),
    "special_log_ndtr": (dynet.special.log_ndtr,
                         lambda x: np.log(0.5 * _vec(math.erfc)(-x / math.sqrt(2))), "any",
                         "special.log_ndtr"),
    "special_erfcx": (dynet.special.erfcx,
                      lambda x: np.exp(x * x) * _vec(math.erfc)(x), "any", "special.erfcx"),
    "special_entr": (dynet.special.entr, lambda x: -x * np.log(x), "pos", "special.entr"),
    "special_gammaln": (dynet.special.gammaln, _lgamma_ref, "away0", "special.gammaln"),
}

SHAPES = {"2d": (3, 4), "0d": (), "empty": (0, 3), "strided": (3, 4)}


def _kind(case):
    return "strided" if case == "strided" else "contiguous"


def _torch_fn(torch, name):
    obj = torch
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("case", list(SHAPES))
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_forward(name, case, device):
    fn, ref, domain, _ = UNARY[name]
    x = sample(SHAPES[case], domain, seed=len(name))
    out = fn(make(x, device, kind=_kind(case)))
    assert out.dtype == dynet.float64
    assert_close(out, ref(x), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", ["2d", "strided"])
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_gradcheck(name, case, device):
    fn, _, domain, _ = UNARY[name]
    x = sample(SHAPES[case], domain, seed=len(name))
    if name == "frac":
        x = np.where(np.abs(x - np.round(x)) < 0.05, x + 0.1, x)  # away from the jumps
    check_grad(fn, [x], device, kinds=[_kind(case)])


@pytest.mark.parametrize("name", [n for n in UNARY if UNARY[n][3]])
def test_unary_matches_torch_float32(name, device):
    torch = pytest.importorskip("torch")
    fn, _, domain, tname = UNARY[name]
    x = sample((4, 5), domain, seed=7).astype(np.float32)
    t = make(x, device, requires_grad=True, dtype=dynet.float32)
    out = fn(t)
    out.backward(dynet.ones_like(out))
    tt = torch.tensor(x, requires_grad=True)
    tout = _torch_fn(torch, tname)(tt)
    tout.backward(torch.ones_like(tout))
    assert out.dtype == dynet.float32
    np.testing.assert_allclose(host(out), tout.detach().numpy(), rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(host(t.grad), tt.grad.numpy(), rtol=2e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["tan", "erf", "erfinv", "exp2", "log2", "lgamma", "sinc",
                                  "deg2rad", "reciprocal"])
def test_unary_integer_inputs_give_the_default_float(name, device):
    torch = pytest.importorskip("torch")
    fn, _, _, tname = UNARY[name]
    ints = np.array([0, 1, -1, 3])
    out = fn(dynet.tensor(ints, device=device))
    ref = _torch_fn(torch, tname)(torch.tensor(ints))
    assert out.dtype == dynet.float32 and str(ref.dtype) == "torch.float32"
    np.testing.assert_allclose(host(out), ref.numpy(), rtol=1e-6, equal_nan=True)


def test_special_function_extremes():
    torch = pytest.importorskip("torch")
    x = np.array([-np.inf, -30.0, -8.5, -1.0, 0.0, 1e-20, 1.0, 8.5, 27.0, np.inf, np.nan])
    ndtr = host(dynet.special.ndtr(dynet.tensor(x, dtype=dynet.float64)))
    np.testing.assert_allclose(ndtr, [0.5 * math.erfc(-v / math.sqrt(2)) for v in x],
                               rtol=1e-12)
    for name in ("erf", "erfc", "special.erfcx", "special.log_ndtr"):
        ours = host(_torch_fn(dynet, name)(dynet.tensor(x, dtype=dynet.float64)))
        theirs = _torch_fn(torch, name)(torch.tensor(x)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0, equal_nan=True,
                                   err_msg=name)
    y = np.array([-1.0, -0.999999, -0.5, 0.0, 0.3, 0.9, 1 - 1e-12, 1 - 1e-16, 1.0, 1.5, np.nan])
    ours = host(dynet.erfinv(dynet.tensor(y, dtype=dynet.float64)))
    theirs = torch.erfinv(torch.tensor(y)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, equal_nan=True)
    z = np.array([-2.5, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.5, 170.0, 1e10, np.inf])
    for name in ("lgamma", "digamma"):
        ours = host(getattr(dynet, name)(dynet.tensor(z, dtype=dynet.float64)))
        theirs = getattr(torch, name)(torch.tensor(z)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-14, equal_nan=True,
                                   err_msg=name)
    tri = host(dynet.special.polygamma(1, dynet.tensor(z[5:], dtype=dynet.float64)))
    np.testing.assert_allclose(tri, torch.polygamma(1, torch.tensor(z[5:])).numpy(),
                               rtol=1e-8)


def test_domain_errors_are_quiet_nan(device):
    x = dynet.tensor([2.0, -2.0], device=device)
    with np.errstate(all="raise"):
        for fn in (dynet.asin, dynet.acos, dynet.atanh, dynet.log2, dynet.log10, dynet.erfinv):
            assert np.isnan(host(fn(x))).any()


def test_sinc_at_zero_and_logit_eps(device):
    t = make(np.array([0.0, 0.5]), device, requires_grad=True)
    dynet.sinc(t).sum().backward()
    g = host(t.grad)
    assert g[0] == 0.0 and np.isfinite(g).all()
    p = make(np.array([0.0, 0.05, 0.5, 0.97, 1.0]), device, requires_grad=True)
    out = dynet.logit(p, eps=0.1)
    assert_close(out, np.log(np.array([0.1, 0.1, 0.5, 0.9, 0.9]) /
                             (1 - np.array([0.1, 0.1, 0.5, 0.9, 0.9]))))
    out.sum().backward()
    assert_close(p.grad, [0.0, 0.0, 4.0, 0.0, 0.0])


def test_nan_to_num(device):
    x = make(np.array([np.nan, np.inf, -np.inf, 1.5]), device, requires_grad=True)
    out = dynet.nan_to_num(x)
    big = np.finfo(np.float64).max
    assert_close(out, [0.0, big, -big, 1.5])
    assert_close(x.nan_to_num(nan=1.0, posinf=2.0, neginf=-2.0), [1.0, 2.0, -2.0, 1.5])
    out.sum().backward()
    assert_close(x.grad, [0.0, 0.0, 0.0, 1.0])
    h = dynet.nan_to_num(dynet.tensor([np.inf], dtype=dynet.float16, device=device))
    assert host(h)[0] == 65504.0 and h.dtype == dynet.float16
    i = dynet.tensor([1, 2], device=device)
    assert dynet.nan_to_num(i, nan=3.0).dtype == dynet.int64


# name: (dynet function of two tensors, NumPy reference, domain a, domain b, torch name)
BINARY = {
    "atan2": (dynet.atan2, np.arctan2, "away0", "away0", "atan2"),
    "logaddexp": (dynet.logaddexp, np.logaddexp, "any", "any", "logaddexp"),
    "logaddexp2": (dynet.logaddexp2, np.logaddexp2, "any", "any", "logaddexp2"),
    "hypot": (dynet.hypot, np.hypot, "away0", "away0", "hypot"),
    "copysign": (dynet.copysign, np.copysign, "away0", "away0", "copysign"),
    "xlogy": (dynet.xlogy, lambda a, b: a * np.log(b), "any", "pos", "xlogy"),
    "xlog1py": (dynet.special.xlog1py, lambda a, b: a * np.log1p(b), "any", "pos",
                "special.xlog1py"),
    "fmax": (dynet.fmax, np.fmax, "any", "any", "fmax"),
    "fmin": (dynet.fmin, np.fmin, "any", "any", "fmin"),
    "lerp_tensor_weight": (lambda a, b: dynet.lerp(a, b, b), lambda a, b: a + b * (b - a),
                           "any", "any", None),
}

PAIRS = {"same": ((3, 4), (3, 4)), "broadcast": ((3, 1), (2, 3, 4)), "0d_right": ((3,), ()),
         "both_0d": ((), ()), "empty": ((0, 3), (3,))}


@pytest.mark.parametrize("pair", list(PAIRS))
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_forward(name, pair, device):
    fn, ref, da, db, _ = BINARY[name]
    sa, sb = PAIRS[pair]
    a, b = sample(sa, da, seed=1), sample(sb, db, seed=2)
    assert_close(fn(make(a, device), make(b, device)), ref(a, b), rtol=1e-12)


@pytest.mark.parametrize("pair", ["same", "broadcast", "0d_right"])
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_gradcheck(name, pair, device):
    fn, _, da, db, _ = BINARY[name]
    sa, sb = PAIRS[pair]
    check_grad(fn, [sample(sa, da, seed=1), sample(sb, db, seed=2)], device)


def test_binary_non_contiguous(device):
    a, b = sample((3, 4), "away0", seed=3), sample((3, 4), "away0", seed=4)
    ta, tb = make(a, device, kind="transposed"), make(b, device, kind="strided")
    assert_close(dynet.atan2(ta, tb), np.arctan2(a, b))
    check_grad(dynet.hypot, [a, b], device, kinds=["transposed", "strided"])


@pytest.mark.parametrize("name", [n for n in BINARY if BINARY[n][4]])
def test_binary_matches_torch_float32(name, device):
    torch = pytest.importorskip("torch")
    fn, _, da, db, tname = BINARY[name]
    a = sample((3, 4), da, seed=5).astype(np.float32)
    b = sample((4,), db, seed=6).astype(np.float32)
    ta, tb = (make(v, device, requires_grad=True, dtype=dynet.float32) for v in (a, b))
    out = fn(ta, tb)
    out.sum().backward()
    qa, qb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ref = _torch_fn(torch, tname)(qa, qb)
    ref.sum().backward()
    np.testing.assert_allclose(host(out), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(host(ta.grad), qa.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(host(tb.grad), qb.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_binary_special_values_match_torch():
    torch = pytest.importorskip("torch")
    inf, nan = np.inf, np.nan
    a = np.array([-inf, inf, -inf, 0.0, 0.0, 0.0, 2.0, -0.0, 1.0])
    b = np.array([-inf, inf, 3.0, nan, 0.0, -1.0, nan, 1.0, -0.0])
    for name in ("logaddexp", "logaddexp2", "xlogy", "copysign", "hypot", "atan2", "fmax",
                 "fmin"):
        ta = dynet.tensor(a, dtype=dynet.float64, requires_grad=True)
        tb = dynet.tensor(b, dtype=dynet.float64, requires_grad=True)
        out = getattr(dynet, name)(ta, tb)
        out.sum().backward()
        qa = torch.tensor(a, requires_grad=True)
        qb = torch.tensor(b, requires_grad=True)
        ref = getattr(torch, name)(qa, qb)
        ref.sum().backward()
        np.testing.assert_allclose(host(out), ref.detach().numpy(), equal_nan=True,
                                   err_msg=name)
        np.testing.assert_allclose(host(ta.grad), qa.grad.numpy(), equal_nan=True,
                                   err_msg=name)
        np.testing.assert_allclose(host(tb.grad), qb.grad.numpy(), equal_nan=True,
                                   err_msg=name)


def test_binary_dtype_rules_match_torch(device):
    torch = pytest.importorskip("torch")
    i = np.array([3, -4])
    f = np.array([1.5, -2.0], dtype=np.float32)
    for name in ("atan2", "copysign", "xlogy", "logaddexp", "hypot", "fmax"):
        for x, y in ((i, i), (f, i), (i, f)):
            try:
                ref = getattr(torch, name)(torch.tensor(x), torch.tensor(y))
            except Exception as err:  # noqa: BLE001 - the same exception type is expected
                with pytest.raises(type(err)):
                    getattr(dynet, name)(dynet.tensor(x, device=device),
                                         dynet.tensor(y, device=device))
                continue
            out = getattr(dynet, name)(dynet.tensor(x, device=device),
                                       dynet.tensor(y, device=device))
            assert str(out.dtype)[6:] == str(ref.dtype)[6:], (name, x.dtype, y.dtype)
            np.testing.assert_allclose(host(out), ref.numpy(), rtol=1e-6, equal_nan=True)
    with pytest.raises(TypeError, match="must be Tensor"):
        dynet.atan2(dynet.tensor(f, device=device), 2)
    assert_close(dynet.xlogy(2, dynet.tensor([1.0, 4.0], dtype=dynet.float64, device=device)),
                 2 * np.log([1.0, 4.0]))


# ---------------------------------------------------------------- rounding family

def test_rounding_family(device):
    torch = pytest.importorskip("torch")
    x = np.array([1.2345, -2.5, 125.0, 0.5, -0.49, 1.5])
    t = dynet.tensor(x, dtype=dynet.float64, device=device)
    for d in (0, 1, 2, -1, -2):
        assert_close(dynet.round(t, decimals=d), torch.round(torch.tensor(x), decimals=d))
        assert_close(t.round(decimals=d), torch.round(torch.tensor(x), decimals=d))
    assert_close(dynet.fix(t), np.trunc(x))
    assert_close(dynet.frac(t), x - np.trunc(x))
    ints = dynet.tensor([3, -4], device=device)
    assert dynet.trunc(ints).dtype == dynet.int64 and dynet.floor(ints).dtype == dynet.int64
    with pytest.raises(NotImplementedError):
        dynet.frac(ints)
    with pytest.raises(NotImplementedError):
        dynet.round(ints, decimals=1)
    with pytest.raises(NotImplementedError):
        dynet.trunc(dynet.tensor([True], device=device))
    assert dynet.square(ints).dtype == dynet.int64
    assert dynet.square(dynet.tensor([True], device=device)).dtype == dynet.int64
    assert dynet.reciprocal(ints).dtype == dynet.float32
    r = make(x, device, requires_grad=True)
    dynet.round(r, decimals=1).sum().backward()
    assert_close(r.grad, np.zeros(6))


# ---------------------------------------------------------------- bitwise and integer ops

def _pair_values():
    return np.array([3, -4, 12, 0, 7]), np.array([1, 2, 5, 3, 0])


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "int8", "bool"])
def test_bitwise_ops_match_torch(dtype, device):
    torch = pytest.importorskip("torch")
    a, b = _pair_values()
    if dtype == "uint8":
        a = np.abs(a)
    if dtype == "bool":
        a, b = a > 2, b > 1
    da, db = (dynet.tensor(v, dtype=getattr(dynet, dtype), device=device) for v in (a, b))
    qa, qb = (torch.tensor(v, dtype=getattr(torch, dtype)) for v in (a, b))
    cases = [lambda x, y: x & y, lambda x, y: x | y, lambda x, y: x ^ y, lambda x, y: ~x,
             lambda x, y: x & 3, lambda x, y: 5 | x, lambda x, y: x ^ True]
    if dtype != "bool":
        cases += [lambda x, y: x << y, lambda x, y: x >> 1, lambda x, y: 1 << y,
                  lambda x, y: 64 >> y]
    for L, x, y, kind in ((dynet, da, db, "ours"), (torch, qa, qb, "theirs")):
        outs = [c(x, y) for c in cases]
        if kind == "ours":
            ours = outs
        else:
            theirs = outs
    for k, (o, r) in enumerate(zip(ours, theirs)):
        assert str(o.dtype)[6:] == str(r.dtype)[6:], (k, o.dtype, r.dtype)
        np.testing.assert_array_equal(host(o), r.numpy(), err_msg=str(k))
    fn_cases = ("bitwise_and", "bitwise_or", "bitwise_xor")
    for name in fn_cases:
        np.testing.assert_array_equal(host(getattr(dynet, name)(da, db)),
                                      getattr(torch, name)(qa, qb).numpy())
        np.testing.assert_array_equal(host(getattr(da, name)(db)),
                                      getattr(qa, name)(qb).numpy())


def test_bitwise_errors_and_inplace(device):
    f = dynet.tensor([1.0, 2.0], device=device)
    for fn in (lambda: f & f, lambda: f | 1, lambda: ~f, lambda: f << 1,
               lambda: dynet.bitwise_xor(f, f), lambda: dynet.bitwise_not(f)):
        with pytest.raises(NotImplementedError, match="not implemented for 'Float'"):
            fn()
    i = dynet.tensor([3, 5, 12], device=device)
    j = i.clone()
    j &= 6
    j |= dynet.tensor([8, 0, 1], device=device)
    j ^= 1
    j <<= 2
    j >>= 1
    np.testing.assert_array_equal(host(j), (((np.array([3, 5, 12]) & 6) | [8, 0, 1]) ^ 1)
                                  << 2 >> 1)
    k = i.clone()
    assert k.bitwise_and_(6) is k and host(k).tolist() == [2, 4, 4]
    k.bitwise_not_()
    assert host(k).tolist() == [-3, -5, -5]
    b = dynet.tensor([True, False], device=device)
    b &= dynet.tensor([True, True], device=device)
    assert b.dtype == dynet.bool and host(b).tolist() == [True, False]


def test_reflected_mod_and_floordiv_match_torch(device):
    torch = pytest.importorskip("torch")
    i = np.array([3, -4, 5, -7])
    f = np.array([1.5, -2.0, 0.75, -3.0], dtype=np.float32)
    for x in (i, f):
        for expr in (lambda t: 7 % t, lambda t: -7 % t, lambda t: 7 // t, lambda t: 7.5 % t,
                     lambda t: t % 3, lambda t: dynet.remainder(7, t) if isinstance(
                         t, dynet.Tensor) else torch.remainder(7, t)):
            ours = expr(dynet.tensor(x, device=device))
            theirs = expr(torch.tensor(x))
            assert str(ours.dtype)[6:] == str(theirs.dtype)[6:]
            np.testing.assert_allclose(host(ours), theirs.numpy(), rtol=1e-6)
    t = dynet.tensor(i, device=device)
    t %= 3
    assert host(t).tolist() == (i % 3).tolist()
    x = make(f.astype(np.float64), device, requires_grad=True)
    (5.0 % x).sum().backward()
    assert_close(x.grad, -np.floor(5.0 / f.astype(np.float64)))


# ---------------------------------------------------------------- in-place forms and out=

INPLACE = {"tan_": ("tan", "unit"), "asin_": ("asin", "unit"), "erf_": ("erf", "any"),
           "erfinv_": ("erfinv", "unit"), "exp2_": ("exp2", "any"), "expm1_": ("expm1", "any"),
           "log2_": ("log2", "pos"), "log10_": ("log10", "pos"), "frac_": ("frac", "away0"),
           "trunc_": ("trunc", "any"), "fix_": ("fix", "any"), "floor_": ("floor", "any"),
           "ceil_": ("ceil", "any"), "reciprocal_": ("reciprocal", "pos"),
           "square_": ("square", "any"), "sinh_": ("sinh", "any"), "log_": ("log", "pos"),
           "sin_": ("sin", "any"), "lgamma_": ("lgamma", "away0"), "sinc_": ("sinc", "any"),
           "logit_": ("logit", "unit"), "nan_to_num_": ("nan_to_num", "any"),
           "deg2rad_": ("deg2rad", "any"), "sign_": ("sign", "any")}


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_forms(name, device):
    base, domain = INPLACE[name]
    x = np.abs(sample((2, 3), domain, seed=3)) * 0.9 if base == "logit" else \
        sample((2, 3), domain, seed=3)
    expected = host(getattr(dynet, base)(make(x, device)))
    t = make(x, device)
    assert getattr(t, name)() is t
    assert_close(t, expected)
    leaf = make(x, device, requires_grad=True)
    y = leaf * 1.0
    getattr(y, name)()
    y.sum().backward()
    ref_leaf = make(x, device, requires_grad=True)
    getattr(dynet, base)(ref_leaf * 1.0).sum().backward()
    assert_close(leaf.grad, host(ref_leaf.grad))


def test_binary_inplace_forms(device):
    a, b = sample((2, 3), "away0", seed=1), sample((2, 3), "away0", seed=2)
    for name in ("atan2", "hypot", "copysign", "xlogy"):
        t = make(a, device)
        other = make(np.abs(b) if name == "xlogy" else b, device)
        getattr(t, name + "_")(other)
        assert_close(t, host(getattr(dynet, name)(make(a, device), other)))
    t = make(a, device)
    t.lerp_(make(b, device), 0.25)
    assert_close(t, a + 0.25 * (b - a))
    t = make(a, device)
    t.round_(decimals=1)
    assert_close(t, np.round(a, 1))
    i = dynet.tensor([1, 2], device=device)
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.tan_()


def test_out_argument(device):
    x = make(np.array([0.1, 0.2, 0.3]), device)
    out = dynet.empty(3, dtype=dynet.float64, device=device)
    assert dynet.tan(x, out=out) is out
    assert_close(out, np.tan([0.1, 0.2, 0.3]))
    wrong = dynet.empty(0, dtype=dynet.float64, device=device)
    dynet.atan2(x, x, out=wrong)
    assert wrong.shape == (3,)
    i = dynet.empty(3, dtype=dynet.int64, device=device)
    with pytest.raises(RuntimeError, match="result type Double can't be cast to the desired "
                                           "output type Long"):
        dynet.erf(x, out=i)
    f = dynet.empty(2, device=device)
    dynet.bitwise_and(dynet.tensor([3, 5], device=device), 1, out=f)  # int into float: fine
    assert host(f).tolist() == [1.0, 1.0]
    g = make(np.array([0.1]), device, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        dynet.tan(g, out=dynet.empty(1, dtype=dynet.float64, device=device))
    with pytest.warns(UserWarning, match="resized"):
        dynet.tan(x, out=dynet.empty(2, dtype=dynet.float64, device=device))
