"""Devices: Device parsing and comparison, dynet.cuda queries, moving tensors between devices."""
import numpy as np
import pytest

import dynet
from dynet.backend import cuda as backend_cuda

NO_GPU = pytest.mark.skipif(backend_cuda.is_available(),
                            reason="checks the behaviour of a machine without a usable GPU")


@pytest.mark.parametrize("spec, type_, index, text, rep", [
    ("cpu", "cpu", None, "cpu", "device(type='cpu')"),
    ("cuda", "cuda", None, "cuda", "device(type='cuda')"),
    ("cuda:0", "cuda", 0, "cuda:0", "device(type='cuda', index=0)"),
    ("cuda:1", "cuda", 1, "cuda:1", "device(type='cuda', index=1)"),
])
def test_device_parsing(spec, type_, index, text, rep):
    d = dynet.device(spec)
    assert isinstance(d, dynet.Device)
    assert d.type == type_ and d.index == index
    assert str(d) == text and repr(d) == rep


def test_device_with_separate_index():
    assert dynet.device("cuda", 1) == dynet.device("cuda:1")
    assert dynet.Device(2) == "cuda:2"
    assert dynet.device(dynet.device("cuda:3")).index == 3


def test_device_equality_and_hashing():
    assert dynet.device("cpu") == "cpu" and dynet.device("cuda:0") == "cuda:0"
    assert dynet.device("cpu") != "cuda" and dynet.device("cuda:0") != dynet.device("cuda:1")
    assert dynet.device("cpu") != "not a device"
    assert len({dynet.device("cpu"), dynet.Device("cpu"), dynet.device("cuda:1"),
                dynet.device("cuda", 1)}) == 2
    assert {dynet.device("cpu"): 1}[dynet.device("cpu")] == 1


@pytest.mark.parametrize("spec", ["tpu", "gpu:0", "cuda:x", "cpu:1", ""])
def test_unknown_device_raises_runtime_error_naming_it(spec):
    with pytest.raises(RuntimeError) as info:
        dynet.device(spec)
    assert repr(spec) in str(info.value)


def test_device_rejects_non_strings():
    with pytest.raises(TypeError):
        dynet.device(1.5)


def test_cuda_queries_never_raise():
    assert isinstance(dynet.cuda.is_available(), bool)
    count = dynet.cuda.device_count()
    assert isinstance(count, int) and count >= 0
    assert (count > 0) == dynet.cuda.is_available()
    dynet.cuda.synchronize()
    dynet.cuda.synchronize("cuda:0")
    dynet.cuda.synchronize(dynet.device("cuda", 0))
    dynet.cuda.manual_seed_all(3)
    dynet.cuda.manual_seed(3)


@NO_GPU
def test_current_device_never_raises_but_allocation_does_without_gpu():
    assert dynet.cuda.current_device() == 0
    with pytest.raises(RuntimeError, match="CUDA was requested"):
        dynet.zeros(1, device=f"cuda:{dynet.cuda.current_device()}")


@NO_GPU
@pytest.mark.parametrize("make", [
    lambda: dynet.zeros(2, device="cuda"),
    lambda: dynet.tensor([1.0], device="cuda:0"),
    lambda: dynet.randn(3, device="cuda"),
    lambda: dynet.arange(3, device=dynet.device("cuda")),
    lambda: dynet.ones(2).to("cuda"),
    lambda: dynet.ones(2).cuda(),
    # an explicit index skips concrete()'s check: device_context must raise the same error
    lambda: dynet.randn(3, device="cuda:0"),
    lambda: dynet.arange(3, device="cuda:0"),
    lambda: dynet.Generator("cuda:0").stream,
    lambda: dynet.nn.Linear(2, 2).to("cuda:0"),
    lambda: dynet.cuda.get_device_name("cuda:0"),
], ids=["zeros", "tensor", "randn", "arange", "to", "cuda_method", "randn_index",
        "arange_index", "generator", "module_to", "device_name"])
def test_requesting_cuda_without_gpu_raises_clearly(make):
    with pytest.raises(RuntimeError, match="CUDA was requested.*device='cpu'"):
        make()


def test_tensor_device_attribute(device):
    t = dynet.ones(2, 3, device=device)
    assert t.device == device and t.device.type == device
    assert t.is_cuda == (device == "cuda")
    assert str(t.device) == ("cpu" if device == "cpu" else "cuda:0")
    assert dynet.zeros_like(t).device == t.device
    assert (t + 1).device == t.device and t.sum().device == t.device


def test_to_device_round_trip(device):
    x = np.arange(6.0).reshape(2, 3)
    t = dynet.tensor(x, device="cpu")
    moved = t.to(device)
    assert moved.device == device
    assert (moved is t) == (device == "cpu")
    back = moved.cpu()
    np.testing.assert_array_equal(back.numpy(), x)
    assert moved.to(device) is moved


def test_to_device_carries_gradient_back(device):
    x = dynet.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(device) * 3
    y.sum().backward()
    assert x.grad.device == "cpu" and x.grad.tolist() == [3.0, 3.0]


def test_cuda_tensor_numpy_raises_type_error(device):
    if device != "cuda":
        pytest.skip("only a CUDA tensor refuses numpy()")
    t = dynet.ones(2, device="cuda")
    with pytest.raises(TypeError, match="cpu"):
        t.numpy()
    assert "device='cuda:0'" in repr(t)


def test_cpu_repr_has_no_device_suffix(device):
    t = dynet.ones(2, device=device)
    assert ("device=" in repr(t)) == (device == "cuda")


def test_manual_seed_reproducible_on_device(device):
    dynet.manual_seed(123)
    a = dynet.rand(5, device=device).tolist()
    dynet.manual_seed(123)
    b = dynet.rand(5, device=device).tolist()
    assert a == b


@pytest.mark.parametrize("spec, index", [(None, 0), (1, 1), ("cuda", 0), ("cuda:2", 2),
                                         (dynet.device("cuda", 3), 3)])
def test_cuda_device_index_accepts_torch_device_specs(spec, index):
    assert backend_cuda.device_index(spec) == index


def test_backends_flags_that_pytorch_scripts_query():
    assert dynet.backends.mps.is_available() is False
    assert dynet.backends.cudnn.is_available() is False
    dynet.backends.cudnn.benchmark = True  # accepted, as scripts set it; no cuDNN behind it
    dynet.backends.cudnn.deterministic = True
    assert dynet.backends.cuda.is_built() in (True, False)
