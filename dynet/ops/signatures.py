"""PyTorch's keyword extras on the public functions and methods: `out=` where PyTorch has it,
the NumPy-style aliases PyTorch's argument parser accepts for any native function (axis for
dim, keepdims for keepdim, x / a / x1 for input, x2 for other), and a varargs parameter
passed by its name (zeros(size=(2, 3)), t.repeat(repeats=(2, 1))).

Only the public objects (dynet.<name>, Tensor methods) are wrapped: the operators and the
ops' internal calls go to the plain functions, so they pay nothing for this.
"""
import functools
import inspect
from typing import Optional

from ._out import write_out

NUMPY_ALIASES = {"axis": "dim", "keepdims": "keepdim", "x": "input", "a": "input",
                 "x1": "input", "x2": "other"}

# dynet functions whose PyTorch counterparts take out= (those written with their own out=
# keep it)
OUT = ("abs add all amax amin any argmax argmin argsort bincount bmm cat clamp clip concat "
       "concatenate cos count_nonzero diag_embed div divide dot eq exp flip gather ge gt "
       "index_fill isinf isnan le log log1p log_softmax logical_and logical_not logical_or "
       "logical_xor logsumexp lt masked_fill masked_scatter matmul max maximum mean min "
       "minimum mm mul multiply mv ne neg norm pow prod relu repeat_interleave roll rot90 "
       "rsqrt scatter scatter_add scatter_reduce sigmoid sign sin softmax sort sqrt stack std "
       "std_mean sub subtract sum take tanh topk true_divide var var_mean where "
       "arange eye full linspace logspace randint randperm empty rand randn normal").split()


def torch_keywords(fn, name, out=False):
    """fn accepting NumPy's aliases of its parameters, its varargs by name and, with
    out=True, an out= tensor."""
    sig = inspect.signature(fn)
    params = sig.parameters
    aliases = {k: v for k, v in NUMPY_ALIASES.items() if v in params and k not in params}
    add_out = out and "out" not in params
    kinds = [p.kind for p in params.values()]
    varargs = next((p.name for p in params.values() if p.kind == p.VAR_POSITIONAL), None)
    before = kinds.index(inspect.Parameter.VAR_POSITIONAL) if varargs else 0
    if not aliases and not add_out and varargs is None:
        return fn

    # the keywords this wrapper handles: any other call goes straight through
    special = frozenset(aliases) | ({"out"} if add_out else set()) | (
        {varargs} if varargs else set())

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not kwargs:
            return fn(*args)  # the common call: no keyword to look at, no empty-dict splat
        if not special.isdisjoint(kwargs):
            if varargs in kwargs:  # zeros(size=(2, 3)) is zeros((2, 3))
                if len(args) > before:
                    raise TypeError(f"{name}() got multiple values for argument '{varargs}'")
                args = args + (kwargs.pop(varargs),)
            for key in [k for k in kwargs if k in aliases]:
                target = aliases[key]
                if target in kwargs:
                    raise TypeError(f"{name}() got multiple values for argument '{target}'")
                kwargs[target] = kwargs.pop(key)
            if add_out and "out" in kwargs:
                dest = kwargs.pop("out")
                return write_out(fn(*args, **kwargs), dest, name)
        return fn(*args, **kwargs)

    if add_out:
        ps = list(params.values())
        at = next((i for i, p in enumerate(ps) if p.kind == p.VAR_KEYWORD), len(ps))
        ps.insert(at, inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None))
        wrapper.__signature__ = sig.replace(parameters=ps)
        if fn.__annotations__:  # a copy: wraps() shares the wrapped function's dict
            from ..tensor import Tensor
            wrapper.__annotations__ = {**fn.__annotations__, "out": Optional[Tensor]}
    return wrapper


def _is_ours(fn):
    return inspect.isfunction(fn) and (fn.__module__ or "").startswith("dynet.")


def install(namespace, tensor_cls):
    """Wraps the public functions in `namespace` (dynet's) and the Tensor methods."""
    for name, fn in list(namespace.items()):
        if not name.startswith("_") and _is_ours(fn):
            namespace[name] = torch_keywords(fn, name, out=name in OUT)
    for name, fn in list(vars(tensor_cls).items()):
        if not name.startswith("_") and _is_ours(fn):
            setattr(tensor_cls, name, torch_keywords(fn, name))
