"""Image transforms with torchvision.transforms' semantics, on NumPy/CuPy arrays (no PIL).

Each transform works on one sample (`t(x)`) and on a whole batch with a leading sample
dimension (`t.apply_batch(xs)`), which is how the MNIST datasets transform a batch in one
array operation. A transform is batchable when it has `apply_batch` and `batchable` is true;
`Lambda(fn)` is not unless declared with `batched=True`.
"""

import numpy as np

from ..backend import xp_of
from ..ops.functions import stack
from ..tensor import Tensor


def _raw(x):
    """The raw array behind a Tensor, an ndarray, or anything np.asarray accepts (PIL too)."""
    if isinstance(x, Tensor):
        return x._data
    return np.asarray(x)


def _wrap(raw):
    return Tensor._make(raw, False)


class Compose:
    """Applies transforms in order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    @property
    def batchable(self):
        return all(is_batchable(t) for t in self.transforms)

    def apply_batch(self, batch):
        for t in self.transforms:
            batch = apply_batch(t, batch)
        return batch

    def __repr__(self):
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"


class ToTensor:
    """uint8 H x W or H x W x C image -> float32 C x H x W tensor in [0, 1].

    As in torchvision, arrays of other dtypes are only moved to C x H x W, not rescaled.
    Accepts NumPy arrays, dynet tensors (the MNIST datasets' stand-in for PIL images) and
    anything np.asarray understands (PIL images included, without importing PIL).
    """

    batchable = True

    def __call__(self, pic):
        raw = _raw(pic)
        if raw.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {raw.ndim} dimensions "
                             f"(shape {tuple(raw.shape)}).")
        if raw.ndim == 2:
            raw = raw[:, :, None]
        return _to_float_chw(raw.transpose(2, 0, 1))

    def apply_batch(self, batch):
        """N x H x W or N x H x W x C -> N x C x H x W (uint8 scaled to [0, 1])."""
        raw = _raw(batch)
        if raw.ndim not in (3, 4):
            raise ValueError(f"ToTensor.apply_batch expects N x H x W or N x H x W x C, got "
                             f"shape {tuple(raw.shape)}")
        if raw.ndim == 3:
            raw = raw[:, None]
        else:
            raw = raw.transpose(0, 3, 1, 2)
        return _to_float_chw(raw)

    def __repr__(self):
        return f"{type(self).__name__}()"


def _to_float_chw(raw):
    xp = xp_of(raw)
    if raw.dtype == np.uint8:
        # divide (not multiply by 1/255) so values match torchvision bit for bit
        return _wrap(xp.ascontiguousarray(raw, dtype=np.float32) / np.float32(255))
    return _wrap(xp.ascontiguousarray(raw))


class Normalize:
    """(x - mean) / std per channel of a float (..., C, H, W) tensor; batches work as is."""

    batchable = True

    def __init__(self, mean, std, inplace=False):
        self.mean = mean
        self.std = std
        self.inplace = inplace

    def __call__(self, tensor):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"Input tensor should be a Tensor. Got {type(tensor)}.")
        raw = tensor._data
        if raw.dtype.kind != "f":
            raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
        if raw.ndim < 3:
            raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). "
                             f"Got tensor.size() = {tuple(raw.shape)}")
        xp = xp_of(raw)
        # the zero check runs on the host copy: on a GPU batch it would sync every batch
        std_host = np.asarray(self.std, dtype=raw.dtype)
        if (std_host == 0).any():
            raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, "
                             "leading to division by zero.")
        mean = xp.asarray(self.mean, dtype=raw.dtype)
        std = xp.asarray(std_host)
        if mean.ndim == 1:
            mean = mean.reshape(-1, 1, 1)
        if std.ndim == 1:
            std = std.reshape(-1, 1, 1)
        if self.inplace:
            raw -= mean
            raw /= std
            return tensor
        return _wrap((raw - mean) / std)

    apply_batch = __call__

    def __repr__(self):
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class Lambda:
    """Applies a user function. Pass `batched=True` if `fn` also accepts a whole batch."""

    def __init__(self, lambd, batched=False):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd
        self.batchable = bool(batched)

    def __call__(self, x):
        return self.lambd(x)

    def apply_batch(self, batch):
        if self.batchable:
            return self.lambd(batch)
        return _per_sample(self.lambd, batch)

    def __repr__(self):
        return f"{type(self).__name__}()"


def is_batchable(transform):
    """True when `transform.apply_batch` exists and is equivalent to per-sample application."""
    return hasattr(transform, "apply_batch") and bool(getattr(transform, "batchable", False))


def apply_batch(transform, batch):
    """Applies `transform` to every sample of `batch` (leading dim): in one call when the
    transform is batchable, else sample by sample and stacked."""
    if is_batchable(transform):
        return transform.apply_batch(batch)
    return _per_sample(transform, batch)


def _per_sample(fn, batch):
    items = [fn(batch[i]) for i in range(len(batch))]
    if items and isinstance(items[0], Tensor):
        return stack(items, 0)
    return np.stack([_raw(x) for x in items]) if items else batch
