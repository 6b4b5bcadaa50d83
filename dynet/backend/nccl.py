"""NCCL collectives on CuPy arrays (cupy.cuda.nccl), for dynet.distributed's 'nccl' backend.

One NCCL communicator per (process group, device), made at the group's first collective on
that device: rank 0 draws the unique id and the group's MPI communicator broadcasts it.
Collectives are enqueued on the current CuPy stream, so later work on that stream is
ordered after them (torch's semantics for NCCL work handles).
"""
from . import cuda


def _lib():
    """cupy.cuda.nccl, or None (tests replace this with a fake)."""
    cp = cuda.cupy_module()
    if cp is None:
        return None
    import warnings
    try:
        with warnings.catch_warnings():  # CuPy warns when libnccl is absent; None says so
            warnings.simplefilter("ignore")
            from cupy.cuda import nccl
    except Exception:
        return None
    return nccl if getattr(nccl, "available", True) else None


def is_available():
    return cuda.is_available() and _lib() is not None


_DTYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
           "bfloat16": "NCCL_BFLOAT16", "int8": "NCCL_INT8", "uint8": "NCCL_UINT8",
           "int32": "NCCL_INT32", "uint32": "NCCL_UINT32", "int64": "NCCL_INT64",
           "uint64": "NCCL_UINT64"}
_OPS = {"sum": "NCCL_SUM", "product": "NCCL_PROD", "max": "NCCL_MAX", "min": "NCCL_MIN",
        "avg": "NCCL_AVG"}


def _dtype(lib, dtype):
    name = _DTYPES.get(str(dtype))
    if name is None or not hasattr(lib, name):
        raise TypeError(f"NCCL cannot reduce tensors of dtype {dtype}")
    return getattr(lib, name)


class Communicator:
    """A group's NCCL communicator on one device."""

    def __init__(self, lib, comm, device_index, size, rank):
        self.lib, self.comm = lib, comm
        self.device_index, self.size, self.rank = device_index, size, rank

    def _prepare(self, arr):
        cp = cuda.cupy_module()
        if arr.device.id != self.device_index:
            raise RuntimeError(f"NCCL communicator is on cuda:{self.device_index}, the tensor "
                               f"on cuda:{arr.device.id}")
        buf = arr if arr.flags.c_contiguous else cp.ascontiguousarray(arr)
        stream = cp.cuda.get_current_stream().ptr
        return buf, stream

    def _finisher(self, arr, buf):
        def done():
            if buf is not arr:
                with arr.device:
                    arr[...] = buf
        return done

    def all_reduce(self, arr, op):
        """Enqueues an in-place all-reduce of `arr`; returns the copy-back callable."""
        lib = self.lib
        with arr.device:
            buf, stream = self._prepare(arr)
            name = op.value
            divide = name == "avg" and not hasattr(lib, "NCCL_AVG")
            nop = getattr(lib, _OPS["sum" if divide else name])
            self.comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, _dtype(lib, buf.dtype),
                                nop, stream)
            if divide:  # NCCL before 2.10 has no ncclAvg
                if buf.dtype.kind in "fc":
                    buf /= self.size
                else:
                    buf //= self.size
        return self._finisher(arr, buf)

    def broadcast(self, arr, root):
        """Enqueues an in-place broadcast of `arr` from group rank `root`."""
        with arr.device:
            buf, stream = self._prepare(arr)
            self.comm.broadcast(buf.data.ptr, buf.data.ptr, buf.size,
                                _dtype(self.lib, buf.dtype), root, stream)
        return self._finisher(arr, buf)

    def destroy(self):
        self.comm.destroy()


def communicator(pg, arr):
    """The NCCL communicator of process group `pg` on `arr`'s device (made on first use)."""
    lib = _lib()
    if lib is None:
        raise RuntimeError("the 'nccl' backend needs CuPy with NCCL (cupy.cuda.nccl)")
    index = arr.device.id
    comm = pg._nccl.get(index)
    if comm is None:
        uid = lib.get_unique_id() if pg.rank() == 0 else None
        uid = pg.comm.bcast(uid, root=0)
        cp = cuda.cupy_module()
        with cp.cuda.Device(index):
            raw = lib.NcclCommunicator(pg.size(), uid, pg.rank())
        comm = pg._nccl[index] = Communicator(lib, raw, index, pg.size(), pg.rank())
    return comm
