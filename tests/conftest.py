"""Shared fixtures: the `device` fixture runs a test on the CPU and, where usable, on CUDA."""
import numpy as np
import pytest

import dynet
from dynet.backend import cuda

DEVICES = ["cpu", "cuda"]
NO_CUDA_REASON = ("no usable CUDA GPU here (CuPy missing, no driver, or no device): "
                  "cuda cases run on a GPU machine")


@pytest.fixture(params=DEVICES)
def device(request):
    if request.param == "cuda" and not cuda.is_available():
        pytest.skip(NO_CUDA_REASON)
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _seed():
    dynet.manual_seed(0)
    yield


def to_numpy(t):
    """Host copy of a tensor's data as float64-able NumPy (works for CPU and CUDA)."""
    return np.asarray(t.detach().cpu().numpy())
