"""Benchmarks dynet against PyTorch and PyDyNet on every device: `python bench/run.py --help`.

Writes results.json, results.md and results.png to --out (default: the git-ignored
bench/results/adhoc/<cpu|gpu>-<YYYY-MM-DD>-<HHMMSS>/; give --out bench/results/<cpu|gpu>-<date>
for a result to commit) and one progress line per workload to stderr.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and the repo's `dynet` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report  # noqa: E402
from bench import workloads as wl  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DEVICES = ("cpu", "cuda")


def parse_args(argv=None):
    """The command line; see --help."""
    p = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Time dynet against PyTorch and PyDyNet, device by device.")
    p.add_argument("--devices", default=None,
                   help="comma-separated devices: cpu,cuda (default: every usable one)")
    p.add_argument("--compare", default="torch,pydynet",
                   help="frameworks to compare with dynet, comma-separated, or 'none' "
                        "(default: torch,pydynet; a missing one is reported as skipped)")
    p.add_argument("--quick", action="store_true",
                   help="fewer repeats and no 4096 matmul (a few minutes on 2 CPU cores)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: the git-ignored "
                        "bench/results/adhoc/<cpu|gpu>-<date>-<time>/)")
    p.add_argument("--only", default=None,
                   help="comma-separated workload key prefixes to run, e.g. lenet,conv")
    p.add_argument("--repeats", type=int, default=None, help="override the repeat count")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    return p.parse_args(argv)


def _split(text):
    return [part.strip() for part in text.split(",") if part.strip()]


def resolve_devices(spec):
    """The devices to run: every usable one by default; a requested unusable one raises."""
    import dynet
    if spec is None:
        return ["cpu"] + (["cuda"] if dynet.cuda.is_available() else [])
    devices = _split(spec)
    for dev in devices:
        if dev not in DEVICES:
            raise ValueError(f"--devices: unknown device {dev!r}; choose from cpu, cuda")
        if dev == "cuda" and not dynet.cuda.is_available():
            raise RuntimeError("--devices cuda requested, but dynet finds no usable CUDA "
                               "device (CuPy missing, no driver or no GPU); use --devices cpu")
    if not devices:
        raise ValueError("--devices is empty; give cpu, cuda or cpu,cuda")
    return devices


def resolve_frameworks(spec):
    """Frameworks in run order (torch, dynet, pydynet), always including dynet."""
    wanted = [] if spec.strip().lower() in ("", "none") else _split(spec)
    for name in wanted:
        if name not in wl.FRAMEWORKS:
            raise ValueError(f"--compare: unknown framework {name!r}; choose from torch, "
                             "pydynet")
    return [name for name in wl.FRAMEWORKS if name == "dynet" or name in wanted]


def load_adapters(names):
    """(adapters, {name: reason}) for the frameworks that could not be loaded."""
    adapters, missing = [], {}
    for name in names:
        try:
            adapters.append(wl.load_adapter(name))
        except ImportError as exc:
            if name == "dynet":
                raise
            missing[name] = "not installed" if getattr(exc, "name", None) == name else (
                f"import failed: {exc}")
    return adapters, missing


# ---------------------------------------------------------------------------------------------
# Machine description
# ---------------------------------------------------------------------------------------------

def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _run(cmd):
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _gpu_info():
    info = {}
    if shutil.which("nvidia-smi"):
        line = _run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                     "--format=csv,noheader"])
        if line:
            fields = [f.strip() for f in line.splitlines()[0].split(",")]
            info.update(zip(("name", "driver", "memory"), fields))
    try:
        import dynet
        if dynet.cuda.is_available():
            info.setdefault("name", dynet.cuda.get_device_name(0))
            info["count"] = dynet.cuda.device_count()
    except Exception as exc:  # a broken CUDA install still gets a report
        info["error"] = str(exc)
    return info or None


def _version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _blas():
    try:
        import numpy as np
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy: no dict mode; the version alone will do
        return None


def _git():
    commit = _run(["git", "-C", str(REPO_DIR), "rev-parse", "HEAD"])
    status = _run(["git", "-C", str(REPO_DIR), "status", "--porcelain", "--untracked-files=no"])
    return {"commit": commit, "dirty": bool(status)} if commit else None


def machine_info(devices, adapters):
    """CPU, GPU, library versions and git commit, for results.json."""
    import numpy as np
    by_name = {a.name: a for a in adapters}
    cupy = next((v for v in map(_version, ("cupy-cuda13x", "cupy-cuda12x", "cupy")) if v),
                None)
    info = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "platform": platform.platform(),
        "gpu": _gpu_info() if "cuda" in devices else None,
        "blas": _blas(),
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cupy": cupy,
            "torch": by_name["torch"].version if "torch" in by_name else _version("torch"),
            "pydynet": _version("pydynet"),
            "dynet": by_name["dynet"].version if "dynet" in by_name else None,
            "matplotlib": _version("matplotlib"),
        },
        "thread_env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                                  "OPENBLAS_NUM_THREADS", "DYNET_NUM_THREADS")
                       if k in os.environ},
        "git": _git(),
    }
    if "torch" in by_name:
        info["torch_threads"] = by_name["torch"].module.get_num_threads()
    if "dynet" in by_name:
        info["dynet_threads"] = by_name["dynet"].module.get_num_threads()
    return info


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------

def _loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _progress(text):
    print(text, file=sys.stderr, flush=True)


def load_warning(load, cores):
    """A warning when the 1-minute load average exceeds the core count, else None."""
    if not load or not cores or load[0] <= cores:
        return None
    return (f"warning: the 1-minute load average ({load[0]:.2f}) exceeds the {cores} CPU "
            "cores: other processes compete with the benchmark, so its timings are slow "
            "and noisy (torch's suffer most); rerun on an idle machine")


def default_out(devices, now=None):
    """bench/results/adhoc/<cpu|gpu>-<date>-<HHMMSS>/: git-ignored, one folder per run."""
    now = now or datetime.datetime.now()
    kind = "gpu" if "cuda" in devices else "cpu"
    return BENCH_DIR / "results" / "adhoc" / f"{kind}-{now:%Y-%m-%d-%H%M%S}"


def run(devices, adapters, chosen, settings, not_compared=None, quick=False,
        progress=_progress, clock=time.perf_counter, loadavg=_loadavg, cores=None):
    """Runs every chosen workload on every device; returns the results dict (no files).

    The load average is read before the run and after each workload; the first reading
    above the core count (`cores`, default os.cpu_count(), the count the system-wide load
    average is measured against) prints a warning through `progress`, once.
    """
    not_compared = dict(not_compared or {})
    cores = cores or os.cpu_count()
    warnings = []

    def check_load():
        load = loadavg()
        text = load_warning(load, cores)
        if text and not warnings:
            warnings.append(text)
            progress(text)
        return load

    load_start = check_load()
    peak = load_start[0] if load_start else None
    started = time.perf_counter()
    entries = []
    total = len(devices) * len(chosen)
    for dev in devices:
        for workload in chosen:
            index = len(entries) + 1
            progress(f"[{index}/{total}] {dev} {workload.key} ({workload.label}) ...")
            t0 = time.perf_counter()
            results = wl.run_workload(workload, dev, adapters, settings, clock)
            for name, reason in not_compared.items():
                results[name] = {"status": "skipped", "reason": reason}
            entry = {"key": workload.key, "group": workload.group, "label": workload.label,
                     "device": dev, "unit": workload.unit, "params": workload.params,
                     "results": {n: results[n] for n in wl.FRAMEWORKS if n in results}}
            entries.append(entry)
            progress(report.progress_line(index, total, entry, time.perf_counter() - t0))
            load = check_load()
            if load and (peak is None or load[0] > peak):
                peak = load[0]
    return {
        "date": datetime.date.today().isoformat(),
        "config": {"devices": devices, "frameworks": [a.name for a in adapters],
                   "quick": quick,
                   "repeats": settings.repeats, "warmup": settings.warmup,
                   "min_sample_s": settings.min_sample_s, "budget_s": settings.budget_s,
                   "min_repeats": settings.min_repeats, "cooldown_s": settings.cooldown_s,
                   "rewarm_s": settings.rewarm_s,
                   "timer": "time.perf_counter"},
        "not_compared": not_compared,
        "workloads": entries,
        "wall_s": time.perf_counter() - started,
        # other processes skew timings; a 1-minute load above the core count flags that
        "load_average": {"start": load_start, "end": loadavg(), "peak_1min": peak,
                         "cores": cores},
        "warnings": warnings,
    }


def write_outputs(data, out_dir):
    """results.json, results.md and (with matplotlib) results.png in out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    png_problem = report.write_png(data, out_dir / "results.png")
    data["png"] = png_problem or "results.png"
    if png_problem:
        _progress(f"results.png {png_problem}")
    (out_dir / "results.json").write_text(json.dumps(data, indent=1) + "\n")
    (out_dir / "results.md").write_text(report.markdown(data) + "\n")
    return out_dir


