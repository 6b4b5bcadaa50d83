"""Per-op overhead of two dynet versions and PyTorch in ONE process, interleaved: on a
loaded machine the ratios within a round hold where separate runs' times do not.

    PYTHONPATH=. .venv/bin/python bench/dispatch_ab.py OLD_ROOT [--rounds 9] [--calls 5000]

OLD_ROOT is a checkout of the older version (e.g. `git worktree add /tmp/old <commit>`); its
dynet package is copied to a temporary folder as `dynet_old` (the one absolute package name
the hot path reads, in ops/signatures.py, is renamed with it). Ops: bench/op_overhead.py's
cases (the *_tiny workloads, add_grad, chain100); the median us per call over the rounds
and each dynet's ratio to torch are printed.
"""
import argparse
import importlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import op_overhead, workloads as wl  # noqa: E402


def _old_adapter(root, tmp):
    dest = Path(tmp) / "dynet_old"
    shutil.copytree(Path(root) / "dynet", dest)
    sig = dest / "ops" / "signatures.py"
    sig.write_text(sig.read_text().replace('startswith("dynet.")', 'startswith("dynet_old.")'))
    sys.path.insert(0, tmp)
    module = importlib.import_module("dynet_old")
    old = wl.DynetAdapter.__new__(wl.DynetAdapter)
    wl.Adapter.__init__(old, module, module)
    return old


def main():
    """Prints one line per op: torch, old and new dynet medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old_root")
    ap.add_argument("ops", nargs="*")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--calls", type=int, default=5000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        adapters = [wl.load_adapter("torch"), _old_adapter(args.old_root, tmp),
                    wl.load_adapter("dynet")]
        names = ["torch", "old", "new"]
        cases = op_overhead.cases()
        for op in args.ops or list(cases):
            steps = [cases[op](a, "cpu")[0] for a in adapters]
            calls = max(args.calls // 100, 10) if op == "chain100" else args.calls
            times = [[] for _ in adapters]
            for step in steps:
                for _ in range(calls // 10):
                    step()
            for _ in range(args.rounds):
                for i, step in enumerate(steps):
                    t0 = time.perf_counter()
                    for _ in range(calls):
                        step()
                    times[i].append((time.perf_counter() - t0) / calls * 1e6)
            med = [float(np.median(t)) for t in times]
            cells = "  ".join(f"{n} {m:8.2f}" for n, m in zip(names, med))
            print(f"{op:10s} us: {cells}   old/torch {med[1] / med[0]:.2f}  "
                  f"new/torch {med[2] / med[0]:.2f}  new/old {med[2] / med[1]:.2f}", flush=True)


if __name__ == "__main__":
    main()
