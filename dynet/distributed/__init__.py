"""`dynet.distributed`: torch.distributed's process groups and collectives, over MPI (CPU,
through mpi4py and Open MPI) or NCCL (CUDA, through CuPy; set up from the MPI world).

Launch with `mpirun -n N python script.py`; rank and world size come from the MPI world.
mpi4py is imported (and MPI initialised) only by `init_process_group`.
"""
import enum
import os
import time

import numpy as np

__all__ = ["is_available", "is_initialized", "is_mpi_available", "is_nccl_available",
           "init_process_group", "destroy_process_group", "get_rank", "get_world_size",
           "get_backend", "new_group", "barrier", "all_reduce", "broadcast", "all_gather",
           "reduce", "scatter", "gather", "reduce_scatter", "all_gather_object",
           "broadcast_object_list", "ReduceOp", "Backend", "Work", "GroupMember",
           "ProcessGroup"]

_DEFAULT_TIMEOUT = 1800.0  # seconds, torch's default for a collective


class ReduceOp(enum.Enum):
    """Reduction operations for all_reduce/reduce/reduce_scatter (torch's names)."""
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


class Backend:
    MPI = "mpi"
    NCCL = "nccl"
    _ALL = ("mpi", "nccl")


def is_mpi_available():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_nccl_available():
    from ..backend import nccl
    return nccl.is_available()


def is_available():
    """True when a communication backend (MPI through mpi4py) can be used."""
    return is_mpi_available()


class Work:
    """The handle of an asynchronous collective; wait() finishes it (and any copy-back)."""

    def __init__(self, requests, finish=None, timeout=_DEFAULT_TIMEOUT, what="collective",
                 rank=0):
        self._requests = [r for r in requests if r is not None]
        self._finish = finish
        self._timeout = timeout
        self._what, self._rank = what, rank
        self._done = False

    def is_completed(self):
        if self._done:
            return True
        from mpi4py import MPI
        return not self._requests or MPI.Request.Testall(self._requests)

    def wait(self, timeout=None):
        if self._done:
            return True
        _wait_all(self._requests, self._timeout if timeout is None else _seconds(timeout),
                  self._what, self._rank)
        self._done = True
        if self._finish is not None:
            self._finish()
        return True


def _seconds(timeout):
    return timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)


def _wait_all(requests, timeout, what, rank):
    """Polls MPI requests until done; raises instead of hanging past `timeout` seconds."""
    if not requests:
        return
    from mpi4py import MPI
    if MPI.Request.Testall(requests):
        return
    deadline = time.monotonic() + timeout
    pause = 1e-5
    while not MPI.Request.Testall(requests):
        if time.monotonic() > deadline:
            raise RuntimeError(f"dynet.distributed: {what} on rank {rank} timed out after "
                               f"{timeout:g} s: some rank never joined it (ranks must call "
                               f"the same collectives in the same order)")
        time.sleep(pause)
        pause = min(pause * 2, 1e-3)


class ProcessGroup:
    """A set of ranks with its MPI communicator (and, for NCCL, its NCCL communicators)."""

    def __init__(self, comm, backend, timeout, ranks):
        self.comm = comm
        self.backend = backend
        self.timeout = timeout
        self.ranks = list(ranks)  # global ranks, in group-rank order
        self._nccl = {}  # device index -> NCCL communicator, made at first use

    def rank(self):
        return self.comm.Get_rank()

    def size(self):
        return self.comm.Get_size()

    def __repr__(self):
        return f"ProcessGroup(backend={self.backend!r}, ranks={self.ranks})"


class GroupMember:
    WORLD = None
    NON_GROUP_MEMBER = object()


_world = None


def is_initialized():
    return _world is not None


