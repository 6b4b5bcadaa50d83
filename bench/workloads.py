"""Benchmark workloads and the framework adapters that let one definition run everywhere.

A workload's model is built by ONE function taking a torch-like namespace `fw` (torch, dynet,
or a thin shim over PyDyNet), so every framework runs the same layers on the same shapes.
"""
import contextlib
import gc
import math
import time
import types
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

FRAMEWORKS = ("torch", "dynet", "pydynet")
EPOCH_SAMPLES = 60_000  # MNIST's training set


# ---------------------------------------------------------------------------------------------
# Framework adapters
# ---------------------------------------------------------------------------------------------

class Adapter:
    """How the harness talks to one framework: tensors, device sync, a torch-like `fw`."""

    name = "?"

    def __init__(self, module, fw):
        self.module = module
        self.fw = fw

    @property
    def version(self):
        """The framework's version string."""
        return str(getattr(self.module, "__version__", "unknown"))

    def unsupported(self, device):
        """None when the framework can run on `device`, else the reason it cannot."""
        return None

    def tensor(self, array, device, requires_grad=False):
        """A framework tensor holding a copy of the NumPy `array` on `device`."""
        raise NotImplementedError

    def synchronize(self, device):
        """Waits for queued GPU work so the clock measures finished kernels."""

    def clear_grads(self, tensors):
        """Drops accumulated gradients, as zero_grad(set_to_none=True) does."""
        for t in tensors:
            t.grad = None

    def cleanup(self):
        """Releases framework-global state left by a finished workload."""


class TorchAdapter(Adapter):
    """PyTorch, the reference."""

    name = "torch"

    def __init__(self):
        import torch
        super().__init__(torch, torch)

    def unsupported(self, device):
        if device == "cuda" and not self.module.cuda.is_available():
            return "torch has no usable CUDA here (CPU-only build or no GPU)"
        return None

    def tensor(self, array, device, requires_grad=False):
        t = self.module.from_numpy(np.ascontiguousarray(array)).to(device)
        return t.requires_grad_(True) if requires_grad else t

    def synchronize(self, device):
        if device == "cuda":
            self.module.cuda.synchronize()


class DynetAdapter(Adapter):
    """dynet itself."""

    name = "dynet"

    def __init__(self):
        import dynet
        # torch imports nn and optim with the package; dynet may not, and fw.nn must resolve
        import dynet.nn  # noqa: F401
        import dynet.optim  # noqa: F401
        super().__init__(dynet, dynet)

    def unsupported(self, device):
        if device == "cuda" and not self.module.cuda.is_available():
            return "no usable CUDA device for dynet (CuPy missing, no driver or no GPU)"
        return None

    def tensor(self, array, device, requires_grad=False):
        t = self.module.tensor(np.ascontiguousarray(array), device=device)
        return t.requires_grad_(True) if requires_grad else t

    def synchronize(self, device):
        if device == "cuda":
            self.module.cuda.synchronize()


class PyDyNetAdapter(Adapter):
    """PyDyNet 1.1 behind a torch-like shim (its layers take positional, required args)."""

    name = "pydynet"

    def __init__(self):
        with warnings.catch_warnings():
            # PyDyNet warns at import time when CuPy is missing; that is not our news.
            warnings.simplefilter("ignore")
            import pydynet
            import pydynet.nn
            import pydynet.nn.functional
            import pydynet.optim
        self._pd = pydynet
        super().__init__(pydynet, _pydynet_shim(pydynet))

    @property
    def version(self):
        from importlib import metadata
        try:
            return metadata.version("pydynet")
        except metadata.PackageNotFoundError:
            return "unknown"

    def unsupported(self, device):
        if device == "cuda" and not self._pd.cuda.is_available():
            return "PyDyNet found no CuPy"
        return None

    def tensor(self, array, device, requires_grad=False):
        return self._pd.Tensor(array, dtype=array.dtype, device=device,
                               requires_grad=requires_grad)

    def synchronize(self, device):
        if device == "cuda":
            # PyDyNet shares the process's CuPy device; a device-wide sync covers its kernels.
            import dynet
            dynet.cuda.synchronize()

    def clear_grads(self, tensors):
        # PyDyNet preallocates .grad and always accumulates into it; None would break it.
        pass

    def cleanup(self):
        # PyDyNet keeps every requires_grad tensor in a global list that backward() scans,
        # so leaves from finished workloads would slow (and leak into) the next one.
        graph = self._pd.core.tensor.Graph
        graph.node_list.clear()
        graph.size = 0


