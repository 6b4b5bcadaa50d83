"""Helpers shared by the op families."""
import numpy as np

from ..backend import xp_of


def unbroadcast(grad, shape):
    """Sums `grad` down to `shape`, undoing NumPy broadcasting (leading and size-1 axes)."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, s in enumerate(shape) if s == 1 and grad.shape[i + extra] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def normalize_dim(dim, ndim, name="dim"):
    """A dim in [-ndim, ndim) made non-negative; IndexError like PyTorch otherwise."""
    lo = -max(ndim, 1)
    hi = max(ndim, 1) - 1
    if not lo <= dim <= hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], "
                         f"but got {dim})")
    return dim % max(ndim, 1)


def normalize_dims(dim, ndim):
    """None -> all axes; int or sequence -> a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    dims = tuple(sorted({normalize_dim(d, ndim) for d in dim}))
    # a 0-d tensor accepts dim 0 / -1 (checked above) and reduces over nothing, as PyTorch
    return dims if ndim else ()


def expand_reduced(grad, shape, axes, keepdim):
    """Reshapes a reduction's gradient so it broadcasts back over the reduced `axes`."""
    if keepdim or not axes:
        return grad
    kept = list(shape)
    for a in axes:
        kept[a] = 1
    return grad.reshape(kept)


def int_tuple(value, n, message):
    """An int, or 1 or n ints, as an n-tuple; else RuntimeError(message.format(got=list))."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    value = tuple(int(e) for e in value)
    if len(value) == 1:
        return value * n
    if len(value) != n:
        raise RuntimeError(message.format(got=list(value)))
    return value


def select(mask, grad):
    """where(mask, grad, 0) in `grad`'s dtype: how a masked gradient is formed, as in
    PyTorch (multiplying by a 0/1 mask turns an inf gradient into nan where it should be 0).

    np.where with a data-dependent mask is ~10x slower than a multiply on NumPy (branch
    mispredictions), so on the CPU the multiply runs and np.where redoes only a result that
    holds a nan (grad was inf or nan somewhere); CuPy's where is a plain kernel."""
    if type(grad) is np.ndarray:
        out = np.multiply(grad, mask, dtype=grad.dtype)
        if not has_nan(out):
            return np.asarray(out)  # 0-d inputs give a NumPy scalar
    return xp_of(grad).where(mask, grad, grad.dtype.type(0))


def has_nan(a):
    """Whether the float NumPy array `a` holds a nan: minimum propagates nan, and its
    reduction reads `a` once without the bool array of isnan(a).any() (0.66% of a LeNet
    step's instructions went to isnan in the relu backward)."""
    return a.size > 0 and np.isnan(np.minimum.reduce(a, axis=None))


def inplace_method(fn):
    """Tensor method `<fn>_`: fn(self, ...) written back into self (Tensor._inplace, which
    keeps views and version counters right)."""
    def method(self, *args, **kwargs):
        return self._inplace(lambda s: fn(s, *args, **kwargs))
    method.__name__ = method.__qualname__ = fn.__name__ + "_"
    method.__doc__ = f"In-place {fn.__name__}."
    return method
