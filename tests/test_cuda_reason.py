"""dynet.cuda.unavailable_reason(): one line saying why CUDA is unusable, checked against a
fake CuPy for every cause (no GPU here), and against this machine's real answer."""
import types

import pytest

import dynet
from dynet.backend import cuda as backend_cuda
from dynet.examples import lenet


def fake_cupy(driver=13000, runtime=13020, count=1, count_error=None, kernel_error=None,
              value=12.0):
    """A stand-in for the parts of CuPy that unavailable_reason() touches."""
    def get_count():
        if count_error is not None:
            raise count_error
        return count

    class Array:
        def __mul__(self, other):
            if kernel_error is not None:
                raise kernel_error
            return self

        def sum(self):
            return value

    runtime_ns = types.SimpleNamespace(driverGetVersion=lambda: driver,
                                       runtimeGetVersion=lambda: runtime,
                                       getDeviceCount=get_count)
    return types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime_ns),
                                 float32="float32", arange=lambda n, dtype=None: Array())


def reason_with(monkeypatch, cupy, import_error=None):
    monkeypatch.setattr(backend_cuda, "_cupy", cupy)
    monkeypatch.setattr(backend_cuda, "_IMPORT_ERROR", import_error)
    # the uncached function: the cached answer belongs to the real machine
    return backend_cuda.unavailable_reason.__wrapped__()


class CompileException(Exception):
    pass


@pytest.mark.parametrize("kwargs, words", [
    (dict(driver=0), ["no NVIDIA driver"]),
    (dict(driver=12080, runtime=13020), ["driver too old", "CUDA 12.8", "CUDA 13.2"]),
    (dict(count=0), ["no CUDA device", "0 GPUs"]),
    (dict(count_error=RuntimeError("cudaErrorNoDevice: no CUDA-capable device")),
     ["no CUDA device", "RuntimeError: cudaErrorNoDevice: no CUDA-capable device"]),
    (dict(kernel_error=CompileException("nvrtc: error\n  line 3: bad\n")),
     ["kernel failed to compile or run", "CompileException: nvrtc: error line 3: bad"]),
    (dict(value=0.0), ["computed 0.0"]),
], ids=["no_driver", "driver_too_old", "no_device", "device_query_fails", "kernel_fails",
        "wrong_result"])
def test_each_cause_is_named_on_one_line(monkeypatch, kwargs, words):
    reason = reason_with(monkeypatch, fake_cupy(**kwargs))
    assert isinstance(reason, str) and "\n" not in reason
    for w in words:
        assert w in reason


def test_cupy_missing_names_the_import_error_and_the_fix(monkeypatch):
    reason = reason_with(monkeypatch, None, ModuleNotFoundError("No module named 'cupy'"))
    assert reason.startswith("CuPy is not installed")
    assert "No module named 'cupy'" in reason and "make install-cuda" in reason


def test_minor_version_compatibility_is_not_too_old(monkeypatch):
    # a CUDA 13.0 driver runs CuPy built on a 13.2 runtime (CUDA minor-version compatibility)
    assert reason_with(monkeypatch, fake_cupy(driver=13000, runtime=13020)) is None


def test_usable_gives_none(monkeypatch):
    assert reason_with(monkeypatch, fake_cupy()) is None


def test_long_messages_are_shortened(monkeypatch):
    reason = reason_with(monkeypatch, fake_cupy(kernel_error=RuntimeError("x" * 5000)))
    assert len(reason) < 600 and reason.endswith("...")


def test_this_machine_agrees_with_is_available():
    reason = dynet.cuda.unavailable_reason()
    assert (reason is None) == dynet.cuda.is_available()
    if reason is not None:
        assert isinstance(reason, str) and reason and "\n" not in reason


@pytest.mark.skipif(dynet.cuda.is_available(), reason="needs a machine without CUDA")
def test_require_and_auto_device_carry_the_reason(capsys):
    reason = dynet.cuda.unavailable_reason()
    with pytest.raises(RuntimeError) as info:
        backend_cuda.require(0)
    assert reason in str(info.value)
    device, message = lenet.resolve_device("auto")
    assert device == "cpu" and reason in message
    with pytest.raises(SystemExit):
        lenet.main(["--device", "cuda", "--epochs", "1"])
    assert reason in capsys.readouterr().err


@pytest.mark.skipif(dynet.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_case_skip_reason_includes_why(request):
    from conftest import no_cuda_reason
    assert dynet.cuda.unavailable_reason() in no_cuda_reason()
