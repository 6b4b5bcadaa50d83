"""Data-parallel scaling on the CPU: LeNet samples/s for 1 and 2 MPI ranks (DDP over MPI).

    python bench/ddp_scaling.py [--epochs 1] [--repeats 3]

Runs `mpirun -n R python -m dynet.examples.lenet --distributed` for each configuration and
reads the training throughput (samples/s over all ranks, from the metrics JSON of rank 0).
Configurations: 1 rank x 1 thread, 1 rank x all cores, R ranks x 1 thread for R = 2.., up to
the usable cores. Prints medians over repeats (configurations interleaved) and the CPU count.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def mpirun():
    local = Path(sys.executable).with_name("mpirun")
    found = str(local) if local.exists() else shutil.which("mpirun")
    if found is None:
        raise RuntimeError("mpirun not found: pip install 'dynet-autograd[distributed]'")
    return found


def run_once(ranks, threads, epochs, batch_size):
    with tempfile.TemporaryDirectory() as tmp:
        metrics = os.path.join(tmp, "m.json")
        env = dict(os.environ, DYNET_NUM_THREADS=str(threads), OMPI_ALLOW_RUN_AS_ROOT="1",
                   OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", DYNET_NO_TQDM="1",
                   PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [
                       os.environ.get("PYTHONPATH")] if p]))
        cmd = [mpirun(), "-n", str(ranks), "--oversubscribe", "--bind-to", "none", "-x",
               "PYTHONPATH", "-x", "DYNET_NUM_THREADS", sys.executable, "-m",
               "dynet.examples.lenet", "--distributed", "--device", "cpu", "--epochs",
               str(epochs), "--batch-size", str(batch_size), "--metrics-out", metrics]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
        with open(metrics) as f:
            epochs_run = json.load(f)["epochs"]
    return statistics.median(e["samples_per_second"] for e in epochs_run)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64, help="per-rank batch size")
    args = p.parse_args(argv)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    configs = [(1, 1), (1, cores)] + [(r, 1) for r in range(2, cores + 1)]
    results = {c: [] for c in configs}
    for _ in range(args.repeats):
        for ranks, threads in configs:
            results[(ranks, threads)].append(run_once(ranks, threads, args.epochs,
                                                      args.batch_size))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{cores} usable CPU cores; load average {load:.2f} at the end; per-rank batch "
          f"{args.batch_size}; medians of {args.repeats} interleaved runs")
    base = statistics.median(results[(1, 1)])
    print("| ranks x threads | samples/s (median) | runs | vs 1x1 |")
    print("|---|---|---|---|")
    for (ranks, threads), values in results.items():
        med = statistics.median(values)
        runs = ", ".join(f"{v:.0f}" for v in values)
        print(f"| {ranks} x {threads} | {med:.0f} | {runs} | {med / base:.2f}x |")
    return results


if __name__ == "__main__":
    main()
