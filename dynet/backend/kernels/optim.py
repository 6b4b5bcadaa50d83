"""Fused optimizer updates on raw arrays, in place.

Each update follows torch.optim's single-tensor rule operation for operation (the same
operations in the same order; hyperparameters are host doubles cast to the parameter's
dtype, so float32 stays float32). On CUDA a float32/float64 parameter takes ONE
ElementwiseKernel launch per update (parameter, gradient and state read and written once);
the flags are compiled into the kernel source, so the body never branches on them and the
kernel cache holds one variant per flag combination in use. Other arrays (NumPy, or CuPy
float16) run the same math as in-place ufunc calls with `out=` buffers. The gradient is never
written to.
"""
import functools
import itertools

import numpy as np

from .. import cuda
from ..device import xp_of

_FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _fusable(p, g):
    """True when the update can run as one CUDA kernel."""
    return not isinstance(p, np.ndarray) and p.dtype in _FUSED_DTYPES and g.dtype == p.dtype


def _kernel(name, in_params, out_params, body):
    """The ElementwiseKernel `name`, compiled once per process (CuPy caches per device)."""
    return cuda.elementwise_kernel(name, in_params, out_params, body)


def _launch(kernel, p, scalars, arrays):
    # Hyperparameters as scalars of the parameter's own dtype: T resolves to that dtype and
    # a float32 update never widens to double on the device.
    cast = p.dtype.type
    kernel(*arrays[:1], *(cast(s) for s in scalars), *arrays[1:])


def _on_param_device(update):
    """Runs a CuPy update with the parameter's GPU current (CuPy launches and allocates on
    the current device, which need not be the parameter's on a multi-GPU machine)."""
    @functools.wraps(update)
    def wrapper(p, *args, **kwargs):
        if isinstance(p, np.ndarray):
            return update(p, *args, **kwargs)
        with p.device:
            return update(p, *args, **kwargs)
    return wrapper


def _flag(b):
    return "1" if b else "0"


def _direction(xp, p, g, weight_decay, maximize):
    """The effective gradient (-g if maximize, + weight_decay * p), and whether it is new."""
    if weight_decay != 0:
        d = xp.empty_like(p)
        xp.multiply(p, weight_decay, out=d)
        # d = wd*p -/+ g: the same value as torch's (+/-g) + wd*p, addition being commutative
        if maximize:
            xp.subtract(d, g, out=d)
        else:
            xp.add(d, g, out=d)
        return d, True
    if maximize:
        return xp.negative(g, out=xp.empty_like(g)), True
    return g, False


def _lerp_(xp, m, d, weight, tmp):
    """m.lerp_(d, weight) with PyTorch's two-sided formula, in place; tmp is scratch."""
    xp.subtract(d, m, out=tmp)
    if abs(weight) < 0.5:
        tmp *= weight
        m += tmp
    else:
        tmp *= 1.0 - weight
        xp.subtract(d, tmp, out=m)


_LERP_SRC = """
    {{
        T diff_ = d - {m};
        {m} = small_w ? {m} + w * diff_ : d - diff_ * omw;
    }}
"""


# ---------------------------------------------------------------------------------------
# SGD

@_on_param_device
def sgd_update(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize,
               first_step):
    """One SGD step: updates p, and buf (the momentum buffer) when momentum != 0.

    On the first step with momentum the buffer is set to the gradient, as in PyTorch
    (`buf` must then be an allocated array of p's shape; its contents are ignored).
    """
    if _fusable(p, g):
        return _sgd_cuda(p, g, buf, lr, momentum, dampening, weight_decay, nesterov,
                         maximize, first_step)
    xp = xp_of(p)
    d, owned = _direction(xp, p, g, weight_decay, maximize)
    if momentum != 0:
        if first_step:
            xp.copyto(buf, d)
        else:
            buf *= momentum
            if dampening == 0:
                buf += d
            else:
                buf += xp.multiply(d, 1.0 - dampening, out=xp.empty_like(d))
        if nesterov:
            nd = d if owned else xp.empty_like(p)
            tmp = xp.multiply(buf, momentum, out=xp.empty_like(p))
            xp.add(d, tmp, out=nd)
            d, owned = nd, True
        else:
            d, owned = buf, False
    # p + (-lr) * d == p - lr * d exactly: negation does not round
    if owned:
        d *= lr
        p -= d
    else:
        p -= xp.multiply(d, lr, out=xp.empty_like(p))
    return p


