"""DataLoader, default_collate and default_convert (torch.utils.data's semantics)."""
from __future__ import annotations

import collections.abc
import copy
import functools
import math
import re

from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, Union

import numpy as np

from ..ops.functions import stack
from ..random import Generator
from ..tensor import Tensor
from .dataset import Dataset, IterableDataset, _wrap
from .sampler import BatchSampler, RandomSampler, SequentialSampler

_NP_STR_OBJ = re.compile(r"[SaUO]")  # NumPy dtype codes default_collate refuses
_COLLATE_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, "
                "dicts or lists; found {}")


def default_collate(batch):
    """Stacks a list of samples into a batch, recursing like PyTorch's default_collate.

    Tensors are stacked on a new first dim; NumPy arrays and NumPy scalars become tensors;
    Python floats become a float64 tensor, ints an int64 tensor (bools a bool tensor);
    str/bytes are returned as a list; dicts, namedtuples and sequences are collated per
    key/position (tuples come back as lists, as in PyTorch).
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch), 0)
    if isinstance(elem, np.ndarray):
        if _NP_STR_OBJ.search(elem.dtype.str) is not None:
            raise TypeError(_COLLATE_ERR.format(elem.dtype))
        return _wrap(np.stack(batch))
    if isinstance(elem, (np.bool_, np.number)):
        return _wrap(np.asarray(batch))
    if isinstance(elem, float):
        return _wrap(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, int):
        arr = np.asarray(batch)
        # ints and bools mixed give int64, bools alone give bool, as torch.tensor does
        return _wrap(arr if arr.dtype == np.bool_ else arr.astype(np.int64, copy=False))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update(collated)
                return clone
            return type(elem)(collated)
        except TypeError:  # a mapping type that cannot be rebuilt from a dict
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        collated = [default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return collated  # PyTorch returns a list here (backwards compatibility)
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                clone[:] = collated
                return clone
            return type(elem)(collated)
        except TypeError:
            return collated
    raise TypeError(_COLLATE_ERR.format(type(elem)))


def default_convert(data):
    """Turns NumPy arrays (and scalars) inside `data` into tensors, leaving the rest as is;
    the collate function when automatic batching is off (batch_size=None)."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        if _NP_STR_OBJ.search(data.dtype.str) is not None:
            return data
        return _wrap(data)
    if isinstance(data, (np.bool_, np.number)):
        return _wrap(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(data[key]) for key in data}
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update(converted)
                return clone
            return type(data)(converted)
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        converted = [default_convert(d) for d in data]
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                clone[:] = converted
                return clone
            return type(data)(converted)
        except TypeError:
            return converted
    return data


_FROZEN_AFTER_INIT = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
                      "persistent_workers")