def main(argv=None):
    """Entry point; returns the results dict."""
    args = parse_args(argv)
    all_wl = wl.all_workloads()
    if args.list:
        for w in all_wl:
            print(f"{w.key:12s} {w.group}: {w.label}{'' if w.quick else '  (full runs only)'}")
        return None
    chosen = wl.select(all_wl, quick=args.quick, only=_split(args.only) if args.only else None)
    devices = resolve_devices(args.devices)
    adapters, missing = load_adapters(resolve_frameworks(args.compare))
    if args.repeats is not None and args.repeats < 1:
        raise ValueError(f"--repeats must be at least 1, got {args.repeats}")
    base = wl.QUICK if args.quick else wl.FULL
    settings = base if args.repeats is None else wl.Settings(
        **{**base.__dict__, "repeats": args.repeats,
           "min_repeats": min(base.min_repeats, args.repeats)})
    for name, reason in missing.items():
        _progress(f"{name}: skipped: {reason}")
    data = run(devices, adapters, chosen, settings, missing, quick=args.quick)
    data["machine"] = machine_info(devices, adapters)
    out_dir = args.out or default_out(devices)
    write_outputs(data, out_dir)
    _progress(f"wrote {out_dir}/results.json, results.md"
              + ("" if data["png"] != "results.png" else ", results.png"))
    return data


if __name__ == "__main__":
    main()
