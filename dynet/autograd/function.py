"""Function: one differentiable op, with forward/backward on raw arrays.

A Function instance doubles as the graph node (`grad_fn`) of the tensor it produced: it keeps
its inputs by argument POSITION (never by identity) plus whatever forward saved. Each input
is recorded as the node that produced it, or as the tensor itself for a leaf, or None when it
needs no gradient.

Views and version counters (dynet.autograd.views) add three things here, none of them on
the common path's way: a view input refreshes its history first (`_view` is None for every
other tensor), a recording call notes the versions of the tensors whose arrays it saved
(only when forward saved something), and a view op (`is_view`) links its result to its base.
"""
import itertools

import numpy as np

from . import grad_mode


class Function:
    """Subclass with static `forward(ctx, *args, **kwargs)` and `backward(ctx, grad)`.

    Tensor arguments reach forward as raw arrays (NumPy or CuPy); everything else as is.
    backward returns one gradient (or None) per positional argument of forward.
    """

    # _seq: the creation order of recorded nodes (the engine takes the newest first); a
    # slot with no default, so a node recorded without one fails loudly in backward
    __slots__ = ("parents", "needs_input_grad", "out_meta", "_seq", "__dict__")

    # class-level defaults, so creating a node costs no __init__ call
    saved_tensors = ()
    released = False
    # the tensor this node produced, set only when it has hooks or retains its grad (a
    # strong reference would otherwise keep every output alive)
    _owner = None
    # the CuPy device of a CUDA call's inputs: backward runs under it too (engine)
    cuda_device = None
    # True on ops whose result is a view of input 0 when the array op returns one (reshape,
    # permute, expand, basic indexing): the result then shares its base's version counter
    is_view = False
    # (box, version, saved index, producer node, array) per saved array of a tensor (views)
    _saved_versions = None

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays

    def name(self):
        return f"{type(self).__name__}Backward0"

    def __repr__(self):
        return f"<{self.name()} object>"

    @property
    def next_functions(self):
        """(node, 0) per input that requires grad; a leaf's node is None (debugging aid)."""
        return tuple((p if isinstance(p, Function) else None, 0)
                     for p in self.parents if p is not None)

    def release(self):
        """Drops saved arrays after backward so memory is freed (retain_graph=False)."""
        self.__dict__.clear()
        self.saved_tensors = None
        self.released = True

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        # The per-op hot path (bench/NOTES.md, "Dispatch"): one pass over the arguments
        # (a second one builds the graph edges only when the call records), no __init__
        # call, the result built inline (no Tensor._make frame), and nothing device-related
        # unless an input is not a NumPy array.
        arrays = []
        on_gpu = None
        record = False
        for a in args:
            if isinstance(a, Tensor):
                if a._view is not None:
                    views.sync_view(a)
                data = a._data
                if type(data) is not _ndarray:
                    on_gpu = a
                arrays.append(data)
                if a._requires_grad:
                    record = True
            else:
                arrays.append(a)
        ctx = cls()  # no __init__ is defined: this is only the object allocation
        device = None  # ctx.cuda_device, as a local (a class default costs more to read)
        if on_gpu is not None:  # all-CPU calls (the common case) pay nothing for this check
            _check_same_device(cls, on_gpu, args)
            # CuPy allocates and launches on the CURRENT device, not the inputs': a call on
            # cuda:1 while cuda:0 is current would otherwise compute on (or fail on) cuda:0
            device = ctx.cuda_device = on_gpu._data.device
        if record and grad_mode._state.enabled:
            # each input as the node that produced it, the leaf itself, or None (no grad)
            parents = []
            needs = []
            for a in args:
                if isinstance(a, Tensor) and a._requires_grad:
                    node = a._grad_fn
                    parents.append(a if node is None else node)
                    needs.append(True)
                else:
                    parents.append(None)
                    needs.append(False)
            ctx.needs_input_grad = tuple(needs)
        else:
            record = False
            n = len(args)
            ctx.needs_input_grad = _NO_GRAD[n] if n < 8 else (False,) * n
        if device is None:
            if kwargs:
                out = cls.forward(ctx, *arrays, **kwargs)
            elif len(arrays) == 2:  # unpacked by hand: a *splat costs more than the test
                out = cls.forward(ctx, arrays[0], arrays[1])
            elif len(arrays) == 1:
                out = cls.forward(ctx, arrays[0])
            else:
                out = cls.forward(ctx, *arrays)
        else:
            with device:
                out = cls.forward(ctx, *arrays, **kwargs)
        # Tensor._make, inline
        if type(out) is not _ndarray and isinstance(out, _generic):
            out = np.asarray(out)  # NumPy reductions can return scalars
        result = _new_object(Tensor)
        result._data = out
        result._requires_grad = record
        if record:
            ctx.parents = parents
            ctx._seq = next(_seq_counter)
            ctx.out_meta = (out.shape, out.dtype)  # checks the gradients sent to this node
            result._grad_fn = ctx
            if ctx.saved_tensors:
                views.track_saved(ctx, args, result)
        if cls.is_view:
            views.make_view(cls, args, kwargs, result)
        return result


