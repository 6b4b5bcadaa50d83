"""RMSprop (Hinton's, optionally centered, with momentum and weight decay)."""
from ..autograd import views
from ..backend.kernels import optim as K
from .optimizer import (Optimizer, advance_step, check_hyperparameters, new_step_counter,
                        zeros_state)


class RMSprop(Optimizer):
    """RMSprop, step for step as torch.optim.RMSprop."""

    _param_shaped_state = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
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

    def step(self, closure=None):
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
                views.bump(p)  # an in-place write, as PyTorch counts it
        return loss
