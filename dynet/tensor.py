"""Tensor: data (a NumPy or CuPy array), grad, grad_fn and the PyTorch method surface.

No math lives here: every operation delegates to dynet.ops.functions, which calls one
autograd Function per op. The raw array is `_data`; `.data` is a detached Tensor sharing
it, as in PyTorch.

Storage (dynet.autograd.views has the whole model): a tensor's version box `_vbox` is
shared by every tensor over the same memory and bumped by each in-place write; `_view`
links a view to its root base. Both are class-level None for a plain tensor, so creating
one costs nothing extra. An in-place op is a real write into the tensor's memory, also
inside a recorded graph, where the tensor (or, for a view, its base) gets a new history.
"""
from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence, Tuple, Union

import numpy as np

from . import dtypes
from ._typing import DeviceLike, DTypeLike, Number, ShapeLike
from .backend.device import Device
from .dtypes import DType
from .autograd import grad_mode
from .backend import as_device, concrete, deferred, device_of, xp_of


class Size(tuple):
    """torch.Size: a tuple that prints as dynet.Size([...])."""

    def __repr__(self):
        return f"dynet.Size({list(self)})"

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return Size(item) if isinstance(index, slice) else item  # x.shape[1:] is a Size

    def numel(self) -> builtins.int:
        n = 1
        for s in self:
            n *= s
        return n


class _Handle:
    """A removable hook handle."""

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


if TYPE_CHECKING:  # type checkers see the methods that are installed at import
    from ._tensor_methods import _InstalledMethods as _MethodDeclarations
else:
    _MethodDeclarations = object


