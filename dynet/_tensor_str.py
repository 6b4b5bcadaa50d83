"""repr() of tensors in PyTorch's layout: tensor([...], device='cuda:0', grad_fn=<...>)."""
import numpy as np


def _float_formatter(values):
    """One format for all elements, chosen as PyTorch's printer chooses it."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return lambda v: _special(v) or f"{v:.4f}"
    absv = np.abs(finite)
    nonzero = absv[absv > 0]
    if np.all(finite == np.round(finite)) and (absv.max() < 1e8 if absv.size else True):
        if absv.max() >= 1e8 if absv.size else False:
            return lambda v: _special(v) or f"{v:.4e}"
        return lambda v: _special(v) or f"{v:.0f}."
    if nonzero.size and (nonzero.max() / nonzero.min() > 1000.0 or nonzero.max() > 1e8
                         or nonzero.min() < 1e-4):
        return lambda v: _special(v) or f"{v:.4e}"
    return lambda v: _special(v) or f"{v:.4f}"


def _special(v):
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def format_data(array):
    """The bracketed body of a tensor repr for a NumPy array."""
    kw = dict(separator=", ", prefix="tensor(", threshold=1000, edgeitems=3,
              max_line_width=80)
    if array.dtype.kind == "f":
        fmt = _float_formatter(array.astype(np.float64).ravel())
        width = max((len(fmt(v)) for v in _sample(array)), default=1)
        kw["formatter"] = {"float_kind": lambda v: fmt(v).rjust(width)}
    elif array.dtype.kind == "b":
        kw["formatter"] = {"bool": lambda v: "True" if v else "False"}
    if array.ndim == 0:
        body = kw["formatter"]["float_kind"](array.item()).strip() if array.dtype.kind == "f" \
            else ("True" if array.item() is True else "False" if array.item() is False
                  else str(array.item()))
        return body
    return np.array2string(array, **kw)


def _sample(array):
    flat = array.ravel()
    if flat.size > 1000:
        flat = np.concatenate([flat[:3], flat[-3:]])
    return flat.astype(np.float64)


def tensor_repr(t, default_dtypes):
    array = t._data if isinstance(t._data, np.ndarray) else t._data.get()
    suffix = []
    if t.device.type != "cpu":
        suffix.append(f"device='{t.device}'")
    if array.size == 0 and array.ndim > 1 or array.size == 0 and array.shape != (0,):
        body = "[]"
        suffix.insert(0, f"size={tuple(array.shape)}")
    else:
        body = format_data(array)
    if t.dtype not in default_dtypes:
        suffix.append(f"dtype={t.dtype}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffix.append("requires_grad=True")
    if not suffix:
        return f"tensor({body})"
    return f"tensor({body}, {', '.join(suffix)})"
