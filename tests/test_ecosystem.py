"""dynet.accelerator and set_default_device / get_default_device honoured by the factories."""
import numpy as np
import pytest

import dynet
from dynet import nn

FACTORIES = {
    "tensor": lambda: dynet.tensor([1.0, 2.0]),
    "as_tensor": lambda: dynet.as_tensor(np.ones(2)),
    "zeros": lambda: dynet.zeros(2),
    "ones": lambda: dynet.ones(2, 1),
    "empty": lambda: dynet.empty(3),
    "full": lambda: dynet.full((2,), 3.0),
    "eye": lambda: dynet.eye(2),
    "arange": lambda: dynet.arange(3),
    "linspace": lambda: dynet.linspace(0, 1, 3),
    "logspace": lambda: dynet.logspace(0, 1, 3),
    "rand": lambda: dynet.rand(2),
    "randn": lambda: dynet.randn(2),
    "randint": lambda: dynet.randint(0, 5, (2,)),
    "randperm": lambda: dynet.randperm(4),
    "normal": lambda: dynet.normal(0.0, 1.0, (2,)),
    "Tensor": lambda: dynet.Tensor(2, 2),
    "Linear": lambda: nn.Linear(2, 3).weight,
}


@pytest.fixture
def default_cuda():
    dynet.set_default_device("cuda")
    yield
    dynet.set_default_device(None)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_every_factory_honours_the_default_device(name, default_cuda):
    if dynet.cuda.is_available():
        assert FACTORIES[name]().device.type == "cuda"
    else:  # no GPU: the factory really targets CUDA, so it raises the clear CUDA error
        with pytest.raises(RuntimeError, match="CUDA"):
            FACTORIES[name]()
    dynet.set_default_device("cpu")
    assert FACTORIES[name]().device == dynet.device("cpu")


def test_default_device_get_set_and_context_manager():
    assert dynet.get_default_device() == dynet.device("cpu")
    with dynet.device("cuda:0"):
        assert dynet.get_default_device() == dynet.device("cuda:0")
        assert dynet.from_numpy(np.ones(1)).device.type == "cpu"  # always shares host memory
        with dynet.device("cpu"):
            assert dynet.zeros(1).device.type == "cpu"
        assert dynet.get_default_device().type == "cuda"
    assert dynet.get_default_device() == dynet.device("cpu")
    t = dynet.zeros(2)
    dynet.set_default_device("cuda")
    try:
        assert dynet.zeros_like(t).device.type == "cpu"  # *_like follow their input
        assert t.new_zeros(2).device.type == "cpu"
    finally:
        dynet.set_default_device(None)


def test_accelerator_queries_match_cuda():
    acc = dynet.accelerator
    assert acc.is_available() == dynet.cuda.is_available()
    assert acc.device_count() == dynet.cuda.device_count()
    assert acc.current_device_index() == dynet.cuda.current_device()
    cur = acc.current_accelerator(check_available=True)
    assert (cur == dynet.device("cuda")) if acc.is_available() else cur is None
    acc.synchronize()  # never raises without a GPU
    with pytest.raises(ValueError, match="accelerator"):
        acc.set_device_index("cpu")
    if not acc.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            acc.set_device_index(0)
        with acc.device_index(None):
            pass


def test_distribution_marker_tells_this_dynet_from_cmus():
    # PyPI's `dynet` (CMU's DyNet) imports under the same name; README documents this check
    assert dynet.__distribution__ == "dynet-autograd"
    from importlib import metadata
    try:
        metadata.distribution("dynet-autograd")
    except metadata.PackageNotFoundError:
        pytest.skip("dynet-autograd is not installed (only on PYTHONPATH)")
    assert "dynet-autograd" in metadata.packages_distributions().get("dynet", [])
