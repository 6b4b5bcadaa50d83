"""Adagrad with learning-rate decay, weight decay and an initial accumulator value."""
from __future__ import annotations

from typing import Any, Callable, Optional

from ..backend.kernels import optim as K
from ..tensor import Tensor
from .optimizer import (Optimizer, ParamsT, advance_step, check_hyperparameters,
                        new_step_counter)


class Adagrad(Optimizer):
    """Adagrad, step for step as torch.optim.Adagrad (state is created at construction).

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate (default: 1e-2).
        lr_decay: learning-rate decay (default: 0).
        weight_decay: weight decay, an L2 penalty (default: 0).
        initial_accumulator_value: initial value of the sum of squared gradients
            (default: 0).
        eps: term added to the denominator for numerical stability (default: 1e-10).
        maximize: maximize the objective instead of minimizing it (default: False).
        foreach, fused: accepted as torch does. differentiable=True raises
            NotImplementedError.
    """

    _param_shaped_state = ("sum",)

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: Optional[bool] = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None) -> None:
        check_hyperparameters(lr, differentiable, lr_decay=lr_decay, weight_decay=weight_decay,
                              initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value,
                        maximize=maximize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = new_step_counter()
        state["sum"] = Tensor._make(
            K.full_like(p._data, float(group["initial_accumulator_value"])), False)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("maximize", False)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Performs one Adagrad step; returns the closure's loss if one is given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, lr_decay = float(group["lr"]), float(group["lr_decay"])
            eps, weight_decay = float(group["eps"]), float(group["weight_decay"])
            maximize = bool(group["maximize"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:  # a parameter added later with add_param_group
                    state = self._init_state(p, group)
                step = advance_step(state)
                clr = lr / (1 + (step - 1) * lr_decay)
                K.adagrad_update(p._data, p.grad._data, state["sum"]._data, clr,
                                 weight_decay, eps, maximize)
        return loss
