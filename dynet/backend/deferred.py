"""Checks of device data that are read at the next host sync instead of forcing one now.

Validating a class-index target on the host (`cross_entropy`, `nll_loss`, `embedding`), an
index array (`gather`, `take`, `index_select`, `index_add`/`copy`/`fill`, `scatter*`,
advanced `x[idx]` and `x[idx] = v`), an integer divisor or `normal()`'s std costs a blocking
device-to-host transfer on every call, i.e. one per training step on CUDA. Instead
the check is computed on the device as a 0-d bool array ("some entry is bad") and queued
here with a function that raises the error; the queue is read at the next point that moves
data to the host anyway: `Tensor.item()`, `tolist()`, `numpy()`, `bool()`, printing, a
copy to the CPU (which `dynet.save` makes) and `dynet.cuda.synchronize()`. A bad target so
raises the same exception as on the CPU, a few kernels later; until then the op computed
with clipped indices (ops.functions.check_range; an `x[idx] = v` so writes at a clipped
position), never out of bounds, and that value cannot reach Python without the check being
read first.

At most MAX_PENDING checks wait; the next one reads them all, so a loop that never syncs
pays one transfer per MAX_PENDING steps and holds at most that many target arrays.
NumPy arrays never come here: on the CPU the check costs nothing extra and raises at once.
"""
import threading

MAX_PENDING = 64

_pending = []  # [(bad: 0-d device bool array, fail: callable that raises)]
_lock = threading.Lock()


def defer(bad, fail):
    """Queues a device-side check: if `bad` holds True when read, `fail()` raises."""
    with _lock:
        _pending.append((bad, fail))
        full = len(_pending) >= MAX_PENDING
    if full:
        flush()


def pending():
    """How many checks wait to be read (for tests)."""
    return len(_pending)


def flush():
    """Reads every queued check (one sync) and raises the first failed one's error."""
    if not _pending:  # the common case: one list test, no lock
        return
    with _lock:
        checks = _pending[:]
        _pending.clear()
    for bad, fail in checks:
        if bool(bad):  # the host read; for CuPy it waits for the kernels before it
            fail()
