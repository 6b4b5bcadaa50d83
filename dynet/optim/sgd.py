"""SGD with momentum, dampening, Nesterov momentum, weight decay and maximize."""
from __future__ import annotations

from typing import Any, Callable, Optional

from ..backend.kernels import optim as K
from .optimizer import Optimizer, ParamsT, check_hyperparameters, zeros_state


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
        foreach, fused: accepted as torch does; every dynet update is one fused kernel
            per parameter. differentiable=True raises NotImplementedError.
    """

    _param_shaped_state = ("momentum_buffer",)

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: Optional[bool] = None,
                 differentiable: bool = False, fused: Optional[bool] = None) -> None:
        check_hyperparameters(lr, differentiable, momentum=momentum, weight_decay=weight_decay)
        # foreach/fused are accepted for PyTorch compatibility: every dynet update is fused
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Performs one SGD step; returns the closure's loss if one is given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            momentum = float(group["momentum"])
            dampening = float(group["dampening"])
            weight_decay = float(group["weight_decay"])
            nesterov, maximize = bool(group["nesterov"]), bool(group["maximize"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                buf, first = None, False
                if momentum != 0:
                    state = self.state[p]
                    buf_t = state.get("momentum_buffer")
                    if buf_t is None:
                        buf_t = state["momentum_buffer"] = zeros_state(p)
                        first = True
                    buf = buf_t._data
                K.sgd_update(p._data, p.grad._data, buf, lr, momentum, dampening,
                             weight_decay, nesterov, maximize, first)
        return loss

