"""Smoke tests for the benchmark harness (bench/): tiny workloads, one repeat, no timings."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a folder of scripts, not an installed package
    sys.path.insert(0, str(ROOT))

from bench import report, run  # noqa: E402
from bench import workloads as wl  # noqa: E402

TINY = wl.Settings(repeats=1, warmup=1, min_sample_s=0.001, budget_s=1.0, min_repeats=1,
                   cooldown_s=0.0)


def _installed(name):
    try:
        wl.load_adapter(name)
    except ImportError:
        return False
    return True


class _Broken(wl.Adapter):
    """A framework whose tensors cannot be made: its error must not end the run."""

    name = "pydynet"

    def __init__(self):
        super().__init__(None, None)

    def tensor(self, array, device, requires_grad=False):
        raise RuntimeError(f"boom on {device} for shape {array.shape}")


class _Recorder(wl.Adapter):
    """Logs each timed call, to check that frameworks alternate within a repeat."""

    def __init__(self, name, log):
        super().__init__(None, None)
        self.name, self.log = name, log

    def tensor(self, array, device, requires_grad=False):
        return array


def test_select_quick_and_only():
    every = wl.all_workloads()
    quick = {w.key for w in wl.select(every, quick=True)}
    assert "matmul_4096" not in quick and {"lenet_b64", "lenet_b256", "mlp_b128"} <= quick
    assert "matmul_4096" in {w.key for w in wl.select(every)}
    assert [w.key for w in wl.select(every, only=["conv"])] == [
        "conv_lenet1", "conv_lenet2", "conv_64ch"]
    with pytest.raises(ValueError, match="matches no workload"):
        wl.select(every, only=["nope"])


def test_resolve_frameworks_order_and_errors():
    assert run.resolve_frameworks("pydynet,torch") == ["torch", "dynet", "pydynet"]
    assert run.resolve_frameworks("none") == ["dynet"]
    with pytest.raises(ValueError, match="tensorflow"):
        run.resolve_frameworks("tensorflow")
    with pytest.raises(ValueError, match="tpu"):
        run.resolve_devices("tpu")


def test_summarise_stats_and_derived():
    work = next(w for w in wl.all_workloads() if w.key == "matmul_1024")
    out = wl.summarise([0.004, 0.001, 0.002, 0.003, 0.005], work)
    assert out["unit"] == "ms" and out["repeats"] == 5
    assert out["median"] == pytest.approx(3.0) and out["min"] == pytest.approx(1.0)
    assert out["iqr"] == pytest.approx(2.0)
    assert out["derived"]["rate"]["unit"] == "GFLOP/s"
    assert out["derived"]["rate"]["value"] == pytest.approx(2 * 1024 ** 3 / 0.003 / 1e9)


def test_frameworks_interleave_within_each_repeat():
    log = []
    work = wl.Workload("fake", "fake", "fake", "ms",
                       lambda ad, dev: (lambda: log.append(ad.name), None))
    adapters = [_Recorder("torch", log), _Recorder("dynet", log)]
    settings = wl.Settings(repeats=3, warmup=0, min_sample_s=0.0, budget_s=10.0,
                           min_repeats=1, cooldown_s=0.0, rewarm_s=0.0)
    out = wl.run_workload(work, "cpu", adapters, settings, clock=iter(range(10**6)).__next__)
    assert all(r["status"] == "ok" and r["repeats"] == 3 for r in out.values())
    timed = log[2:]  # after one calibration call each
    # each sample: one untimed re-warm call (rewarm_s=0 still makes one), then the timed one
    assert timed == ["torch", "torch", "dynet", "dynet"] * 3


def test_tiny_workload_end_to_end(tmp_path):
    adapters, missing = run.load_adapters(run.resolve_frameworks("torch"))
    adapters.append(_Broken())
    chosen = wl.select(wl.all_workloads(), only=["add_tiny"])
    lines = []
    data = run.run(["cpu"], adapters, chosen, TINY, missing, progress=lines.append,
                   loadavg=lambda: [0.0, 0.0, 0.0])  # an idle reading: no load warning
    assert len(lines) == 2 and "add_tiny" in lines[-1]
    results = data["workloads"][0]["results"]
    dyn = results["dynet"]
    assert dyn["status"] == "ok" and dyn["unit"] == "us/op" and dyn["repeats"] == 1
    assert dyn["median"] > 0 and dyn["min"] <= dyn["median"]
    assert results["pydynet"]["status"] == "error"
    assert "boom on cpu for shape (4,)" in results["pydynet"]["error"]

    data["machine"] = run.machine_info(["cpu"], adapters)
    run.write_outputs(data, tmp_path)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["workloads"][0]["results"]["dynet"]["median"] == pytest.approx(dyn["median"])
    assert saved["machine"]["versions"]["numpy"] == np.__version__
    md = (tmp_path / "results.md").read_text()
    assert "error: RuntimeError: boom on cpu" in md
    if "torch" in missing:
        assert "torch: skipped: not installed" in md
    else:
        assert results["torch"]["status"] == "ok"
        ratio = results["dynet"]["median"] / results["torch"]["median"]
        assert f"{report.fmt(ratio)}x" in md


@pytest.mark.parametrize("name", wl.FRAMEWORKS)
def test_one_lenet_builder_trains_in_every_framework(name):
    if not _installed(name):
        pytest.skip(f"{name} is not installed")
    adapter = wl.load_adapter(name)
    step, (model, _, x, _) = wl._train_setup(wl.build_lenet5, (1, 28, 28), 2)(adapter, "cpu")
    params = list(model.parameters())
    assert sum(int(np.prod(p.shape)) for p in params) == 61706
    before = [np.array(p.data if name == "pydynet" else p.detach().numpy()) for p in params]
    step()
    after = [np.array(p.data if name == "pydynet" else p.detach().numpy()) for p in params]
    assert all(b.dtype == np.float32 for b in after)
    assert all(not np.array_equal(b, a) for b, a in zip(before, after))
    adapter.cleanup()


def test_load_average_above_the_core_count_warns_once():
    assert run.load_warning([1.5, 1.0, 1.0], cores=2) is None
    assert run.load_warning([2.0, 1.0, 1.0], cores=2) is None  # at the count: still fine
    assert run.load_warning(None, cores=2) is None  # no reading (not Unix)
    assert "load average (2.50) exceeds the 2 CPU cores" in run.load_warning([2.5, 1, 1], 2)
    # a fake reading per call: idle at the start, loaded after the first workload
    readings = iter([[0.5, 0.5, 0.5], [3.0, 1.0, 0.5], [4.0, 2.0, 1.0], [1.0, 1.0, 1.0]])
    fake = wl.Workload("fake", "fake", "fake", "ms", lambda ad, dev: (lambda: None, None))
    adapters, _ = run.load_adapters(["dynet"])
    lines = []
    data = run.run(["cpu"], adapters, [fake, fake], TINY, progress=lines.append,
                   loadavg=lambda: next(readings), cores=2)
    warned = [line for line in lines if line.startswith("warning:")]
    assert len(warned) == 1 and "(3.00) exceeds the 2 CPU cores" in warned[0]
    assert lines.index(warned[0]) == 2  # right after the first workload's lines
    assert data["warnings"] == warned
    assert data["load_average"]["peak_1min"] == 4.0
    assert data["load_average"]["start"] == [0.5, 0.5, 0.5]
    data["machine"] = {}
    assert "- Warning: the 1-minute load average (3.00)" in report.markdown(data)


def test_ad_hoc_results_go_to_an_ignored_folder():
    import datetime
    import shutil
    import subprocess
    out = run.default_out(["cpu", "cuda"], datetime.datetime(2026, 1, 2, 3, 4, 5))
    assert out == ROOT / "bench" / "results" / "adhoc" / "gpu-2026-01-02-030405"
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q",
                           str(out / "results.json")])
    assert done.returncode == 0, "bench/results/adhoc/ must be git-ignored"


@pytest.mark.parametrize("name", ["torch", "dynet"])
def test_new_workloads_run_once(name):
    if not _installed(name):
        pytest.skip(f"{name} is not installed")
    adapter = wl.load_adapter(name)
    keys = ["lenet_b1", "cifar_b64", "lstm_b64", "lenet_infer_b1024", "chain100"] + [
        f"{op}_tiny" for op in wl._TINY_OPS]
    chosen = {w.key: w for w in wl.select(wl.all_workloads(), only=keys)}
    assert set(keys) <= set(chosen)
    for key in keys:
        step, keep = chosen[key].setup(adapter, "cpu")
        step()
    adapter.cleanup()


def test_limits_counts_mlp_flops_and_rates():
    pytest.importorskip("torch")
    from bench import limits
    # MLP 784-512-512-10 at batch 128: forward 2*B*sum(in*out); backward twice that, but the
    # first layer computes no input gradient (x does not require grad)
    B, dims = 128, [(784, 512), (512, 512), (512, 10)]
    fwd = sum(2 * B * i * o for i, o in dims)
    expected = 3 * fwd - 2 * B * 784 * 512
    mlp = next(w for w in wl.all_workloads() if w.key == "mlp_b128")
    flops, nbytes = limits.count_work(mlp)
    assert flops == expected
    assert nbytes > 4 * B * 784  # at least the input is read
    data = {"workloads": [
        {"key": "matmul_1024", "device": "cpu", "group": "matmul", "results": {
            "torch": {"derived": {"rate": {"value": 50.0}}},
            "dynet": {"derived": {"rate": {"value": 80.0}}}}},
        {"key": "add_16m", "device": "cpu", "group": "elementwise", "results": {
            "dynet": {"derived": {"rate": {"value": 20.0}}}}}]}
    assert limits.machine_rates(data) == (80.0, 20.0)
    with pytest.raises(ValueError, match="add_16m"):
        limits.machine_rates({"workloads": data["workloads"][:1]})
