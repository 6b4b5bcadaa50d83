"""IDX files (the MNIST family's format), gzipped or raw, read and written with NumPy.

Layout: two zero bytes, a dtype code, the number of dimensions, then one big-endian uint32
per dimension, then the values in C order, big-endian. See http://yann.lecun.com/exdb/mnist/.
"""
import gzip
import os
import zlib

import numpy as np

# dtype code -> big-endian NumPy dtype
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF = {dt.newbyteorder("="): code for code, dt in _IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path):
    """Reads an IDX file (gzipped or raw, detected by content) into a native-endian ndarray.

    Raises ValueError naming the file for anything that is not a well-formed IDX file: a
    bad magic number or dtype code, a truncated header or payload, or bytes after the payload.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    # Decide by content, not by name: downloads and hand-copied files are often misnamed.
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
            raise ValueError(f"{path}: corrupt or truncated gzip data ({exc})") from None
    return _parse_idx(raw, path)


def _parse_idx(buf, path):
    if len(buf) < 4:
        raise ValueError(f"{path}: not an IDX file: {len(buf)} bytes is shorter than the "
                         "4-byte magic number")
    zero0, zero1, code, ndim = buf[0], buf[1], buf[2], buf[3]
    if zero0 != 0 or zero1 != 0:
        raise ValueError(f"{path}: not an IDX file: magic number 0x{buf[:4].hex()} does not "
                         "start with two zero bytes (expected 0x0000TTNN)")
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(f"{path}: unknown IDX dtype code 0x{code:02X} in magic number "
                         f"0x{buf[:4].hex()} (known: {known})")
    if ndim == 0:
        raise ValueError(f"{path}: IDX magic number 0x{buf[:4].hex()} declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise ValueError(f"{path}: truncated IDX header: {ndim} dimensions need {header} "
                         f"bytes, the file has {len(buf)}")
    shape = tuple(int(d) for d in np.frombuffer(buf, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = dtype.itemsize
    for d in shape:  # Python ints: a hostile header cannot overflow the product
        expected *= d
    found = len(buf) - header
    if found < expected:
        raise ValueError(f"{path}: truncated IDX payload: shape {shape} of {dtype.name} needs "
                         f"{expected} bytes, found {found}")
    if found > expected:
        raise ValueError(f"{path}: {found - expected} bytes of trailing garbage after the IDX "
                         f"payload (shape {shape} of {dtype.name} needs {expected} bytes)")
    arr = np.frombuffer(buf, dtype=dtype, offset=header).reshape(shape)
    # astype copies: the result is native-endian and writable (frombuffer's view is read-only)
    return arr.astype(dtype.newbyteorder("="))


def write_idx(path, array, compress=None):
    """Writes `array` as an IDX file; gzipped when `compress` is True or, by default, when
    the path ends in '.gz'. Supported dtypes: uint8, int8, int16, int32, float32, float64."""
    path = os.fspath(path)
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODE_OF:
        raise ValueError(f"write_idx({path!r}): dtype {array.dtype} has no IDX code "
                         "(use uint8, int8, int16, int32, float32 or float64)")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"write_idx({path!r}): IDX needs 1 to 255 dimensions, "
                         f"got shape {array.shape}")
    code = _CODE_OF[native]
    blob = (bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
            + np.ascontiguousarray(array, dtype=_IDX_DTYPES[code]).tobytes())
    if compress is None:
        compress = path.endswith(".gz")
    if compress:
        blob = gzip.compress(blob, mtime=0)  # mtime=0: identical arrays give identical files
    with open(path, "wb") as f:
        f.write(blob)
    return path
