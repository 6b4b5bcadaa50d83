"""Side-by-side LeNet-5 training step, dynet vs PyTorch (CPU), in one process.

    PYTHONPATH=. .venv/bin/python bench/lenet_step_cmp.py [BATCH] [--rounds 7]

Each round times 20 steps of each framework, interleaved, after 0.25 s idle (NumPy's
OpenBLAS threads spin ~0.1-0.2 s after a GEMM and slow torch's OpenMP threads on 2 cores)
and 0.05 s of untimed steps (the first steps after idle run slow on a VM; bench/NOTES.md).
dynet tunes glibc malloc and starts its CPU threads itself. Prints medians over rounds.
"""
import argparse
import time

import numpy as np
import torch

import dynet
from dynet import nn, optim
from dynet.examples.lenet import LeNet5


def torch_lenet():
    """The same LeNet-5 as dynet.examples.lenet, in torch."""
    tn = torch.nn
    return tn.Sequential(
        tn.Conv2d(1, 6, 5, padding=2), tn.ReLU(), tn.MaxPool2d(2), tn.Conv2d(6, 16, 5),
        tn.ReLU(), tn.MaxPool2d(2), tn.Flatten(), tn.Linear(400, 120), tn.ReLU(),
        tn.Linear(120, 84), tn.ReLU(), tn.Linear(84, 10))


def main():
    """Times both steps and prints the medians and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("batch", type=int, nargs="?", default=256)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    torch.set_num_threads(2)
    b = args.batch
    m = LeNet5()
    opt = optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    tm = torch_lenet()
    topt = torch.optim.SGD(tm.parameters(), lr=0.01, momentum=0.9)
    x, y = dynet.randn(b, 1, 28, 28), dynet.randint(0, 10, (b,))
    tx, ty = torch.randn(b, 1, 28, 28), torch.randint(0, 10, (b,))

    def dstep():
        opt.zero_grad()
        nn.functional.cross_entropy(m(x), y).backward()
        opt.step()

    def tstep():
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tm(tx), ty).backward()
        topt.step()

    res = {"dynet": [], "torch": []}
    for f in (dstep, tstep):
        for _ in range(5):
            f()
    for _ in range(args.rounds):
        for k, f in (("dynet", dstep), ("torch", tstep)):
            time.sleep(0.25)
            warm = time.perf_counter()
            while time.perf_counter() - warm < 0.05:  # the first steps after idle run slow
                f()
            t0 = time.perf_counter()
            for _ in range(20):
                f()
            res[k].append((time.perf_counter() - t0) / 20 * 1e3)
    d, t = np.median(res["dynet"]), np.median(res["torch"])
    print(f"batch {b}: dynet {d:.2f} ms, torch {t:.2f} ms, ratio {d / t:.2f}")


if __name__ == "__main__":
    main()
