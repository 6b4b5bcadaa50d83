"""The optimizer step over flat buffers (foreach=None, dynet's default) against the
per-parameter loop (foreach=False), side by side in one process, on LeNet-5's parameters.

    PYTHONPATH=. .venv/bin/python bench/optim_step_cmp.py [--rounds 15] [--batch 64]
    valgrind --tool=callgrind python bench/optim_step_cmp.py --steps {sgd,adam} {old,new} N

Prints, per optimizer: the array operations one step runs (NumPy calls on parameter-,
gradient- and state-sized arrays, counted through an ndarray subclass; the host step
counters of Adam are plain arrays and not counted), the median time of one step alone
(gradients fixed), and the median LeNet training step (forward, backward, step) at the
given batch. Old and new alternate within each round; the machine is shared, so read the
ratios.
"""
import argparse
import time

import numpy as np

import dynet
from dynet import nn, optim
from dynet.examples.lenet import LeNet5

OPTIMIZERS = [("SGD momentum", optim.SGD, dict(lr=0.01, momentum=0.9)),
              ("Adam", optim.Adam, dict(lr=1e-3)),
              ("AdamW amsgrad", optim.AdamW, dict(lr=1e-3, amsgrad=True))]


class Counting(np.ndarray):
    """An ndarray that counts the ufunc and array-function calls made on it."""

    calls = 0

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        Counting.calls += 1
        plain = [x.view(np.ndarray) if isinstance(x, Counting) else x for x in inputs]
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(x.view(np.ndarray) if isinstance(x, Counting) else x
                                  for x in out)
        result = getattr(ufunc, method)(*plain, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return result.view(Counting) if isinstance(result, np.ndarray) else result

    def __array_function__(self, func, types, args, kwargs):
        Counting.calls += 1
        return super().__array_function__(func, types, args, kwargs)


def _owned(array, cls=np.ndarray):
    """A copy of `array` that owns its memory (base None), as a parameter's array is."""
    c = np.ndarray.__new__(cls, array.shape, array.dtype)
    np.copyto(c.view(np.ndarray), array)
    return c


def count_ops(cls, kwargs, foreach):
    """Array operations of one steady-state step (the third) on LeNet's parameters."""
    dynet.manual_seed(0)
    params = list(LeNet5().parameters())
    for p in params:
        p._data = _owned(p._data, Counting)
    opt = cls(params, foreach=foreach, **kwargs)
    rng = np.random.default_rng(0)
    for _ in range(3):
        for p in params:
            p.grad = dynet.Tensor._make(_owned(rng.standard_normal(p.shape).astype(np.float32),
                                               Counting), False)
        Counting.calls = 0
        opt.step()
    return Counting.calls


def _median_interleaved(fns, rounds, reps):
    times = {k: [] for k in fns}
    for r in range(rounds):
        order = list(fns) if r % 2 == 0 else list(fns)[::-1]
        for k in order:
            f = fns[k]
            f()
            t0 = time.perf_counter()
            for _ in range(reps):
                f()
            times[k].append((time.perf_counter() - t0) / reps * 1e3)
    return {k: float(np.median(v)) for k, v in times.items()}


def step_alone(cls, kwargs, rounds):
    """Median ms of opt.step() alone, old vs new, with fixed gradients."""
    fns = {}
    for label, foreach in (("old", False), ("new", None)):
        dynet.manual_seed(0)
        params = list(LeNet5().parameters())
        opt = cls(params, foreach=foreach, **kwargs)
        for p in params:
            p.grad = dynet.randn(*p.shape) * 1e-3
        fns[label] = opt.step
    return _median_interleaved(fns, rounds, 50)


def train_step(cls, kwargs, rounds, batch):
    """Median ms of one LeNet training step, old vs new."""
    x, y = dynet.randn(batch, 1, 28, 28), dynet.randint(0, 10, (batch,))
    fns = {}
    for label, foreach in (("old", False), ("new", None)):
        dynet.manual_seed(0)
        m = LeNet5()
        opt = cls(m.parameters(), foreach=foreach, **kwargs)

        def step(m=m, opt=opt):
            opt.zero_grad()
            nn.functional.cross_entropy(m(x), y).backward()
            opt.step()
        for _ in range(5):
            step()
        fns[label] = step
    return _median_interleaved(fns, rounds, 10)


def steps_only(name, variant, n):
    """N steps alone after 3 warm-up steps: callgrind's count for N=110 minus N=10, over
    100, is the instruction count of one step."""
    label, cls, kwargs = next(o for o in OPTIMIZERS if o[0].lower().startswith(name))
    dynet.manual_seed(0)
    params = list(LeNet5().parameters())
    opt = cls(params, foreach=None if variant == "new" else False, **kwargs)
    for p in params:
        p.grad = dynet.randn(*p.shape) * 1e-3
    for _ in range(3 + n):
        opt.step()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", nargs=3, metavar=("OPT", "VARIANT", "N"),
                    help="only run N steps of sgd|adam, old|new (for callgrind)")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--train-only", default=None, help="optimizer label prefix for the "
                    "training step (default: all)")
    args = ap.parse_args()
    if args.steps:
        return steps_only(args.steps[0], args.steps[1], int(args.steps[2]))
    for label, cls, kwargs in OPTIMIZERS:
        old_ops, new_ops = count_ops(cls, kwargs, False), count_ops(cls, kwargs, None)
        alone = step_alone(cls, kwargs, args.rounds)
        line = (f"{label:14s} ops/step {old_ops:4d} -> {new_ops:3d}   step alone "
                f"{alone['old']:.3f} -> {alone['new']:.3f} ms ({alone['new'] / alone['old']:.2f}x)")
        if args.train_only is None or label.startswith(args.train_only):
            tr = train_step(cls, kwargs, args.rounds, args.batch)
            line += (f"   LeNet b{args.batch} train step {tr['old']:.2f} -> {tr['new']:.2f} ms "
                     f"({tr['new'] / tr['old']:.3f}x)")
        print(line, flush=True)


if __name__ == "__main__":
    main()