def _sgd_def(use_momentum, nesterov, maximize, weight_decay, first_step):
    """(name, in_params, out_params, body) of the fused SGD kernel for these flags."""
    name = "sgd_m{}n{}x{}w{}f{}".format(*map(_flag, (use_momentum, nesterov, maximize,
                                                      weight_decay, first_step)))
    body = ["T d = " + ("-g" if maximize else "g") + ";"]
    if weight_decay:
        body.append("d = d + weight_decay * p;")
    if use_momentum:
        body.append("buf = d;" if first_step else "buf = buf * momentum + omd * d;")
        body.append("d = d + momentum * buf;" if nesterov else "d = buf;")
    body.append("p = p - lr * d;")
    outs = "T p, T buf" if use_momentum else "T p"
    return name, "T g, T lr, T momentum, T omd, T weight_decay", outs, "\n".join(body)


def _sgd_cuda(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize,
              first_step):
    use_momentum = momentum != 0
    k = _kernel(*_sgd_def(use_momentum, nesterov, maximize, weight_decay != 0, first_step))
    arrays = (g, p, buf) if use_momentum else (g, p)
    _launch(k, p, (lr, momentum, 1.0 - dampening, weight_decay), arrays)
    return p


# ---------------------------------------------------------------------------------------
# Adam / AdamW

@_on_param_device
def adam_update(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
                weight_decay, step, amsgrad, maximize, decoupled_weight_decay):
    """One Adam (or AdamW when decoupled_weight_decay) step at 1-based `step`, in place."""
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    step_size = lr / bias_correction1
    bc2_sqrt = bias_correction2 ** 0.5
    decay = 1 - lr * weight_decay if decoupled_weight_decay and weight_decay != 0 else 1.0
    coupled_wd = 0.0 if decoupled_weight_decay else weight_decay
    w = 1 - beta1
    if _fusable(p, g):
        return _adam_cuda(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, w, beta2, eps,
                          coupled_wd, decay, step_size, bc2_sqrt, amsgrad, maximize)
    xp = xp_of(p)
    if decay != 1.0:
        p *= decay
    d, owned = _direction(xp, p, g, coupled_wd, maximize)
    tmp = xp.empty_like(p)
    _lerp_(xp, exp_avg, d, w, tmp)
    exp_avg_sq *= beta2
    xp.multiply(d, 1 - beta2, out=tmp)
    tmp *= d
    exp_avg_sq += tmp
    if amsgrad:
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        src = max_exp_avg_sq
    else:
        src = exp_avg_sq
    denom = d if owned else xp.empty_like(p)  # the direction is dead by now: reuse it
    xp.sqrt(src, out=denom)
    denom /= bc2_sqrt
    denom += eps
    xp.multiply(exp_avg, -step_size, out=tmp)
    tmp /= denom
    p += tmp
    return p


def _adam_def(amsgrad, maximize, weight_decay, decay, small_w):
    """(name, in_params, out_params, body) of the fused Adam kernel for these flags."""
    # every flag compiled into the body (small_w included) must be part of the cache key
    name = "adam_a{}x{}w{}d{}s{}".format(*map(_flag, (amsgrad, maximize, weight_decay,
                                                      decay, small_w)))
    body = ["T d = " + ("-g" if maximize else "g") + ";",
            "const bool small_w = {};".format("true" if small_w else "false")]
    if decay:
        body.append("p = p * decay;")
    if weight_decay:
        body.append("d = d + weight_decay * p;")
    body.append(_LERP_SRC.format(m="m"))
    body.append("v = v * beta2 + omb2 * d * d;")
    if amsgrad:
        # NaN propagates as in torch.maximum
        body.append("vmax = (v > vmax || isnan(v)) ? v : vmax;")
        body.append("T denom = sqrt(vmax) / bc2_sqrt + eps;")
    else:
        body.append("T denom = sqrt(v) / bc2_sqrt + eps;")
    body.append("p = p + neg_step_size * m / denom;")
    outs = "T p, T m, T v, T vmax" if amsgrad else "T p, T m, T v"
    return (name, "T g, T w, T omw, T beta2, T omb2, T eps, T weight_decay, T decay, "
            "T neg_step_size, T bc2_sqrt", outs, "\n".join(body))


