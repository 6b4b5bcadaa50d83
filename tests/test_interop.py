"""Interop: safetensors, DLPack, the NumPy array protocol, __format__/__index__, pickled saves."""
import operator
import pickle

import numpy as np
import pytest

import dynet
from dynet import nn
from dynet.serialization import CheckpointError

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None
try:
    import safetensors.numpy  # noqa: F401
    HAVE_ST = True
except ImportError:  # pragma: no cover
    HAVE_ST = False

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed")
needs_st = pytest.mark.skipif(not HAVE_ST, reason="safetensors not installed")


def _net(lib):
    return lib.nn.Sequential(lib.nn.Conv2d(1, 2, 3), lib.nn.ReLU(), lib.nn.Flatten(),
                             lib.nn.Linear(8, 3))


# ------------------------------------------------------------------ safetensors

@needs_st
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int64", "int32", "int8",
                                   "uint8", "bool"])
def test_safetensors_round_trip_keeps_names_dtypes_shapes(dtype, tmp_path):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal((2, 3)) * 10).astype(dtype)
    sd = {"a.weight": dynet.tensor(arr), "b": dynet.tensor(arr[:, ::2]),  # non-contiguous
          "empty": dynet.tensor(arr[:0]), "scalar": dynet.tensor(arr[0, 0])}
    path = tmp_path / "m.safetensors"
    dynet.save(sd, path)
    with open(path, "rb") as fh:  # a real safetensors file, not dynet's .npz
        assert fh.read(2) != b"PK"
    back = dynet.load(path)
    assert set(back) == set(sd)
    for k, v in sd.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape
        np.testing.assert_array_equal(back[k].numpy(), v.numpy())
    assert dynet.load(path, map_location="cpu")["b"].device == dynet.device("cpu")


