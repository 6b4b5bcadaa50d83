"""Shared fixtures: the `device` fixture runs a test on the CPU and, where usable, on CUDA."""
import numpy as np
import pytest

import dynet
from dynet.backend import cuda

DEVICES = ["cpu", "cuda"]


def no_cuda_reason():
    """The skip reason of a cuda case: why CUDA is unusable here (dynet.cuda's own words)."""
    return (f"no usable CUDA GPU here ({cuda.unavailable_reason()}): "
            "cuda cases run on a GPU machine")


@pytest.fixture(params=DEVICES)
def device(request):
    if request.param == "cuda" and not cuda.is_available():
        pytest.skip(no_cuda_reason())
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _seed():
    dynet.manual_seed(0)
    yield


@pytest.fixture
def serial_cpu():
    """dynet's CPU kernels on the calling thread only (dynet.set_num_threads(1))."""
    prev = dynet.get_num_threads()
    dynet.set_num_threads(1)
    yield
    dynet.set_num_threads(prev)


@pytest.fixture
def split_cpu(monkeypatch):
    """Every CPU kernel that can split its work does, over 3 threads (an uneven split),
    however small the arrays: the parallel code paths on test-sized inputs."""
    from dynet.backend import parallel
    monkeypatch.setattr(parallel, "MIN_WORK", 0)
    monkeypatch.setattr(parallel, "MIN_SPLIT_GEMM", 0)
    monkeypatch.setattr(parallel, "REGION_WINDOW", float("inf"))  # matmul splits too
    prev = dynet.get_num_threads()
    dynet.set_num_threads(3)
    yield
    dynet.set_num_threads(prev)


def to_numpy(t):
    """Host copy of a tensor's data as float64-able NumPy (works for CPU and CUDA)."""
    return np.asarray(t.detach().cpu().numpy())
