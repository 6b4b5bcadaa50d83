"""DistributedDataParallel: one model replica per process, gradients averaged in buckets.

Each parameter's post-accumulate-grad hook marks it ready; when every parameter of a bucket
is ready, the bucket's gradients are flattened and an asynchronous all-reduce starts, so
communication overlaps the rest of backward. A callback queued on the backward engine waits
for all buckets and writes the averaged gradients back before backward returns.
"""
import contextlib

from ... import distributed as dist
from ...autograd import engine
from ...autograd.grad_mode import no_grad
from ...backend import device_context, device_of
from ..module import Module


class DistributedDataParallel(Module):
    """torch.nn.parallel.DistributedDataParallel's contract for dynet modules."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, process_group=None, bucket_cap_mb=25,
                 find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        if not dist.is_initialized():
            raise RuntimeError("Default process group has not been initialized, please make "
                               "sure to call init_process_group.")
        self.module = module
        self.device_ids = device_ids
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self.process_group = process_group
        self.bucket_cap_mb = bucket_cap_mb
        params = [p for p in module.parameters() if p.requires_grad]
        self._params = params
        self._sync_module_states()
        self._buckets = _make_buckets(params, bucket_cap_mb * 1024 * 1024)
        self._bucket_of = {}
        for b, bucket in enumerate(self._buckets):
            for p in bucket:
                self._bucket_of[id(p)] = b
        self._reset()
        self._handles = [p.register_post_accumulate_grad_hook(self._on_grad) for p in params]

    def _sync_module_states(self):
        with no_grad():
            for t in list(self.module.parameters()) + list(self.module.buffers()):
                dist.broadcast(t, 0, group=self.process_group)

    def _reset(self):
        self._pending = [len(b) for b in self._buckets]
        self._works = [None] * len(self._buckets)
        self._queued = False

    def forward(self, *args, **kwargs):
        if self.broadcast_buffers and self.training:
            bufs = list(self.module.buffers())
            if bufs:
                with no_grad():
                    for t in bufs:
                        dist.broadcast(t, 0, group=self.process_group)
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Gradients accumulate locally inside; the first backward after it syncs them."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def _on_grad(self, param):
        if not self.require_backward_grad_sync:
            return
        if not self._queued:
            self._queued = True
            engine.queue_callback(self._finish)
        b = self._bucket_of[id(param)]
        self._pending[b] -= 1
        if self._pending[b] == 0:
            self._launch(b)

    def _launch(self, b):
        bucket = self._buckets[b]
        device = device_of(bucket[0]._data)
        xp = device.xp
        with device_context(device):
            parts = [(p.grad._data if p.grad is not None else xp.zeros_like(p._data))
                     .reshape(-1) for p in bucket]
            flat = xp.concatenate(parts)
        from ...tensor import Tensor
        t = Tensor._make(flat, False)
        self._works[b] = (t, dist.all_reduce(t, dist.ReduceOp.AVG, group=self.process_group,
                                             async_op=True))

    def _finish(self):
        try:
            for b in range(len(self._buckets)):
                if self._works[b] is None:
                    if not self.find_unused_parameters and self._pending[b] != len(
                            self._buckets[b]):
                        missing = [i for i, p in enumerate(self._params)
                                   if self._bucket_of[id(p)] == b and p.grad is None]
                        raise RuntimeError(
                            "DistributedDataParallel: some parameters received no gradient "
                            f"in this backward pass (parameter indices {missing}); pass "
                            "find_unused_parameters=True if the model leaves some unused")
                    self._launch(b)
            for b, bucket in enumerate(self._buckets):
                t, work = self._works[b]
                work.wait()
                flat, offset = t._data, 0
                for p in bucket:
                    n = p._data.size
                    avg = flat[offset:offset + n].reshape(p._data.shape)
                    offset += n
                    if p.grad is None:
                        p.grad = type(t)._make(avg.copy(), False)
                    else:
                        p.grad._data[...] = avg
                        dist._bump(p.grad)
        finally:
            self._reset()


def _make_buckets(params, cap_bytes):
    """Parameters in reverse order (gradients arrive roughly so), grouped by device and
    dtype up to `cap_bytes` each."""
    buckets, current, size, key = [], [], 0, None
    for p in reversed(params):
        k = (str(p._data.dtype), getattr(p, "device", None))
        nbytes = p._data.size * p._data.itemsize
        if current and (k != key or size + nbytes > cap_bytes):
            buckets.append(current)
            current, size = [], 0
        current.append(p)
        size += nbytes
        key = k
    if current:
        buckets.append(current)
    return buckets
