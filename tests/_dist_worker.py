"""Run by tests/test_distributed.py under `mpirun -n 2`: each collective against NumPy, DDP
on LeNet against one process on the whole batch, and the mismatched-shape error."""
import sys

import numpy as np

import dynet
import dynet.distributed as dist
from dynet.examples.lenet import LeNet5


def check(name, got, want, tol=1e-6):
    got = got.numpy() if hasattr(got, "numpy") else np.asarray(got)
    if got.shape != np.shape(want) or not np.allclose(got, want, rtol=tol, atol=tol):
        raise AssertionError(f"rank {dist.get_rank()}: {name}: got {got}, want {want}")


def collectives(rank, n):
    base = [np.arange(6, dtype=np.float64).reshape(2, 3) * (r + 1) - r for r in range(n)]
    red = {dist.ReduceOp.SUM: sum(base), dist.ReduceOp.AVG: sum(base) / n,
           dist.ReduceOp.PRODUCT: np.prod(base, axis=0), dist.ReduceOp.MIN: np.min(base, 0),
           dist.ReduceOp.MAX: np.max(base, 0)}
    for op, want in red.items():
        t = dynet.tensor(base[rank])
        dist.all_reduce(t, op)
        check(f"all_reduce {op}", t, want)
    # non-contiguous, float32, async
    t = dynet.tensor(np.asfortranarray(base[rank]).astype(np.float32)).t()
    dist.all_reduce(t, async_op=True).wait()
    check("all_reduce non-contiguous", t, sum(base).T)
    t = dynet.tensor(base[rank])
    dist.broadcast(t, src=1)
    check("broadcast", t, base[1])
    outs = [dynet.zeros(2, 3, dtype=dynet.float64) for _ in range(n)]
    dist.all_gather(outs, dynet.tensor(base[rank]))
    for r in range(n):
        check("all_gather", outs[r], base[r])
    t = dynet.tensor(base[rank])
    dist.reduce(t, dst=0, op=dist.ReduceOp.MAX)
    check("reduce", t, np.max(base, 0) if rank == 0 else base[rank])
    t = dynet.zeros(2, 3, dtype=dynet.float64)
    dist.scatter(t, [dynet.tensor(b) for b in base] if rank == 0 else None, src=0)
    check("scatter", t, base[rank])
    gl = [dynet.zeros(2, 3, dtype=dynet.float64) for _ in range(n)] if rank == 1 else None
    dist.gather(dynet.tensor(base[rank]), gl, dst=1)
    if rank == 1:
        for r in range(n):
            check("gather", gl[r], base[r])
    t = dynet.zeros(2, 3, dtype=dynet.float64)
    dist.reduce_scatter(t, [dynet.tensor(base[rank] + i) for i in range(n)])
    check("reduce_scatter", t, sum(base) + n * rank)
    objs = [None] * n
    dist.all_gather_object(objs, {"rank": rank})
    assert objs == [{"rank": r} for r in range(n)], objs
    lst = [rank, "x"] if rank == 0 else [None, None]
    dist.broadcast_object_list(lst, src=0)
    assert lst == [0, "x"], lst
    g = dist.new_group([1])
    if rank == 1:
        t = dynet.tensor(base[rank])
        dist.all_reduce(t, group=g)
        check("new_group all_reduce", t, base[1])
        assert dist.get_world_size(g) == 1 and dist.get_rank(g) == 0
    else:
        assert g is dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(g) == -1
    dist.barrier()


def ddp(rank, n):
    dynet.manual_seed(0)
    ref = LeNet5()
    dynet.manual_seed(100 + rank)  # different start on each rank: DDP must broadcast rank 0's
    model = LeNet5()
    model.load_state_dict(ref.state_dict()) if rank == 0 else None
    net = dynet.nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.01)
    assert len(net._buckets) > 1
    assert all(k.startswith("module.") for k in net.state_dict())
    opt = dynet.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    ref_opt = dynet.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(7)
    loss_fn = dynet.nn.CrossEntropyLoss()
    for step in range(5):
        x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
        y = rng.integers(0, 10, 64)
        part = slice(32 * rank, 32 * (rank + 1))
        opt.zero_grad()
        loss_fn(net(dynet.tensor(x[part])), dynet.tensor(y[part])).backward()
        opt.step()
        ref_opt.zero_grad()
        loss_fn(ref(dynet.tensor(x)), dynet.tensor(y)).backward()
        ref_opt.step()
    mine = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
    want = np.concatenate([p.detach().numpy().ravel() for p in ref.parameters()])
    check("DDP weights vs one process on batch 64", mine, want, tol=1e-5)
    both = [None] * n
    dist.all_gather_object(both, mine)
    assert np.array_equal(both[0], both[1]), "ranks hold different weights"
    # no_sync: local accumulation, then one synced backward averages the sum
    opt.zero_grad()
    x = dynet.tensor(rng.standard_normal((4, 1, 28, 28)).astype(np.float32) + rank)
    with net.no_sync():
        net(x).sum().backward()
    local = model.features[0].weight.grad.numpy().copy()
    net(x).sum().backward()
    allg = [None] * n
    dist.all_gather_object(allg, local)
    check("no_sync accumulate", model.features[0].weight.grad, sum(allg) / n * 2, tol=1e-4)


def mismatch(rank):
    t = dynet.zeros(3 if rank == 0 else 4)
    try:
        dist.all_reduce(t)
    except RuntimeError as e:
        msg = str(e)
        assert "rank 0: shape [3]" in msg and "rank 1: shape [4]" in msg, msg
    else:
        raise AssertionError("mismatched shapes did not raise")


def main():
    dist.init_process_group("mpi")
    rank, n = dist.get_rank(), dist.get_world_size()
    assert n == 2 and dist.is_initialized() and dist.get_backend() == "mpi"
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what in ("all", "collectives"):
        collectives(rank, n)
    if what in ("all", "ddp"):
        ddp(rank, n)
    if what in ("all", "mismatch"):
        mismatch(rank)
    dist.destroy_process_group()
    assert not dist.is_initialized()
    print(f"rank {rank} OK", flush=True)


if __name__ == "__main__":
    main()
