"""Flattening parameters into one vector and back (torch.nn.utils.parameters_to_vector)."""
from ...ops import functions as F


def parameters_to_vector(parameters):
    """One 1-D tensor holding every parameter, in order (differentiable)."""
    return F.cat([F.reshape(p, -1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copies consecutive slices of `vec` into the parameters' data, in order."""
    if vec.ndim != 1:
        raise TypeError(f"expected a 1-D vector, but got a tensor of shape {tuple(vec.shape)}")
    parameters = list(parameters)
    total = sum(p.numel() for p in parameters)
    if total != vec.numel():
        raise RuntimeError(f"vector of {vec.numel()} elements does not match the parameters' "
                           f"{total} elements")
    offset = 0
    for p in parameters:
        n = p.numel()
        p._data = vec._data[offset:offset + n].reshape(p._data.shape).astype(
            p._data.dtype, copy=True)
        offset += n
