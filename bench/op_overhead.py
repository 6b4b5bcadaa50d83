"""Per-op overhead, dynet vs PyTorch, in one process, interleaved (a quick look between
full bench/run.py runs).

    PYTHONPATH=. .venv/bin/python bench/op_overhead.py [--rounds 7] [--calls 20000] [OP ...]

Each round times `calls` calls of every op in each framework in turn (tiny tensors, so the
time is Python and dispatch); prints the median per call, the min-max over rounds and the
ratio of medians. Ops: the *_tiny workloads of bench/workloads.py, plus `chain100` (the
100-op chain forward+backward, per chain) and `add_grad` (a + b with a requiring grad).
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import workloads as wl  # noqa: E402


def _add_grad_setup(adapter, device):
    rng = np.random.default_rng(0)
    a = adapter.tensor(rng.standard_normal(4, dtype=np.float32), device, requires_grad=True)
    b = adapter.tensor(rng.standard_normal(4, dtype=np.float32), device)

    def step():
        a + b
    return step, (a, b)


def cases():
    """{name: setup(adapter, device)}."""
    out = {name: wl._tiny_setup(name) for name in wl._TINY_OPS}
    out["add_grad"] = _add_grad_setup
    out["chain100"] = wl._chain_setup(100, 256)
    return out


def main():
    """Times the chosen ops and prints one line per op."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ops", nargs="*")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=20000)
    args = ap.parse_args()
    adapters = [wl.load_adapter("torch"), wl.load_adapter("dynet")]
    chosen = {k: v for k, v in cases().items() if not args.ops or k in args.ops}
    for name, setup in chosen.items():
        steps = {a.name: setup(a, "cpu") for a in adapters}
        calls = args.calls // 100 if name == "chain100" else args.calls
        times = {a.name: [] for a in adapters}
        for step, _ in steps.values():
            for _ in range(calls // 10):
                step()
        for _ in range(args.rounds):
            for fw, (step, _) in steps.items():
                t0 = time.perf_counter()
                for _ in range(calls):
                    step()
                times[fw].append((time.perf_counter() - t0) / calls * 1e6)
        med = {fw: float(np.median(v)) for fw, v in times.items()}
        cells = [f"{fw} {med[fw]:7.2f} us ({min(v):.2f}-{max(v):.2f})" for fw, v in
                 times.items()]
        print(f"{name:12s} " + "  ".join(cells) + f"  ratio {med['dynet'] / med['torch']:.2f}",
              flush=True)


if __name__ == "__main__":
    main()