def _get_group(group):
    if _world is None:
        raise RuntimeError("Default process group has not been initialized, please make sure "
                           "to call init_process_group.")
    if group is None:
        return _world
    if group is GroupMember.NON_GROUP_MEMBER:
        raise RuntimeError("the calling rank is not part of this process group")
    return group


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Joins the MPI world as one process group ("mpi" on CPU, "nccl" on CUDA)."""
    global _world
    if _world is not None:
        raise ValueError("trying to initialize the default process group twice!")
    backend = Backend.MPI if backend is None else str(backend).lower()
    if backend in ("gloo", "cpu:gloo"):
        backend = Backend.MPI  # gloo is torch's CPU backend; MPI plays its part here
    if backend not in Backend._ALL:
        raise ValueError(f"Invalid backend: '{backend}'; dynet.distributed supports 'mpi' "
                         f"(CPU) and 'nccl' (CUDA)")
    if init_method not in (None, "env://") and not str(init_method).startswith("mpi"):
        raise ValueError(f"init_method {init_method!r} is not supported: dynet.distributed "
                         f"bootstraps from the MPI world (launch with mpirun)")
    if not is_mpi_available():
        raise RuntimeError("dynet.distributed needs mpi4py and an MPI library: "
                           "pip install 'dynet-autograd[distributed]'")
    if backend == Backend.NCCL and not is_nccl_available():
        raise RuntimeError("the 'nccl' backend needs CuPy with NCCL (cupy.cuda.nccl, from "
                           "the nvidia-nccl-cu12/cu13 wheel) and a CUDA GPU")
    from mpi4py import MPI
    comm = MPI.COMM_WORLD.Dup()
    mpi_rank, mpi_size = comm.Get_rank(), comm.Get_size()
    env_rank = os.environ.get("RANK")
    env_size = os.environ.get("WORLD_SIZE")
    want_rank = rank if rank is not None and rank >= 0 else \
        (int(env_rank) if env_rank is not None else mpi_rank)
    want_size = world_size if world_size is not None and world_size > 0 else \
        (int(env_size) if env_size is not None else mpi_size)
    if (want_rank, want_size) != (mpi_rank, mpi_size):
        comm.Free()
        raise ValueError(f"rank {want_rank} of world_size {want_size} was asked for, but the "
                         f"MPI world gives this process rank {mpi_rank} of {mpi_size} "
                         f"(launch with: mpirun -n {want_size} ...)")
    os.environ.setdefault("RANK", str(mpi_rank))
    os.environ.setdefault("WORLD_SIZE", str(mpi_size))
    os.environ.setdefault("LOCAL_RANK", os.environ.get("OMPI_COMM_WORLD_LOCAL_RANK", "0"))
    t = _DEFAULT_TIMEOUT if timeout is None else _seconds(timeout)
    _world = ProcessGroup(comm, backend, t, range(mpi_size))


def destroy_process_group(group=None):
    """Frees the group's communicators (the default group and all of them when None)."""
    global _world
    pg = _get_group(group)
    for c in pg._nccl.values():
        c.destroy()
    pg._nccl.clear()
    pg.comm.Free()
    if group is None or pg is _world:
        _world = None


def get_rank(group=None):
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return _get_group(group).rank()


def get_world_size(group=None):
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return _get_group(group).size()


def get_backend(group=None):
    return _get_group(group).backend


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False):
    """A sub-group of the world; every rank must call it (non-members get NON_GROUP_MEMBER)."""
    world = _get_group(None)
    ranks = list(range(world.size())) if ranks is None else sorted(set(int(r) for r in ranks))
    for r in ranks:
        if not 0 <= r < world.size():
            raise ValueError(f"new_group: rank {r} is not in the world of size {world.size()}")
    from mpi4py import MPI
    me = world.rank()
    color = 0 if me in ranks else MPI.UNDEFINED
    comm = world.comm.Split(color, key=me)
    if comm == MPI.COMM_NULL:
        return GroupMember.NON_GROUP_MEMBER
    backend = world.backend if backend is None else str(backend).lower()
    return ProcessGroup(comm, backend, world.timeout if timeout is None else _seconds(timeout),
                        ranks)


