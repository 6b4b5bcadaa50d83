"""Intra-op parallelism for CPU kernels: one small pool of persistent threads.

NumPy releases the GIL inside its loops and BLAS calls, so Python threads can work on two
halves of a batch at the same time, as PyTorch's OpenMP threads do (`torch.set_num_threads`
is the model for `set_num_threads` here). Kernels hand `run(body, ranges)` a list of index
ranges; the calling thread and the workers take ranges from a shared counter until none is
left, so a worker that wakes late simply takes fewer.

Three rules make this pay on a small machine (measured in bench/NOTES.md):
- One pool owns the cores. NumPy's OpenBLAS keeps its own threads spinning for ~0.1 s after
  every multi-threaded GEMM, and they then compete with ours, so inside a parallel region
  BLAS is set to one thread (each of our threads runs its own GEMM) and the previous
  setting is restored afterwards; dynet's other GEMMs stay single-threaded too while
  regions are running (`matmul`). NumPy's BLAS (OpenBLAS, MKL, BLIS) is found and
  controlled through threadpoolctl; where it cannot be controlled the default is one
  thread, which is exactly the serial code path.
- Waking a sleeping thread costs ~0.1 ms on a VM, so kernels split only work of at least
  `MIN_WORK` elements (`ranges` returns one range below it).
- Mid-sized GEMMs are not split: OpenBLAS does them better, or one thread does.

A region started while another runs (a kernel called from a worker, or from a second user
thread) simply runs its ranges serially on the calling thread.
"""
import ctypes
import itertools
import math
import os
import threading
import time

import numpy as np

# Below about this many elements of work a region is not worth the wake-up of a thread and
# the cache traffic of splitting (bench/NOTES.md, "Threads: the split threshold"): at 1 << 17
# LeNet's convolutions split from batch 16 on and its step ran 3.2-3.4 ms there against
# 2.5-2.9 ms at 1 << 19, which is no slower at batch 64 to 1024.
MIN_WORK = 1 << 19
# Multiply-adds from which a product is split over the threads. Smaller GEMMs run on one
# thread: two single-threaded halves of a 128x784x512 product took as long as the whole
# on one thread (each packs all of the other operand, and a worker wakes ~0.1 ms late),
# while 1024^3 halves in time (bench/NOTES.md).
MIN_SPLIT_GEMM = 1 << 27
# OpenBLAS runs a GEMM below 4 * 65,536 multiply-adds and a GEMV below 9,216 on one thread
# whatever its setting, so products this small need no thread control (nor its threadpoolctl
# calls, nor the clock read): ~1 us less per tiny matmul (bench/NOTES.md, issue 13)
SERIAL_GEMM = 9216
# seconds after a parallel region during which dynet's GEMMs keep OpenBLAS single-threaded
REGION_WINDOW = 0.5