def _adam_cuda(p, g, m, v, vmax, w, beta2, eps, weight_decay, decay, step_size, bc2_sqrt,
               amsgrad, maximize):
    k = _kernel(*_adam_def(amsgrad, maximize, weight_decay != 0, decay != 1.0, abs(w) < 0.5))
    arrays = (g, p, m, v, vmax) if amsgrad else (g, p, m, v)
    _launch(k, p, (w, 1.0 - w, beta2, 1.0 - beta2, eps, weight_decay, decay, -step_size,
                   bc2_sqrt), arrays)
    return p


# ---------------------------------------------------------------------------------------
# RMSprop

@_on_param_device
def rmsprop_update(p, g, square_avg, grad_avg, momentum_buffer, lr, alpha, eps,
                   weight_decay, momentum, centered, maximize):
    """One RMSprop step, in place (grad_avg used when centered, the buffer when momentum > 0)."""
    if _fusable(p, g):
        return _rmsprop_cuda(p, g, square_avg, grad_avg, momentum_buffer, lr, alpha, eps,
                             weight_decay, momentum, centered, maximize)
    xp = xp_of(p)
    d, owned = _direction(xp, p, g, weight_decay, maximize)
    tmp = xp.empty_like(p)
    square_avg *= alpha
    xp.multiply(d, 1 - alpha, out=tmp)
    tmp *= d
    square_avg += tmp
    avg = xp.empty_like(p)
    if centered:
        _lerp_(xp, grad_avg, d, 1 - alpha, tmp)
        # square_avg.addcmul(grad_avg, grad_avg, value=-1): (-1*ga)*ga == -(ga*ga) exactly
        xp.multiply(grad_avg, grad_avg, out=avg)
        xp.subtract(square_avg, avg, out=avg)
        xp.sqrt(avg, out=avg)
    else:
        xp.sqrt(square_avg, out=avg)
    avg += eps
    if momentum > 0:
        momentum_buffer *= momentum
        xp.divide(d, avg, out=tmp)
        momentum_buffer += tmp
        xp.multiply(momentum_buffer, lr, out=tmp)
        p -= tmp
    else:
        xp.multiply(d, -lr, out=tmp)
        tmp /= avg
        p += tmp
    return p


def _rmsprop_def(centered, use_momentum, maximize, weight_decay, small_w):
    """(name, in_params, out_params, body) of the fused RMSprop kernel for these flags."""
    name = "rmsprop_c{}m{}x{}w{}s{}".format(*map(_flag, (centered, use_momentum, maximize,
                                                         weight_decay, small_w)))
    body = ["T d = " + ("-g" if maximize else "g") + ";",
            "const bool small_w = {};".format("true" if small_w else "false")]
    if weight_decay:
        body.append("d = d + weight_decay * p;")
    body.append("sq = sq * alpha + w * d * d;")
    if centered:
        body.append(_LERP_SRC.format(m="ga"))
        body.append("T avg = sqrt(sq - ga * ga) + eps;")
    else:
        body.append("T avg = sqrt(sq) + eps;")
    if use_momentum:
        body.append("buf = buf * momentum + d / avg;")
        body.append("p = p - lr * buf;")
    else:
        body.append("p = p + neg_lr * d / avg;")
    outs = ["T p", "T sq"] + (["T ga"] if centered else []) + (["T buf"] if use_momentum
                                                                 else [])
    return (name, "T g, T lr, T neg_lr, T alpha, T w, T omw, T eps, T weight_decay, "
            "T momentum", ", ".join(outs), "\n".join(body))


def _rmsprop_cuda(p, g, sq, ga, buf, lr, alpha, eps, weight_decay, momentum, centered,
                  maximize):
    use_momentum = momentum > 0
    w = 1.0 - alpha
    k = _kernel(*_rmsprop_def(centered, use_momentum, maximize, weight_decay != 0,
                              abs(w) < 0.5))
    arrays = [g, p, sq] + ([ga] if centered else []) + ([buf] if use_momentum else [])
    # the lerp weight is 1 - alpha, so its complement is alpha
    _launch(k, p, (lr, -lr, alpha, w, alpha, eps, weight_decay, momentum), arrays)
    return p


# ---------------------------------------------------------------------------------------
# Adagrad

