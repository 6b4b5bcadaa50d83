"""repr() of tensors, ported from PyTorch's printer (torch/_tensor_str.py) so strings match."""
import math

import numpy as np

from .backend import deferred

PRECISION = 4
THRESHOLD = 1000  # more elements than this are summarised with '...'
EDGEITEMS = 3
LINEWIDTH = 80


class _Formatter:
    """One width and one notation (int-like, fixed or scientific) for all printed elements."""

    def __init__(self, values):
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        if not self.floating:
            self.max_width = max((len(str(v)) for v in values.ravel().tolist()), default=1)
            return
        flat = values.ravel().astype(np.float64)
        nonzero_finite = flat[np.isfinite(flat) & (flat != 0)]
        if nonzero_finite.size == 0:
            return
        absolute = np.abs(nonzero_finite)
        lo, hi = absolute.min(), absolute.max()
        self.int_mode = bool(np.all(nonzero_finite == np.ceil(nonzero_finite)))
        self.sci_mode = bool(hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4)
        if self.sci_mode:
            fmt, extra = f"{{:.{PRECISION}e}}", 0
        elif self.int_mode:
            fmt, extra = "{:.0f}", 1  # room for the trailing '.'
        else:
            fmt, extra = f"{{:.{PRECISION}f}}", 0
        self.max_width = max(len(fmt.format(v)) + extra for v in nonzero_finite.tolist())

    def format(self, value):
        if self.floating:
            if self.sci_mode:
                text = f"{{:{self.max_width}.{PRECISION}e}}".format(value)
            elif self.int_mode:
                text = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    text += "."
            else:
                text = f"{{:.{PRECISION}f}}".format(value)
        else:
            text = f"{value}"
        return (self.max_width - len(text)) * " " + text


def _summarized(array):
    """The elements that will be shown (edge items only for big arrays), for the formatter."""
    if array.ndim == 0:
        return array
    if array.ndim == 1:
        if array.shape[0] > 2 * EDGEITEMS:
            return np.concatenate([array[:EDGEITEMS], array[-EDGEITEMS:]])
        return array
    rows = range(array.shape[0])
    if array.shape[0] > 2 * EDGEITEMS:
        rows = list(range(EDGEITEMS)) + list(range(array.shape[0] - EDGEITEMS, array.shape[0]))
    return np.stack([_summarized(array[i]) for i in rows])


def _vector_str(array, indent, summarize, fmt):
    per_line = max(1, math.floor((LINEWIDTH - indent) / (fmt.max_width + 2)))
    if summarize and array.shape[0] > 2 * EDGEITEMS:
        data = ([fmt.format(v) for v in array[:EDGEITEMS].tolist()] + [" ..."]
                + [fmt.format(v) for v in array[-EDGEITEMS:].tolist()])
    else:
        data = [fmt.format(v) for v in array.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _array_str(array, indent, summarize, fmt):
    if array.ndim == 0:
        return fmt.format(array.item())
    if array.ndim == 1:
        return _vector_str(array, indent, summarize, fmt)
    n = array.shape[0]
    if summarize and n > 2 * EDGEITEMS:
        slices = ([_array_str(array[i], indent + 1, summarize, fmt) for i in range(EDGEITEMS)]
                  + ["..."]
                  + [_array_str(array[i], indent + 1, summarize, fmt)
                     for i in range(n - EDGEITEMS, n)])
    else:
        slices = [_array_str(array[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (array.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def format_data(array, indent=7):
    """The bracketed body of a tensor repr for a non-empty NumPy array."""
    summarize = array.size > THRESHOLD
    fmt = _Formatter(_summarized(array) if summarize else array)
    return _array_str(array, indent, summarize, fmt)


def _add_suffixes(text, suffixes, indent):
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > LINEWIDTH:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(t, default_dtypes, prefix="tensor("):
    """repr(t); `default_dtypes` (default float first) are the dtypes printed without a suffix."""
    deferred.flush()
    array = t._data if isinstance(t._data, np.ndarray) else t._data.get()
    indent = len(prefix)
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    if array.size == 0:
        # nothing to infer the dtype from, so only the default float dtype goes unnamed
        if array.ndim != 1:
            suffixes.append(f"size={tuple(array.shape)}")
        if t.dtype != default_dtypes[0]:
            suffixes.append(f"dtype={t.dtype}")
        body = "[]"
    else:
        if t.dtype not in default_dtypes:
            suffixes.append(f"dtype={t.dtype}")
        body = format_data(array, indent)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