# ----------------------------------------------------------------- helpers

def _array(tensor, name="tensor"):
    from ..tensor import Tensor
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name} must be a dynet Tensor, got {type(tensor).__name__}")
    return tensor._data


def _bump(tensor):
    bump = getattr(tensor, "_bump_version", None)
    if bump is not None:
        bump()


def _mpi_op(op):
    from mpi4py import MPI
    if not isinstance(op, ReduceOp):
        raise ValueError(f"op must be a dynet.distributed.ReduceOp, got {op!r}")
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}[op]


def _check_same(pg, what, arr, extra=()):
    """All ranks compare (shape, dtype): a mismatch raises on every rank, naming them all."""
    meta = (tuple(arr.shape), str(arr.dtype)) + tuple(extra)
    metas = _allgather_obj(pg, meta, what)
    if any(m != metas[0] for m in metas):
        desc = ", ".join(f"rank {pg.ranks[i]}: shape {list(m[0])} {m[1]}"
                         for i, m in enumerate(metas))
        raise RuntimeError(f"dynet.distributed.{what}: tensors differ across ranks ({desc})")


def _allgather_obj(pg, obj, what):
    # non-blocking so a rank that never joins gives a timeout, not a hang without end
    import pickle
    data = np.frombuffer(pickle.dumps(obj), dtype=np.uint8)
    n = np.array([data.size], dtype=np.int64)
    sizes = np.empty(pg.size(), dtype=np.int64)
    _wait_all([pg.comm.Iallgather(n, sizes)], pg.timeout, what, pg.rank())
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    displs = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    _wait_all([pg.comm.Iallgatherv(data, [out, sizes, displs, _mpi_byte()])], pg.timeout,
              what, pg.rank())
    return [pickle.loads(out[d:d + s].tobytes()) for d, s in zip(displs, sizes)]


def _mpi_byte():
    from mpi4py import MPI
    return MPI.BYTE


class _Staged:
    """A host, C-contiguous buffer for an array (a copy when it is on CUDA or strided)."""

    def __init__(self, arr, copy_in=True):
        self.arr = arr
        on_host = isinstance(arr, np.ndarray)
        if on_host and arr.flags.c_contiguous:
            self.buf = arr
        elif on_host:
            self.buf = np.ascontiguousarray(arr) if copy_in else np.empty(arr.shape, arr.dtype)
        else:
            self.buf = arr.get() if copy_in else np.empty(arr.shape, arr.dtype)

    def write_back(self):
        if self.buf is self.arr:
            return
        if isinstance(self.arr, np.ndarray):
            self.arr[...] = self.buf
        else:
            self.arr[...] = _to_device_like(self.buf, self.arr)


def _to_device_like(host, like):
    from ..backend import xp_of
    with like.device:  # CuPy allocates on the current device, not the array's
        return xp_of(like).asarray(host)


def _run(pg, what, requests, finish, async_op):
    work = Work(requests, finish, pg.timeout, what, pg.rank())
    if async_op:
        return work
    work.wait()
    return None


def _use_nccl(pg, arr):
    return pg.backend == Backend.NCCL and not isinstance(arr, np.ndarray)


def _nccl_comm(pg, arr):
    from ..backend import nccl
    return nccl.communicator(pg, arr)


# ----------------------------------------------------------------- collectives

