"""Storage, views and in-place ops: version counters and history rewriting, as in PyTorch.

The storage model:

- A tensor's memory is its raw array; a view's array is a NumPy/CuPy view of its base's, so
  every write is visible through every alias, in or out of a recorded graph.
- All tensors over one storage share ONE version box, a one-element list `[n]`
  (`Tensor._vbox`). Every in-place write (`add_`, `__setitem__`, `fill_`, optimizer updates)
  bumps it. The box is created lazily: a tensor without one has version 0 and no aliases
  that anyone tracks, so plain tensors pay nothing. `.detach()` shares the box; `.data`
  does not (writes through `.data` stay untracked, as in PyTorch).
- A view op (a Function with `is_view = True` whose result really aliases its input) links
  the result to the ROOT base (views of views point at the root) with `ViewInfo`: the steps
  that replay the view from the base, how it was created (grad mode, multi-output), and
  the box version at which its grad_fn was last valid.
- When a Function records a node, each saved array that is (a view of) an input's or the
  output's array is noted with that tensor's box and version (`track_saved`); the engine
  checks them before the node's backward (`check_saved`) and raises PyTorch's "modified by
  an inplace operation" error.
- A recorded in-place op runs out of place, then writes its result into the tensor's memory
  (`commit_inplace`). On a base, the tensor's grad_fn becomes the op's node. On a view, the
  root base's grad_fn becomes `CopySlices(old base, op node)` ("the old base with the view's
  region replaced"), as PyTorch's CopySlices. A view whose version is stale regenerates its
  grad_fn by replaying its steps on the base (`sync_view`), so views of a base modified in
  place (or siblings of a modified view) get the right history when next used.
"""
import numpy as np

from . import grad_mode
from .function import Function, _seq_counter

DEFAULT, NO_GRAD = "default", "no_grad"  # how a view was created (PyTorch's CreationMeta)

_VIEW_OF_LEAF = ("a view of a leaf Variable that requires grad is being used in an in-place "
                 "operation.")
_LEAF = "a leaf Variable that requires grad is being used in an in-place operation."
_NO_GRAD_VIEW = (
    "A view was created in no_grad mode and is being modified inplace with grad mode enabled. "
    "Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify "
    "your code by moving both the view and the inplace either both inside the no_grad block "
    "(if you don't want the inplace to be tracked) or both outside (if you want the inplace "
    "to be tracked).")


class ViewInfo:
    """How a view tensor derives from its root base. No __init__: make_view (every view
    op) sets the four slots on a bare instance, a frame cheaper (bench/NOTES.md)."""

    __slots__ = (
        "base",      # the root base Tensor (never itself a view)
        "steps",     # ((Function class, args after input 0, kwargs), ...)
        "version",   # box version at which the view's grad_fn is current
        "creation",  # DEFAULT, NO_GRAD, or "Output i of Name" (multi-output)
    )


def box(t):
    """t's version box, created on first use."""
    b = t._vbox
    if b is None:
        b = t._vbox = [0]
    return b


def bump(t):
    """Counts one in-place write to t's storage."""
    b = t._vbox
    if b is None:
        t._vbox = [1]
    else:
        b[0] += 1


def _owner(array):
    """The object owning `array`'s memory: NumPy and CuPy point a view's .base at it, except
    through as_strided's wrapper, which has a .base of its own."""
    base = getattr(array, "base", None)
    while base is not None:
        array, base = base, getattr(base, "base", None)
    return array


def aliases(a, b):
    return a is b or _owner(a) is _owner(b)


def make_view(cls, args, kwargs, result):
    """Links `result` of view op `cls` to input args[0] when it really shares its memory."""
    src = args[0]
    out, data = result._data, src._data
    # the common case first: a view straight of an array that owns its memory
    if getattr(out, "base", None) is not data and not aliases(out, data):
        return  # e.g. reshape of a non-contiguous tensor, advanced indexing: copies
    step = (cls, args[1:], kwargs)
    parent = src._view
    info = ViewInfo()
    if parent is None:
        info.base = src
        info.steps = (step,)
        creation = DEFAULT
    else:
        info.base = parent.base
        info.steps = parent.steps + (step,)
        creation = parent.creation
    if creation == DEFAULT and not grad_mode._state.enabled:
        creation = NO_GRAD
    info.creation = creation
    b = src._vbox  # box(src), inline
    if b is None:
        b = src._vbox = [0]
    result._vbox = b
    info.version = b[0]
    result._view = info