def _pydynet_shim(pd):
    """A namespace with torch's constructor signatures, building PyDyNet float32 layers."""
    f32 = np.float32

    class Flatten(pd.nn.Module):
        """Flattens all but the batch dimension (PyDyNet has no Flatten layer)."""

        def forward(self, x):
            return x.reshape(x.shape[0], -1)

    def conv2d(x, weight, bias=None, stride=1, padding=0):
        out = pd.nn.functional.conv2d(x, weight, padding, stride)
        return out if bias is None else out + bias.reshape(1, -1, 1, 1)

    nn = types.SimpleNamespace(
        Sequential=pd.nn.Sequential,
        ReLU=pd.nn.ReLU,
        Flatten=Flatten,
        Conv2d=lambda cin, cout, k, stride=1, padding=0: pd.nn.Conv2d(
            cin, cout, k, stride, padding, dtype=f32),
        MaxPool2d=lambda k, stride=None, padding=0: pd.nn.MaxPool2d(
            k, k if stride is None else stride, padding),
        Linear=lambda fin, fout, bias=True: pd.nn.Linear(fin, fout, bias, dtype=f32),
        CrossEntropyLoss=pd.nn.CrossEntropyLoss,
        functional=types.SimpleNamespace(conv2d=conv2d),
    )
    # torch's momentum update (v = m v + g; p -= lr v) equals PyDyNet's
    # (v = m v + lr g; p -= v) at a constant lr; PyDyNet defaults to Nesterov, torch does not.
    optim = types.SimpleNamespace(
        SGD=lambda params, lr, momentum=0.0: pd.optim.SGD(params, lr, momentum,
                                                          nesterov=False))
    return types.SimpleNamespace(nn=nn, optim=optim, no_grad=pd.no_grad)


ADAPTERS = {"torch": TorchAdapter, "dynet": DynetAdapter, "pydynet": PyDyNetAdapter}


def load_adapter(name):
    """The adapter for `name`; raises ImportError when the package is not installed."""
    if name not in ADAPTERS:
        raise ValueError(f"unknown framework {name!r}; choose from {', '.join(FRAMEWORKS)}")
    return ADAPTERS[name]()


# ---------------------------------------------------------------------------------------------
# Models: one builder per model, shared by every framework
# ---------------------------------------------------------------------------------------------

def build_lenet5(fw):
    """LeNet-5 for 1x28x28 inputs, as in the training example."""
    nn = fw.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def build_mlp(fw):
    """A 784-512-512-10 multilayer perceptron."""
    nn = fw.nn
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


def build_cifar_cnn(fw):
    """A CIFAR-style CNN for 3x32x32 inputs: three 3x3 conv-relu-pool stages, 32-64-128
    channels, then one 2048 -> 10 linear layer."""
    nn = fw.nn
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128 * 4 * 4, 10))


def build_lstm(fw):
    """A 2-layer LSTM (256 units) over (batch, 32 steps, 256 features), batch first; a
    256 -> 10 linear layer reads the last step's output."""
    nn = fw.nn
    if not hasattr(nn, "LSTM") or not hasattr(nn, "Module"):
        raise NotImplementedError("this framework's bench adapter has no nn.LSTM / nn.Module")

    class LSTMClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(256, 256, num_layers=2, batch_first=True)
            self.fc = nn.Linear(256, 10)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.fc(out[:, -1])
    return LSTMClassifier()


