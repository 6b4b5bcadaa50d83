"""Parameter: a leaf Tensor that a Module registers as learnable; Buffer: a marked state tensor."""
from .. import creation
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a module parameter: sharing `data`'s array, a leaf, requires_grad."""

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = creation.empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter() expects a Tensor as data, got {type(data).__name__}")
        if requires_grad and data._data.dtype.kind not in "fc":
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        # Tensor._make builds plain Tensors; copy its attribute set so the two stay in step.
        template = Tensor._make(data._data, bool(requires_grad))
        param = object.__new__(cls)
        param.__dict__.update(template.__dict__)
        return param

    def __init__(self, data=None, requires_grad=True):
        pass  # everything happens in __new__; Tensor.__init__ would rebuild the data

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(Tensor._make(self._data.copy(), False), self.requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data, self.requires_grad))


def _rebuild_parameter(array, requires_grad):
    return Parameter(Tensor._make(array, False), requires_grad)


class _BufferMeta(type):
    """isinstance(t, Buffer) is true for tensors that Buffer() marked."""

    def __instancecheck__(cls, instance):
        return isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)


class Buffer(metaclass=_BufferMeta):
    """Marks a tensor as a buffer: assigning it to a Module attribute registers it."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            data = creation.empty(0)
        t = data.detach()
        t._is_buffer = True
        t.persistent = persistent
        return t
