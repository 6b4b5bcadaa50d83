"""Adam (with AMSGrad, maximize and optional decoupled weight decay) and AdamW."""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

from ..autograd import views
from ..backend.kernels import optim as K
from ..tensor import Tensor
from .optimizer import (Optimizer, ParamsT, advance_step, check_foreach_fused,
                        check_hyperparameters, new_step_counter, zeros_state)


class Adam(Optimizer):
    """Adam, step for step as torch.optim.Adam.

    Args:
        params: parameters to optimize, or dicts defining parameter groups.
        lr: learning rate (default: 1e-3).
        betas: coefficients of the running averages of the gradient and of its square
            (default: (0.9, 0.999)).
        eps: term added to the denominator for numerical stability (default: 1e-8).
        weight_decay: weight decay, an L2 penalty (default: 0).
        amsgrad: use the AMSGrad variant (default: False).
        maximize: maximize the objective instead of minimizing it (default: False).
        decoupled_weight_decay: decay the weights directly, as AdamW (default: False).
        foreach: False runs torch's for-loop over parameters; None (default) or True run
            each update once over flat buffers per device and dtype (dynet.optim._flat;
            the same numbers bit for bit, fewer array operations).
        fused: True runs the same flat update (one CUDA kernel per set); fused and foreach
            both True raise RuntimeError, as torch.
        capturable: accepted as torch does (steps stay host counters: no sync either way).
            differentiable=True raises NotImplementedError.
    """

    _param_shaped_state = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: Optional[bool] = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None, decoupled_weight_decay: bool = False) -> None:
        check_hyperparameters(lr, differentiable, eps=eps, weight_decay=weight_decay)
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)
        check_foreach_fused(foreach, fused)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("capturable", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)
            group.setdefault("fused", None)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Performs one Adam step; returns the closure's loss if one is given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            beta1, beta2 = (float(b) for b in group["betas"])
            eps, weight_decay = float(group["eps"]), float(group["weight_decay"])
            amsgrad, maximize = bool(group["amsgrad"]), bool(group["maximize"])
            decoupled = bool(group["decoupled_weight_decay"])
            keys = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
            hyper = (lr, beta1, beta2, eps, weight_decay)
            flags = (amsgrad, maximize, decoupled)
            for flat, params in self._param_sets(group, keys, with_step=True):
                if flat is not None:
                    flat.gather()
                    flat.steps += 1
                    K.adam_update(flat.pflat, flat.gflat, flat.buffer("exp_avg"),
                                  flat.buffer("exp_avg_sq"), flat.buffer("max_exp_avg_sq"),
                                  *hyper, float(flat.steps[0]), *flags)
                    flat.scatter()
                    for p in params:
                        views.bump(p)  # an in-place write, as PyTorch counts it
                    continue
                for p in params:
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = new_step_counter()
                        state["exp_avg"] = zeros_state(p)
                        state["exp_avg_sq"] = zeros_state(p)
                    step = advance_step(state)
                    vmax = None
                    if amsgrad:
                        if "max_exp_avg_sq" not in state:  # also when amsgrad is switched on late
                            state["max_exp_avg_sq"] = zeros_state(p)
                        vmax = state["max_exp_avg_sq"]._data
                    K.adam_update(p._data, p.grad._data, state["exp_avg"]._data,
                                  state["exp_avg_sq"]._data, vmax, *hyper, step, *flags)
                    views.bump(p)
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW.

    Args: those of Adam, with `weight_decay` (default: 1e-2) decoupled from the gradient.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: Optional[bool] = None,
                 capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
