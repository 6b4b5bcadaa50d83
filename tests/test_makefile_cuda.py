"""`make train` / `make test` pick the CuPy extra from nvidia-smi's CUDA version (a fake
nvidia-smi on PATH stands in for the driver; `make -n` only prints the commands)."""
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


CPU_INDEX_URL = "https://download.pytorch.org/whl/cpu"


def _clean_env(**changes):
    """os.environ without make's own variables: under `make test EXTRAS=...` (CI) the outer
    command line reaches the make these tests run through MAKEFLAGS and the environment."""
    drop = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "EXTRAS", "ARGS", "VENV", "PYTHON", "V",
            "TORCH_CPU_INDEX"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(changes)
    return env


def make_n(tmp_path, smi_output, *targets, extras="test", cpu_index=CPU_INDEX_URL):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    if smi_output is not None:
        smi = bindir / "nvidia-smi"
        smi.write_text(f"#!/bin/sh\ncat <<'END'\n{smi_output}\nEND\n")
        smi.chmod(0o755)
    # PATH without any real nvidia-smi: only the fake one, plus the tools make's shell needs
    env = _clean_env(PATH=f"{bindir}:/usr/bin:/bin")
    # the index as if it answered (this machine may be offline); None: probe as make does
    index = [] if cpu_index is None else [f"TORCH_CPU_INDEX={cpu_index}"]
    out = subprocess.run(["make", "-n", "-C", str(ROOT), *targets, f"EXTRAS={extras}",
                          f"VENV={tmp_path}/venv", *index], env=env, capture_output=True,
                         text=True, check=True)
    return out.stdout


def smi(version):
    return (f"| NVIDIA-SMI 580.65.06    Driver Version: 580.65.06    CUDA Version: {version}  |\n"
            "|   0  NVIDIA H200    On  |")


def installs(text):
    return [line for line in text.splitlines() if "pip install -q -e" in line]


def test_cuda13_driver_installs_the_cuda13_extra(tmp_path):
    lines = installs(make_n(tmp_path, smi("13.0"), "train", "test"))
    assert lines[0].endswith('".[plot,cuda13]"') and lines[1].endswith('".[test,cuda13]"')


def test_cuda12_driver_installs_cuda12_and_drops_the_cuda13_check_wheels(tmp_path):
    text = make_n(tmp_path, smi("12.4"), "test", extras="test,cuda-check")
    assert installs(text)[0].endswith('".[test,cuda12]"')


@pytest.mark.parametrize("output", [None, smi("11.8"),
                                    "NVIDIA-SMI has failed because it couldn't communicate"],
                         ids=["no_nvidia_smi", "cuda11", "smi_fails"])
def test_without_a_usable_driver_nothing_gpu_related(tmp_path, output):
    text = make_n(tmp_path, output, "train", "test")
    lines = installs(text)
    assert lines[0].endswith('".[plot]"') and lines[1].endswith('".[test]"')
    assert "cuda1" not in " ".join(lines) and "nothing GPU-related installed" in text


def test_install_cuda_says_what_it_does(tmp_path):
    text = make_n(tmp_path, smi("13.2"), "install-cuda")
    assert '".[cuda13]"' in text and "installed dynet-autograd[cuda13]" in text


CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"


@pytest.mark.parametrize("output", [None, smi("11.8")], ids=["no_nvidia_smi", "cuda11"])
def test_without_a_usable_driver_torch_comes_from_the_cpu_index(tmp_path, output):
    text = make_n(tmp_path, output, "bench", "test", extras="test,torch")
    bench, test = installs(text)
    assert bench.endswith(f'".[bench]" {CPU_INDEX}') and test.endswith(CPU_INDEX)
    assert "make bench: CPU-only torch" in text


def test_with_a_driver_torch_comes_from_pypi(tmp_path):
    text = make_n(tmp_path, smi("13.0"), "bench", "test", extras="test,torch")
    assert "download.pytorch.org" not in " ".join(installs(text))
    assert "torch from PyPI with its CUDA wheels" in text


def test_an_unreachable_cpu_index_is_not_used(tmp_path):
    text = make_n(tmp_path, None, "bench", "test", extras="test,torch", cpu_index="")
    assert "download.pytorch.org/whl" not in " ".join(installs(text))
    assert "download.pytorch.org is unreachable" in text


def test_without_torch_in_the_extras_no_extra_index(tmp_path):
    assert "download.pytorch.org" not in make_n(tmp_path, None, "test", "train")


def test_make_is_quiet(tmp_path):
    # a stand-in venv whose python logs its arguments: `make test` / `make bench` then print
    # only their one-line notes, not the commands they run
    bindir = tmp_path / "venv" / "bin"
    bindir.mkdir(parents=True)
    log = tmp_path / "calls"
    fake = bindir / "python"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(0o755)
    env = _clean_env(PATH="/usr/bin:/bin")
    out = subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", "test", "bench",
                          f"VENV={tmp_path}/venv", f"TORCH_CPU_INDEX={CPU_INDEX_URL}"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [
        "make test: no NVIDIA driver (nvidia-smi): nothing GPU-related installed (CPU)",
        "make bench: CPU-only torch from download.pytorch.org/whl/cpu"]
    assert out.stderr == ""
    calls = log.read_text().splitlines()
    assert calls[0].startswith("-m pip install -q -e .[test]") and calls[1] == "-m pytest"
    assert calls[2].startswith("-m pip install -q -e .[bench] --extra-index-url")
