"""grid_sample's input-gradient scatter, old vs new, on the data of bench/conv_sampling_micro.py's
grid_sample case (8x16x64x64 input, 8x64x64 grid, bilinear: 4 corners).

    python bench/scatter_rows_micro.py [--repeat 15]

old: np.add.at(gx, (rows, flat), values) per corner (gx (n, P, c)); new: one
kernels.scatter.index_add_rows (np.bincount) over all corners. Both are timed in one
process, interleaved, and checked to agree; prints the medians (ms). Results: bench/NOTES.md.
"""
import argparse
import statistics
import time

import numpy as np

from dynet.backend.kernels.scatter import index_add_rows


def _data():
    rng = np.random.default_rng(0)
    n, c, h, w = 8, 16, 64, 64
    q = 64 * 64
    corners = []
    for _ in range(4):
        flat = rng.integers(0, h * w, (n, q))
        corners.append((flat, rng.standard_normal((n, q, c)).astype(np.float32)))
    return n, c, h * w, corners


def old(n, c, p, corners):
    gx = np.zeros((n, p, c), np.float32)
    rows = np.broadcast_to(np.arange(n).reshape(n, 1), (n, corners[0][0].shape[1]))
    for flat, values in corners:
        np.add.at(gx, (rows, flat), values)
    return gx


def new(n, c, p, corners):
    rows = np.arange(n).reshape(n, 1)
    keys = np.concatenate([(rows * p + flat).reshape(-1) for flat, _ in corners])
    values = np.concatenate([v.reshape(-1, c) for _, v in corners])
    return index_add_rows(np.zeros((n * p, c), np.float32), keys, values).reshape(n, p, c)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    data = _data()
    np.testing.assert_allclose(old(*data), new(*data), rtol=1e-4, atol=1e-4)
    times = {"old": [], "new": []}
    for _ in range(args.repeat):
        for name, fn in (("old", old), ("new", new)):
            start = time.perf_counter()
            fn(*data)
            times[name].append(time.perf_counter() - start)
    o, nw = (statistics.median(times[k]) * 1e3 for k in ("old", "new"))
    print(f"np.add.at per corner  {o:8.2f} ms")
    print(f"index_add_rows once   {nw:8.2f} ms   (old / new {o / nw:.1f}x)")


if __name__ == "__main__":
    main()