def barrier(group=None, async_op=False, device_ids=None):
    """Blocks until every rank of the group reaches it."""
    pg = _get_group(group)
    return _run(pg, "barrier", [pg.comm.Ibarrier()], None, async_op)


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduces `tensor` over all ranks, in place on every rank."""
    pg = _get_group(group)
    arr = _array(tensor)
    _check_same(pg, "all_reduce", arr)
    n = pg.size()
    if _use_nccl(pg, arr):
        done = _nccl_comm(pg, arr).all_reduce(arr, op)
        return _run(pg, "all_reduce", [], lambda: (done(), _bump(tensor)), async_op)
    mop = _mpi_op(op)
    st = _Staged(arr)
    req = pg.comm.Iallreduce(_in_place(), st.buf, op=mop)

    def finish():
        if op is ReduceOp.AVG:
            _divide(st.buf, n)
        st.write_back()
        _bump(tensor)
    return _run(pg, "all_reduce", [req], finish, async_op)


def _in_place():
    from mpi4py import MPI
    return MPI.IN_PLACE


def _divide(buf, n):
    if buf.dtype.kind in "fc":
        buf /= n
    else:
        buf //= n  # torch rejects AVG for integers on some backends; floor it here


def broadcast(tensor, src, group=None, async_op=False, group_src=None):
    """Copies `tensor` from global rank `src` to every rank of the group, in place."""
    pg = _get_group(group)
    root = _group_rank(pg, src, group_src, "src")
    arr = _array(tensor)
    _check_same(pg, "broadcast", arr)
    if _use_nccl(pg, arr):
        done = _nccl_comm(pg, arr).broadcast(arr, root)
        return _run(pg, "broadcast", [], lambda: (done(), _bump(tensor)), async_op)
    st = _Staged(arr, copy_in=pg.rank() == root)
    req = pg.comm.Ibcast(st.buf, root=root)
    return _run(pg, "broadcast", [req], lambda: (st.write_back(), _bump(tensor)), async_op)


def _group_rank(pg, rank, group_rank, name):
    if group_rank is not None:
        r = int(group_rank)
    else:
        if rank not in pg.ranks:
            raise ValueError(f"{name}={rank} is not a rank of this group (ranks {pg.ranks})")
        r = pg.ranks.index(rank)
    if not 0 <= r < pg.size():
        raise ValueError(f"{name}={r} is out of range for a group of size {pg.size()}")
    return r


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """tensor_list[i] <- rank i's `tensor`, on every rank."""
    pg = _get_group(group)
    arr = _array(tensor)
    if len(tensor_list) != pg.size():
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors, the group "
                         f"has {pg.size()} ranks")
    _check_same(pg, "all_gather", arr)
    for t in tensor_list:
        o = _array(t, "tensor_list[i]")
        if o.shape != arr.shape or o.dtype != arr.dtype:
            raise RuntimeError(f"all_gather: output tensor of shape {list(o.shape)} {o.dtype} "
                               f"cannot hold input of shape {list(arr.shape)} {arr.dtype}")
    src = _Staged(arr).buf
    out = np.empty((pg.size(),) + arr.shape, dtype=arr.dtype)
    req = pg.comm.Iallgather(src, out)

    def finish():
        for i, t in enumerate(tensor_list):
            _set(t, out[i])
    return _run(pg, "all_gather", [req], finish, async_op)


def _set(tensor, host):
    arr = tensor._data
    if isinstance(arr, np.ndarray):
        arr[...] = host
    else:
        arr[...] = _to_device_like(host, arr)
    _bump(tensor)


