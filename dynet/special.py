"""dynet.special: torch.special's functions (error, gamma and normal-distribution functions,
expit/logit, xlogy, ...)."""
from .ops import pointwise as _pw
from .ops import pointwise_functions as _pf
from .ops import functions as _F
from .ops._out import write_out as _write_out
from .ops.pointwise_functions import (digamma, erf, erfc, erfinv, exp2, expm1, logit, round,
                                      sinc, xlog1py, xlogy)

psi = digamma
gammaln = _pf.lgamma


def _unary(fn, name):
    def op(input, *, out=None):  # noqa: A002 - PyTorch's argument names
        return _write_out(fn.apply(_pf._to_float(input)), out, name)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"torch.special.{name}."
    return op


erfcx = _unary(_pw.Erfcx, "erfcx")
ndtr = _unary(_pw.Ndtr, "ndtr")
ndtri = _unary(_pw.Ndtri, "ndtri")
log_ndtr = _unary(_pw.LogNdtr, "log_ndtr")
entr = _unary(_pw.Entr, "entr")


def expit(input, *, out=None):  # noqa: A002
    """The logistic sigmoid 1 / (1 + exp(-x))."""
    return _write_out(_F.sigmoid(input), out, "expit")


def log1p(input, *, out=None):  # noqa: A002
    return _write_out(_F.log1p(input), out, "log1p")


def polygamma(n, input, *, out=None):  # noqa: A002
    """The n-th derivative of digamma; n = 0 and n = 1 are supported."""
    if n == 0:
        return _write_out(digamma(input), out, "polygamma")
    if n == 1:
        return _write_out(_pw.Trigamma.apply(_pf._to_float(input)), out, "polygamma")
    raise NotImplementedError(f"polygamma(n={n}) is implemented for n = 0 and 1 only")


def multigammaln(input, p, *, out=None):  # noqa: A002
    """log of the multivariate gamma function of dimension p."""
    import math
    x = _pf._to_float(input)
    res = p * (p - 1) / 4.0 * math.log(math.pi)
    for j in range(p):
        res = _F.add(_pf.lgamma(_F.sub(x, j / 2.0)), res)
    return _write_out(res, out, "multigammaln")


def logsumexp(input, dim, keepdim=False, *, out=None):  # noqa: A002
    return _write_out(_F.logsumexp(input, dim, keepdim), out, "logsumexp")


def softmax(input, dim, *, dtype=None):  # noqa: A002
    return _F.softmax(input, dim, dtype)


def log_softmax(input, dim, *, dtype=None):  # noqa: A002
    return _F.log_softmax(input, dim, dtype)
