"""Multi-tensor optimizer steps: one update over flat buffers per (device, dtype) set.

Why: the per-parameter step runs each of an update's array operations once per parameter
(LeNet's SGD with momentum: 5 per parameter, 50 for 10 parameters); run over flat buffers it
runs them once per set (6 in all), and on CUDA the update is ONE kernel launch per set.

Layout: the parameters of one param group that have a gradient are split by device and
dtype into sets. A set keeps one 1-D buffer per state key (momentum_buffer, exp_avg, ...),
one for the parameters, one for the gradients and (Adam) one host float32 array of step
counts. Each parameter's state tensors are views of their slots, so state_dict(),
load_state_dict() and in-place writes see one memory, as torch's per-parameter state. The
gradients are gathered with one concatenate. The update is the per-parameter kernel of
dynet.backend.kernels.optim run on the flat arrays: the same elementwise operations, so the
result equals the per-parameter path bit for bit, on the CPU and in the CUDA kernel alike.

Adoption (copying an array into its slot and pointing its tensor at the slot view) is done
only for an array that owns its memory and is referenced by its tensor alone (no view, no
.detach() or .data alias, no saved graph): anyone else holding the old memory would stop
seeing the updates without a word. A parameter that cannot be adopted is mirrored: copied
into its slot before the update and back after it, and adopted at the first step where it
can be (after param.data = ..., Module.to(), or once an old alias is gone). A set whose
state cannot be adopted, or whose parameters differ in step count or in which state they
have, takes the per-parameter path, which is always correct: it updates the same slot views
in place.

Storage model: parameters that share a flat buffer share an owner array, so
dynet.autograd.views tells saved views of them apart by address (`_input_owning`); each
parameter keeps its own version counter, bumped once per step as before.

Each step first checks the cached set with identity tests (no array operation): the same
parameters, each state tensor still over its slot, gradients of the parameter's shape and
dtype. Anything else (a replaced parameter or state tensor, param.data = ..., a new state
key, load_state_dict) builds a new set or takes the per-parameter path.
"""
from __future__ import annotations

import sys
from contextlib import nullcontext

import numpy as np

from ..backend.device import xp_of
from ..tensor import Tensor

# sys.getrefcount of an array referenced only by its tensor, counted inside _sole_owner:
# the tensor's attribute, the local name and getrefcount's own argument
_SOLE_REFS = 3
_ADOPT = object()  # marks state build() copies into a new buffer


def _sole_owner(t):
    """True when t's array owns its memory and nothing but t references it."""
    a = t._data
    return a.base is None and sys.getrefcount(a) <= _SOLE_REFS


def _on_device(a):
    """CuPy allocates and copies on the current device: make `a`'s current."""
    return nullcontext() if isinstance(a, np.ndarray) else a.device


def set_key(a):
    """The (device, dtype) a parameter's array belongs to, or None if it cannot go flat."""
    if a.dtype.kind != "f":
        return None
    return (None if isinstance(a, np.ndarray) else a.device.id), a.dtype


class FlatSet:
    """The flat buffers of one (device, dtype) set of parameters (see the module doc)."""

    def __init__(self, params, keys, pflat, pviews, state, steps, step_views, created):
        self.params = params          # tuple of the parameters, in group order
        self.keys = keys              # the state keys kept flat
        self.pflat, self.pviews = pflat, pviews
        self.state = state            # key -> (flat buffer, per-parameter views)
        self.steps, self.step_views = steps, step_views  # None without a step count
        self.created = created        # state keys created (zero) by the last build
        self.where = set_key(pflat)
        with _on_device(pflat):
            self.gflat = xp_of(pflat).empty_like(pflat)
        self.mirrored = ()

    # -------------------------------------------------------------- per step

    def matches(self, params, opt_state, keys):
        """True when the cached set is still exactly what `params` and their state are."""
        if len(params) != len(self.params) or keys != self.keys:
            return False
        dtype, where = self.pflat.dtype, self.where
        cpu = where[0] is None
        for i, (p, q) in enumerate(zip(params, self.params)):
            if p is not q:
                return False
            g = p.grad._data
            if g.dtype != dtype or g.shape != self.pviews[i].shape or (
                    not isinstance(g, np.ndarray) if cpu else set_key(g) != where):
                return False
            st = opt_state.get(p)
            if st is None:
                return False
            for key in keys:
                t = st.get(key)
                if t is None or t._data is not self.state[key][1][i]:
                    return False
            if self.steps is not None:
                t = st.get("step")
                if t is None or t._data is not self.step_views[i]:
                    return False
            a = p._data
            if a is not self.pviews[i] and (a.shape != self.pviews[i].shape
                                            or set_key(a) != where):
                return False
        return True

    def steps_agree(self):
        """True when every parameter of the set is at the same step (host array)."""
        s = self.steps
        return s is None or s.size == 0 or s.max() == s.min()

    def gather(self):
        """Gradients (one concatenate) and mirrored parameters into the flat buffers."""
        params, pviews = self.params, self.pviews
        xp = xp_of(self.pflat)
        with _on_device(self.pflat):
            xp.concatenate([p.grad._data.reshape(-1) for p in params], out=self.gflat)
            mirrored = []
            for i, p in enumerate(params):
                if p._data is not pviews[i]:  # p.data = ..., Module.to(), an old alias
                    xp.copyto(pviews[i], p._data)
                    if p._view is None and _sole_owner(p):
                        p._data = pviews[i]  # nobody else sees the old array: adopt it
                    else:
                        mirrored.append(i)
            self.mirrored = mirrored

    def scatter(self):
        """Mirrored parameters back from their slots."""
        if self.mirrored:
            xp = xp_of(self.pflat)
            with _on_device(self.pflat):
                for i in self.mirrored:
                    xp.copyto(self.params[i]._data, self.pviews[i])
        self.created = ()

    def buffer(self, key):
        entry = self.state.get(key)
        return None if entry is None else entry[0]


