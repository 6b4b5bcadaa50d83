"""SGD with momentum, dampening, Nesterov momentum, weight decay and maximize."""
from __future__ import annotations

from typing import Any, Callable, Optional

from ..autograd import views
from ..backend.kernels import optim as K
from .optimizer import (Optimizer, ParamsT, check_foreach_fused, check_hyperparameters,
                        zeros_state)


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), step for step as torch.optim.SGD.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate (default: 1e-3).
        momentum: momentum factor (default: 0).
        dampening: dampening for momentum (default: 0).
        weight_decay: weight decay, an L2 penalty (default: 0).
        nesterov: use Nesterov momentum (default: False).
        maximize: maximize the objective instead of minimizing it (default: False).
        foreach: False runs torch's for-loop over parameters; None (default) or True run
            each update once over flat buffers per device and dtype (dynet.optim._flat;
            the same numbers bit for bit, fewer array operations).
        fused: True runs the same flat update (one CUDA kernel per set); fused and foreach
            both True raise RuntimeError, as torch. differentiable=True raises
            NotImplementedError.
    """

    _param_shaped_state = ("momentum_buffer",)

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: Optional[bool] = None,
                 differentiable: bool = False, fused: Optional[bool] = None) -> None:
        check_hyperparameters(lr, differentiable, momentum=momentum, weight_decay=weight_decay)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        check_foreach_fused(foreach, fused)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", False)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Performs one SGD step; returns the closure's loss if one is given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            momentum = float(group["momentum"])
            dampening = float(group["dampening"])
            weight_decay = float(group["weight_decay"])
            nesterov, maximize = bool(group["nesterov"]), bool(group["maximize"])
            keys = ("momentum_buffer",) if momentum != 0 else ()
            hyper = (lr, momentum, dampening, weight_decay, nesterov, maximize)
            for flat, params in self._param_sets(group, keys):
                if flat is not None:
                    flat.gather()
                    K.sgd_update(flat.pflat, flat.gflat, flat.buffer("momentum_buffer"),
                                 *hyper, "momentum_buffer" in flat.created)
                    flat.scatter()
                    for p in params:
                        views.bump(p)  # an in-place write, as PyTorch counts it
                    continue
                for p in params:
                    buf, first = None, False
                    if momentum != 0:
                        state = self.state[p]
                        buf_t = state.get("momentum_buffer")
                        if buf_t is None:
                            buf_t = state["momentum_buffer"] = zeros_state(p)
                            first = True
                        buf = buf_t._data
                    K.sgd_update(p._data, p.grad._data, buf, *hyper, first)
                    views.bump(p)
        return loss

