"""grid_sample's input-gradient scatter, old vs new, on the data of bench/conv_sampling_micro.py's
grid_sample case (8x16x64x64 input, 8x64x64 grid, bilinear: 4 corners), and
adaptive_max_pool2d's (bench/linalg_nn_micro.py: 16x64x14x14 -> 7x7).

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


def adaptive_data():
    """adaptive_max_pool2d 16x64x14x14 -> 7x7's gradient scatter (bench/linalg_nn_micro.py)."""
    rng = np.random.default_rng(1)
    rows, hw, k = 16 * 64, 14 * 14, 7 * 7
    return rows, hw, rng.integers(0, hw, (rows, k)), rng.standard_normal((rows, k)).astype(
        np.float32)


def adaptive_old(rows, hw, index, grad):
    gx = np.zeros((rows, hw), np.float32)
    np.add.at(gx, (np.arange(rows)[:, None], index), grad)
    return gx


def adaptive_new(rows, hw, index, grad):
    keys = (np.arange(rows)[:, None] * hw + index).reshape(-1)
    return index_add_rows(np.zeros((rows * hw, 1), np.float32), keys,
                          grad.reshape(-1, 1)).reshape(rows, hw)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    data, adata = _data(), adaptive_data()
    np.testing.assert_allclose(old(*data), new(*data), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(adaptive_old(*adata), adaptive_new(*adata), rtol=1e-5,
                               atol=1e-5)
    cases = (("grid_sample: np.add.at per corner", old, data),
             ("grid_sample: index_add_rows once", new, data),
             ("adaptive_max_pool2d: np.add.at", adaptive_old, adata),
             ("adaptive_max_pool2d: index_add_rows", adaptive_new, adata))
    times = {name: [] for name, _, _ in cases}
    for _ in range(args.repeat):
        for name, fn, args_ in cases:
            start = time.perf_counter()
            fn(*args_)
            times[name].append(time.perf_counter() - start)
    med = [statistics.median(times[name]) * 1e3 for name, _, _ in cases]
    for (name, _, _), ms in zip(cases, med):
        print(f"{name:38s} {ms:8.3f} ms")
    print(f"old / new: grid_sample {med[0] / med[1]:.1f}x, adaptive_max_pool2d "
          f"{med[2] / med[3]:.1f}x")


if __name__ == "__main__":
    main()
