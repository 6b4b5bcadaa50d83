"""Forward + backward time of issue 14's heavier new ops, dynet vs PyTorch (CPU, float32).

    python bench/linalg_nn_micro.py [--repeat 20]

Prints the median of `repeat` timed runs per op after two warm-up runs; results and the
predictions made before the first run are in bench/NOTES.md.
"""
import argparse
import statistics
import time

import numpy as np


def _cases(m, F):
    rng = np.random.default_rng(0)

    def t(shape):
        return m.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)

    lp = t((50, 16, 20))
    targets = m.tensor(rng.integers(1, 20, (16, 10)))
    lengths_in, lengths_t = m.tensor([50] * 16), m.tensor([10] * 16)
    img, a, b = t((16, 64, 14, 14)), t((32, 64, 64)), t((32, 64, 64))
    x1, x2, sq = t((4, 128, 16)), t((4, 128, 16)), t((32, 16, 16))
    return {
        "ctc_loss T50 N16 C20 S10": lambda: F.ctc_loss(F.log_softmax(lp, 2), targets,
                                                       lengths_in, lengths_t),
        "adaptive_max_pool2d 16x64x14x14->7x7": lambda: F.adaptive_max_pool2d(img, 7).sum(),
        "einsum bij,bjk->bik 32x64x64": lambda: m.einsum("bij,bjk->bik", a, b).sum(),
        "cdist 4x128x128x16": lambda: m.cdist(x1, x2).sum(),
        "linalg.svdvals 32x16x16": lambda: m.linalg.svdvals(sq).sum(),
        "instance_norm 16x64x14x14": lambda: F.instance_norm(img).sum(),
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
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    import dynet
    import dynet.nn.functional as dF
    rows = {name: [_time(fn, args.repeat)] for name, fn in _cases(dynet, dF).items()}
    try:
        import torch
        import torch.nn.functional as tF
        for name, fn in _cases(torch, tF).items():
            rows[name].append(_time(fn, args.repeat))
    except ImportError:
        pass
    print(f"{'op (forward + backward)':40s} {'dynet ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    for name, times in rows.items():
        extra = f" {times[1]:9.3f} {times[0] / times[1]:6.2f}" if len(times) > 1 else ""
        print(f"{name:40s} {times[0]:9.3f}{extra}")


if __name__ == "__main__":
    main()