class DataLoader:
    """Iterates over a dataset in batches, with PyTorch's arguments and validation.

    Args:
        dataset: the dataset to load from (map-style or an IterableDataset).
        batch_size: samples per batch (default: 1); None turns automatic batching off.
        shuffle: reshuffle the samples every epoch (default: False).
        sampler: the order of the samples (an iterable of indices); excludes `shuffle`.
        batch_sampler: yields a list of indices per batch; excludes batch_size, shuffle,
            sampler and drop_last.
        num_workers: worker processes that load batches (default: 0, load in the calling
            process).
        collate_fn: merges a list of samples into a batch (default: default_collate).
        pin_memory: accepted, no effect (there is no pinned staging yet).
        drop_last: drop the last batch when it is incomplete (default: False).
        timeout: seconds to wait for a worker's batch (default: 0, forever).
        worker_init_fn: called as worker_init_fn(worker_id) in each worker at start-up.
        multiprocessing_context: the multiprocessing start method or context for workers.
        generator: the Generator that draws shuffle orders and worker base seeds.
        prefetch_factor: batches in flight per worker (default: 2 when num_workers > 0).
        persistent_workers: keep the worker processes alive between epochs
            (default: False).
        pin_memory_device: accepted, no effect.
        in_order: yield batches in sampler order (default: True).

    With `num_workers` > 0 the batches are loaded in that many worker processes, as in
    torch (see dynet.data._worker and get_worker_info()). For array-backed data the
    single-process fast path below is usually faster than workers: they pay for sending
    each batch through a pipe.

    With `shuffle=True` every epoch (every `iter(loader)`) draws a new permutation from
    `generator` (the global generator when None), so a seeded generator reproduces the
    whole sequence of epochs.

    Fast path: with the default collate function and a dataset that can slice whole
    batches (TensorDataset, Subsets of it, the MNIST datasets), each batch is one
    fancy-index per tensor instead of a `__getitem__` call per sample; the batches are
    identical to the per-sample path.
    """

    def __init__(self, dataset: Dataset, batch_size: Optional[int] = 1,
                 shuffle: Optional[bool] = None, sampler: Optional[Iterable[Any]] = None,
                 batch_sampler: Optional[Iterable[Sequence[Any]]] = None,
                 num_workers: int = 0, collate_fn: Optional[Callable[[List[Any]], Any]] = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Optional[Callable[[int], None]] = None,
                 multiprocessing_context: Any = None, generator: Optional[Generator] = None,
                 *, prefetch_factor: Optional[int] = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        self._initialized = False
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; "
                             "use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing. let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (False, None):
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"sampler option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if self._iterable:
            if batch_size is not None and (not isinstance(batch_size, int)
                                           or isinstance(batch_size, bool) or batch_size <= 0):
                raise ValueError("batch_size should be a positive integer value, "
                                 f"but got batch_size={batch_size}")
        else:
            if sampler is None:
                sampler = (RandomSampler(dataset, generator=generator) if shuffle
                           else SequentialSampler(dataset))
            if batch_size is not None and batch_sampler is None:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._auto_collation = batch_sampler is not None or (self._iterable
                                                             and batch_size is not None)
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._initialized = True

    def __setattr__(self, name, value):
        if getattr(self, "_initialized", False) and name in _FROZEN_AFTER_INIT:
            raise ValueError(f"{name} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        super().__setattr__(name, value)

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers > 0:
            from ._worker import _MultiProcessIter, _WorkerPool
            pool = getattr(self, "_pool", None)
            if pool is None or pool.closed or not self.persistent_workers:
                pool = _WorkerPool(self)
                if self.persistent_workers:
                    self._pool = pool
            return _MultiProcessIter(self, pool)
        if self._iterable:
            return self._iter_stream()
        if self.batch_sampler is None:
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)
        return self._iter_batches()

    def _task_indices(self):
        """What each worker task fetches: a batch's indices, or one index without batching."""
        if self.batch_sampler is None:
            return iter(self.sampler)
        if type(self.batch_sampler) is BatchSampler:
            return self.batch_sampler._index_batches()
        return iter(self.batch_sampler)

    def _worker_fetch(self):
        if self._iterable:
            return functools.partial(_stream_batches, collate_fn=self.collate_fn,
                                     batch_size=self.batch_size, drop_last=self.drop_last)
        return functools.partial(_fetch_indices, collate_fn=self.collate_fn,
                                 batched=self.batch_sampler is not None)

    def _iter_batches(self):
        dataset = self.dataset
        fetch = getattr(dataset, "_fetch_batch", None)
        if self.collate_fn is not default_collate:
            fetch = None  # a custom collate_fn must see the per-sample list
        getitems = getattr(dataset, "__getitems__", None)
        if type(self.batch_sampler) is BatchSampler:
            batches = self.batch_sampler._index_batches()  # int64 arrays, no per-index loop
        else:
            batches = iter(self.batch_sampler)
        for indices in batches:
            if fetch is not None:
                batch = fetch(np.asarray(indices, dtype=np.int64))
                if batch is not NotImplemented:
                    yield batch
                    continue
            if isinstance(indices, np.ndarray):
                indices = indices.tolist()
            if callable(getitems):
                samples = getitems(indices)
            else:
                samples = [dataset[i] for i in indices]
            yield self.collate_fn(samples)

    def _iter_stream(self):
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)


def _fetch_indices(dataset, indices, collate_fn, batched):
    """One map-style task in a worker: the same batches as the single-process path."""
    if not batched:
        return collate_fn(dataset[indices])
    if collate_fn is default_collate:
        fetch = getattr(dataset, "_fetch_batch", None)
        if fetch is not None:
            batch = fetch(np.asarray(indices, dtype=np.int64))
            if batch is not NotImplemented:
                return batch
    if isinstance(indices, np.ndarray):
        indices = indices.tolist()
    getitems = getattr(dataset, "__getitems__", None)
    samples = getitems(indices) if callable(getitems) else [dataset[i] for i in indices]
    return collate_fn(samples)


def _stream_batches(dataset, collate_fn, batch_size, drop_last):
    """A worker's batches from its own copy of an IterableDataset."""
    if batch_size is None:
        for sample in dataset:
            yield collate_fn(sample)
        return
    batch = []
    for sample in dataset:
        batch.append(sample)
        if len(batch) == batch_size:
            yield collate_fn(batch)
            batch = []
    if batch and not drop_last:
        yield collate_fn(batch)
