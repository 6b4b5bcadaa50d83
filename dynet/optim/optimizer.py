"""Optimizer: param_groups, per-parameter state and PyTorch-compatible state dicts.

Subclasses update raw arrays through the fused kernels in dynet.backend.kernels.optim; no
Tensor-level op runs during a step, so nothing is recorded and nothing syncs the device.
SGD, Adam and AdamW run each update once per (device, dtype) set of parameters over flat
buffers (dynet.optim._flat, `_param_sets`) unless a group has foreach=False, which keeps
torch's for-loop over parameters; both give the same numbers bit for bit.
"""
from __future__ import annotations

import operator
import warnings
from collections import defaultdict
from typing import Any, Callable, Dict, Iterable, Optional, Tuple, Union
from copy import deepcopy
from itertools import chain

import numpy as np

from ..autograd import grad_mode
from ..backend import CPU, device_context, move
from ..backend.kernels import optim as optim_kernels
from ..tensor import Tensor
from . import _flat


def check_foreach_fused(foreach, fused):
    """torch's check of the foreach/fused pair (both select dynet's flat multi-tensor step)."""
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def check_hyperparameters(lr, differentiable=False, **non_negative):
    """PyTorch's argument checks shared by every optimizer, with its messages.

    `non_negative` names the other arguments that must be >= 0 (`eps` is reported as
    "epsilon", as PyTorch does).
    """
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    for name, value in non_negative.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {'epsilon' if name == 'eps' else name} value: {value}")
    if differentiable:
        raise NotImplementedError("dynet optimizers do not support differentiable=True")


