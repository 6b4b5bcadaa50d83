"""Adadelta (the optimizer of PyTorch's MNIST example)."""
from ..autograd import views
from ..backend.kernels import optim as K
from .optimizer import (Optimizer, advance_step, check_hyperparameters, new_step_counter,
                        zeros_state)


class Adadelta(Optimizer):
    """Adadelta, step for step as torch.optim.Adadelta."""

    _param_shaped_state = ("square_avg", "acc_delta")

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_hyperparameters(lr, differentiable, eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
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
                views.bump(p)  # an in-place write, as PyTorch counts it
        return loss
