"""Type aliases for the public signatures (what torch spells _device, _dtype, _size...).

Runtime imports only of low layers (dtypes, backend), so every module can use them.
"""
import os
from typing import IO, Sequence, Union

import numpy as np

from .backend.device import Device
from .dtypes import DType

# what `device=` accepts: dynet.device('cuda:0'), 'cpu', 'cuda:1', or a CUDA index
DeviceLike = Union[Device, str, int]
# what `dtype=` accepts: dynet.float32, a NumPy dtype or scalar type, or its name
DTypeLike = Union[DType, np.dtype, type, str]
# one shape: a sequence of ints (dynet.Size, tuple, list)
ShapeLike = Sequence[int]
Number = Union[int, float, bool]
# a file for save/load: a path or an open binary file
FileLike = Union[str, os.PathLike, IO[bytes]]

__all__ = ["DeviceLike", "DTypeLike", "ShapeLike", "Number", "FileLike"]