def apply1(cls, a):
    """cls.apply(a) for one CPU tensor `a`, without the *args/**kwargs entry and the loops
    over the arguments (bench/NOTES.md, "Dispatch, third pass"); anything else (a view
    input, a CuPy array) takes the general path. Keep in step with Function.apply."""
    try:  # (a try block costs nothing until it raises)
        if a._view is not None or type(a._data) is not _ndarray:
            return cls.apply(a)
    except AttributeError:  # not a tensor: the general path raises what it always did
        return cls.apply(a)
    record = a._requires_grad
    ctx = cls()
    if record and grad_mode._state.enabled:
        node = a._grad_fn
        parents = [a if node is None else node]
        ctx.needs_input_grad = _NEEDS_1
    else:
        record = False
        ctx.needs_input_grad = _NO_GRAD_1
    out = cls.forward(ctx, a._data)
    if type(out) is not _ndarray and isinstance(out, _generic):
        out = np.asarray(out)
    result = _new_object(Tensor)
    result._data = out
    result._requires_grad = record
    if record:
        ctx.parents = parents
        ctx._seq = next(_seq_counter)
        ctx.out_meta = (out.shape, out.dtype)
        result._grad_fn = ctx
        if ctx.saved_tensors:
            views.track_saved(ctx, (a,), result)
    if cls.is_view:
        views.make_view(cls, (a,), _NO_KWARGS, result)
    return result


def apply2(cls, a, b):
    """cls.apply(a, b) for a CPU tensor `a` and a CPU tensor or a non-tensor `b`, as
    apply1. Keep in step with Function.apply."""
    try:  # (a try block costs nothing until it raises)
        if a._view is not None or type(a._data) is not _ndarray:
            return cls.apply(a, b)
    except AttributeError:  # not a tensor: the general path raises what it always did
        return cls.apply(a, b)
    ra = a._requires_grad
    if isinstance(b, Tensor):
        if b._view is not None or type(b._data) is not _ndarray:
            return cls.apply(a, b)
        y = b._data
        rb = b._requires_grad
    else:
        y = b
        rb = False
    ctx = cls()
    if (ra or rb) and grad_mode._state.enabled:
        record = True
        if ra:
            node = a._grad_fn
            pa = a if node is None else node
        else:
            pa = None
        if rb:
            node = b._grad_fn
            pb = b if node is None else node
        else:
            pb = None
        parents = [pa, pb]
        ctx.needs_input_grad = (True if ra else False, True if rb else False)
    else:
        record = False
        ctx.needs_input_grad = _NO_GRAD_2
    out = cls.forward(ctx, a._data, y)
    if type(out) is not _ndarray and isinstance(out, _generic):
        out = np.asarray(out)
    result = _new_object(Tensor)
    result._data = out
    result._requires_grad = record
    if record:
        ctx.parents = parents
        ctx._seq = next(_seq_counter)
        ctx.out_meta = (out.shape, out.dtype)
        result._grad_fn = ctx
        if ctx.saved_tensors:
            views.track_saved(ctx, (a, b), result)
    if cls.is_view:
        views.make_view(cls, (a, b), _NO_KWARGS, result)
    return result


_ndarray = np.ndarray
# each recorded node's creation sequence number (atomic under the GIL)
_seq_counter = itertools.count()
_generic = np.generic
_new_object = object.__new__
# needs_input_grad of an unrecorded call, by argument count (shared: tuples are immutable)
_NO_GRAD = tuple((False,) * n for n in range(8))
_NO_GRAD_1, _NO_GRAD_2, _NEEDS_1 = _NO_GRAD[1], _NO_GRAD[2], (True,)
_NO_KWARGS = {}  # make_view keeps it in the view's steps: never mutated


def _check_same_device(cls, first, args):
    """Raises PyTorch's RuntimeError unless every tensor in `args` is on first's device."""
    device = first.device
    for a in args:
        if isinstance(a, Tensor) and a.device != device:
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two "
                f"devices, {device} and {a.device}! (in {cls.__name__})")


from ..tensor import Tensor  # noqa: E402  (tensor.py imports ops, which import this module)
from . import views  # noqa: E402
