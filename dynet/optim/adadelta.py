"""Adadelta (the optimizer of PyTorch's MNIST example)."""
from __future__ import annotations

from typing import Any, Callable, Optional

from ..backend.kernels import optim as K
from .optimizer import (Optimizer, ParamsT, advance_step, check_hyperparameters,
                        new_step_counter, zeros_state)


class Adadelta(Optimizer):
    """Adadelta, step for step as torch.optim.Adadelta.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: coefficient that scales the delta before it is applied (default: 1.0).
        rho: coefficient of the running average of squared gradients (default: 0.9).
        eps: term added to the denominator for numerical stability (default: 1e-6).
        weight_decay: weight decay, an L2 penalty (default: 0).
        maximize: maximize the objective instead of minimizing it (default: False).
        foreach, capturable: accepted as torch does. differentiable=True raises
            NotImplementedError.
    """

    _param_shaped_state = ("square_avg", "acc_delta")

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: Optional[bool] = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_hyperparameters(lr, differentiable, eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Performs one Adadelta step; returns the closure's loss if one is given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
            weight_decay, maximize = float(group["weight_decay"]), bool(group["maximize"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = new_step_counter()
                    state["square_avg"] = zeros_state(p)
                    state["acc_delta"] = zeros_state(p)
                advance_step(state)
                K.adadelta_update(p._data, p.grad._data, state["square_avg"]._data,
                                  state["acc_delta"]._data, lr, rho, eps, weight_decay,
                                  maximize)
        return loss
