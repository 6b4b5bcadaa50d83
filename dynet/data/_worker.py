"""Worker processes for DataLoader(num_workers > 0), following torch.utils.data's design.

The main process iterates the sampler and sends each batch's indices to one worker's index
queue, round-robin, keeping `prefetch_factor * num_workers` batches in flight; each worker
fetches and collates its batch and puts it on the shared result queue; the main process
yields them in sampler order (or as they arrive with in_order=False). For an
IterableDataset each worker iterates its own copy of the dataset (split it with
get_worker_info()), and the main process asks the workers for batches in turn, dropping a
worker from the rotation once its copy is exhausted.

Each worker seeds Python's `random` and dynet's generators with base_seed + worker_id,
where base_seed is drawn from the loader's generator once per iterator (torch's scheme),
then calls worker_init_fn(worker_id). An exception in a worker comes back to the main
process and is re-raised there, with the worker's traceback in its message.
"""
import multiprocessing
import os
import queue
import random
import sys
import traceback
from dataclasses import dataclass

from .. import random as _random
from ..creation import randint

_info = None  # the WorkerInfo inside a worker process, None in the main process
_POLL_S = 1.0  # how often the main process checks that its workers are still alive


@dataclass(frozen=True)
class WorkerInfo:
    """What get_worker_info() returns inside a worker: id, num_workers, seed, dataset."""

    id: int
    num_workers: int
    seed: int
    dataset: object


def get_worker_info():
    """The current worker's WorkerInfo inside a DataLoader worker process, else None."""
    return _info


class _ExceptionWrapper:
    """An exception raised in a worker, carried to the main process as type + traceback."""

    def __init__(self, exc_type, text, where):
        self.exc_type, self.text, self.where = exc_type, text, where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.text}"
        if self.exc_type is KeyError:
            msg = KeyError(msg)  # KeyError repr()s its argument; keep the text readable
        try:
            exc = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exc


