"""SGD with momentum, dampening, Nesterov momentum, weight decay and maximize."""
from ..autograd import views
from ..backend.kernels import optim as K
from .optimizer import Optimizer, check_hyperparameters, zeros_state


class SGD(Optimizer):
    """Stochastic gradient descent, step for step as torch.optim.SGD."""

    _param_shaped_state = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
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

    def step(self, closure=None):
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
                views.bump(p)  # an in-place write, as PyTorch counts it
        return loss