@needs_st
@needs_torch
def test_safetensors_weights_move_between_torch_and_dynet(tmp_path):
    from safetensors.torch import load_file, save_file
    torch.manual_seed(0)
    tnet, dnet = _net(torch), _net(dynet)
    save_file(tnet.state_dict(), tmp_path / "t.safetensors")
    dnet.load_state_dict(dynet.load(tmp_path / "t.safetensors"))
    x = np.random.default_rng(1).standard_normal((2, 1, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(dnet(dynet.tensor(x)).detach().numpy(),
                               tnet(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    for p in dnet.parameters():
        p.data = p.data * 2
    dynet.save(dnet.state_dict(), str(tmp_path / "d.safetensors"))
    tnet.load_state_dict(load_file(tmp_path / "d.safetensors"))
    np.testing.assert_allclose(dnet(dynet.tensor(x)).detach().numpy(),
                               tnet(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    t64 = {"x": torch.arange(3, dtype=torch.int64), "h": torch.ones(2, dtype=torch.float16)}
    save_file(t64, tmp_path / "i.safetensors")
    back = dynet.load(tmp_path / "i.safetensors")
    assert back["x"].dtype == dynet.int64 and back["h"].dtype == dynet.float16


@needs_st
def test_safetensors_bad_files_and_objects_raise_naming_the_file(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file at all")
    with pytest.raises(CheckpointError, match="bad.safetensors"):
        dynet.load(bad)
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        dynet.load(tmp_path / "nope.safetensors")
    with pytest.raises(TypeError, match="dict"):
        dynet.save([dynet.ones(2)], tmp_path / "l.safetensors")
    with pytest.raises(TypeError, match="'n'"):
        dynet.save({"n": 3}, tmp_path / "l.safetensors")
    with pytest.raises(RuntimeError, match="map_location='cpu'"):
        if dynet.cuda.is_available():
            pytest.skip("needs a machine without CUDA")
        dynet.save({"a": dynet.ones(1)}, tmp_path / "ok.safetensors")
        dynet.load(tmp_path / "ok.safetensors", map_location="cuda")


# ------------------------------------------------------------------ pickled objects

def test_save_whole_module_needs_weights_only_false(tmp_path):
    net = _net(dynet)
    path = tmp_path / "net.pt"
    dynet.save(net, path)
    with pytest.raises(pickle.UnpicklingError) as info:
        dynet.load(path)
    assert "weights_only" in str(info.value) and "Sequential" in str(info.value)
    back = dynet.load(path, weights_only=False)
    assert isinstance(back[0].weight, nn.Parameter) and back[0].weight.requires_grad
    x = dynet.randn(2, 1, 4, 4)
    np.testing.assert_array_equal(back(x).detach().numpy(), net(x).detach().numpy())


def test_optimizer_state_and_arrays_load_weights_only(tmp_path):
    net = nn.Linear(3, 2)
    opt = dynet.optim.Adam(net.parameters())
    net(dynet.randn(4, 3)).sum().backward()
    opt.step()
    ckpt = {"model": net.state_dict(), "opt": opt.state_dict(), "arr": np.arange(3), "ep": 2}
    dynet.save(ckpt, tmp_path / "c.pt")
    back = dynet.load(tmp_path / "c.pt")  # weights_only=True by default: no pickle needed
    opt2 = dynet.optim.Adam(nn.Linear(3, 2).parameters())
    opt2.load_state_dict(back["opt"])
    assert back["ep"] == 2 and back["arr"].tolist() == [0, 1, 2]


# ------------------------------------------------------------------ DLPack

@needs_torch
def test_dlpack_shares_memory_with_torch_both_ways():
    x = torch.arange(4.0)
    d = dynet.from_dlpack(x)
    x[0] = 7.0
    assert d[0].item() == 7.0 and d.dtype == dynet.float32
    t = dynet.arange(6.0).reshape(2, 3)
    tt = torch.from_dlpack(t)
    tt[1, 1] = -1.0
    assert t[1, 1].item() == -1.0
    cap = dynet.utils.dlpack.to_dlpack(dynet.ones(3))
    assert torch.utils.dlpack.from_dlpack(cap).tolist() == [1.0, 1.0, 1.0]
    y = torch.ones(2)
    dy = dynet.from_dlpack(torch.utils.dlpack.to_dlpack(y))
    y[1] = 3.0
    assert dy.tolist() == [1.0, 3.0]


def test_dlpack_shares_memory_with_numpy_both_ways():
    a = np.zeros((2, 3))[:, ::2]  # non-contiguous
    d = dynet.from_dlpack(a)
    a[0, 1] = 5.0
    assert d[0, 1].item() == 5.0 and d.dtype == dynet.float64
    t = dynet.zeros(3)
    n = np.from_dlpack(t)
    n[2] = 4.0
    assert t[2].item() == 4.0
    assert t.__dlpack_device__() == (1, 0)
    with pytest.raises(RuntimeError, match="require gradient"):
        dynet.ones(2, requires_grad=True).__dlpack__()
    with pytest.raises(TypeError, match="__dlpack__"):
        dynet.from_dlpack([1, 2])


# ------------------------------------------------------------------ Python/NumPy protocol

def test_array_protocol_numpy2_copy_semantics():
    t = dynet.arange(4.0)
    shared = np.asarray(t)
    shared[0] = 9.0
    assert t[0].item() == 9.0
    copied = np.array(t)
    copied[1] = -1.0
    assert t[1].item() == 1.0
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="copy"):
        np.asarray(t, dtype=np.float64, copy=False)
    assert np.shares_memory(np.asarray(t, copy=False), shared)


@pytest.mark.skipif(not dynet.cuda.is_available(), reason="CUDA not available")
def test_array_protocol_refuses_cuda_tensors():
    with pytest.raises(TypeError, match="cpu()"):
        np.asarray(dynet.ones(2, device="cuda"))


def test_format_and_index():
    loss = dynet.tensor(0.123456)
    assert f"{loss:.4f}" == "0.1235" and f"{dynet.tensor(3):>3d}" == "  3"
    with pytest.raises(TypeError):
        f"{dynet.ones(2):.4f}"
    assert f"{dynet.ones(2)}" == str(dynet.ones(2))
    assert operator.index(dynet.tensor(2)) == 2 and [10, 20, 30][dynet.tensor(1)] == 20
    with pytest.raises(TypeError):
        operator.index(dynet.tensor(1.5))
