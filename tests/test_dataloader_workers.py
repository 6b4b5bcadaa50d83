"""DataLoader(num_workers > 0): real worker processes with torch's options and semantics."""
import os
import random
import time

import numpy as np
import pytest

import dynet
from dynet.data import (DataLoader, Dataset, IterableDataset, TensorDataset,
                        get_worker_info)


class _Pids(Dataset):
    """Each sample reports the process, worker id and seed it was loaded in."""

    def __init__(self, n=8, fail_at=None, sleep=0.0):
        self.n, self.fail_at, self.sleep = n, fail_at, sleep

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise ValueError(f"bad sample {i}")
        if self.sleep:
            time.sleep(self.sleep)
        info = get_worker_info()
        return np.array([i, os.getpid(), info.id, info.seed % 1000, random.randint(0, 10**6)])


def test_worker_batches_equal_single_process_batches():
    ds = TensorDataset(dynet.arange(23.0).reshape(23, 1), dynet.arange(23))
    for kw in ({"batch_size": 4}, {"batch_size": 4, "drop_last": True}, {"batch_size": None}):
        one = [b[1].tolist() for b in DataLoader(ds, **kw)]
        two = [b[1].tolist() for b in DataLoader(ds, num_workers=2, prefetch_factor=1, **kw)]
        assert one == two


def test_loading_happens_in_worker_processes_with_distinct_seeds():
    calls = []
    rows = np.concatenate([b.numpy() for b in DataLoader(_Pids(), batch_size=2, num_workers=2,
                                                        worker_init_fn=calls.append)])
    assert rows[:, 0].tolist() == list(range(8))
    pids = set(rows[:, 1].tolist())
    assert len(pids) == 2 and os.getpid() not in pids
    assert rows[:, 2].tolist() == [0, 0, 1, 1, 0, 0, 1, 1]  # round-robin over the workers
    by_worker = {w: s for _, _, w, s, _ in rows.tolist()}
    assert by_worker[1] == (by_worker[0] + 1) % 1000  # base_seed + worker_id
    assert calls == [] and get_worker_info() is None  # init_fn ran in the workers only


def test_seeded_generator_reproduces_worker_seeds():
    def seeds():
        g = dynet.Generator().manual_seed(3)
        return [b.numpy()[:, 3:].tolist() for b in DataLoader(_Pids(4), batch_size=2,
                                                              num_workers=2, generator=g)]
    assert seeds() == seeds()


def test_worker_error_is_reraised_with_the_worker_traceback():
    loader = DataLoader(_Pids(fail_at=5), batch_size=2, num_workers=2)
    with pytest.raises(ValueError) as info:
        list(loader)
    msg = str(info.value)
    assert "Caught ValueError in DataLoader worker process 0" in msg
    assert "Traceback" in msg and "bad sample 5" in msg and "__getitem__" in msg


def test_worker_init_fn_error_is_reraised():
    def boom(worker_id):
        raise KeyError(f"init {worker_id}")
    with pytest.raises(KeyError, match="worker process"):
        list(DataLoader(_Pids(), batch_size=2, num_workers=1, worker_init_fn=boom))


class _Stream(IterableDataset):
    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(10))
        return iter(range(info.id, 10, info.num_workers))


def test_iterable_dataset_is_split_by_worker_info():
    got = [b.tolist() for b in DataLoader(_Stream(), batch_size=2, num_workers=2)]
    assert got == [[0, 2], [1, 3], [4, 6], [5, 7], [8], [9]]
    assert sorted(sum(got, [])) == list(range(10))


def test_persistent_workers_live_across_epochs():
    loader = DataLoader(_Pids(), batch_size=4, num_workers=2, persistent_workers=True,
                        shuffle=True)
    epochs = [np.concatenate([b.numpy() for b in loader]) for _ in range(2)]
    for rows in epochs:
        assert sorted(rows[:, 0].tolist()) == list(range(8))
    assert set(epochs[0][:, 1].tolist()) == set(epochs[1][:, 1].tolist())
    pool = loader._pool
    assert all(w.is_alive() for w in pool.workers)
    pool.shutdown()
    assert not any(w.is_alive() for w in pool.workers)
    stream = DataLoader(_Stream(), batch_size=5, num_workers=2, persistent_workers=True)
    assert [len(list(stream)) for _ in range(2)] == [2, 2]
    stream._pool.shutdown()


def test_timeout_raises_and_in_order_false_yields_everything():
    with pytest.raises(RuntimeError, match="timed out after 0.2 seconds"):
        list(DataLoader(_Pids(2, sleep=0.8), batch_size=1, num_workers=1, timeout=0.2))
    rows = [b.numpy()[0, 0] for b in DataLoader(_Pids(6), batch_size=1, num_workers=2,
                                                in_order=False)]
    assert sorted(rows) == list(range(6))