def _env_threads():
    """DYNET_NUM_THREADS, else OMP_NUM_THREADS (as PyTorch reads it), else None."""
    for name in ("DYNET_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                return max(1, int(value.split(",")[0]))
            except ValueError:
                raise ValueError(f"{name}={value!r} is not a positive integer") from None
    return None


def _usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class _Blas:
    """Get/set the thread count of whichever BLAS NumPy uses (OpenBLAS, MKL, BLIS, ...),
    found once by threadpoolctl. The controller is cached and its raw getter/setter are
    resolved here, so a call costs one ctypes call, as before; threadpool_limits is never
    entered per kernel (it rescans the loaded libraries on every use)."""

    def __init__(self):
        self.get = self.set = None
        self.internal_api = self.filepath = None
        controller = _numpy_blas_controller()
        if controller is None:
            return
        self.internal_api, self.filepath = controller.internal_api, controller.filepath
        self.get, self.set = _raw_thread_functions(controller)

    @property
    def controllable(self):
        return self.set is not None


def _numpy_blas_controller():
    """threadpoolctl's controller for NumPy's BLAS: NumPy's bundled copy, else a system one
    of the kind NumPy says it was built with (another package, such as scipy, may have
    loaded a BLAS that NumPy does not use); None without threadpoolctl or a known BLAS."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl is a core dependency
        return None
    try:
        blas = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
    except Exception:  # pragma: no cover - a library that threadpoolctl fails to query
        return None
    home = os.path.dirname(os.path.dirname(np.__file__))
    own = [c for c in blas if str(c.filepath).startswith(home)]
    if own:
        return own[0]
    name = _numpy_blas_name()
    same = [c for c in blas if c.internal_api in name]
    return same[0] if same else None


def _raw_thread_functions(controller):
    """(get, set) as bare ctypes functions where the library's API is known, else the
    controller's own methods (a few microseconds more per call)."""
    api = controller.internal_api
    lib = getattr(controller, "dynlib", None)
    names = None
    if api == "openblas" and getattr(controller, "threading_layer", None) != "openmp":
        symbol = getattr(controller, "_get_symbol", None)  # threadpoolctl's affix lookup
        if symbol is not None:
            get, put = symbol("openblas_get_num_threads"), symbol("openblas_set_num_threads")
            if get is not None and put is not None:
                names = (get, put)
    elif api == "mkl" and lib is not None:
        get, put = (getattr(lib, "MKL_Get_Max_Threads", None),
                    getattr(lib, "MKL_Set_Num_Threads_Local", None))
        if get is not None and put is not None:
            names = (get, put)
    if names is None:
        return controller.get_num_threads, controller.set_num_threads
    get, put = names
    get.restype, get.argtypes = ctypes.c_int, []
    put.restype, put.argtypes = (ctypes.c_int if api == "mkl" else None), [ctypes.c_int]
    return get, put


def _numpy_blas_name():
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except (TypeError, KeyError, AttributeError):  # NumPy < 1.25: no dict mode
        return ""
    return str(blas.get("name", "")).lower()


def _numpy_blas_is_openblas():
    return "openblas" in _numpy_blas_name()


_blas = None


def _blas_control():
    global _blas
    if _blas is None:
        _blas = _Blas()
    return _blas


class _Pool:
    """`size - 1` daemon workers plus the calling thread; one region at a time."""

    def __init__(self, size):
        self.size = size
        self._busy = threading.Lock()
        self._job = None
        self._workers = []
        for i in range(size - 1):
            go, done = threading.Lock(), threading.Lock()
            go.acquire()
            done.acquire()
            t = threading.Thread(target=self._serve, args=(go, done),
                                 name=f"dynet-intraop-{i}", daemon=True)
            t.start()
            self._workers.append((go, done))

    def _serve(self, go, done):
        _state.inside = True  # a region opened from a worker runs serially
        while True:
            go.acquire()
            if self._job is None:  # close()
                return
            self._drain()
            done.release()

    def close(self):
        """Ends the idle workers (called when the thread count changes)."""
        with self._busy:
            for go, _ in self._workers:
                go.release()
            self._workers = []

    def _drain(self):
        body, items, results, errors, counter = self._job
        while True:
            i = next(counter)  # itertools.count: atomic under the GIL
            if i >= len(items):
                return
            try:
                results[i] = body(*items[i])
            except BaseException as e:  # re-raised in the calling thread
                errors.append(e)

    def run(self, body, items):
        if getattr(_state, "inside", False) or not self._busy.acquire(blocking=False):
            return [body(*item) for item in items]
        try:
            results, errors = [None] * len(items), []
            self._job = (body, items, results, errors, itertools.count())
            helpers = self._workers[:len(items) - 1]
            with _serial_blas():
                for go, _ in helpers:
                    go.release()
                _state.inside = True
                try:
                    self._drain()
                finally:
                    _state.inside = False
                    for _, done in helpers:
                        done.acquire()
                    self._job = None
                    _mark_region()
        finally:
            self._busy.release()
        if errors:
            raise errors[0]
        return results


_state = threading.local()
_num_threads = None
_pool = None
_last_region = float("-inf")  # time.monotonic() at the end of the last parallel region


def _mark_region():
    global _last_region
    _last_region = time.monotonic()


def get_num_threads():
    """Threads dynet uses for its CPU kernels (PyTorch's torch.get_num_threads)."""
    global _num_threads
    if _num_threads is None:
        env = _env_threads()
        if env is not None:
            _num_threads = env
            _limit_blas(env)
        else:
            _num_threads = _usable_cores() if _blas_control().controllable else 1
    return _num_threads


def set_num_threads(n):
    """Sets the threads for dynet's CPU kernels; 1 runs every kernel on the calling thread."""
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):  # PyTorch's words
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    if n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    _num_threads = int(n)  # run() replaces a pool of another size on its next call
    _limit_blas(_num_threads)


def _limit_blas(n):
    """NumPy's BLAS gets the same thread count, as torch.set_num_threads limits its own BLAS:
    set_num_threads(1) means one thread everywhere (an MLP step with OpenBLAS still on two
    threads next to a busy core took 155 ms instead of 12; issue 13)."""
    blas = _blas_control()
    if blas.controllable:
        blas.set(n)


