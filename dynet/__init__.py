"""dynet: a PyTorch-compatible define-by-run autograd engine on NumPy (CPU) and CuPy (CUDA)."""
from . import autograd, backend, dtypes
from .autograd import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled,
                       no_grad, set_grad_enabled)
from .backend import Device as device
from .backend import Device
from .backend import get_default_device, set_default_device
from .backend.parallel import get_num_threads, set_num_threads
from .dtypes import (DType, bool, double, float, float16, float32, float64, get_default_dtype,
                     half, int, int8, int16, int32, int64, long, set_default_dtype, short, uint8)
from .tensor import Size, Tensor
from .creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,
                       linspace, logspace, normal, ones, ones_like, rand, rand_like, randint,
                       randint_like, randn, randn_like, randperm, tensor, zeros, zeros_like)
from .random import (Generator, default_generator, get_rng_state, initial_seed, manual_seed,
                     seed, set_rng_state)
from .ops.functions import (abs, add, all, allclose, amax, amin, any, argmax, argmin, argsort,
                            bmm, broadcast_to, cat, ceil, chunk, clamp, clip, clone, concat,
                            cos, count_nonzero, cumsum, div, dot, eq, equal, exp, flatten, flip,
                            floor, fmod, gather, ge, gt, index_select, isclose, isfinite,
                            isinf, isnan, le, lerp, log, log1p, log_softmax, logical_and,
                            logical_not, logical_or, logical_xor, logsumexp, lt, masked_fill,
                            matmul, max, maximum, mean, min, minimum, mm, movedim, mul, mv,
                            narrow, ne, neg, nonzero, norm, permute, pow, prod, reciprocal,
                            relu, remainder, repeat, reshape, round, rsqrt, select, sigmoid,
                            sign, sin, softmax, sort, split, sqrt, square, squeeze, stack, std,
                            std_mean, sub, sum, swapaxes, t, take_along_dim, tanh, topk,
                            transpose, trunc, unbind, unflatten, unsqueeze, var, var_mean,
                            where)
from .ops.pointwise_functions import (acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan,
                                      arctan2, arctanh, asin, asinh, atan, atan2, atanh,
                                      bitwise_and, bitwise_left_shift, bitwise_not,
                                      bitwise_or, bitwise_right_shift, bitwise_xor, ceil,
                                      copysign, cosh, deg2rad, digamma, erf, erfc, erfinv,
                                      exp2, expm1, fix, floor, fmax, fmin, fmod, frac, hypot,
                                      lerp, lgamma, log10, log2, logaddexp, logaddexp2, logit,
                                      nan_to_num, negative, positive, rad2deg, reciprocal,
                                      remainder, round, signbit, sinc, sinh, square, tan,
                                      trunc, xlogy)
from .ops.linalg_functions import (addmm, baddbmm, cross, dot, einsum, ger, inner, inverse,
                                   kron, outer, tensordot, vdot)
from .ops.linalg_functions import legacy_cholesky as cholesky, legacy_det as det
from .ops.linalg_functions import legacy_qr as qr
from .ops.linalg_functions import legacy_svd as svd
from .ops.reduce_functions import (aminmax, bincount, cummax, cummin, cumprod, cumsum, histc,
                                   logcumsumexp, median, mode, nanmean, nanmedian, nansum,
                                   unique)
from .ops.shape_functions import (atleast_1d, atleast_2d, atleast_3d, broadcast_shapes,
                                  broadcast_tensors, diag, diag_embed, diagonal, meshgrid,
                                  repeat_interleave, roll, rot90, tile, tril, triu)
from .ops.index_functions import (argwhere, index_add, index_copy, index_fill, masked_scatter,
                                  masked_select, scatter, scatter_add, scatter_reduce, take)
from .ops.functions import moveaxis, swapdims
from .serialization import load, save
from .nn._functional_ext import cdist, pdist  # noqa: E402
from . import backends, cuda, linalg, nn, optim, special, utils  # noqa: E402  (after their names)
from . import accelerator  # noqa: E402
from . import distributed  # noqa: E402
from .utils.dlpack import from_dlpack  # noqa: E402

subtract, multiply, divide, true_divide = sub, mul, div, div
concatenate = concat

__version__ = "0.1.0"
# PyPI's `dynet` (CMU's DyNet) also imports as `dynet`; this marker tells the two apart
__distribution__ = "dynet-autograd"


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):  # noqa: A002 - PyTorch's argument name
    return input.numel()


from .ops import signatures as _signatures  # noqa: E402  (after every public name exists)
_signatures.install(globals(), Tensor)