def build_transformer(fw):
    """A 2-layer Transformer encoder (d_model 128, 4 heads, feed-forward 512, dropout 0.1)
    over (batch, 64 positions, 128), batch first; a 128 -> 10 linear layer reads the mean."""
    nn = fw.nn
    if not hasattr(nn, "TransformerEncoderLayer") or not hasattr(nn, "Module"):
        raise NotImplementedError("this framework's bench adapter has no Transformer layers")

    class EncoderClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(128, 4, dim_feedforward=512, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.fc = nn.Linear(128, 10)

        def forward(self, x):
            return self.fc(self.encoder(x).mean(dim=1))
    return EncoderClassifier()


# ---------------------------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------------------------

@dataclass
class Workload:
    """One timed callable per framework and device, and how to read its time.

    `setup(adapter, device)` returns `(step, keep)`: `step()` is timed; `keep` holds what must
    stay alive while timing. `derived(seconds)` turns a median time into extra figures.
    """

    key: str
    group: str
    label: str
    unit: str  # unit of the reported time per call: "ms", "ms/step", "us/op"...
    setup: Callable
    derived: Callable = None
    quick: bool = True  # part of --quick runs
    params: dict = field(default_factory=dict)

    @property
    def scale(self):
        """Seconds -> the workload's display unit."""
        return {"s": 1.0, "ms": 1e3, "us": 1e6}[self.unit.split("/")[0]]


def _rng():
    return np.random.default_rng(0)


def _train_setup(model_fn, in_shape, batch):
    def setup(adapter, device):
        fw = adapter.fw
        rng = _rng()
        x_np = rng.standard_normal((batch,) + in_shape, dtype=np.float32)
        y_np = rng.integers(0, 10, size=batch, dtype=np.int64)
        model = model_fn(fw).to(device)
        opt = fw.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = fw.nn.CrossEntropyLoss()
        x = adapter.tensor(x_np, device)
        y = adapter.tensor(y_np, device)

        def step():
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
        return step, (model, opt, x, y)
    return setup


def _infer_setup(model_fn, in_shape, batch):
    """Forward only, under no_grad (as an evaluation loop runs)."""
    def setup(adapter, device):
        fw = adapter.fw
        x = adapter.tensor(_rng().standard_normal((batch,) + in_shape, dtype=np.float32),
                           device)
        model = model_fn(fw).to(device)
        model.eval()

        def step():
            with fw.no_grad():
                model(x)
        return step, (model, x)
    return setup


def _epoch(batch):
    def derived(seconds):
        return {"epoch": {"value": seconds * EPOCH_SAMPLES / batch, "unit": "s/epoch",
                          "label": f"s per {EPOCH_SAMPLES:,}-sample epoch"}}
    return derived


def _matmul_setup(n):
    def setup(adapter, device):
        rng = _rng()
        a = adapter.tensor(rng.standard_normal((n, n), dtype=np.float32), device)
        b = adapter.tensor(rng.standard_normal((n, n), dtype=np.float32), device)

        def step():
            a @ b
        return step, (a, b)
    return setup


def _gflops(flops):
    def derived(seconds):
        return {"rate": {"value": flops / seconds / 1e9, "unit": "GFLOP/s",
                         "label": "GFLOP/s"}}
    return derived


def _gbytes(nbytes):
    def derived(seconds):
        return {"rate": {"value": nbytes / seconds / 1e9, "unit": "GB/s", "label": "GB/s"}}
    return derived


def _conv_setup(n, cin, cout, k, pad, hw):
    def setup(adapter, device):
        rng = _rng()
        bound = 1.0 / math.sqrt(cin * k * k)
        x = adapter.tensor(rng.standard_normal((n, cin, hw, hw), dtype=np.float32), device,
                           requires_grad=True)
        w = adapter.tensor(rng.uniform(-bound, bound, (cout, cin, k, k)).astype(np.float32),
                           device, requires_grad=True)
        b = adapter.tensor(rng.uniform(-bound, bound, cout).astype(np.float32), device,
                           requires_grad=True)
        conv2d = adapter.fw.nn.functional.conv2d

        def step():
            adapter.clear_grads((x, w, b))
            # sum() is cheap next to the conv and is the one backward seed all three accept
            conv2d(x, w, b, stride=1, padding=pad).sum().backward()
        return step, (x, w, b)
    return setup


def _conv_flops(n, cin, cout, k, pad, hw):
    out = hw + 2 * pad - k + 1
    return 2 * n * cout * out * out * cin * k * k


def _binary_setup(numel):
    def setup(adapter, device):
        rng = _rng()
        a = adapter.tensor(rng.standard_normal(numel, dtype=np.float32), device)
        b = adapter.tensor(rng.standard_normal(numel, dtype=np.float32), device)

        def step():
            a + b
        return step, (a, b)
    return setup


_TINY_OPS = {
    # name: (label, input shapes, the op); no autograd: Python and dispatch cost only
    "add": ("a + b, 4 elements", ((4,), (4,)), lambda fw, a, b: a + b),
    "mul": ("a * b, 4 elements", ((4,), (4,)), lambda fw, a, b: a * b),
    "matmul": ("a @ b, 4x4", ((4, 4), (4, 4)), lambda fw, a, b: a @ b),
    "sum": ("a.sum(), 4 elements", ((4,),), lambda fw, a: a.sum()),
    "relu": ("relu(a), 4 elements", ((4,),), lambda fw, a: fw.relu(a)),
    "index": ("a[1], 4x4", ((4, 4),), lambda fw, a: a[1]),
}


def _tiny_setup(name):
    _, shapes, op = _TINY_OPS[name]

    def setup(adapter, device):
        rng = _rng()
        args = [adapter.tensor(rng.standard_normal(s, dtype=np.float32), device)
                for s in shapes]
        fw = adapter.fw

        def step():
            op(fw, *args)
        return step, args
    return setup


def _tiny_workload(name):
    label = _TINY_OPS[name][0]
    return Workload(f"{name}_tiny", "per-op overhead", label, "us/op", _tiny_setup(name),
                    params={"op": name})


def _chain_setup(length, numel):
    """`length` elementwise ops (alternating * a and + b) on a tensor that requires grad,
    then sum().backward(): the per-node cost of building and walking the graph."""
    def setup(adapter, device):
        rng = _rng()
        x = adapter.tensor(rng.standard_normal(numel, dtype=np.float32), device,
                           requires_grad=True)
        a = adapter.tensor(rng.uniform(0.9, 1.1, numel).astype(np.float32), device)
        b = adapter.tensor(rng.standard_normal(numel, dtype=np.float32), device)

        def step():
            adapter.clear_grads((x,))
            y = x
            for _ in range(length // 2):
                y = y * a
                y = y + b
            y.sum().backward()
        return step, (x, a, b)
    return setup


def _conv_workload(key, label, n, cin, cout, k, pad, hw):
    shape = dict(n=n, cin=cin, cout=cout, k=k, pad=pad, hw=hw)
    return Workload(key, "conv2d forward+backward", label, "ms", _conv_setup(**shape),
                    _gflops(3 * _conv_flops(**shape)), params=shape)


def all_workloads():
    """Every workload, in the order they run."""
    elems = 16 * 1024 * 1024
    return [
        _lenet(1), _lenet(16), _lenet(64), _lenet(256), _lenet(1024, quick=False),
        _mlp(128), _mlp(1024),
        Workload("cifar_b64", "CIFAR-style CNN training step",
                 "batch 64, 3x32x32, conv 32-64-128 + fc", "ms/step",
                 _train_setup(build_cifar_cnn, (3, 32, 32), 64), _epoch(64),
                 params={"batch": 64}),
        Workload("lstm_b64", "LSTM training step",
                 "2 layers x 256 units, 32 steps of 256 features, batch 64, fc 256-10",
                 "ms/step", _train_setup(build_lstm, (32, 256), 64), _epoch(64),
                 params={"batch": 64, "seq": 32, "hidden": 256, "layers": 2}),
        Workload("transformer_b32", "Transformer encoder training step",
                 "2 layers, d_model 128, 4 heads, ff 512, 64 positions, batch 32, fc 128-10",
                 "ms/step", _train_setup(build_transformer, (64, 128), 32), _epoch(32),
                 params={"batch": 32, "seq": 64, "d_model": 128, "heads": 4, "layers": 2}),
        Workload("lenet_infer_b1024", "LeNet-5 inference (no_grad)", "batch 1024", "ms",
                 _infer_setup(build_lenet5, (1, 28, 28), 1024), params={"batch": 1024}),
        Workload("matmul_1024", "matmul (square, float32)", "1024x1024", "ms",
                 _matmul_setup(1024), _gflops(2 * 1024 ** 3), params={"n": 1024}),
        Workload("matmul_4096", "matmul (square, float32)", "4096x4096", "ms",
                 _matmul_setup(4096), _gflops(2 * 4096 ** 3), quick=False,
                 params={"n": 4096}),
        _conv_workload("conv_lenet1", "LeNet conv1: 64x1x28x28, 1->6, 5x5, pad 2",
                       64, 1, 6, 5, 2, 28),
        _conv_workload("conv_lenet2", "LeNet conv2: 64x6x14x14, 6->16, 5x5",
                       64, 6, 16, 5, 0, 14),
        _conv_workload("conv_64ch", "32x64x32x32, 64->64, 3x3, pad 1", 32, 64, 64, 3, 1, 32),
        Workload("add_16m", "elementwise a + b", "16M float32", "ms", _binary_setup(elems),
                 _gbytes(3 * 4 * elems),
                 params={"numel": elems, "bytes_counted": "2 read + 1 write"}),
        Workload("chain100", "100-op elementwise chain, forward + backward",
                 "(y * a + b) x 50 on 256 elements, sum().backward()", "us",
                 _chain_setup(100, 256), params={"ops": 100, "numel": 256}),
    ] + [_tiny_workload(name) for name in _TINY_OPS]


def _lenet(batch, quick=True):
    return Workload(f"lenet_b{batch}", "LeNet-5 training step", f"batch {batch}", "ms/step",
                    _train_setup(build_lenet5, (1, 28, 28), batch), _epoch(batch),
                    quick=quick, params={"batch": batch})


def _mlp(batch):
    return Workload(f"mlp_b{batch}", "MLP 784-512-512-10 training step", f"batch {batch}",
                    "ms/step", _train_setup(build_mlp, (784,), batch), _epoch(batch),
                    params={"batch": batch})


def select(workloads, quick=False, only=None):
    """Workloads for a run: --quick drops the slow ones; `only` keeps keys with a prefix."""
    chosen = [w for w in workloads if w.quick or not quick]
    if only:
        chosen = [w for w in chosen if any(w.key.startswith(p) for p in only)]
        if not chosen:
            raise ValueError(f"--only {','.join(only)} matches no workload; keys are "
                             + ", ".join(w.key for w in workloads))
    return chosen


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------

@dataclass
class Settings:
    """How hard to measure."""

    repeats: int = 15
    warmup: int = 2
    min_sample_s: float = 0.1  # one sample loops the step until at least this long
    budget_s: float = 30.0  # per framework and workload; samples stop once spent...
    min_repeats: int = 3  # ...but never before this many
    # Idle time before each sample when frameworks alternate. NumPy's OpenBLAS workers spin
    # for ~0.1-0.2 s after a call and torch's OpenMP workers briefly too; on 2 cores a
    # framework timed inside that window ran up to 2x slower (measured: torch's LeNet conv1
    # 14.5 ms right after NumPy matmuls, 6.5 ms after 0.25 s idle).
    cooldown_s: float = 0.25
    # ...after which each framework runs untimed calls for this long before the sample: on
    # this VM the first steps after an idle pause run slow while the vCPUs spin back up
    # (dynet's LeNet step at batch 256: 29-35 ms for two steps, then 23; 23 -> 20.7 ms when
    # the pause is a busy-wait instead), and training runs steps back to back.
    rewarm_s: float = 0.05


QUICK = Settings(repeats=5, warmup=1, min_sample_s=0.05, budget_s=8.0, min_repeats=3)
FULL = Settings()


def _error(exc):
    text = f"{type(exc).__name__}: {exc}".strip()
    return {"status": "error", "error": text[:500]}


class _Case:
    def __init__(self, adapter, device, step, keep):
        self.adapter, self.device, self.step, self.keep = adapter, device, step, keep
        self.inner = 1
        self.samples = []
        self.spent = 0.0

    def timed(self, calls, clock):
        sync = self.adapter.synchronize
        sync(self.device)
        start = clock()
        for _ in range(calls):
            self.step()
        sync(self.device)
        return clock() - start

    def rewarm(self, seconds, clock):
        """Untimed calls for at least `seconds` (at least one call)."""
        sync = self.adapter.synchronize
        start = clock()
        while True:
            self.step()
            sync(self.device)
            if clock() - start >= seconds:
                return

    def calibrate(self, settings, clock):
        """Warms up, then picks how many calls one sample loops over."""
        for _ in range(settings.warmup):
            self.timed(1, clock)
        calls = 1
        while True:
            elapsed = self.timed(calls, clock)
            if elapsed >= min(0.01, settings.min_sample_s) or calls >= 1 << 20:
                break
            calls *= 8
        per_call = max(elapsed / calls, 1e-9)
        self.inner = max(1, min(1 << 20, math.ceil(settings.min_sample_s / per_call)))


def summarise(seconds, workload):
    """Median/min/IQR (in the workload's unit) and derived figures of per-call times."""
    vals = np.asarray(seconds, dtype=np.float64)
    q1, med, q3 = np.percentile(vals, [25, 50, 75])
    scale = workload.scale
    out = {"status": "ok", "unit": workload.unit, "median": med * scale,
           "min": vals.min() * scale, "max": vals.max() * scale, "q1": q1 * scale,
           "q3": q3 * scale, "iqr": (q3 - q1) * scale, "repeats": int(vals.size),
           "samples": [v * scale for v in vals.tolist()]}
    if workload.derived is not None:
        out["derived"] = workload.derived(med)
    return out


def run_workload(workload, device, adapters, settings, clock):
    """Times `workload` on `device` for each adapter, interleaving frameworks per repeat.

    Returns {framework: result dict}; a framework that raises gets an error entry and the
    others carry on.
    """
    results, cases = {}, {}
    for adapter in adapters:
        reason = adapter.unsupported(device)
        if reason:
            results[adapter.name] = {"status": "skipped", "reason": reason}
            continue
        try:
            case = _Case(adapter, device, *workload.setup(adapter, device))
            time.sleep(settings.cooldown_s)
            case.calibrate(settings, clock)
            cases[adapter.name] = case
        except Exception as exc:  # a framework's failure must not end the run
            results[adapter.name] = _error(exc)
    try:
        for _ in range(settings.repeats):
            # Each repeat visits every framework in turn, so machine noise hits all alike.
            for name, case in list(cases.items()):
                if case.spent > settings.budget_s and len(case.samples) >= settings.min_repeats:
                    continue
                try:
                    if len(cases) > 1:
                        time.sleep(settings.cooldown_s)
                        case.rewarm(settings.rewarm_s, clock)
                    elapsed = case.timed(case.inner, clock)
                except Exception as exc:
                    results[name] = _error(exc)
                    del cases[name]
                    continue
                case.spent += elapsed
                case.samples.append(elapsed / case.inner)
        for name, case in cases.items():
            results[name] = summarise(case.samples, workload)
            results[name]["calls_per_sample"] = case.inner
    finally:
        cases.clear()
        gc.collect()
        for adapter in adapters:
            with contextlib.suppress(Exception):
                adapter.cleanup()
    return {a.name: results[a.name] for a in adapters if a.name in results}
