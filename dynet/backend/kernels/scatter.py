"""Unbuffered scatter-add (duplicates accumulate): np.add.at on CPU, cupyx.scatter_add on GPU;
index_add_rows, the rows-of-a-matrix form, as one np.bincount on the CPU (np.add.at with a
trailing vector per index is several times slower, bench/NOTES.md)."""
import numpy as np

from .. import cuda


def index_add_at(target, index, values):
    """target[index] += values, where repeated indices all contribute. Mutates target."""
    if isinstance(target, np.ndarray):
        np.add.at(target, index, values)
    else:
        import cupyx  # a CuPy install always ships cupyx
        cupyx.scatter_add(target, index, values)
    return target


def index_add_rows(target, rows, values):
    """target[rows[i]] += values[i] for a (R, C) target, (M,) rows and (M, C) values, where
    repeated rows all contribute. Mutates target. The CPU sums in float64 (np.bincount)."""
    if not isinstance(target, np.ndarray):
        import cupyx
        cupyx.scatter_add(target, rows, values)
        return target
    width = target.shape[1]
    keys = (rows.astype(np.int64, copy=False)[:, None] * width
            + np.arange(width, dtype=np.int64)).reshape(-1)
    sums = np.bincount(keys, weights=values.reshape(-1), minlength=target.size)
    target += sums.reshape(target.shape).astype(target.dtype, copy=False)
    return target


__all__ = ["index_add_at", "index_add_rows", "cuda"]
