"""Helpers shared by the layer modules: PyTorch's _single/_pair and the default init."""
import collections.abc
import math
from itertools import repeat

from .. import init


def _ntuple(n, name="parse"):
    def parse(x):
        if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
            return tuple(x)
        return tuple(repeat(x, n))
    parse.__name__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")


def _reverse_repeat_tuple(t, n):
    """(a, b) -> (b, b, a, a) for n=2: per-dimension padding in F.pad's last-dim-first order."""
    return tuple(x for x in reversed(t) for _ in range(n))


def reset_weight_and_bias(weight, bias):
    """PyTorch's default Linear/Conv init: kaiming_uniform_(a=sqrt(5)), U(+-1/sqrt(fan_in)).

    a=sqrt(5) makes the weight bound 1/sqrt(fan_in) too (pytorch/pytorch#57109).
    """
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)
