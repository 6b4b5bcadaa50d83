"""Turns a results dict from bench/run.py into progress lines, results.md and results.png."""
from collections import OrderedDict

REFERENCE = "torch"


def fmt(value):
    """A figure with about three significant digits, without exponent notation."""
    if value is None:
        return ""
    mag = abs(value)
    if mag >= 100:
        return f"{value:,.0f}"
    if mag >= 10:
        return f"{value:.1f}"
    if mag >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _clean(text, limit=90):
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def ratio(result, reference):
    """result's median time over reference's, or None when either has no time."""
    if not result or not reference:
        return None
    if result.get("status") != "ok" or reference.get("status") != "ok":
        return None
    if reference["median"] <= 0:
        return None
    return result["median"] / reference["median"]


def status_text(result, limit=90):
    """'error: ...' / 'skipped: ...' for a result without a time, else ''."""
    status = result.get("status")
    if status == "error":
        return "error: " + _clean(result.get("error", "?"), limit)
    if status == "skipped":
        return "skipped: " + _clean(result.get("reason", "?"), limit)
    return ""


def time_cell(result, limit=90):
    """The median with its unit, or the reason there is none."""
    if result.get("status") == "ok":
        return f"{fmt(result['median'])} {result['unit']}"
    return status_text(result, limit)


def progress_line(index, total, entry, seconds):
    """One line summarising a finished workload for stderr."""
    parts = []
    ref = entry["results"].get(REFERENCE)
    for name, result in entry["results"].items():
        if result.get("status") == "ok":
            text = f"{name} {fmt(result['median'])} {result['unit']}"
            r = ratio(result, ref) if name != REFERENCE else None
            if r is not None:
                text += f" ({fmt(r)}x)"
        else:
            text = f"{name} {status_text(result, 60)}"
        parts.append(text)
    return (f"[{index}/{total}] {entry['device']} {entry['key']} ({entry['label']}): "
            + " | ".join(parts) + f"  [{seconds:.1f} s]")


def _frameworks(data):
    names = []
    for entry in data["workloads"]:
        for name in entry["results"]:
            if name not in names:
                names.append(name)
    return names


def _devices(data):
    return list(OrderedDict.fromkeys(e["device"] for e in data["workloads"]))


def _pause_text(cfg):
    """How each sample starts when frameworks alternate."""
    if not cfg.get("cooldown_s"):
        return ""
    text = f", each sample after {cfg['cooldown_s']:g} s idle"
    if cfg.get("rewarm_s"):
        text += f" and {cfg['rewarm_s']:g} s of untimed calls"
    return text


def _machine_lines(data):
    m = data["machine"]
    v = m.get("versions", {})
    gpu = m.get("gpu") or {}
    gpu_text = ", ".join(str(x) for x in (gpu.get("name"), gpu.get("driver") and
                                          f"driver {gpu['driver']}") if x) or "none used"
    blas = f" ({m['blas']})" if m.get("blas") else ""
    threads = f", {m['torch_threads']} threads" if m.get("torch_threads") else ""
    dynet_threads = f", {m['dynet_threads']} threads" if m.get("dynet_threads") else ""
    git = m.get("git") or {}
    commit = (git.get("commit") or "unknown")[:12] + (" (uncommitted changes)"
                                                      if git.get("dirty") else "")
    cfg = data["config"]
    lines = [
        f"- CPU: {m.get('cpu', '?')}, {m.get('cores', '?')} logical cores "
        f"({m.get('usable_cores', '?')} usable); GPU: {gpu_text}",
        f"- Python {v.get('python', '?')}, NumPy {v.get('numpy', '?')}{blas}, "
        f"CuPy {v.get('cupy') or '-'}, torch {v.get('torch') or '-'}{threads}, "
        f"PyDyNet {v.get('pydynet') or '-'}, dynet {v.get('dynet', '?')}{dynet_threads}; "
        f"git {commit}",
        f"- Run: {'quick' if cfg['quick'] else 'full'}, up to {cfg['repeats']} repeats per "
        f"framework (at least {cfg['min_repeats']}, {cfg['budget_s']:g} s budget each), "
        f"{cfg['warmup']} warm-up call(s), each sample loops the call for at least "
        f"{cfg['min_sample_s']:g} s; frameworks interleaved within every repeat "
        f"({' -> '.join(cfg['frameworks'])}){_pause_text(cfg)}; "
        f"{data.get('wall_s', 0):.0f} s in all",
    ]
    load = data.get("load_average") or {}
    if load.get("start") and load.get("end"):
        lines.append(f"- Load average (1, 5, 15 min) at start {load['start']}, at end "
                     f"{load['end']}, on {m.get('usable_cores', '?')} usable cores")
    for text in data.get("warnings", []):
        lines.append(f"- {text[0].upper()}{text[1:]}")
    for name, reason in data.get("not_compared", {}).items():
        lines.append(f"- {name}: skipped: {reason}")
    return lines


def _summary_table(data, frameworks, devices):
    head = ["workload"]
    for dev in devices:
        head += [f"{fw} {dev}" for fw in frameworks]
        head += [f"{fw}/torch {dev}" for fw in frameworks if fw != REFERENCE]
    if "dynet" in frameworks and {"cpu", "cuda"} <= set(devices):
        head.append("dynet cuda speed-up over cpu")
    rows = [head, ["---"] * len(head)]
    by_key = OrderedDict()
    for entry in data["workloads"]:
        by_key.setdefault(entry["key"], {})[entry["device"]] = entry
    for key, per_dev in by_key.items():
        first = next(iter(per_dev.values()))
        row = [f"{first['group']}: {first['label']}"]
        for dev in devices:
            res = per_dev.get(dev, {}).get("results", {})
            row += [time_cell(res[fw], 50) if fw in res else "" for fw in frameworks]
            for fw in frameworks:
                if fw != REFERENCE:
                    r = ratio(res.get(fw), res.get(REFERENCE))
                    row.append("" if r is None else f"{fmt(r)}x")
        if head[-1].startswith("dynet cuda"):
            cpu = per_dev.get("cpu", {}).get("results", {}).get("dynet")
            gpu = per_dev.get("cuda", {}).get("results", {}).get("dynet")
            r = ratio(cpu, gpu)
            row.append("" if r is None else f"{fmt(r)}x")
        rows.append(row)
    return rows