class _IterableEnd:
    """A worker's reply when its copy of an IterableDataset is exhausted."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


_RESET = "reset"  # starts a new epoch in a persistent worker


def _worker_loop(loader_state, index_queue, result_queue, worker_id, num_workers, seed):
    global _info
    dataset, fetch, init_fn, iterable = loader_state
    try:
        random.seed(seed)
        _random.manual_seed(seed)
        _info = WorkerInfo(worker_id, num_workers, seed, dataset)
        if init_fn is not None:
            init_fn(worker_id)
    except Exception:
        result_queue.put((None, _ExceptionWrapper(sys.exc_info()[0], traceback.format_exc(),
                                                  f"in DataLoader worker process {worker_id}")))
        return
    stream = None
    while True:
        try:
            task = index_queue.get()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if task is None:
            return
        if task == _RESET:
            stream = None
            continue
        task_id, indices = task
        try:
            if iterable:
                if stream is None:
                    stream = fetch(dataset)
                try:
                    data = next(stream)
                except StopIteration:
                    data = _IterableEnd(worker_id)
            else:
                data = fetch(dataset, indices)
        except Exception:
            data = _ExceptionWrapper(sys.exc_info()[0], traceback.format_exc(),
                                     f"in DataLoader worker process {worker_id}")
        result_queue.put((task_id, data))


class _MultiProcessIter:
    """One epoch over a DataLoader's worker pool (the pool outlives it when persistent)."""

    def __init__(self, loader, pool):
        self.loader, self.pool = loader, pool
        self.iterable = loader._iterable
        self.tasks = None if self.iterable else iter(loader._task_indices())
        self.send_idx = 0  # next task id to dispatch
        self.rcvd_idx = 0  # next task id to yield (in order)
        self.outstanding = {}  # task id -> worker id
        self.buffer = {}
        self.active = list(range(pool.num_workers))  # workers still producing (iterable)
        self.worker_cycle = 0
        self.done = False
        if self.iterable and pool.epochs_started:
            for q in pool.index_queues:
                q.put(_RESET)
        pool.epochs_started += 1
        for _ in range(pool.prefetch_factor * pool.num_workers):
            self._dispatch()

    def __iter__(self):
        return self

    def _next_worker(self):
        if not self.active:
            return None
        wid = self.active[self.worker_cycle % len(self.active)]
        self.worker_cycle += 1
        return wid

    def _dispatch(self):
        if self.iterable:
            wid = self._next_worker()
            if wid is None:
                return
            indices = None
        else:
            try:
                indices = next(self.tasks)
            except StopIteration:
                return
            wid = self.send_idx % self.pool.num_workers
        self.pool.index_queues[wid].put((self.send_idx, indices))
        self.outstanding[self.send_idx] = wid
        self.send_idx += 1

    def __next__(self):
        while True:
            if self.done:
                raise StopIteration
            if self.loader.in_order and self.rcvd_idx in self.buffer:
                data = self.buffer.pop(self.rcvd_idx)
                self.rcvd_idx += 1
            elif not self.outstanding and not self.buffer:
                self._finish()
                raise StopIteration
            else:
                task_id, data = self._get()
                if task_id is None:  # the worker failed before taking any task
                    self._finish(shutdown=True)
                    data.reraise()
                self.outstanding.pop(task_id, None)
                if self.loader.in_order and task_id != self.rcvd_idx:
                    self.buffer[task_id] = data
                    continue
                self.rcvd_idx = max(self.rcvd_idx, task_id + 1)
            if isinstance(data, _IterableEnd):
                if data.worker_id in self.active:
                    self.active.remove(data.worker_id)
                self._dispatch()  # keep the others busy; the ended worker's replies all end
                continue
            self._dispatch()
            if isinstance(data, _ExceptionWrapper):
                self._finish(shutdown=True)
                data.reraise()
            return data

    def _get(self):
        timeout = self.loader.timeout
        waited = 0.0
        while True:
            step = _POLL_S if timeout <= 0 else min(_POLL_S, timeout - waited)
            try:
                return self.pool.result_queue.get(timeout=step)
            except queue.Empty:
                waited += step
            dead = [w.pid for w in self.pool.workers if not w.is_alive()]
            if dead:
                self._finish(shutdown=True)
                raise RuntimeError(f"DataLoader worker (pid(s) {', '.join(map(str, dead))}) "
                                   "exited unexpectedly")
            if timeout > 0 and waited >= timeout:
                self._finish(shutdown=True)
                raise RuntimeError(f"DataLoader timed out after {timeout} seconds")

    def _finish(self, shutdown=False):
        self.done = True
        if shutdown or not self.loader.persistent_workers:
            self.pool.shutdown()
            if getattr(self.loader, "_pool", None) is self.pool:
                self.loader._pool = None
        elif self.outstanding:  # a persistent pool must not hand this epoch's leftovers on
            self.pool.shutdown()
            self.loader._pool = None

    def __del__(self):
        if not self.done:
            try:
                self._finish(shutdown=not self.loader.persistent_workers or bool(
                    self.outstanding))
            except Exception:
                pass


class _WorkerPool:
    """The worker processes with one index queue each and one shared result queue."""

    def __init__(self, loader):
        ctx = loader.multiprocessing_context
        if ctx is None:
            ctx = multiprocessing.get_context()
        elif isinstance(ctx, str):
            ctx = multiprocessing.get_context(ctx)
        self.num_workers = loader.num_workers
        self.prefetch_factor = 2 if loader.prefetch_factor is None else loader.prefetch_factor
        self.prefetch_factor = max(1, self.prefetch_factor)
        self.epochs_started = 0
        seed = int(randint(0, 2 ** 62, (1,), generator=loader.generator).item())
        state = (loader.dataset, loader._worker_fetch(), loader.worker_init_fn,
                 loader._iterable)
        self.result_queue = ctx.Queue()
        self.index_queues, self.workers = [], []
        for wid in range(self.num_workers):
            iq = ctx.Queue()
            w = ctx.Process(target=_worker_loop, daemon=True,
                            args=(state, iq, self.result_queue, wid, self.num_workers,
                                  seed + wid))
            w.start()
            self.index_queues.append(iq)
            self.workers.append(w)
        self.closed = False

    def shutdown(self):
        if self.closed:
            return
        self.closed = True
        for q in self.index_queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for w in self.workers:
            w.join(timeout=5)
            if w.is_alive():
                w.terminate()
                w.join(timeout=1)
        for q in self.index_queues + [self.result_queue]:
            q.cancel_join_thread()
            q.close()

    def __del__(self):
        if os.getpid() == getattr(self, "_pid", os.getpid()):
            try:
                self.shutdown()
            except Exception:
                pass
