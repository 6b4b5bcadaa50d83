"""Samplers: which dataset indices a DataLoader visits, and in what order (torch's semantics).

The built-in samplers also expose `_index_array()`, one epoch's indices as an int64 NumPy
array, so the DataLoader can slice array-backed datasets batch by batch without a Python
loop over samples. `__iter__` is defined through it, so both paths visit the same order.
"""
import numpy as np

from .. import random as _random


class Sampler:
    """Base class: subclasses define `__iter__` over dataset indices (and usually `__len__`)."""

    def __init__(self, data_source=None):
        # Accepted for compatibility with torch < 2.2, where Sampler took data_source.
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """Samples 0, 1, ..., len(data_source) - 1 in order."""

    def __init__(self, data_source):
        self.data_source = data_source

    def _index_array(self):
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


def _cpu_stream(generator, who):
    """The CPU random stream to draw one epoch from.

    Without a generator, a fresh one is seeded from the global generator, as PyTorch does:
    an epoch then consumes one draw of global randomness however large the dataset is, and
    `dynet.manual_seed` still makes the order reproducible.
    """
    if generator is None:
        seed = int(_random.default_generator.stream.integers(0, 2**63 - 1, (), np.int64))
        return _random.Generator("cpu").manual_seed(seed).stream
    if generator.device.type != "cpu":
        raise ValueError(f"{who} needs a CPU generator, got one on {generator.device}")
    return generator.stream


class RandomSampler(Sampler):
    """Samples a new random permutation each epoch (or, with replacement, `num_samples`
    uniform draws); reproducible with a seeded `generator`."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(
                f"replacement should be a boolean value, but got replacement={replacement}")
        n = self.num_samples
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={n}")

    @property
    def num_samples(self):
        if self._num_samples is None:
            return len(self.data_source)
        return self._num_samples

    def _index_array(self):
        n = len(self.data_source)
        stream = _cpu_stream(self.generator, "RandomSampler")
        if self.replacement:
            return np.asarray(stream.integers(0, n, (self.num_samples,), np.int64))
        full, rest = divmod(self.num_samples, n)
        perms = [np.asarray(stream.permutation(n)) for _ in range(full)]
        if rest:
            perms.append(np.asarray(stream.permutation(n))[:rest])
        return perms[0] if len(perms) == 1 else np.concatenate(perms)

    def __iter__(self):
        return iter(self._index_array().tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """Samples the given indices in a new random order each epoch."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def _index_array(self):
        order = np.asarray(_cpu_stream(self.generator, "SubsetRandomSampler")
                           .permutation(len(self.indices)))
        return np.asarray(self.indices, dtype=np.int64)[order]

    def __iter__(self):
        return iter(self._index_array().tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """Draws `num_samples` indices with probabilities proportional to `weights` (with
    replacement by default), as torch.utils.data.WeightedRandomSampler."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or \
                num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        w = np.asarray(weights.tolist() if hasattr(weights, "tolist") else weights,
                       dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(w.shape)}")
        if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (weights must be finite, "
                               "non-negative and not all zero)")
        if not replacement and num_samples > np.count_nonzero(w):
            raise RuntimeError(f"cannot sample n_sample={num_samples} > prob_dist.size(-1)="
                               f"{np.count_nonzero(w)} samples without replacement")
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _index_array(self):
        stream = _cpu_stream(self.generator, "WeightedRandomSampler")
        return stream.choice(len(self.weights), self.num_samples, p=self.weights /
                             self.weights.sum(), replace=self.replacement)

    def __iter__(self):
        return iter(self._index_array().tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of `sampler` into lists of `batch_size` (the last one shorter
    unless `drop_last`)."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(
                f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def _index_batches(self):
        """Yields each batch as an int64 array; one array op per epoch for built-in samplers."""
        if _has_index_array(self.sampler):
            order = self.sampler._index_array()
            stop = len(order)
            if self.drop_last:
                stop -= stop % self.batch_size
            for start in range(0, stop, self.batch_size):
                yield order[start:start + self.batch_size]
        else:
            for batch in self:
                yield np.asarray(batch, dtype=np.int64)

    def __iter__(self):
        if _has_index_array(self.sampler):
            for batch in self._index_batches():
                yield batch.tolist()
            return
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size


def _has_index_array(sampler):
    # Exact types only: a subclass that overrides __iter__ would disagree with _index_array.
    return type(sampler) in (SequentialSampler, RandomSampler, SubsetRandomSampler,
                             WeightedRandomSampler)
