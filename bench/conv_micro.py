"""Conv2d / max-pool forward+backward timings, dynet vs PyTorch, on LeNet-sized inputs.

    python bench/conv_micro.py [--repeats 200] [--rounds 3] [--only dynet|torch]
                               [--malloc-tuned]

Each framework runs in its own subprocess: PyTorch's OpenMP workers spin after a parallel
region and would steal cycles from NumPy's OpenBLAS threads (and the reverse) if both
lived in one process. Rounds alternate between the two, and the reported figure is the
median over repeats, taking the best round, so a busy neighbour process skews it less.

--malloc-tuned raises glibc's mmap and trim thresholds in both children before anything
is allocated. By default glibc returns every freed multi-megabyte NumPy buffer to the OS
and page-faults it back on the next allocation; on this 2-core VM that costs ~1 us per
4 KiB page, thousands of pages per LeNet step (see bench/NOTES.md).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

# (name, x shape, w shape, padding, input needs grad)
CONVS = [
    ("lenet conv1 1->6 5x5 p2 28x28", (64, 1, 28, 28), (6, 1, 5, 5), 2, False),
    ("lenet conv2 6->16 5x5 14x14", (64, 6, 14, 14), (16, 6, 5, 5), 0, True),
    ("64->64 3x3 p1 32x32", (64, 64, 32, 32), (64, 64, 3, 3), 1, True),
]
STACK = "LeNet conv/pool stack"
POOLS = [
    ("maxpool 2x2 (64,6,28,28)", (64, 6, 28, 28)),
    ("maxpool 2x2 (64,16,10,10)", (64, 16, 10, 10)),
]


def tune_malloc():
    """Keeps freed buffers in glibc's heap (Linux only; a no-op elsewhere)."""
    import ctypes
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from <malloc.h>
    return bool(libc.mallopt(m_mmap_threshold, 256 << 20)
                and libc.mallopt(m_trim_threshold, 512 << 20))


def _median_ms(fn, repeats):
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1e3)


def _stack_case(F, tensor, relu, rng):
    """The conv/pool half of a LeNet training step, as the model runs it. It gets a fresh
    process: big buffers freed by the other cases raise glibc's mmap threshold and would
    hide the page faults a real training step sees."""
    x = tensor(rng.standard_normal((64, 1, 28, 28)).astype(np.float32), False)
    w1 = tensor((rng.standard_normal((6, 1, 5, 5)) * 0.2).astype(np.float32), True)
    b1 = tensor(np.zeros(6, np.float32), True)
    w2 = tensor((rng.standard_normal((16, 6, 5, 5)) * 0.1).astype(np.float32), True)
    b2 = tensor(np.zeros(16, np.float32), True)
    g = tensor(rng.standard_normal((64, 16, 5, 5)).astype(np.float32), False)

    def fwd(x=x, w1=w1, b1=b1, w2=w2, b2=b2):
        h = F.max_pool2d(relu(F.conv2d(x, w1, b1, padding=2)), 2)
        return F.max_pool2d(relu(F.conv2d(h, w2, b2)), 2)

    def step(fwd=fwd, g=g):
        fwd().backward(g)
    return STACK, fwd, step


def _cases(framework, part):
    """(name, forward fn, forward+backward fn) per case of `part`, for one framework."""
    rng = np.random.default_rng(0)
    if framework == "torch":
        import torch
        F = torch.nn.functional

        def tensor(a, grad):
            return torch.tensor(a, requires_grad=grad)
        relu = torch.relu
    else:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
        import dynet
        from dynet.ops import conv as F_conv, pool as F_pool

        class F:  # noqa: N801 - mimics the torch.nn.functional namespace
            conv2d = staticmethod(F_conv.conv2d)
            max_pool2d = staticmethod(F_pool.max_pool2d)

        def tensor(a, grad):
            return dynet.tensor(a, requires_grad=grad)
        relu = dynet.relu

    out = []
    if part == "stack":
        return [_stack_case(F, tensor, relu, rng)]
    for name, xs, ws, pad, xgrad in CONVS:
        x = tensor(rng.standard_normal(xs).astype(np.float32), xgrad)
        w = tensor((rng.standard_normal(ws) * 0.1).astype(np.float32), True)
        b = tensor(rng.standard_normal(ws[0]).astype(np.float32), True)
        g = tensor(rng.standard_normal(F.conv2d(x, w, b, padding=pad).shape)
                   .astype(np.float32), False)

        def fwd(x=x, w=w, b=b, pad=pad):
            return F.conv2d(x, w, b, padding=pad)

        def step(fwd=fwd, g=g):
            fwd().backward(g)
        out.append((name, fwd, step))
    for name, xs in POOLS:
        x = tensor(rng.standard_normal(xs).astype(np.float32), True)
        g = tensor(rng.standard_normal(xs[:2] + (xs[2] // 2, xs[3] // 2))
                   .astype(np.float32), False)

        def fwd(x=x):
            return F.max_pool2d(x, 2)

        def step(fwd=fwd, g=g):
            fwd().backward(g)
        out.append((name, fwd, step))
    return out


def _run_one(framework, part, repeats):
    import resource
    res = {}
    for name, fwd, step in _cases(framework, part):
        r = max(5, repeats // 20) if name.startswith("64->64") else repeats
        res[name] = {"fwd": _median_ms(fwd, r)}
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        res[name]["fwd+bwd"] = _median_ms(step, r)
        # minor page faults per fwd+bwd: freed buffers handed back to the OS and refaulted
        res[name]["faults"] = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                               - faults) / (r + 3)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", choices=["dynet", "torch"])
    ap.add_argument("--malloc-tuned", action="store_true",
                    help="raise glibc's mmap/trim thresholds in both frameworks' processes")
    ap.add_argument("--child", choices=["dynet", "torch"], help=argparse.SUPPRESS)
    ap.add_argument("--part", choices=["stack", "kernels"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        if args.malloc_tuned:
            tune_malloc()
        json.dump(_run_one(args.child, args.part, args.repeats), sys.stdout)
        return 0
    frameworks = [args.only] if args.only else ["dynet", "torch"]
    best = {}
    for _ in range(args.rounds):
        for fw, part in [(fw, part) for part in ("stack", "kernels") for fw in frameworks]:
            cmd = [sys.executable, __file__, "--child", fw, "--part", part,
                   "--repeats", str(args.repeats)]
            if args.malloc_tuned:
                cmd.append("--malloc-tuned")
            res = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                            text=True).stdout)
            for name, r in res.items():
                for k, v in r.items():
                    key = (name, fw, k)
                    best[key] = min(best.get(key, float("inf")), v)
    names = [STACK] + [c[0] for c in CONVS] + [p[0] for p in POOLS]
    print(f"{'case':34s} " + " ".join(f"{fw + ' ' + k:>15s}" for fw in frameworks
                                      for k in ("fwd", "fwd+bwd")) + "   ratio"
          + "   faults/step (" + ", ".join(frameworks) + ")")
    for name in names:
        cells = [best[(name, fw, k)] for fw in frameworks for k in ("fwd", "fwd+bwd")]
        ratio = (f"{best[(name, 'dynet', 'fwd+bwd')] / best[(name, 'torch', 'fwd+bwd')]:7.2f}"
                 if len(frameworks) == 2 else "")
        faults = "  ".join(f"{best[(name, fw, 'faults')]:6.0f}" for fw in frameworks)
        print(f"{name:34s} " + " ".join(f"{c:12.3f} ms" for c in cells) + "  " + ratio
              + "   " + faults)
    return 0


if __name__ == "__main__":
    main()