def reduce(tensor, dst, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Reduces `tensor` over all ranks into rank `dst`'s `tensor`."""
    pg = _get_group(group)
    root = _group_rank(pg, dst, group_dst, "dst")
    arr = _array(tensor)
    _check_same(pg, "reduce", arr)
    st = _Staged(arr)
    me_root = pg.rank() == root
    if me_root:
        req = pg.comm.Ireduce(_in_place(), st.buf, op=_mpi_op(op), root=root)
    else:
        req = pg.comm.Ireduce(st.buf, None, op=_mpi_op(op), root=root)
    n = pg.size()

    def finish():
        if me_root:
            if op is ReduceOp.AVG:
                _divide(st.buf, n)
            st.write_back()
            _bump(tensor)
    return _run(pg, "reduce", [req], finish, async_op)


def scatter(tensor, scatter_list=None, src=0, group=None, async_op=False, group_src=None):
    """Rank i's `tensor` <- `scatter_list[i]` of rank `src`."""
    pg = _get_group(group)
    root = _group_rank(pg, src, group_src, "src")
    arr = _array(tensor)
    _check_same(pg, "scatter", arr)
    send = None
    if pg.rank() == root:
        if scatter_list is None or len(scatter_list) != pg.size():
            raise ValueError(f"scatter: the source rank needs a scatter_list of {pg.size()} "
                             f"tensors")
        parts = [_host(_array(t, "scatter_list[i]")) for t in scatter_list]
        for p in parts:
            if p.shape != arr.shape or p.dtype != arr.dtype:
                raise RuntimeError(f"scatter: scatter_list tensor of shape {list(p.shape)} "
                                   f"{p.dtype} does not match output {list(arr.shape)} "
                                   f"{arr.dtype}")
        send = np.stack(parts) if parts else None
    st = _Staged(arr, copy_in=False)
    req = pg.comm.Iscatter(send, st.buf, root=root)
    return _run(pg, "scatter", [req], lambda: (st.write_back(), _bump(tensor)), async_op)


def _host(arr):
    return np.ascontiguousarray(arr) if isinstance(arr, np.ndarray) else arr.get()


def gather(tensor, gather_list=None, dst=0, group=None, async_op=False, group_dst=None):
    """gather_list[i] of rank `dst` <- rank i's `tensor`."""
    pg = _get_group(group)
    root = _group_rank(pg, dst, group_dst, "dst")
    arr = _array(tensor)
    _check_same(pg, "gather", arr)
    me_root = pg.rank() == root
    out = None
    if me_root:
        if gather_list is None or len(gather_list) != pg.size():
            raise ValueError(f"gather: the destination rank needs a gather_list of "
                             f"{pg.size()} tensors")
        out = np.empty((pg.size(),) + arr.shape, dtype=arr.dtype)
    req = pg.comm.Igather(_host(arr), out, root=root)

    def finish():
        if me_root:
            for i, t in enumerate(gather_list):
                _set(t, out[i])
    return _run(pg, "gather", [req], finish, async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Rank i's `output` <- the reduction over ranks of their `input_list[i]`."""
    pg = _get_group(group)
    arr = _array(output, "output")
    if len(input_list) != pg.size():
        raise ValueError(f"reduce_scatter: input_list has {len(input_list)} tensors, the "
                         f"group has {pg.size()} ranks")
    _check_same(pg, "reduce_scatter", arr)
    send = np.stack([_host(_array(t, "input_list[i]")) for t in input_list])
    if send.shape[1:] != arr.shape:
        raise RuntimeError(f"reduce_scatter: input tensors of shape {list(send.shape[1:])} "
                           f"do not match output {list(arr.shape)}")
    st = _Staged(arr, copy_in=False)
    req = pg.comm.Ireduce_scatter_block(send, st.buf, op=_mpi_op(op))
    n = pg.size()

    def finish():
        if op is ReduceOp.AVG:
            _divide(st.buf, n)
        st.write_back()
        _bump(output)
    return _run(pg, "reduce_scatter", [req], finish, async_op)


def all_gather_object(object_list, obj, group=None):
    """object_list[i] <- rank i's picklable `obj`."""
    pg = _get_group(group)
    objs = _allgather_obj(pg, obj, "all_gather_object")
    if len(object_list) != len(objs):
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} slots, the "
                         f"group has {len(objs)} ranks")
    object_list[:] = objs


def broadcast_object_list(object_list, src=0, group=None, device=None, group_src=None):
    """object_list (all ranks) <- rank `src`'s object_list."""
    pg = _get_group(group)
    root = _group_rank(pg, src, group_src, "src")
    objs = _allgather_obj(pg, list(object_list) if pg.rank() == root else None,
                          "broadcast_object_list")
    object_list[:] = objs[root]
