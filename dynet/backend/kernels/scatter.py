"""Unbuffered scatter-add (duplicates accumulate): np.add.at on CPU, cupyx.scatter_add on GPU."""
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


__all__ = ["index_add_at", "cuda"]