def _group_table(entries, frameworks):
    derived_labels = OrderedDict()
    for entry in entries:
        for res in entry["results"].values():
            for name, d in res.get("derived", {}).items():
                derived_labels.setdefault(name, d["label"])
    head = ["case", "device", "framework", "median", "min", "IQR"]
    head += list(derived_labels.values()) + ["x/torch"]
    rows = [head, ["---"] * len(head)]
    for entry in entries:
        ref = entry["results"].get(REFERENCE)
        for fw in frameworks:
            res = entry["results"].get(fw)
            if res is None:
                continue
            row = [entry["label"], entry["device"], fw]
            if res.get("status") == "ok":
                unit = res["unit"]
                row += [f"{fmt(res['median'])} {unit}", f"{fmt(res['min'])} {unit}",
                        f"{fmt(res['iqr'])} {unit}"]
                derived = res.get("derived", {})
                row += [fmt(derived[n]["value"]) if n in derived else ""
                        for n in derived_labels]
                r = ratio(res, ref)
                row.append("" if r is None else f"{fmt(r)}x")
            else:
                row += [status_text(res)] + [""] * (len(head) - 4)
            rows.append(row)
    return rows


def _table(rows):
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def markdown(data):
    """The whole results.md text."""
    frameworks = _frameworks(data)
    devices = _devices(data)
    out = [f"# dynet benchmarks: {', '.join(devices)} ({data['date']})", ""]
    out += _machine_lines(data)
    out += ["", "Figures are medians of per-call times over the repeats; min and IQR are across "
            "repeats. **x/torch** is a framework's median time divided by PyTorch's on the same "
            "device (2.00x: twice PyTorch's time). Throughputs derive from the median: matmul "
            "counts 2n^3 FLOPs, conv2d forward+backward 3x the forward FLOPs, a + b counts the "
            "bytes read and written, an epoch is 60,000 samples.", "", "## Summary", "",
            _table(_summary_table(data, frameworks, devices)), ""]
    groups = OrderedDict()
    for entry in data["workloads"]:
        groups.setdefault(entry["group"], []).append(entry)
    for group, entries in groups.items():
        out += [f"## {group}", "", _table(_group_table(entries, frameworks)), ""]
    if data.get("png"):
        out += [f"Chart: {data['png']}", ""]
    return "\n".join(out)


def write_png(data, path):
    """Bar charts of median times (log scale, IQR whiskers); returns None or why it skipped."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "skipped: matplotlib is not installed (pip install matplotlib)"
    frameworks = _frameworks(data)
    devices = _devices(data)
    keys = list(OrderedDict.fromkeys(e["key"] for e in data["workloads"]))
    by = {(e["key"], e["device"]): e for e in data["workloads"]}
    ncols = min(3, len(keys))
    nrows = -(-len(keys) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.6 * nrows), squeeze=False)
    width = 0.8 / max(1, len(frameworks))
    colors = {"torch": "#ee4c2c", "dynet": "#3b75af", "pydynet": "#7f7f7f"}
    for ax, key in zip(axes.flat, keys):
        first = next(by[(key, d)] for d in devices if (key, d) in by)
        unit, lowest, highest = None, None, 0.0
        for j, fw in enumerate(frameworks):
            for i, dev in enumerate(devices):
                res = by.get((key, dev), {}).get("results", {}).get(fw)
                x = i + (j - (len(frameworks) - 1) / 2) * width
                if res and res.get("status") == "ok":
                    unit = res["unit"]
                    err = [[res["median"] - res["q1"]], [res["q3"] - res["median"]]]
                    ax.bar(x, res["median"], width, yerr=err, capsize=2,
                           color=colors.get(fw))
                    ax.annotate(fmt(res["median"]), (x, max(res["q3"], res["median"])),
                                ha="center",
                                va="bottom", fontsize=7, xytext=(0, 2),
                                textcoords="offset points")
                    low = min(res["median"], res["q1"])
                    lowest = low if lowest is None else min(lowest, low)
                    highest = max(highest, res["q3"], res["median"])
                elif res:
                    ax.text(x, 0.02, res["status"], rotation=90, ha="center", va="bottom",
                            transform=ax.get_xaxis_transform(), fontsize=7)
        ax.set_yscale("log")
        if lowest:  # bars start well below the shortest, so their lengths stay comparable
            ax.set_ylim(lowest / 5, highest * 2.5)  # headroom for the value labels
        ax.set_xticks(range(len(devices)), devices)
        ax.set_title(f"{first['group']}\n{first['label']}", fontsize=9)
        ax.set_ylabel(f"median time ({unit or first['unit']}), lower is better", fontsize=8)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    from matplotlib.patches import Patch
    fig.legend(handles=[Patch(color=colors.get(fw), label=fw) for fw in frameworks],
               loc="upper right", ncol=len(frameworks), fontsize=9)
    fig.suptitle(f"dynet vs PyTorch vs PyDyNet: median time per call ({data['date']})")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
