"""Function: one differentiable op, with forward/backward on raw arrays.

A Function instance doubles as the graph node (`grad_fn`) of the tensor it produced: it keeps
the parent tensors by argument POSITION (never by identity) plus whatever forward saved.
"""
import numpy as np

from . import grad_mode


class Function:
    """Subclass with static `forward(ctx, *args, **kwargs)` and `backward(ctx, grad)`.

    Tensor arguments reach forward as raw arrays (NumPy or CuPy); everything else as is.
    backward returns one gradient (or None) per positional argument of forward.
    """

    __slots__ = ("parents", "needs_input_grad", "saved_tensors", "released", "__dict__")

    def __init__(self):
        self.saved_tensors = ()
        self.released = False

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays

    def name(self):
        return f"{type(self).__name__}Backward0"

    def __repr__(self):
        return f"<{self.name()} object>"

    @property
    def next_functions(self):
        return tuple((p.grad_fn if p is not None else None, 0) for p in self.parents)

    def release(self):
        """Drops saved arrays after backward so memory is freed (retain_graph=False)."""
        self.saved_tensors = None
        self.__dict__.clear()
        self.released = True

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        arrays = []
        parents = []
        device_arg = None
        any_grad = False
        for a in args:
            if isinstance(a, Tensor):
                data = a._data
                if type(data) is not np.ndarray or device_arg is not None:
                    device_arg = _check_same_device(cls, device_arg, a)
                arrays.append(data)
                if a.requires_grad:
                    any_grad = True
                    parents.append(a)
                else:
                    parents.append(None)
            else:
                arrays.append(a)
                parents.append(None)
        ctx = cls()
        record = any_grad and grad_mode._enabled
        ctx.needs_input_grad = tuple(p is not None for p in parents) if record \
            else (False,) * len(parents)
        out = cls.forward(ctx, *arrays, **kwargs)
        result = Tensor._make(out, record)
        if record:
            ctx.parents = parents
            result.grad_fn = ctx
        return result


def _check_same_device(cls, first, tensor):
    """Returns the first tensor seen on a non-CPU path; raises on a device mix."""
    if first is None:
        return tensor
    if first.device != tensor.device:
        raise RuntimeError(
            "Expected all tensors to be on the same device, but found at least two devices, "
            f"{first.device} and {tensor.device}! (in {cls.__name__})")
    return first


from ..tensor import Tensor  # noqa: E402  (tensor.py imports ops, which import this module)