class Tensor(_MethodDeclarations):
    """A multi-dimensional array with autograd, on the CPU (NumPy) or a GPU (CuPy)."""

    __array_priority__ = 1000  # numpy scalars defer to Tensor's reflected operators
    # Per-instance defaults live on the class, so _make (every op's result) sets only two
    # attributes; an assignment creates the instance attribute as usual.
    grad = None
    _grad_fn = None  # behind the grad_fn property (a view may regenerate it)
    _retains_grad = False
    _backward_hooks = None
    _vbox = None  # the storage's shared version box, created on first need (views.box)
    _view = None  # ViewInfo when this tensor is a view of another tensor's memory

    def __init__(self, *args: Any, dtype: Optional[DTypeLike] = None,
                 device: Optional[DeviceLike] = None,
                 requires_grad: builtins.bool = False) -> None:
        """Legacy constructor, as torch.Tensor: Tensor(2, 3) is uninitialised of that shape;
        Tensor(data) copies data as the default float dtype; Tensor(tensor) shares it."""
        from .creation import empty, tensor
        if len(args) == 1 and isinstance(args[0], Tensor):
            src = args[0] if dtype is None and device is None else args[0].to(device, dtype)
        elif builtins.all(isinstance(a, builtins.int) and not isinstance(a, builtins.bool)
                          for a in args):
            src = empty(*(args or (0,)), dtype=dtype, device=device)
        elif len(args) == 1:
            src = tensor(args[0], dtype=dtype or dtypes.get_default_dtype(), device=device)
        else:
            raise TypeError(f"Tensor() expects sizes or one data argument, got {args!r}")
        if requires_grad:
            src = Tensor._make(src._data, False).requires_grad_()
        self._data = src._data
        self._requires_grad = src._requires_grad
        self.grad = None
        self._grad_fn = None
        self._retains_grad = False
        self._backward_hooks = None

    @classmethod
    def _make(cls, array, requires_grad):
        """Wraps a raw array without copying (the internal constructor)."""
        if type(array) is not np.ndarray and isinstance(array, np.generic):
            array = np.asarray(array)  # NumPy reductions can return scalars
        t = _new_tensor(Tensor)
        t._data = array
        t._requires_grad = requires_grad
        return t

    @staticmethod
    def _alias(a):
        """A new node that shares `a`'s data (used where an op changes nothing)."""
        return F.reshape_alias(a)

    # ------------------------------------------------------------ attributes

    @property
    def grad_fn(self) -> Optional[Any]:
        if self._view is not None:
            views.sync_view(self)  # a view of a base changed in place since: new history
        return self._grad_fn

    @grad_fn.setter
    def grad_fn(self, node: Optional[Any]) -> None:
        self._grad_fn = node

    @property
    def _version(self) -> builtins.int:
        """How many in-place writes this tensor's storage has seen (shared with its views)."""
        b = self._vbox
        return 0 if b is None else b[0]

    @property
    def _base(self) -> Optional[Tensor]:
        """The tensor this one is a view of, or None."""
        return None if self._view is None else self._view.base

    @property
    def data(self) -> Tensor:
        return Tensor._make(self._data, False)

    @data.setter
    def data(self, value: Any) -> None:
        self._data = value._data if isinstance(value, Tensor) else value

    @property
    def requires_grad(self) -> builtins.bool:
        if self._view is not None:
            views.sync_view(self)
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: builtins.bool) -> None:
        if flag and self._data.dtype.kind not in "fc":
            raise RuntimeError("only Tensors of floating point and complex dtype can require "
                               f"gradients (got {self.dtype})")
        if not flag and self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                               "you want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        self._requires_grad = builtins.bool(flag)

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: Optional[builtins.int] = None) -> Union[Size, builtins.int]:
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[F.normalize_dim(dim, self._data.ndim)]

    @property
    def ndim(self) -> builtins.int:
        return self._data.ndim

    def dim(self) -> builtins.int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> builtins.int:
        return builtins.int(self._data.size)

    nelement = numel

    def element_size(self) -> builtins.int:
        return self._data.itemsize

    @property
    def itemsize(self) -> builtins.int:
        return self._data.itemsize

    @property
    def dtype(self) -> DType:
        return dtypes.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> Device:
        return device_of(self._data)

    @property
    def is_cuda(self) -> builtins.bool:
        return self.device.type == "cuda"

    @property
    def is_leaf(self) -> builtins.bool:
        return self.grad_fn is None

    def is_floating_point(self) -> builtins.bool:
        return self._data.dtype.kind == "f"

    @property
    def T(self) -> Tensor:
        return F.permute(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self) -> Tensor:
        return F.transpose(self, -2, -1)

    def is_contiguous(self) -> builtins.bool:
        return builtins.bool(self._data.flags.c_contiguous)

    def contiguous(self) -> Tensor:
        if self._data.flags.c_contiguous:
            return self
        return F.contiguous(self)

    # ------------------------------------------------------------ conversions

    def to(self, *args: Any, dtype: Optional[DTypeLike] = None, device: Optional[DeviceLike] = None,
           non_blocking: builtins.bool = False, copy: builtins.bool = False,
           tensor: Optional[Tensor] = None) -> Tensor:
        """to(device, dtype), to(dtype) or to(tensor), each then (non_blocking, copy), as
        PyTorch's three forms: self when nothing changes."""
        flags = []
        for a in args:
            if isinstance(a, builtins.bool):  # non_blocking, copy after the target
                flags.append(a)
            elif isinstance(a, Tensor):
                tensor = a
            elif isinstance(a, dtypes.DType) or (isinstance(a, type) or
                                                 isinstance(a, np.dtype)):
                dtype = a
            elif a is not None:
                device = a
        if len(flags) > 2:
            raise TypeError(f"to() takes at most 2 boolean flags (non_blocking, copy), got "
                            f"{len(flags)}")
        if len(flags) == 2:
            copy = flags[1]
        if tensor is not None:
            device, dtype = tensor.device, tensor.dtype
        out = self
        if device is not None:
            target = concrete(as_device(device))
            if target != self.device:
                out = F.to_device(out, target)
        if dtype is not None:
            dt = dtypes.get_dtype(dtype)
            if dt.np != out._data.dtype:
                out = F.cast(out, dt.np)
        if copy and out is self:
            out = self.clone()
        return out

    def cuda(self, device: Optional[DeviceLike] = None,
             non_blocking: builtins.bool = False) -> Tensor:
        return self.to("cuda" if device is None else as_device(device if not isinstance(
            device, builtins.int) else f"cuda:{device}"))

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def type(self, dtype: Optional[DTypeLike] = None) -> Union[str, Tensor]:
        if dtype is None:
            return f"dynet.{'cuda.' if self.is_cuda else ''}{_TYPE_NAMES[self.dtype.name]}"
        return self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def float(self) -> Tensor:
        return self.to(dtypes.float32)

    def double(self) -> Tensor:
        return self.to(dtypes.float64)

    def half(self) -> Tensor:
        return self.to(dtypes.float16)

    def long(self) -> Tensor:
        return self.to(dtypes.int64)

    def int(self) -> Tensor:
        return self.to(dtypes.int32)

    def short(self) -> Tensor:
        return self.to(dtypes.int16)

    def byte(self) -> Tensor:
        return self.to(dtypes.uint8)

    def bool(self) -> Tensor:
        return self.to(dtypes.bool)

    def numpy(self, force: builtins.bool = False) -> np.ndarray:
        if self.device.type != "cpu":
            if force:
                deferred.flush()
                return self._data.get()
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use "
                            "Tensor.cpu() to copy the tensor to host memory first.")
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype: Any = None, copy: Optional[builtins.bool] = None) -> np.ndarray:
        """NumPy 2's protocol: np.asarray(t) shares a CPU tensor's memory, np.array(t) copies."""
        if self.device.type != "cpu":
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use "
                            "Tensor.cpu() to copy the tensor to host memory first.")
        a = self._data
        if dtype is not None and np.dtype(dtype) != a.dtype:
            if copy is False:
                raise ValueError(f"Unable to avoid copy while creating an array as requested: "
                                 f"the tensor's dtype {self.dtype} differs from {np.dtype(dtype)}")
            return a.astype(dtype)
        return a.copy() if copy else a

    def __dlpack__(self, stream: Any = None,
                   max_version: Optional[Tuple[builtins.int, builtins.int]] = None,
                   dl_device: Any = None, copy: Optional[builtins.bool] = None) -> Any:
        """Exports this tensor's memory as a DLPack capsule (zero-copy)."""
        if self._requires_grad:
            raise RuntimeError("Can't export tensors that require gradient, use "
                               "tensor.detach()")
        kwargs = {}
        if stream is not None:
            kwargs["stream"] = stream
        if max_version is not None:
            kwargs["max_version"] = max_version
        if dl_device is not None:
            kwargs["dl_device"] = dl_device
        if copy is not None:
            kwargs["copy"] = copy
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> Tuple[builtins.int, builtins.int]:
        from .utils.dlpack import dlpack_device
        return dlpack_device(self)

    def item(self) -> Number:
        deferred.flush()
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               "to Scalar")
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        deferred.flush()
        data = self._data if self.device.type == "cpu" else self._data.get()
        return data.tolist()

    def clone(self, memory_format: Any = None) -> Tensor:
        return F.clone(self)

    def detach(self) -> Tensor:
        """A tensor sharing this one's memory AND version counter, outside the graph."""
        t = Tensor._make(self._data, False)
        t._vbox = views.box(self)
        return t

    def detach_(self) -> Tensor:
        if self._grad_fn is not None and self._grad_fn._owner is self:
            self._grad_fn._owner = None
        self._grad_fn = None
        self._requires_grad = False
        return self

    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            self._retains_grad = True
            self.grad_fn._owner = self

    @property
    def retains_grad(self) -> builtins.bool:
        return self._retains_grad

    def register_hook(self, hook: Callable[[Tensor], Optional[Tensor]]) -> _Handle:
        """hook(grad) -> Tensor or None, called when this tensor's gradient is computed."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        if self._backward_hooks is None:
            self._backward_hooks = []
        self._backward_hooks.append(hook)
        if self.grad_fn is not None:
            self.grad_fn._owner = self
        return _Handle(self._backward_hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> _Handle:
        """hook(tensor) -> None, called on a leaf after its .grad was accumulated."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        hooks = self.__dict__.setdefault("_post_accumulate_grad_hooks", [])
        hooks.append(hook)
        return _Handle(hooks, hook)

    def backward(self, gradient: Optional[Tensor] = None,
                 retain_graph: Optional[builtins.bool] = None,
                 create_graph: builtins.bool = False,
                 inputs: Optional[Sequence[Tensor]] = None) -> None:
        from .autograd.engine import backward
        backward([self], None if gradient is None else [gradient], retain_graph,
                 create_graph, inputs)

    # ------------------------------------------------------------ Python protocol

    def __repr__(self):
        from ._tensor_str import tensor_repr
        return tensor_repr(self, (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool))

    def __len__(self) -> builtins.int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(F.unbind(self, 0))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is "
                               f"ambiguous (shape {tuple(self.shape)})")
        deferred.flush()
        return builtins.bool(self._data.reshape(()).item())

    def __float__(self):
        return builtins.float(self.item())

    def __int__(self):
        return builtins.int(self.item())

    def __format__(self, format_spec):
        if self._data.ndim == 0:
            return self.detach().item().__format__(format_spec)
        return object.__format__(self, format_spec)

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return builtins.int(self.item())

    __hash__ = object.__hash__

    # __getitem__ is F.getitem itself (installed below: one frame less per x[i])

    def __setitem__(self, index, value):
        F.setitem(self, index, value)

    # ------------------------------------------------------------ operators

    def __radd__(self, other):
        return F.add(other, self)

    def __rsub__(self, other):
        return F.sub(other, self)

    def __rmul__(self, other):
        return F.mul(other, self)

    def __rtruediv__(self, other):
        return F.div(other, self)

    def __floordiv__(self, other):
        return F.div(self, other, rounding_mode="floor")

    def __rfloordiv__(self, other):
        return F.div(other, self, rounding_mode="floor")

    def __mod__(self, other):
        return F.remainder(self, other)

    def __pow__(self, other):
        return F.pow(self, other)

    def __rpow__(self, other):
        return F.pow(other, self)

    def __rmatmul__(self, other):
        return F.matmul(other, self)

    def __neg__(self):
        return F.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return F.abs(self)

    def __invert__(self):
        if self._data.dtype.kind == "b":
            return F.logical_not(self)
        return Tensor._make(~self._data, False)

    def __and__(self, other):
        return F.bitwise("bitwise_and", self, other)

    def __or__(self, other):
        return F.bitwise("bitwise_or", self, other)

    def __xor__(self, other):
        return F.bitwise("bitwise_xor", self, other)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __eq__(self, other):
        return F.eq(self, other)

    def __ne__(self, other):
        return F.ne(self, other)

    def __lt__(self, other):
        return F.lt(self, other)

    def __le__(self, other):
        return F.le(self, other)

    def __gt__(self, other):
        return F.gt(self, other)

    def __ge__(self, other):
        return F.ge(self, other)

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    # ------------------------------------------------------------ in-place ops

    def _inplace(self, compute, *others, direct=None):
        """Runs `compute(self, *others)` and writes the result into this tensor's memory.

        When recording, the op runs out of place and the write then rewrites the history of
        this tensor, or of its base if it is a view (dynet.autograd.views.commit_inplace).
        Otherwise `direct(array)`, where given, writes the result straight into a float
        tensor's array: no out-of-place result and no copy back.
        """
        recording = grad_mode._state.enabled and (
            self.requires_grad or views.base_requires_grad(self) or builtins.any(
                isinstance(o, Tensor) and o._requires_grad for o in others))
        if recording:
            views.check_inplace(self)
            # the op records this tensor's current node as its input, also where `self` is
            # among `others` (x.mul_(x)), before the tensor gets the op's node
            out = compute(self, *others)
        elif direct is not None and self._data.dtype.kind == "f":
            views.check_overlap(self)
            direct(self._data)
            views.bump(self)
            return self
        else:
            with grad_mode.no_grad():
                out = compute(self, *others)
        if out._data.shape != self._data.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the "
                               f"broadcast shape {list(out.shape)}")
        if out._data.dtype.kind == "f" and self._data.dtype.kind != "f":
            raise RuntimeError(f"result type {out.dtype} can't be cast to the desired output "
                               f"type {self.dtype}")
        if recording:
            # an in-place op keeps the tensor's dtype (float32 += float64 stays float32)
            views.commit_inplace(self, out if out.dtype == self.dtype else out.to(self.dtype))
        else:
            views.write(self, out._data)
        return self

    def add_(self, other: Union[Tensor, Number], alpha: Number = 1) -> Tensor:
        return self._inplace(lambda s, o: F.add(s, o, alpha=alpha), other)

    def sub_(self, other: Union[Tensor, Number], alpha: Number = 1) -> Tensor:
        return self._inplace(lambda s, o: F.sub(s, o, alpha=alpha), other)

    def mul_(self, other: Union[Tensor, Number]) -> Tensor:
        return self._inplace(F.mul, other)

    def div_(self, other: Union[Tensor, Number], rounding_mode: Optional[str] = None) -> Tensor:
        return self._inplace(lambda s, o: F.div(s, o, rounding_mode), other)

    def pow_(self, exponent: Union[Tensor, Number]) -> Tensor:
        return self._inplace(F.pow, exponent)

    def clamp_(self, min: Optional[Union[Tensor, Number]] = None,  # noqa: A002
               max: Optional[Union[Tensor, Number]] = None) -> Tensor:
        return self._inplace(F.clamp, min, max)

    clip_ = clamp_

    def masked_fill_(self, mask: Tensor, value: Union[Tensor, Number]) -> Tensor:
        return self._inplace(lambda s, v: F.masked_fill(s, mask, v), value)

    def copy_(self, other: Any, non_blocking: builtins.bool = False) -> Tensor:
        """Copies `other` (broadcast, cast and moved to this tensor's device) into self."""
        if isinstance(other, Tensor):
            other = other.to(self.device)

        def compute(s, o):
            if isinstance(o, Tensor) and o.requires_grad:
                return F.clone(F.expand(o.to(s.dtype), *s.shape))  # gradient flows to src
            if s._requires_grad and grad_mode._state.enabled:  # old value gets a zero gradient
                return F.masked_fill(s, _true(s), F.copy_into(s, o))
            return F.copy_into(s, o)
        return self._inplace(compute, other)

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Union[Tensor, Number]) -> Tensor:
        if grad_mode._state.enabled and (self._requires_grad or (
                isinstance(value, Tensor) and value._requires_grad)):
            # recorded as a where() so the old graph gets a zero gradient, as in PyTorch
            return self._inplace(lambda s, v: F.masked_fill(s, _true(s), v), value)
        if isinstance(value, Tensor):
            value = value.item()
        views.check_overlap(self)
        self._data.fill(value)
        views.bump(self)
        return self

    def uniform_(self, *args: builtins.float, generator: Any = None,
                 **kwargs: builtins.float) -> Tensor:
        """uniform_(from=0, to=1, *, generator=None): `from` is a Python keyword, so the
        bounds come by position or as **{"from": a, "to": b}, as in PyTorch."""
        bounds = dict(zip(("from", "to"), args))
        if len(args) > 2:
            raise TypeError(f"uniform_() takes at most 2 positional arguments ({len(args)} "
                            f"given)")
        for key, value in kwargs.items():
            if key not in ("from", "to"):
                raise TypeError(f"uniform_() got an unexpected keyword argument '{key}'")
            if key in bounds:
                raise TypeError(f"uniform_() got multiple values for argument '{key}'")
            bounds[key] = value
        return F.sample_into(self, "uniform", bounds.get("from", 0.0), bounds.get("to", 1.0),
                             generator)

    def normal_(self, mean: builtins.float = 0.0, std: builtins.float = 1.0,
                generator: Any = None) -> Tensor:
        return F.sample_into(self, "normal", mean, std, generator)

    def exp_(self) -> Tensor:
        return self._inplace(F.exp)

    def relu_(self) -> Tensor:
        return self._inplace(F.relu)

    def sigmoid_(self) -> Tensor:
        return self._inplace(F.sigmoid)

    def tanh_(self) -> Tensor:
        return self._inplace(F.tanh)

    def neg_(self) -> Tensor:
        return self._inplace(F.neg)

    def sqrt_(self) -> Tensor:
        return self._inplace(F.sqrt)

    def abs_(self) -> Tensor:
        return self._inplace(F.abs)

    def squeeze_(self, dim: Optional[builtins.int] = None) -> Tensor:
        return self._inplace_view(F.squeeze(self, dim))

    def unsqueeze_(self, dim: builtins.int) -> Tensor:
        return self._inplace_view(F.unsqueeze(self, dim))

    def _inplace_view(self, out):
        """squeeze_/unsqueeze_: this tensor takes the view's shape (and node, if recorded)."""
        self._data = out._data
        if out._grad_fn is not None:
            views._set_history(self, out._grad_fn, out._requires_grad)
        return self

    # ------------------------------------------------------------ new_* factories

    def new_zeros(self, *size: Union[builtins.int, ShapeLike], dtype: Optional[DTypeLike] = None,
                  device: Optional[DeviceLike] = None,
                  requires_grad: builtins.bool = False) -> Tensor:
        return C.zeros(*size, dtype=dtype or self.dtype, device=device or self.device,
                       requires_grad=requires_grad)

    def new_ones(self, *size: Union[builtins.int, ShapeLike], dtype: Optional[DTypeLike] = None,
                 device: Optional[DeviceLike] = None,
                 requires_grad: builtins.bool = False) -> Tensor:
        return C.ones(*size, dtype=dtype or self.dtype, device=device or self.device,
                      requires_grad=requires_grad)

    def new_empty(self, *size: Union[builtins.int, ShapeLike], dtype: Optional[DTypeLike] = None,
                  device: Optional[DeviceLike] = None,
                  requires_grad: builtins.bool = False) -> Tensor:
        return C.empty(*size, dtype=dtype or self.dtype, device=device or self.device,
                       requires_grad=requires_grad)

    def new_full(self, size: ShapeLike, fill_value: Number,
                 dtype: Optional[DTypeLike] = None, device: Optional[DeviceLike] = None,
                 requires_grad: builtins.bool = False) -> Tensor:
        return C.full(size, fill_value, dtype=dtype or self.dtype,
                      device=device or self.device, requires_grad=requires_grad)

    def new_tensor(self, data: Any, dtype: Optional[DTypeLike] = None,
                   device: Optional[DeviceLike] = None,
                   requires_grad: builtins.bool = False) -> Tensor:
        return C.tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                        requires_grad=requires_grad)

    # ------------------------------------------------------------ shape helpers

    def view(self, *size: Union[builtins.int, ShapeLike],
             dtype: Optional[DTypeLike] = None) -> Tensor:
        """A view of another shape, or with dtype (or one dtype argument) the same bytes
        read as that dtype."""
        if dtype is None and len(size) == 1 and isinstance(size[0], (dtypes.DType, np.dtype)):
            dtype, size = size[0], ()
        if dtype is not None:
            if size:
                raise TypeError("view() takes a shape or a dtype, not both")
            from .ops.shape_functions import view_dtype
            return view_dtype(self, dtype)
        return F.reshape(self, *size)

    def view_as(self, other: Tensor) -> Tensor:
        return F.reshape(self, other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return F.reshape(self, other.shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return F.expand(self, *other.shape)

    def expand(self, *size: Union[builtins.int, ShapeLike]) -> Tensor:
        return F.expand(self, *size)

    def split(self, split_size: Union[builtins.int, Sequence[builtins.int]],
              dim: builtins.int = 0) -> Tuple[Tensor, ...]:
        """Tensor.split names its size split_size (torch.split: split_size_or_sections)."""
        return F.split(self, split_size, dim)


def _true(t):
    """A 0-d True on t's device (the mask of a recorded full overwrite)."""
    return Tensor._make(xp_of(t._data).asarray(True), False)


_new_tensor = object.__new__

_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}

# Methods that forward straight to the function of the same name in ops.functions.
_DELEGATED = (
    "add sub mul div pow neg exp log log1p sqrt rsqrt abs sign sin cos tanh sigmoid relu "
    "square clamp clip maximum minimum lerp eq ne lt le gt ge logical_and logical_or "
    "logical_xor logical_not isnan isinf isfinite equal allclose isclose sum mean var std "
    "prod amax amin max min argmax argmin logsumexp norm cumsum any all count_nonzero "
    "nonzero sort argsort topk matmul mm bmm mv dot reshape flatten unflatten squeeze "
    "unsqueeze permute transpose swapaxes t movedim repeat flip chunk unbind select "
    "narrow index_select gather take_along_dim masked_fill remainder fmod floor ceil round "
    "trunc reciprocal softmax log_softmax"
).split()

_ALIASES = {"subtract": "sub", "multiply": "mul", "divide": "div", "true_divide": "div",
            "greater": "gt", "less": "lt", "greater_equal": "ge", "less_equal": "le",
            "not_equal": "ne", "absolute": "abs", "arctan": None}


def _install_methods():
    # a + b is one Python frame before Function.apply (see F.OPERATORS); a @ b is F.matmul
    for name, fn in F.OPERATORS.items():
        setattr(Tensor, name, fn)
    Tensor.__matmul__ = F.matmul
    Tensor.__getitem__ = F.getitem
    for name in _DELEGATED:
        fn = getattr(F, name)
        setattr(Tensor, name, fn)
    for alias, target in _ALIASES.items():
        if target is not None:
            setattr(Tensor, alias, getattr(F, target))

    def where(self: Tensor, condition: Tensor, other: Union[Tensor, Number]) -> Tensor:
        return F.where(condition, self, other)
    Tensor.where = where


from . import creation as C  # noqa: E402
from .autograd import views  # noqa: E402
from .ops import functions as F  # noqa: E402

_install_methods()
