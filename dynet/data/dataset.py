"""Map-style and iterable datasets, TensorDataset, Subset, ConcatDataset and random_split.

Batched fetching: a dataset may define `_fetch_batch(indices)`, taking an int64 NumPy array
of indices and returning exactly what `default_collate([ds[i] for i in indices])` would
(or NotImplemented when it cannot, e.g. for a transform that only works per sample). The
DataLoader uses it when the collate function is the default, so array-backed datasets cost
one fancy-index per tensor per batch instead of a Python call per sample.
"""
from __future__ import annotations

import bisect
import itertools
import math
import warnings
from typing import Any, Tuple

import numpy as np

from .. import random as _random
from ..backend import device_of, move
from ..tensor import Tensor


class Dataset:
    """A map-style dataset: subclasses define `__getitem__(index)` and usually `__len__`."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset read as a stream: subclasses define `__iter__` (no indices, no sampler)."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other):
        raise TypeError("ConcatDataset does not support IterableDataset; chain them with "
                        "itertools.chain in a new IterableDataset")


def _wrap(raw):
    """A Tensor around a fresh raw array (no copy, no graph)."""
    return Tensor._make(raw, False)


def _take(tensor, indices):
    """tensor[indices] for an int64 NumPy index array, on the tensor's device."""
    if tensor.requires_grad:  # rare (learnable inputs); keep the autograd graph
        return tensor[indices]
    raw = tensor._data
    if not isinstance(raw, np.ndarray):
        indices = move(indices, device_of(raw))  # CuPy wants its index on the GPU
    return _wrap(raw[indices])


class TensorDataset(Dataset):
    """A dataset of tensors: sample i is the tuple of each tensor's i-th row.

    Args:
        *tensors: tensors that all have the same size in their first dimension.
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        sizes = [t.shape[0] if len(t.shape) else None for t in tensors]
        if None in sizes:
            raise ValueError(f"TensorDataset: tensor {sizes.index(None)} is 0-d; every tensor "
                             "needs a first (sample) dimension")
        if any(s != sizes[0] for s in sizes):
            shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
            raise ValueError(f"Size mismatch between tensors: first dimensions {sizes} "
                             f"(shapes {shapes}) must all be equal")
        self.tensors = tensors

    def __getitem__(self, index: Any) -> Tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _fetch_batch(self, indices):
        if not all(isinstance(t, Tensor) for t in self.tensors):
            return NotImplemented
        # a list, as default_collate turns a batch of tuples into a list
        return [_take(t, indices) for t in self.tensors]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices
        self._cached = (None, None)

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        inner = getattr(self.dataset, "__getitems__", None)
        if callable(inner):
            return inner([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)

    def _index_array(self):
        # Cached per `indices` object: converting a long list per batch would cost more
        # than the batch itself (rebinding `subset.indices` invalidates the cache).
        source, arr = self._cached
        if source is not self.indices:
            arr = np.asarray(self.indices, dtype=np.int64)
            self._cached = (self.indices, arr)
        return arr

    def _fetch_batch(self, indices):
        inner = getattr(self.dataset, "_fetch_batch", None)
        if inner is None:
            return NotImplemented
        return inner(self._index_array()[indices])


class ConcatDataset(Dataset):
    """The concatenation of several map-style datasets."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        for i, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise TypeError(f"ConcatDataset does not support IterableDataset "
                                f"(dataset {i} is {type(d).__name__})")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError(f"absolute value of index {idx} should not exceed dataset "
                                 f"length {len(self)}")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        if which == len(self.datasets):
            raise IndexError(f"index {idx} is out of range for ConcatDataset of length "
                             f"{len(self)}")
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


def random_split(dataset, lengths, generator=None):
    """Splits `dataset` into non-overlapping random Subsets of the given lengths.

    `lengths` are sample counts summing to len(dataset), or fractions summing to 1 (floored,
    then the remainder dealt one by one from the first split on, as PyTorch does). The same
    seeded `generator` gives the same split.
    """
    if generator is None:
        generator = _random.default_generator
    lengths = list(lengths)
    n = len(dataset)
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            counts.append(int(math.floor(n * frac)))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(f"Length of split at index {i} is 0. "
                              "This might result in an empty dataset.", stacklevel=2)
    if any(not isinstance(x, (int, np.integer)) or x < 0 for x in lengths):
        raise ValueError(f"random_split lengths must be non-negative ints or fractions "
                         f"summing to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"Sum of input lengths ({sum(lengths)}) does not equal the length "
                         f"of the input dataset ({n})!")
    if generator.device.type != "cpu":
        raise ValueError(f"random_split needs a CPU generator, got one on {generator.device}")
    perm = np.asarray(generator.stream.permutation(n)).tolist()
    return [Subset(dataset, perm[end - length:end])
            for end, length in zip(itertools.accumulate(lengths), lengths)]