@_on_param_device
def adagrad_update(p, g, state_sum, clr, weight_decay, eps, maximize):
    """One Adagrad step with the decayed learning rate `clr`, in place."""
    if _fusable(p, g):
        k = _kernel(*_adagrad_def(maximize, weight_decay != 0))
        _launch(k, p, (-clr, eps, weight_decay), (g, p, state_sum))
        return p
    xp = xp_of(p)
    d, owned = _direction(xp, p, g, weight_decay, maximize)
    tmp = xp.empty_like(p)
    xp.multiply(d, d, out=tmp)
    state_sum += tmp
    xp.sqrt(state_sum, out=tmp)
    tmp += eps
    num = d if owned else xp.empty_like(p)
    xp.multiply(d, -clr, out=num)
    num /= tmp
    p += num
    return p


def _adagrad_def(maximize, weight_decay):
    """(name, in_params, out_params, body) of the fused Adagrad kernel for these flags."""
    name = "adagrad_x{}w{}".format(_flag(maximize), _flag(weight_decay))
    body = ["T d = " + ("-g" if maximize else "g") + ";"]
    if weight_decay:
        body.append("d = d + weight_decay * p;")
    body.append("s = s + d * d;")
    body.append("p = p + neg_clr * d / (sqrt(s) + eps);")
    return name, "T g, T neg_clr, T eps, T weight_decay", "T p, T s", "\n".join(body)


# ---------------------------------------------------------------------------------------
# Adadelta

@_on_param_device
def adadelta_update(p, g, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
    """One Adadelta step in place, in torch.optim.Adadelta's order of operations."""
    if _fusable(p, g):
        k = _kernel(*_adadelta_def(maximize, weight_decay != 0))
        _launch(k, p, (-lr, rho, eps, weight_decay), (g, p, square_avg, acc_delta))
        return p
    xp = xp_of(p)
    d, _ = _direction(xp, p, g, weight_decay, maximize)
    tmp = xp.empty_like(p)
    square_avg *= rho
    xp.multiply(d, d, out=tmp)
    tmp *= 1 - rho
    square_avg += tmp
    # out= everywhere: on 0-d parameters a plain `a + eps` would return a NumPy scalar
    std = xp.add(square_avg, eps, out=xp.empty_like(p))
    xp.sqrt(std, out=std)
    delta = xp.add(acc_delta, eps, out=xp.empty_like(p))
    xp.sqrt(delta, out=delta)
    delta /= std
    delta *= d
    acc_delta *= rho
    xp.multiply(delta, delta, out=tmp)
    tmp *= 1 - rho
    acc_delta += tmp
    delta *= -lr
    p += delta
    return p


def _adadelta_def(maximize, weight_decay):
    """(name, in_params, out_params, body) of the fused Adadelta kernel for these flags."""
    name = "adadelta_x{}w{}".format(_flag(maximize), _flag(weight_decay))
    body = ["T d = " + ("-g" if maximize else "g") + ";"]
    if weight_decay:
        body.append("d = d + weight_decay * p;")
    body += ["sq = sq * rho + d * d * (1 - rho);",
             "T delta = sqrt(acc + eps) / sqrt(sq + eps) * d;",
             "acc = acc * rho + delta * delta * (1 - rho);",
             "p = p + neg_lr * delta;"]
    return (name, "T g, T neg_lr, T rho, T eps, T weight_decay", "T p, T sq, T acc",
            "\n".join(body))


# ---------------------------------------------------------------------------------------
# Kernel registry: every flag combination of every fused update (see kernels/__init__.py)

def _all_flags(n):
    return itertools.product((False, True), repeat=n)


CUDA_KERNELS = ([_sgd_def(*f) for f in _all_flags(5)] + [_adam_def(*f) for f in _all_flags(5)]
                + [_rmsprop_def(*f) for f in _all_flags(5)]
                + [_adagrad_def(*f) for f in _all_flags(2)]
                + [_adadelta_def(*f) for f in _all_flags(2)])
# only float32/float64 parameters take the fused kernels (_FUSED_DTYPES)
CUDA_DTYPES = ("float32", "float64")
# every input but the gradient is a hyperparameter passed as a scalar of p's dtype
CUDA_SCALARS = {k[0]: tuple(a.split()[-1] for a in k[1].split(",")[1:]) for k in CUDA_KERNELS}


# ---------------------------------------------------------------------------------------
# State allocation

def full_like(p, value=0.0):
    """A new array of p's shape, dtype and device filled with `value` (optimizer state)."""
    xp = xp_of(p)
    if xp is np:
        return np.full_like(p, value)
    with p.device:  # CuPy allocates on the current device, not the argument's
        return xp.full_like(p, value)


__all__ = ["sgd_update", "adam_update", "rmsprop_update", "adagrad_update", "adadelta_update",
           "full_like"]
