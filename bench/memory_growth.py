"""Resident memory over thousands of LeNet training steps (the graph must be freed each step).

    python bench/memory_growth.py [--steps 3000] [--batch-size 64] [--device cpu]

Prints RSS every 500 steps and the growth between the first and last checkpoint.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import dynet  # noqa: E402
from dynet import nn, optim  # noqa: E402
from dynet.examples.lenet import LeNet5  # noqa: E402


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    dynet.manual_seed(0)
    model = LeNet5().to(args.device)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = dynet.randn(args.batch_size, 1, 28, 28, device=args.device)
    y = dynet.randint(0, 10, (args.batch_size,), device=args.device)
    marks = []
    for step in range(1, args.steps + 1):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if step % 500 == 0 or step == 50:
            marks.append((step, rss_mib()))
            print(f"step {step:5d}: RSS {marks[-1][1]:7.1f} MiB", flush=True)
    print(f"growth from step {marks[0][0]} to {marks[-1][0]}: "
          f"{marks[-1][1] - marks[0][1]:+.1f} MiB")


if __name__ == "__main__":
    main()
