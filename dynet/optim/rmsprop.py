"""RMSprop (Hinton's, optionally centered, with momentum and weight decay)."""
from __future__ import annotations

from typing import Any, Callable, Optional

from ..backend.kernels import optim as K
from .optimizer import (Optimizer, ParamsT, advance_step, check_hyperparameters,
                        new_step_counter, zeros_state)


class RMSprop(Optimizer):
    """RMSprop, step for step as torch.optim.RMSprop.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate (default: 1e-2).
        alpha: smoothing constant of the squared-gradient average (default: 0.99).
        eps: term added to the denominator for numerical stability (default: 1e-8).
        weight_decay: weight decay, an L2 penalty (default: 0).
        momentum: momentum factor (default: 0).
        centered: normalize by an estimate of the gradient's variance (default: False).
        maximize: maximize the objective instead of minimizing it (default: False).
        capturable, foreach: accepted as torch does. differentiable=True raises
            NotImplementedError.
    """

    _param_shaped_state = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: Optional[bool] = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_hyperparameters(lr, differentiable, eps=eps, momentum=momentum,
                              weight_decay=weight_decay, alpha=alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("momentum", 0)
            group.setdefault("centered", False)
            group.setdefault("maximize", False)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Performs one RMSprop step; returns the closure's loss if one is given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
            weight_decay, momentum = float(group["weight_decay"]), float(group["momentum"])
            centered, maximize = bool(group["centered"]), bool(group["maximize"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = new_step_counter()
                    state["square_avg"] = zeros_state(p)
                advance_step(state)
                # created on first use, so options switched on later start from zero state
                buf = grad_avg = None
                if momentum > 0:
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = zeros_state(p)
                    buf = state["momentum_buffer"]._data
                if centered:
                    if "grad_avg" not in state:
                        state["grad_avg"] = zeros_state(p)
                    grad_avg = state["grad_avg"]._data
                K.rmsprop_update(p._data, p.grad._data, state["square_avg"]._data, grad_avg,
                                 buf, lr, alpha, eps, weight_decay, momentum, centered,
                                 maximize)
        return loss
