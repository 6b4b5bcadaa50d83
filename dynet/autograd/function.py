"""Function: one differentiable op, with forward/backward on raw arrays.

A Function instance doubles as the graph node (`grad_fn`) of the tensor it produced: it keeps
its inputs by argument POSITION (never by identity) plus whatever forward saved. Each input
is recorded as the node that produced it, or as the tensor itself for a leaf, or None when it
needs no gradient.
"""
import numpy as np

from . import grad_mode


class Function:
    """Subclass with static `forward(ctx, *args, **kwargs)` and `backward(ctx, grad)`.

    Tensor arguments reach forward as raw arrays (NumPy or CuPy); everything else as is.
    backward returns one gradient (or None) per positional argument of forward.
    """

    __slots__ = ("parents", "needs_input_grad", "out_meta", "__dict__")

    # class-level defaults, so creating a node costs no __init__ call
    saved_tensors = ()
    released = False
    # the tensor this node produced, set only when it has hooks or retains its grad (a
    # strong reference would otherwise keep every output alive)
    _owner = None
    # the CuPy device of a CUDA call's inputs: backward runs under it too (engine)
    cuda_device = None

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
        # The per-op hot path (bench/NOTES.md, "Dispatch"): one pass over the arguments,
        # no __init__ call, and nothing device-related unless an input is not a NumPy array.
        arrays = []
        parents = []
        on_gpu = None
        record = False
        for a in args:
            if isinstance(a, Tensor):
                data = a._data
                if type(data) is not _ndarray:
                    on_gpu = a
                arrays.append(data)
                if a._requires_grad:
                    record = True
                    node = a.grad_fn
                    parents.append(a if node is None else node)
                else:
                    parents.append(None)
            else:
                arrays.append(a)
                parents.append(None)
        ctx = cls()  # no __init__ is defined: this is only the object allocation
        if on_gpu is not None:  # all-CPU calls (the common case) pay nothing for this check
            _check_same_device(cls, on_gpu, args)
            # CuPy allocates and launches on the CURRENT device, not the inputs': a call on
            # cuda:1 while cuda:0 is current would otherwise compute on (or fail on) cuda:0
            ctx.cuda_device = on_gpu._data.device
        if record and grad_mode._state.enabled:
            ctx.needs_input_grad = tuple([p is not None for p in parents])
        else:
            record = False
            n = len(args)
            ctx.needs_input_grad = _NO_GRAD[n] if n < 8 else (False,) * n
        if ctx.cuda_device is None:
            out = cls.forward(ctx, *arrays, **kwargs) if kwargs else cls.forward(ctx, *arrays)
        else:
            with ctx.cuda_device:
                out = cls.forward(ctx, *arrays, **kwargs)
        result = Tensor._make(out, record)
        if record:
            ctx.parents = parents
            ctx.out_meta = (out.shape, out.dtype)  # checks the gradients sent to this node
            result.grad_fn = ctx
        return result


_ndarray = np.ndarray
# needs_input_grad of an unrecorded call, by argument count (shared: tuples are immutable)
_NO_GRAD = tuple((False,) * n for n in range(8))


def _check_same_device(cls, first, args):
    """Raises PyTorch's RuntimeError unless every tensor in `args` is on first's device."""
    device = first.device
    for a in args:
        if isinstance(a, Tensor) and a.device != device:
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two "
                f"devices, {device} and {a.device}! (in {cls.__name__})")


from ..tensor import Tensor  # noqa: E402  (tensor.py imports ops, which import this module)
