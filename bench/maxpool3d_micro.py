"""max_pool3d's CPU kernels (dynet.backend.kernels.poolnd), the previous version vs this one,
on bench/conv_sampling_micro.py's case (4x16x16^3, kernel 2).

    python bench/maxpool3d_micro.py [--repeat 30]

`old_*` are the kernels as they were before the in-place rewrite, verbatim; both versions
run interleaved in one process, are checked to agree, and the medians (ms) are printed.
Results: bench/NOTES.md.
"""
import argparse
import statistics
import time

import numpy as np

from dynet.backend.kernels import poolnd


def old_forward(x, p):
    buf = p.buffer(np, x.dtype, -np.inf, x)
    y = arg = None
    for j, offs in enumerate(p.offsets):
        v = buf[p.window(offs)]
        if y is None:
            y, arg = v.copy(), np.zeros(v.shape, dtype=np.int32)
            continue
        take = (v > y) | np.isnan(v)
        y = np.where(take, v, y)
        arg = np.where(take, np.int32(j), arg)
    return y, arg


def old_backward(grad, arg, p):
    buf = p.buffer(np, grad.dtype, 0)
    for j, offs in enumerate(p.offsets):
        buf[p.window(offs)] += np.where(arg == j, grad, 0)
    return np.ascontiguousarray(buf[p.inner()])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    x = np.random.default_rng(0).standard_normal((4, 16, 16, 16, 16)).astype(np.float32)
    p = poolnd.NdPoolPlan(x.shape, (2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1), False)
    y, arg = poolnd.max_forward(x, p)
    y0, arg0 = old_forward(x, p)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    assert (y == y0).all() and (arg == arg0).all()
    assert (poolnd.max_backward(g, arg, p) == old_backward(g, arg0, p)).all()
    assert (poolnd.max_forward(x, p, need_arg=False)[0] == y).all()
    cases = {"forward old": lambda: old_forward(x, p),
             "forward new": lambda: poolnd.max_forward(x, p),
             "forward new, no argmax (no grad)": lambda: poolnd.max_forward(x, p, False),
             "backward old": lambda: old_backward(g, arg, p),
             "backward new": lambda: poolnd.max_backward(g, arg, p)}
    times = {k: [] for k in cases}
    for _ in range(args.repeat):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    for name, ms in med.items():
        print(f"{name:34s} {ms:7.3f} ms")
    print(f"forward old/new {med['forward old'] / med['forward new']:.2f}x, no-grad "
          f"{med['forward old'] / med['forward new, no argmax (no grad)']:.2f}x, backward "
          f"old/new {med['backward old'] / med['backward new']:.2f}x")


if __name__ == "__main__":
    main()