class _RequiredParameter:
    """Marks a hyperparameter that every param group must set."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj):
    if type(obj) is Tensor:
        return "dynet.Tensor"
    t = type(obj)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def new_step_counter(value=0.0):
    """A step counter as PyTorch keeps it: a 0-d float32 tensor on the CPU."""
    return Tensor._make(np.array(value, dtype=np.float32), False)


def zeros_state(p):
    """A zero buffer shaped, typed and placed like parameter p (momentum, moment averages)."""
    return Tensor._make(optim_kernels.full_like(p._data), False)


def advance_step(state):
    """Adds one to state['step'] in place and returns the new count as a Python float."""
    data = state["step"]._data
    data += 1  # a host array: no device sync to read it back
    return float(data)


# What an optimizer takes as `params` (torch.optim.optimizer.ParamsT): tensors, dicts of
# per-group options with a "params" entry, or (name, tensor) pairs from named_parameters()
ParamsT = Union[Iterable[Tensor], Iterable[Dict[str, Any]], Iterable[Tuple[str, Tensor]]]


class Optimizer:
    """Base class of all optimizers (torch.optim.Optimizer).

    Args:
        params: the tensors to optimize, or dicts that each hold a group's "params" and
            the options that override `defaults` for that group.
        defaults: the default options (lr, momentum, ...) of every parameter group.
    """

    # Keys of per-parameter state that must have the parameter's shape (checked on load).
    _param_shaped_state = ()

    def __init__(self, params: ParamsT, defaults: Dict[str, Any]) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __getstate__(self):
        # not the flat buffers' cache (_flat_cache): a copy builds its own on its first step
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        # Older or foreign state dicts may hold the step as a number; steps are tensors here.
        for s in self.state.values():
            if isinstance(s, dict) and "step" in s and not isinstance(s["step"], Tensor):
                s["step"] = new_step_counter(float(s["step"]))

    def __repr__(self):
        out = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            out += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    out += f"    {key}: {group[key]}\n"
        return out + ")"

    # ------------------------------------------------------------ groups

    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        """Adds a group of parameters with its own hyperparameters (defaults fill the rest)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        tensors, names = [], []
        for param in params:
            if isinstance(param, tuple):  # (name, tensor) from named_parameters()
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some "
                                 "param names are missing")
            param_group["param_names"] = names
        for param in tensors:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params "
                                "is " + _typename(param))
            if not (param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        if len(tensors) != len(set(tensors)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        param_set = set()
        for group in self.param_groups:
            param_set.update(group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not param_set.isdisjoint(tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------ gradients and steps

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Resets the gradients of all optimized tensors (to None by default)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if p.grad.grad_fn is not None:
                        p.grad.detach_()
                    else:
                        p.grad.requires_grad_(False)
                    p.grad._data.fill(0)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Performs one optimization step (implemented by subclasses)."""
        raise NotImplementedError

    def _param_sets(self, group, keys, with_step=False):
        """The parameters of `group` that have a gradient, as (FlatSet or None, params) pairs.

        A FlatSet runs the update once over flat buffers (dynet.optim._flat); None means the
        per-parameter loop: foreach=False (and not fused), a non-floating dtype, or state
        that cannot go flat. `keys` are the per-parameter state keys the update uses;
        `with_step` adds torch's per-parameter step count.
        """
        live = [p for p in group["params"] if p.grad is not None]
        if not live:
            return []
        if group.get("foreach") is False and not group.get("fused"):
            return [(None, live)]
        cache = self.__dict__.setdefault("_flat_cache", {})
        entry = cache.get(id(group))
        if entry is None or entry[0] is not group:
            # drop the sets of groups no longer here (load_state_dict makes new groups)
            for k in [k for k, e in cache.items()
                      if not any(e[0] is h for h in self.param_groups)]:
                del cache[k]
            entry = cache[id(group)] = [group, {}, (), {}]
        if len(live) == len(entry[2]) and all(map(operator.is_, live, entry[2])):
            parts = entry[3]  # the same parameters have gradients as last step
        else:
            parts = {}
            for p in live:
                parts.setdefault(_flat.set_key(p._data), []).append(p)
            entry[2], entry[3] = tuple(live), parts
        sets, out = entry[1], []
        for key, params in parts.items():
            fs = None if key is None else sets.get(key)
            if key is not None and (fs is None or not fs.matches(params, self.state, keys)):
                fs = _flat.build(params, self.state, keys, with_step, fs)
                if fs is not None:
                    sets[key] = fs
                else:
                    entry[2] = ()  # split by device and dtype afresh next step
            out.append((fs if fs is not None and fs.steps_agree() else None, params))
        return out

    @staticmethod
    def _evaluate(closure):
        """Runs the closure with grad mode on (step itself records nothing)."""
        if closure is None:
            return None
        with grad_mode.enable_grad():
            return closure()

    # ------------------------------------------------------------ state dicts

    def state_dict(self) -> Dict[str, Any]:
        """{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}.

        As in PyTorch the state tensors are the live ones (not copies): save or deepcopy the
        result before training on if it must stay fixed.
        """
        mapping = {}
        start = 0

        def pack(group):
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            mapping.update({id(p): i for i, p in enumerate(group["params"], start)
                            if id(p) not in mapping})
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        param_groups = [pack(g) for g in self.param_groups]
        packed_state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v
                        for k, v in self.state.items()}
        return {"state": packed_state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Loads a state_dict(); state tensors are copied to each parameter's device/dtype."""
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for i, (g, sg) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(sg["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group (group "
                                 f"{i}: {len(sg['params'])} saved, {len(g['params'])} here)")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = self._cast_state(param, v, k)
            else:
                state[k] = v
        param_groups = []
        for g, sg in zip(groups, saved_groups):
            sg["params"] = g["params"]
            if "param_names" in g and "param_names" not in sg:
                sg["param_names"] = g["param_names"]
            param_groups.append(sg)
        self.__setstate__({"state": state, "param_groups": param_groups})

    def _cast_state(self, param, value, index, key=None):
        """A copy of `value` with tensors on param's device (and dtype, if floating)."""
        if isinstance(value, Tensor):
            return _cast_tensor(param, value, index, key, self._param_shaped_state)
        if isinstance(value, dict):
            return {k: self._cast_state(param, v, index, k) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._cast_state(param, v, index) for v in value)
        return value


def _cast_tensor(param, value, index, key, shaped_keys):
    src = value._data
    if key == "step":
        # The step counter stays a host float32 scalar: each step reads it on the host.
        arr = np.array(move(src, CPU), dtype=np.float32).reshape(())
        return Tensor._make(arr, False)
    if key in shaped_keys and tuple(src.shape) != tuple(param.shape):
        raise ValueError(f"loaded state dict has state '{key}' of shape {tuple(src.shape)} "
                         f"for parameter {index} of shape {tuple(param.shape)}")
    device = param.device
    with device_context(device):
        arr = move(src, device)
        if param.is_floating_point():
            arr = arr.astype(param._data.dtype, copy=False)
        if arr is src:  # never alias the caller's state dict: steps mutate state in place
            arr = arr.copy()
    return Tensor._make(arr, False)


__all__ = ["Optimizer", "required"]