def ranges(n, work):
    """Splits range(n) into one (start, stop) per thread when `work` (elements touched)
    is worth a parallel region, else returns [(0, n)]."""
    parts = min(get_num_threads(), n)
    if parts <= 1 or work < MIN_WORK:
        return [(0, n)]
    step, extra = divmod(n, parts)
    bounds = [i * step + min(i, extra) for i in range(parts + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def run(body, items):
    """[body(*item) for item in items], the items spread over the pool's threads; the
    first exception raised by any call is re-raised here after all calls ended."""
    global _pool
    threads = get_num_threads()
    if len(items) <= 1 or threads <= 1:
        return [body(*item) for item in items]
    if _pool is None or _pool.size != threads:
        if _pool is not None:
            _pool.close()
        _pool = _Pool(threads)
    return _pool.run(body, items)


def matmul(a, b):
    """a @ b (NumPy's matmul rules) for dynet's ops. CuPy arrays go straight to CuPy.

    OpenBLAS's threads spin for ~0.1 s after each multi-threaded GEMM and would take a core
    from the next parallel region (a LeNet step at batch 256: 34 ms instead of 20). So
    while regions are running (within `REGION_WINDOW` seconds of the last one), BLAS runs
    single-threaded and a large product is split by rows of `a` over the pool instead.
    Otherwise, as in an MLP where no op is large enough for a region, OpenBLAS threads
    the product itself: it beats two half-products on mid-sized GEMMs (bench/NOTES.md)."""
    if type(a) is not np.ndarray:
        return a @ b
    # a.size * n bounds the multiply-adds of each product: a small one runs as is (unless
    # the tests made small products split: MIN_SPLIT_GEMM below SERIAL_GEMM); for two
    # matrices ndarray.dot is the same BLAS call without the matmul gufunc's dispatch
    # (4x4: 4.8k instructions instead of 8.9k)
    if a.size * b.shape[-1] < SERIAL_GEMM <= MIN_SPLIT_GEMM:
        return a.dot(b) if a.ndim == 2 == b.ndim else a @ b
    if time.monotonic() - _last_region > REGION_WINDOW \
            or get_num_threads() <= 1 or not _blas_control().controllable:
        return a @ b
    if a.ndim < 2 or b.ndim < 2:
        with _serial_blas():
            return a @ b
    m, n = a.shape[-2], b.shape[-1]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    macs = math.prod(batch) * m * n * a.shape[-1]
    spans = ranges(m, MIN_WORK if macs >= MIN_SPLIT_GEMM else 0)
    if len(spans) == 1:
        with _serial_blas():
            return a @ b
    out = np.empty(batch + (m, n), dtype=np.result_type(a, b))
    run(lambda start, stop: np.matmul(a[..., start:stop, :], b,
                                      out=out[..., start:stop, :]), spans)
    return out


class _serial_blas:
    """BLAS on one thread inside the block (a no-op while a region already holds it)."""

    def __enter__(self):
        blas = _blas_control()
        self.prev = blas.get() if blas.controllable else 1
        if self.prev != 1:
            blas.set(1)

    def __exit__(self, *exc):
        if self.prev != 1:
            _blas_control().set(self.prev)


def binary(ufunc, a, b):
    """ufunc(a, b) split over the threads when a and b are large float NumPy arrays of one
    shape and dtype; None otherwise, so the caller's plain expression handles the rest
    (scalars, broadcasting, mixed dtypes, CuPy)."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray or a.size < MIN_WORK \
            or a.shape != b.shape or a.dtype != b.dtype or a.dtype.kind != "f" \
            or get_num_threads() <= 1:
        return None
    out = np.empty(a.shape, a.dtype)
    blockwise(lambda o, x, y: ufunc(x, y, out=o), out, a, b)
    return out


def blockwise(body, out, *inputs):
    """body(out, *inputs) for an elementwise body, run on flat blocks of the arrays when
    they are large C-contiguous NumPy arrays of one shape, else in one call."""
    if out.size < MIN_WORK:  # the common small case: no region, no checks
        body(out, *inputs)
        return
    arrays = (out,) + inputs
    spans = [(0, out.size)]
    if isinstance(out, np.ndarray) and all(
            isinstance(a, np.ndarray) and a.shape == out.shape and a.flags.c_contiguous
            for a in arrays):
        spans = ranges(out.size, out.size)
    if len(spans) == 1:
        body(out, *inputs)
        return
    flats = [a.reshape(-1) for a in arrays]
    run(lambda start, stop: body(*(f[start:stop] for f in flats)), spans)


def _after_fork_in_child():
    # threads do not survive fork(): the child builds a fresh pool when it needs one
    global _pool, _state
    _pool = None
    _state = threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
