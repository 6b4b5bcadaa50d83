"""How far each model workload of a CPU run is from this machine's limits.

    python bench/limits.py bench/results/cpu-<date>/results.json   # writes limits.md beside it

Work per step is counted once, on PyTorch's execution of the same workload (bench/workloads.py)
under two dispatch modes: torch.utils.flop_counter for the GEMM/convolution FLOPs of forward,
backward and optimizer step, and a byte counter that adds up the inputs and outputs of every
other aten op that moves data (views excluded). The bytes are what an unfused eager framework
must read and write, not a fused kernel's minimum. oneDNN is off while counting: torch's CPU
LSTM otherwise runs as one fused oneDNN op that neither counter sees into, and with it off
the same step decomposes into the GEMMs and elementwise ops it performs.

The rates come from the run itself: the best matmul GFLOP/s any framework reached
(matmul_1024 / matmul_4096) and the a + b GB/s (add_16m). The floor of a step is
FLOPs / GEMM rate + bytes / bandwidth; `x floor` is the measured median over that floor.
"""
import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import workloads as wl  # noqa: E402

MODEL_GROUPS = ("training step", "inference")


def count_work(workload):
    """(GEMM FLOPs, bytes moved by the other ops) of one call of `workload` in torch (CPU)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import FlopCounterMode

    class ByteCounter(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.bytes = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            packet = func.overloadpacket
            if not func.is_view and packet not in GEMMS:
                flat = torch.utils._pytree.tree_leaves((args, kwargs, out))
                self.bytes += sum(t.numel() * t.element_size() for t in flat
                                  if isinstance(t, torch.Tensor))
            return out

    aten = torch.ops.aten
    GEMMS = {aten.mm, aten.addmm, aten.bmm, aten.baddbmm, aten.convolution,
             aten.convolution_backward, aten._convolution, aten.matmul}
    step, keep = workload.setup(wl.TorchAdapter(), "cpu")
    step()  # optimizer state and lazily built buffers exist from the second call on
    flops, nbytes = FlopCounterMode(display=False), ByteCounter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # flags() warns "TF32 acceleration on top of oneDNN"
        with torch.backends.mkldnn.flags(enabled=False):
            step()  # the first call on the unfused path builds its buffers too
            with flops, nbytes:
                step()
    del keep
    return flops.get_total_flops(), nbytes.bytes


def _rate(entry, framework):
    result = entry["results"].get(framework, {})
    return ((result.get("derived") or {}).get("rate") or {}).get("value")


def machine_rates(data):
    """(best measured GEMM GFLOP/s, best measured a + b GB/s) of a run on the CPU."""
    gemm, bandwidth = [], []
    for entry in data["workloads"]:
        if entry["device"] != "cpu":
            continue
        rates = [r for r in (_rate(entry, f) for f in entry["results"]) if r]
        if entry["key"].startswith("matmul_"):
            gemm += rates
        elif entry["key"] == "add_16m":
            bandwidth += rates
    if not gemm or not bandwidth:
        raise ValueError("the run needs matmul_* and add_16m results on the cpu to set the "
                         "machine's rates; rerun bench/run.py without --only")
    return max(gemm), max(bandwidth)


def limits(data):
    """One row per model workload of the run: its work, floor and measured times."""
    gemm, bandwidth = machine_rates(data)
    by_key = {w.key: w for w in wl.all_workloads()}
    rows = []
    for entry in data["workloads"]:
        if entry["device"] != "cpu" or not any(g in entry["group"] for g in MODEL_GROUPS):
            continue
        flops, nbytes = count_work(by_key[entry["key"]])
        floor_ms = 1e3 * (flops / (gemm * 1e9) + nbytes / (bandwidth * 1e9))
        times = {f: r["median"] for f, r in entry["results"].items() if r.get("status") == "ok"}
        rows.append(dict(key=entry["key"], gflop=flops / 1e9, mbytes=nbytes / 1e6,
                         gemm_ms=1e3 * flops / (gemm * 1e9),
                         bytes_ms=1e3 * nbytes / (bandwidth * 1e9), floor_ms=floor_ms,
                         times=times))
    return gemm, bandwidth, rows


def markdown(data):
    gemm, bandwidth, rows = limits(data)
    frameworks = [f for f in ("torch", "dynet") if any(f in r["times"] for r in rows)]
    head = ["workload", "GFLOP", "MB moved", "GEMM floor ms", "bytes floor ms", "floor ms"]
    head += [f"{f} ms (x floor)" for f in frameworks]
    lines = [f"# Distance from the machine's limits ({data['date']}, cpu)", "",
             f"Rates measured in this run: GEMM {gemm:.1f} GFLOP/s (best matmul), "
             f"bandwidth {bandwidth:.1f} GB/s (a + b on 16M float32). Work counted on "
             "PyTorch's execution of each step (bench/limits.py).", "",
             "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        cells = [r["key"], f"{r['gflop']:.3f}", f"{r['mbytes']:.1f}", f"{r['gemm_ms']:.2f}",
                 f"{r['bytes_ms']:.2f}", f"{r['floor_ms']:.2f}"]
        for f in frameworks:
            t = r["times"].get(f)
            cells.append("-" if t is None else f"{t:.2f} ({t / r['floor_ms']:.1f}x)")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit("usage: python bench/limits.py RESULTS.json")
    path = Path(argv[0])
    data = json.loads(path.read_text())
    text = markdown(data)
    (path.parent / "limits.md").write_text(text)
    print(text)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