def mark_multi_output(views, name):
    """Marks the outputs of split/chunk/unbind: PyTorch forbids in-place ops on them."""
    for i, v in enumerate(views):
        info = v._view
        if info is not None and info.creation == DEFAULT:
            info.creation = f"Output {i} of {name}"


def replay(steps, t):
    """Applies a view's steps to tensor t (recorded when grad mode is on)."""
    for cls, args, kwargs in steps:
        t = cls.apply(t, *args, **kwargs)
    return t


def replay_array(steps, array):
    """The same view of a raw array (a gradient buffer shaped like the base)."""
    for cls, args, kwargs in steps:
        array = cls.forward(cls(), array, *args, **kwargs)
    return array


def sync_view(t):
    """Regenerates view t's grad_fn from its base when the storage changed since."""
    info = t._view
    base = info.base
    version = base._vbox[0]
    if info.version == version:
        return
    info.version = version
    if info.creation == NO_GRAD or (t._grad_fn is None and not base._requires_grad):
        return
    with grad_mode.enable_grad():
        fresh = replay(info.steps, base)
    _set_history(t, fresh._grad_fn, fresh._requires_grad)


def _set_history(t, node, requires_grad):
    """Points t at a new node; hooks and retain_grad follow the tensor (see Tensor)."""
    old = t._grad_fn
    if old is not None and old._owner is t:
        old._owner = None
    t._grad_fn = node
    t._requires_grad = requires_grad
    if node is not None and (t._backward_hooks or t._retains_grad):
        node._owner = t


def base_requires_grad(t):
    """A view made under no_grad still counts its base's requires_grad, as PyTorch's views do
    (so modifying it with grad mode on raises instead of silently escaping the graph)."""
    info = t._view
    return info is not None and info.base._requires_grad


def check_inplace(t):
    """PyTorch's errors for a recorded in-place op on t (a leaf, a view of a leaf, ...)."""
    info = t._view
    if info is None:
        if t._grad_fn is None and t._requires_grad:
            raise RuntimeError(_LEAF)
        return
    base = info.base
    if base._grad_fn is None and base._requires_grad:
        raise RuntimeError(_VIEW_OF_LEAF)
    if info.creation == NO_GRAD:
        raise RuntimeError(_NO_GRAD_VIEW)
    if info.creation != DEFAULT:
        raise RuntimeError(
            f"{info.creation} is a view and is being modified inplace. This view is the "
            "output of a function that returns multiple views. Such functions do not allow "
            "the output views to be modified inplace. You should replace the inplace "
            "operation by an out-of-place one.")


def check_overlap(t):
    """PyTorch's error for writing to an expanded tensor (CuPy would write silently)."""
    data = t._data
    for stride, size in zip(data.strides, data.shape):
        if stride == 0 and size > 1:
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor "
                "refers to a single memory location. Please clone() the tensor before "
                "performing the operation.")


def write(t, array):
    """Writes `array` into t's memory (broadcast), as one in-place write."""
    check_overlap(t)
    if array is not t._data:
        t._data[...] = array
    bump(t)


def commit_inplace(t, out):
    """Finishes a recorded in-place op on t whose value `out` was computed out of place."""
    node = out._grad_fn
    if node is not None:
        _keep_saved_values(node, t)
    write(t, out._data)
    info = t._view
    if info is None or info.creation != DEFAULT:
        _set_history(t, node, out._requires_grad)
        return
    # t is a view: the root base's new value is "old base with t's region replaced"
    base = info.base
    prev = base._grad_fn if base._grad_fn is not None else (base if base._requires_grad
                                                          else None)
    cs = CopySlices()
    cs.parents = [prev, node]
    cs._seq = next(_seq_counter)  # newer than both: backward reaches it first
    cs.needs_input_grad = (prev is not None, node is not None)
    cs.out_meta = (base._data.shape, base._data.dtype)
    cs.steps = info.steps
    cs.cuda_device = node.cuda_device if node is not None else None
    _set_history(base, cs, True)
    # t itself regenerates its grad_fn from the base on next use (its version is stale)


