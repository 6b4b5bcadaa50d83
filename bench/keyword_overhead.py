"""Cost of the public-function wrapper (dynet.ops.signatures) per call, against the plain
function it wraps: `python bench/keyword_overhead.py [--number 20000] [--repeat 15]`.

Rounds of both forms are interleaved and the best round is kept, so that load from other
processes on the machine shows up as noise in both, not as a difference."""
import argparse
import timeit

import dynet
from dynet.ops import functions as F


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    a = dynet.ones(4)
    pairs = [("add(a, a)", lambda: F.add(a, a), lambda: dynet.add(a, a)),
             ("sum(a, dim=0)", lambda: F.sum(a, dim=0), lambda: dynet.sum(a, dim=0)),
             ("sum(a, axis=0)", lambda: F.sum(a, dim=0), lambda: dynet.sum(a, axis=0))]
    for label, plain, public in pairs:
        best = [float("inf"), float("inf")]
        for _ in range(args.repeat):
            for i, fn in enumerate((plain, public)):
                best[i] = min(best[i], timeit.timeit(fn, number=args.number) / args.number)
        print(f"{label:16s} plain {best[0] * 1e6:.2f} us  public {best[1] * 1e6:.2f} us  "
              f"(+{(best[1] - best[0]) * 1e6:.2f} us)")


if __name__ == "__main__":
    main()
