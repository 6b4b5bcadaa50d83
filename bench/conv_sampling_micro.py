"""Forward + backward time of issue 14's conv / pooling / resampling ops, dynet vs PyTorch
(CPU, float32).

    python bench/conv_sampling_micro.py [--repeat 10] [--only SUBSTRING]

Prints the median of `repeat` timed runs per op after two warm-up runs; results are in
bench/NOTES.md.
"""
import argparse
import statistics
import time

import numpy as np


def _cases(m, F):
    rng = np.random.default_rng(0)

    def t(shape):
        return m.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)

    x2, w2 = t((16, 32, 16, 16)), t((32, 16, 4, 4))
    x3, w3 = t((4, 8, 16, 16, 16)), t((16, 8, 3, 3, 3))
    xt3, wt3 = t((4, 16, 8, 8, 8)), t((16, 8, 4, 4, 4))
    p3, img = t((4, 16, 16, 16, 16)), t((8, 16, 64, 64))
    grid = m.tensor(rng.uniform(-1, 1, (8, 64, 64, 2)).astype(np.float32),
                    requires_grad=True)
    return {
        "conv_transpose2d 16x32x16x16 k4 s2 p1": lambda: F.conv_transpose2d(
            x2, w2, stride=2, padding=1).sum(),
        "conv3d 4x8x16^3 -> 16 k3 p1": lambda: F.conv3d(x3, w3, padding=1).sum(),
        "conv_transpose3d 4x16x8^3 k4 s2 p1": lambda: F.conv_transpose3d(
            xt3, wt3, stride=2, padding=1).sum(),
        "max_pool3d 4x16x16^3 k2": lambda: F.max_pool3d(p3, 2).sum(),
        "interpolate bilinear x2 8x16x64x64": lambda: F.interpolate(
            img, scale_factor=2, mode="bilinear").sum(),
        "interpolate nearest x2 8x16x64x64": lambda: F.interpolate(img, scale_factor=2).sum(),
        "grid_sample bilinear 8x16x64x64": lambda: F.grid_sample(
            img, grid, align_corners=False).sum(),
    }


def _time(fn, repeat):
    for _ in range(2):
        fn().backward()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn().backward()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs) * 1e3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    args = parser.parse_args()
    import dynet
    import dynet.nn.functional as dF
    rows = {name: [_time(fn, args.repeat)] for name, fn in _cases(dynet, dF).items()
            if args.only in name}
    try:
        import torch
        import torch.nn.functional as tF
        for name, fn in _cases(torch, tF).items():
            if args.only in name:
                rows[name].append(_time(fn, args.repeat))
    except ImportError:
        pass
    print(f"{'op (forward + backward)':40s} {'dynet ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    for name, times in rows.items():
        extra = f" {times[1]:9.3f} {times[0] / times[1]:6.2f}" if len(times) > 1 else ""
        print(f"{name:40s} {times[0]:9.3f}{extra}")


if __name__ == "__main__":
    main()