def _keep_saved_values(node, t):
    """The node computed from t's old value: keep copies of what it saved of t (an alias
    such as t.detach() stays checked, and raises as in PyTorch)."""
    entries = node.__dict__.get("_saved_versions")
    if not entries:
        return
    saved = list(node.saved_tensors)
    kept = []
    for entry in entries:
        if entry[4] is t:
            saved[entry[2]] = saved[entry[2]].copy()
        else:
            kept.append(entry)
    node.saved_tensors = tuple(saved)
    node._saved_versions = kept


class CopySlices(Function):
    """The base after an in-place op on one of its views: old base outside, op node inside."""

    def name(self):
        return "CopySlices"

    @staticmethod
    def backward(ctx, grad):
        res = grad.copy()  # C-contiguous: replaying reshape steps on it gives views
        region = replay_array(ctx.steps, res)
        g_view = region.copy() if ctx.needs_input_grad[1] else None
        region[...] = 0
        return (res if ctx.needs_input_grad[0] else None), g_view


# ---------------------------------------------------------------- saved tensors

def track_saved(ctx, args, result):
    """Notes the box and version of every input/output tensor whose array ctx saved.

    Identity is tried first (ops save their raw inputs and outputs); only a saved view
    (`.base` set) is compared by owner, so the common case costs a few `is` tests.
    """
    entries = []
    out = result._data
    for i, s in enumerate(ctx.saved_tensors):
        if s is None:
            continue
        if s is out:
            entries.append((box(result), 0, i, ctx, None))
            continue
        for a in args:
            if isinstance(a, Tensor) and a._data is s:
                break
        else:
            a = _input_owning(s, args)
            if a is None:
                continue
        b = a._vbox  # box(a), inline: once per saved input of every recorded op
        if b is None:
            b = a._vbox = [0]
        entries.append((b, b[0], i, None, a))
    if entries:
        ctx._saved_versions = entries


def _input_owning(s, args):
    """The input tensor whose memory the saved view `s` lies in, if any.

    Several inputs can be views of one buffer (an optimizer's flat parameter buffer,
    dynet.optim._flat): then the one whose bytes hold s's first element is it."""
    if getattr(s, "base", None) is None:
        return None
    owner = _owner(s)
    found = [a for a in args if isinstance(a, Tensor) and _owner(a._data) is owner]
    if len(found) > 1 and s.size:
        at = _address(s)
        for a in found:
            lo, hi = _byte_span(a._data)
            if lo <= at < hi:
                return a
    return found[0] if found else None


def _address(array):
    """The address of array's element 0 (NumPy or CuPy)."""
    if isinstance(array, np.ndarray):
        return array.__array_interface__["data"][0]
    return array.data.ptr


def _byte_span(array):
    """[lo, hi): the bytes array's elements occupy (empty arrays occupy none)."""
    lo = hi = _address(array)
    if array.size == 0:
        return lo, lo
    for n, stride in zip(array.shape, array.strides):
        ext = (n - 1) * stride
        lo, hi = (lo + ext, hi) if ext < 0 else (lo, hi + ext)
    return lo, hi + array.itemsize


def check_saved(node):
    """Raises PyTorch's error if a tensor node saved was modified in place since.

    An input is named by its grad_fn now (PyTorch keeps the tensor itself), an output by
    the node that produced it."""
    for b, version, i, producer, tensor in node._saved_versions:
        if b[0] != version:
            array = node.saved_tensors[i]
            if tensor is not None:
                producer = tensor._grad_fn
            what = f"[{_type_name(array)} {list(array.shape)}]"
            if producer is not None:
                what += f", which is output 0 of {_op_name(producer)},"
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: {what} is at version {b[0]}; expected version "
                f"{version} instead. Hint: the variable is saved by {node.name()}; it was "
                "changed in place after that node was recorded (clone() it before the "
                "in-place op, or do the op out of place).")


def _op_name(node):
    name = node.name()
    return name[:-len("Backward0")] if name.endswith("Backward0") else name


def _type_name(array):
    from ..tensor import _TYPE_NAMES
    from .. import dtypes
    name = _TYPE_NAMES.get(dtypes.from_numpy_dtype(array.dtype).name, "Tensor")
    return f"dynet.{'' if type(array).__module__.startswith('numpy') else 'cuda.'}{name}"


from ..tensor import Tensor  # noqa: E402
