"""torch.nn.utils.rnn: PackedSequence and the padding/packing helpers.

A PackedSequence's data holds, for each time step t, the rows of the batch_sizes[t]
sequences still running at t, longest sequences first. Every conversion here is one
row gather (index_select) on the flattened input, so gradients flow through with one
scatter-add, whatever the number of sequences or steps.
"""
from collections import namedtuple

import numpy as np

from ... import creation
from ...ops import functions as _F
from ...tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]


class PackedSequence(namedtuple("PackedSequence_",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """(data, batch_sizes, sorted_indices, unsorted_indices); build it with pack_*."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        elif batch_sizes.device.type != "cpu":
            raise ValueError("batch_sizes should always be on CPU. Instances of PackedSequence "
                             "should never be created manually. They should be instantiated "
                             "by functions like pack_sequence and pack_padded_sequences in "
                             "nn.utils.rnn.")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """data.to(...); the indices follow data's device, batch_sizes stay on the CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self

        def move(t):
            return None if t is None else t.to(data.device)
        return type(self)(data, self.batch_sizes, move(self.sorted_indices),
                          move(self.unsorted_indices))

    def cuda(self, *args, **kwargs):
        return self.to(*args, **{"device": "cuda", **kwargs}) if not args else \
            self.to(*args, **kwargs)

    def cpu(self):
        return self.to("cpu")

    def double(self):
        return self.to(dtype=_dtype("float64"))

    def float(self):  # noqa: A003 - PyTorch's method name
        return self.to(dtype=_dtype("float32"))

    def half(self):
        return self.to(dtype=_dtype("float16"))

    @property
    def is_cuda(self):
        return self.data.device.type == "cuda"


def _dtype(name):
    from ... import dtypes
    return getattr(dtypes, name)


def invert_permutation(permutation):
    """The inverse permutation (None stays None)."""
    if permutation is None:
        return None
    p = permutation.cpu().numpy()
    inv = np.empty_like(p)
    inv[p] = np.arange(p.size, dtype=p.dtype)
    return creation.tensor(inv, device=permutation.device)


def _long(values):
    return creation.tensor(np.asarray(values, dtype=np.int64))


def _gather_rows(flat, index, device):
    return flat.index_select(0, creation.tensor(np.asarray(index, dtype=np.int64),
                                                device=device))


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):  # noqa: A002
    """Packs a padded (T, B, *) batch (B, T, * if batch_first) of sequences of `lengths`."""
    if isinstance(lengths, Tensor):
        if lengths.dim() != 1 or lengths.device.type != "cpu":
            raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                               f"{lengths.dim()}D {lengths.device.type} tensor")
        lens = lengths.numpy().astype(np.int64)
    else:
        lens = np.asarray(lengths).astype(np.int64).reshape(-1)
    B = input.shape[0 if batch_first else 1]
    T = input.shape[1 if batch_first else 0]
    if lens.size != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lens.size} (batch_size={B})")
    sorted_indices = None
    if enforce_sorted:
        if np.any(lens[1:] > lens[:-1]):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                               "to pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        order = np.arange(B)
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_indices = creation.tensor(order, device=input.device)
    lens_sorted = lens[order]
    if B and lens_sorted[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if B and lens_sorted[0] > T:
        raise RuntimeError(f"pack_padded_sequence: a length ({lens_sorted[0]}) exceeds the "
                           f"padded sequence length ({T})")
    steps = int(lens_sorted[0]) if B else 0
    batch_sizes = [int(np.count_nonzero(lens_sorted > t)) for t in range(steps)]
    # flat row of (t, sequence order[j]) in the input viewed as (T*B, *) or (B*T, *)
    index = [order[j] * T + t if batch_first else t * B + order[j]
             for t, b in enumerate(batch_sizes) for j in range(b)]
    flat = input.reshape(B * T, *input.shape[2:])
    data = _gather_rows(flat, index, input.device)
    return PackedSequence(data, _long(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of pack_padded_sequence: (padded, lengths), in the original batch order."""
    batch_sizes = [int(b) for b in sequence.batch_sizes.tolist()]
    max_len = len(batch_sizes)
    if total_length is not None:
        if total_length < max_len:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {max_len}")
        max_len = total_length
    data = sequence.data
    B = batch_sizes[0]
    N = data.shape[0]
    pad_row = creation.full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype,
                            device=data.device)
    flat = _F.cat([data, pad_row])
    # every padded position reads the extra row N unless a packed row lands there
    where = np.full((max_len, B) if not batch_first else (B, max_len), N, dtype=np.int64)
    start = 0
    for t, b in enumerate(batch_sizes):
        rows = np.arange(start, start + b)
        if batch_first:
            where[:b, t] = rows
        else:
            where[t, :b] = rows
        start += b
    out = _gather_rows(flat, where.reshape(-1), data.device)
    out = out.reshape(*where.shape, *data.shape[1:])
    lengths = np.array([sum(1 for bs in batch_sizes if bs > j) for j in range(B)],
                       dtype=np.int64)
    if sequence.unsorted_indices is not None:
        out = out.index_select(0 if batch_first else 1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices.cpu().numpy()]
    return out, _long(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stacks sequences (L_i, *) into (max L, B, *) (B first if batch_first), padded."""
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    try:
        sequences = tuple(sequences)
    except TypeError:
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg "
                           f"of type: {type(sequences)}") from None
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError("Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    trailing = tuple(sequences[0].shape[1:])
    lens = [s.shape[0] for s in sequences]
    max_len, B = max(lens), len(sequences)
    ref = sequences[0]
    pad_row = creation.full((1,) + trailing, padding_value, dtype=ref.dtype, device=ref.device)
    flat = _F.cat(list(sequences) + [pad_row])
    N = sum(lens)
    where = np.full((B, max_len), N, dtype=np.int64)
    start = 0
    for j, n in enumerate(lens):
        cols = slice(0, n) if padding_side == "right" else slice(max_len - n, max_len)
        where[j, cols] = np.arange(start, start + n)
        start += n
    if not batch_first:
        where = where.T
    out = _gather_rows(flat, where.reshape(-1), ref.device)
    return out.reshape(*where.shape, *trailing)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences (L_i, *) from a padded batch and its lengths."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    lens = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    return [x[j, :int(n)] for j, n in enumerate(lens)]


def pack_sequence(sequences, enforce_sorted=True):
    """Packs a list of sequences (L_i, *), longest first unless enforce_sorted=False."""
    lengths = [v.shape[0] for v in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences a PackedSequence holds, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
