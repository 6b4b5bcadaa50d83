"""Finite-difference gradient checks in float64 (torch.autograd.gradcheck)."""
import numpy as np

from ..backend import xp_of
from .engine import grad as autograd_grad
from . import grad_mode


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              max_elements=64, seed=0):
    """Compares analytical gradients of `fn` with central differences; True or raises.

    Every floating input that requires grad must be float64. Inputs with at most
    `max_elements` elements are checked per element; larger ones along random directions
    (a directional derivative per output), as Chainer does, to keep the check fast.
    """
    inputs = _as_tuple(inputs)
    diff_inputs = [x for x in inputs if getattr(x, "requires_grad", False)]
    for x in diff_inputs:
        if x._data.dtype != np.float64:
            raise ValueError(f"gradcheck expects float64 inputs, got {x.dtype} (shape "
                             f"{tuple(x.shape)}); finite differences in float32 are too "
                             "imprecise")
    if not diff_inputs:
        raise ValueError("gradcheck expects at least one input with requires_grad=True")

    # outputs are matched by position, so scalar_fn can pick the same one under no_grad
    first = _as_tuple(fn(*inputs))
    checked = [i for i, o in enumerate(first) if getattr(o, "requires_grad", False)]
    if not checked:
        raise ValueError("gradcheck: no output of fn requires grad, so there is nothing to "
                         "check")
    rng = np.random.default_rng(seed)
    for k in checked:
        out = first[k]
        xp = xp_of(out._data)
        # random projection of the output: checks the whole Jacobian-vector product at once
        proj = xp.asarray(rng.standard_normal(out._data.shape))
        analytic = autograd_grad([out], diff_inputs, [_wrap(proj)], retain_graph=True,
                                 allow_unused=True)

        def scalar_fn(k=k, proj=proj):
            with grad_mode.no_grad():
                return float((_as_tuple(fn(*inputs))[k]._data * proj).sum())

        for x, g in zip(diff_inputs, analytic):
            g = np.zeros(x._data.shape) if g is None else _host(g._data)
            for direction, expected in _numeric_grad(scalar_fn, x, eps, max_elements, rng):
                got = float((g * direction).sum())
                if not np.isclose(got, expected, atol=atol, rtol=rtol):
                    msg = (f"Jacobian mismatch for output {k} with respect to an input of "
                           f"shape {tuple(x.shape)}: analytical {got:.8g} vs numerical "
                           f"{expected:.8g}")
                    if raise_exception:
                        raise GradcheckError(msg)
                    return False
    return True


def _numeric_grad(scalar_fn, x, eps, max_elements, rng):
    """Yields (direction, numeric directional derivative) pairs for input `x`."""
    data = x._data
    xp = xp_of(data)
    if data.size == 0:
        return []
    if data.size <= max_elements:
        directions = []
        for i in range(data.size):
            d = np.zeros(data.shape)
            d.flat[i] = 1.0
            directions.append(d)
    else:
        directions = [rng.standard_normal(data.shape) for _ in range(3)]
    results = []
    original = data.copy()
    for d in directions:
        dd = xp.asarray(d)
        data[...] = original + eps * dd
        plus = scalar_fn()
        data[...] = original - eps * dd
        minus = scalar_fn()
        data[...] = original
        results.append((d, (plus - minus) / (2 * eps)))
    return results


def _host(array):
    return array if isinstance(array, np.ndarray) else array.get()


def _wrap(array):
    from ..tensor import Tensor
    return Tensor._make(array, False)