def _fits(p, where):
    """p belongs to set `where` and has a gradient like it (a mis-shaped gradient raises in
    the per-parameter path). A function, so that no local name keeps p's array referenced
    once build() checks who owns it."""
    a, g = p._data, p.grad._data
    return g.shape == a.shape and g.dtype == a.dtype and set_key(a) == where


def _slots(flat, params):
    """Views of `flat`, one per parameter, each of its parameter's shape."""
    views, start = [], 0
    for p in params:
        n = p._data.size
        views.append(flat[start:start + n].reshape(p._data.shape))
        start += n
    return views


def build(params, opt_state, keys, with_step, old):
    """A FlatSet for `params` (all with gradients, one device and dtype), or None.

    `keys` are the state keys the update needs; `with_step` adds torch's per-parameter
    'step' count (Adam). State a parameter lacks is created as zeros in its slot, but only
    when all of the set lack it (the per-parameter path handles mixed states). `old` is the
    set cached for the same group and device/dtype, whose buffers are reused where the
    state tensors still sit in them.
    """
    params = tuple(params)
    where = set_key(params[0]._data)
    if not all(_fits(p, where) for p in params):
        return None
    states = [opt_state.get(p) for p in params]
    same_params = (old is not None and len(old.params) == len(params)
                   and all(a is b for a, b in zip(old.params, params)))
    ref = params[0]._data
    n = sum(p._data.size for p in params)
    with _on_device(ref):
        has = [st is not None and len(st) > 0 for st in states]
        if with_step and any(has) and not all(has):
            return None
        fresh = with_step and not any(has)
        state, created = {}, []
        for key in keys:
            present = [st is not None and key in st for st in states]
            if not any(present):
                state[key] = None  # created below, once the whole set is known to go flat
                continue
            if not all(present):
                return None
            tensors = [st[key] for st in states]
            if same_params and key in old.state and all(
                    t._data is v for t, v in zip(tensors, old.state[key][1])):
                state[key] = old.state[key]
                continue
            if not all(isinstance(t, Tensor) and t._data.shape == p._data.shape
                       and t._data.dtype == ref.dtype and _sole_owner(t)
                       for t, p in zip(tensors, params)):
                return None
            state[key] = (_ADOPT, tensors)
        steps = step_views = None
        if with_step and not fresh:
            step_tensors = [st.get("step") for st in states]
            if not all(isinstance(t, Tensor) and isinstance(t._data, np.ndarray)
                       for t in step_tensors):
                return None
            if same_params and old.steps is not None and all(
                    t._data is v for t, v in zip(step_tensors, old.step_views)):
                steps, step_views = old.steps, old.step_views
        # from here on the set goes flat: steps first (torch's key order), then the state
        if with_step and steps is None:
            steps = np.zeros(len(params), dtype=np.float32)
            step_views = [steps[i:i + 1].reshape(()) for i in range(len(params))]
            for i, p in enumerate(params):
                t = opt_state[p].get("step")
                if t is None:
                    opt_state[p]["step"] = Tensor._make(step_views[i], False)
                else:
                    steps[i] = t._data
                    t._data = step_views[i]  # the same tensor object stays live
        for key, entry in state.items():
            if entry is not None and entry[0] is not _ADOPT:
                continue  # reused from the old set
            flat = _zeros_like(ref, n)
            views = _slots(flat, params)
            if entry is None:
                for p, v in zip(params, views):
                    opt_state[p][key] = Tensor._make(v, False)
                created.append(key)
            else:
                for t, v in zip(entry[1], views):
                    v[...] = t._data
                    t._data = v
            state[key] = (flat, views)
        if same_params:
            pflat, pviews = old.pflat, old.pviews
        else:
            pflat = _zeros_like(ref, n)
            pviews = _slots(pflat, params)
            del ref  # a reference of our own would make params[0] look shared
            for p, v in zip(params, pviews):
                if p._view is None and _sole_owner(p):
                    v[...] = p._data
                    p._data = v
    return FlatSet(params, keys, pflat, pviews, state, steps, step_views, tuple(created))


def _zeros_like(a, n):
    """A zero 1-D buffer of n elements of a's dtype and array type, on the current device."""
    return xp_of(a).zeros_like(a, shape=(n,))


__all__ = ["FlatSet", "build", "set_key"]
