"""dynet.save / dynet.load: pickle-free .npz checkpoints, atomic writes, clear rejections."""
import io
import json
import math
import os
import pathlib
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import dynet
from dynet import optim, serialization
from dynet.backend import cuda
from dynet.serialization import CheckpointError, load, save

try:
    import torch
except ImportError:  # pragma: no cover - torch is optional
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed")
DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def _np(t):
    return np.asarray(t.detach().cpu().numpy())


def _values(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 100, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tensor_dtypes_round_trip(dtype, device, tmp_path):
    a = _values(dtype, (3, 4))
    t = dynet.tensor(a, device=device)
    save(t, tmp_path / "t.ckpt")
    back = load(tmp_path / "t.ckpt")
    assert isinstance(back, dynet.Tensor)
    assert back.dtype == t.dtype and back.device == t.device and back.shape == (3, 4)
    np.testing.assert_array_equal(_np(back), a)


@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (1,)])
def test_zero_d_and_empty_tensors(shape, device, tmp_path):
    t = dynet.tensor(_values("float64", shape), device=device)
    save({"t": t}, tmp_path / "e.ckpt")
    back = load(tmp_path / "e.ckpt")["t"]
    assert back.shape == shape and back.dtype == dynet.float64
    np.testing.assert_array_equal(_np(back), _np(t))


def test_nested_structures_round_trip(tmp_path):
    w = dynet.randn(3, 2)
    obj = {
        "model": OrderedDict([("fc.weight", w), ("fc.bias", dynet.zeros(2))]),
        "epoch": 7, "best": 0.125, "name": "run-ünï", "done": False, "note": None,
        "big": 2 ** 70, "inf": math.inf, "ninf": -math.inf,
        "hist": [1, 2.5, [3, (4, "x")], ()],
        "by_int": {0: "a", 1: {"nested": [dynet.tensor([1, 2])]}},
        ("tuple", 1): "tuple key", 2.5: "float key", None: "none key", True: "bool key",
        "pair": (dynet.tensor(True), [dynet.tensor(3.5, dtype=dynet.float64)]),
    }
    save(obj, tmp_path / "n.ckpt")
    back = load(tmp_path / "n.ckpt")
    assert type(back["model"]) is OrderedDict and list(back["model"]) == ["fc.weight", "fc.bias"]
    np.testing.assert_array_equal(_np(back["model"]["fc.weight"]), _np(w))
    for key in ("epoch", "best", "name", "done", "note", "big", "inf", "ninf"):
        assert back[key] == obj[key] and type(back[key]) is type(obj[key]), key
    assert back["hist"] == [1, 2.5, [3, (4, "x")], ()]
    assert isinstance(back["hist"][2][1], tuple)
    assert back["by_int"][0] == "a" and set(back["by_int"]) == {0, 1}
    assert back["by_int"][1]["nested"][0].dtype == dynet.int64
    assert back[("tuple", 1)] == "tuple key" and back[2.5] == "float key"
    assert back[None] == "none key" and back[True] == "bool key"
    assert isinstance(back["pair"], tuple) and back["pair"][0].item() is True
    assert back["pair"][1][0].item() == 3.5
    assert list(back) == list(obj)  # insertion order kept


def test_nan_numpy_values_requires_grad_and_sharing(tmp_path):
    p = dynet.randn(4, requires_grad=True)
    view_source = dynet.randn(3, 4)
    obj = {"p": p, "alias": p, "nan": math.nan, "arr": np.arange(6).reshape(2, 3),
           "scalar": np.float32(1.5), "i": np.int64(3), "t": view_source.t()}
    save(obj, tmp_path / "s.ckpt")
    back = load(tmp_path / "s.ckpt")
    assert back["p"].requires_grad and back["p"].is_leaf
    assert back["alias"] is back["p"]  # one tensor saved twice loads as one tensor
    assert math.isnan(back["nan"])
    assert isinstance(back["arr"], np.ndarray) and back["arr"].dtype == np.int64
    np.testing.assert_array_equal(back["arr"], obj["arr"])
    assert type(back["scalar"]) is np.float32 and back["scalar"] == np.float32(1.5)
    assert type(back["i"]) is np.int64 and back["i"] == 3
    np.testing.assert_array_equal(_np(back["t"]), _np(view_source).T)


def test_file_objects_and_pathlike(tmp_path):
    buf = io.BytesIO()
    save({"x": dynet.arange(5)}, buf)
    buf.seek(0)
    np.testing.assert_array_equal(_np(load(buf)["x"]), np.arange(5))
    path = pathlib.Path(tmp_path) / "p.ckpt"
    save([1, 2], path)
    assert load(str(path)) == [1, 2]
    with open(path, "rb") as fh:
        assert load(fh) == [1, 2]
    with open(path) as text:
        with pytest.raises(TypeError, match="text mode"):
            load(text)
    with pytest.raises(TypeError, match="binary file object"):
        save([1], io.StringIO())


def test_checkpoint_is_a_plain_npz_with_a_json_structure(tmp_path):
    save({"w": dynet.ones(2, 3)}, tmp_path / "c.ckpt")
    with np.load(tmp_path / "c.ckpt", allow_pickle=False) as npz:
        assert sorted(npz.files) == ["structure", "t0"]
        structure = json.loads(npz["structure"].tobytes().decode())
        assert structure["format"] == "dynet.checkpoint" and structure["version"] == 1
        node = structure["obj"]["items"][0][1]
        assert node["dtype"] == "float32" and node["shape"] == [2, 3]
        assert node["device"] == "cpu"
        np.testing.assert_array_equal(npz["t0"], np.ones((2, 3), np.float32))


def test_saved_file_permissions_follow_the_umask(tmp_path):
    if os.name != "posix":
        pytest.skip("POSIX permissions only")
    mask = os.umask(0o022)
    try:
        save([1], tmp_path / "m.ckpt")
    finally:
        os.umask(mask)
    assert (os.stat(tmp_path / "m.ckpt").st_mode & 0o777) == 0o644


def _tmp_leftovers(directory):
    return [n for n in os.listdir(directory) if n.endswith(".tmp")]


@pytest.mark.parametrize("exc", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_crash_during_write_keeps_old_file_and_no_temp(exc, tmp_path, monkeypatch):
    path = tmp_path / "model.ckpt"
    save({"epoch": 1, "w": dynet.ones(3)}, path)
    original = path.read_bytes()

    def crash(fileobj, entries):
        fileobj.write(b"PK\x03\x04 partial")  # half an archive, then the process "dies"
        raise exc

    monkeypatch.setattr(serialization, "_write_npz", crash)
    with pytest.raises(type(exc)):
        save({"epoch": 2, "w": dynet.zeros(3)}, path)
    assert path.read_bytes() == original
    assert load(path)["epoch"] == 1
    assert _tmp_leftovers(tmp_path) == []


def test_failed_fsync_and_failed_replace_leave_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "model.ckpt"
    save("old", path)

    def failing_fsync(fd):
        raise OSError("I/O error")

    with monkeypatch.context() as m:
        m.setattr(serialization.os, "fsync", failing_fsync)
        with pytest.raises(OSError, match="I/O error"):
            save("new", path)
    assert load(path) == "old" and _tmp_leftovers(tmp_path) == []

    def failing_replace(src, dst):
        raise PermissionError("read-only target")

    with monkeypatch.context() as m:
        m.setattr(serialization.os, "replace", failing_replace)
        with pytest.raises(PermissionError):
            save("new", path)
    assert load(path) == "old" and _tmp_leftovers(tmp_path) == []
    save("new", path)  # and an ordinary overwrite replaces it
    assert load(path) == "new"


@pytest.mark.parametrize("obj,where,what", [
    ({"f": lambda x: x}, "obj['f']", "function"),
    ({"a": [1, {"g": (lambda: 0)}]}, "obj['a'][1]['g']", "function"),
])
def test_unpicklable_objects_raise_type_error_naming_type_and_path(obj, where, what, tmp_path):
    path = tmp_path / "bad.ckpt"
    save("old", path)
    with pytest.raises(TypeError) as info:
        save(obj, path)
    assert where in str(info.value) and what in str(info.value)
    assert load(path) == "old" and _tmp_leftovers(tmp_path) == []


@pytest.mark.parametrize("obj", [
    {"a": [1, {"b": {1, 2}}]},
    [{1, 2}],
    {"arr": np.array([1, "a"], dtype=object)},
    {frozenset(): 1},
])
def test_picklable_objects_need_weights_only_false(obj, tmp_path):
    path = tmp_path / "p.ckpt"
    save(obj, path)
    with pytest.raises(pickle.UnpicklingError, match="weights_only"):
        load(path)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        load(path, weights_only=True)
    back = load(path, weights_only=False)
    if isinstance(obj, dict) and "arr" in obj:
        assert back["arr"].tolist() == obj["arr"].tolist()
    else:
        assert back == obj


def test_circular_reference_is_rejected(tmp_path):
    a = []
    a.append(a)
    with pytest.raises(ValueError, match=r"circular reference at obj\[0\]"):
        save(a, tmp_path / "c.ckpt")
    assert not (tmp_path / "c.ckpt").exists()


def _assert_rejected(path, *fragments):
    with pytest.raises(CheckpointError) as info:
        load(path)
    msg = str(info.value)
    assert os.fspath(path) in msg
    for frag in fragments:
        assert frag in msg, msg
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ValueError)


def test_pickle_files_are_rejected(tmp_path):
    path = tmp_path / "pickled.pt"
    with open(path, "wb") as fh:
        pickle.dump({"w": [1.0, 2.0]}, fh)
    _assert_rejected(path, "pickled", "never unpickles")
    npy = tmp_path / "objects.npy"
    np.save(npy, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    _assert_rejected(npy, ".npy")
    npz = tmp_path / "objects.npz"
    structure = {"format": "dynet.checkpoint", "version": 1,
                 "obj": {"T": "ndarray", "k": "t0", "dtype": "object", "shape": [1]}}
    np.savez(npz, structure=np.frombuffer(json.dumps(structure).encode(), np.uint8),
             t0=np.array([{"a": 1}], dtype=object))
    _assert_rejected(npz, "pickled")


@needs_torch
def test_torch_save_files_are_rejected(tmp_path):
    path = tmp_path / "torch.pt"
    torch.save({"w": torch.ones(2)}, path)
    _assert_rejected(path, "torch.save", "pickled")
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    _assert_rejected(legacy, "pickled")


def test_truncated_and_corrupted_files_are_rejected(tmp_path):
    good = tmp_path / "good.ckpt"
    save({"w": dynet.randn(64), "epoch": 3}, good)
    data = good.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 2):
        bad = tmp_path / f"cut{cut}.ckpt"
        bad.write_bytes(data[:cut])
        _assert_rejected(bad, "truncated")
    empty = tmp_path / "empty.ckpt"
    empty.write_bytes(b"")
    _assert_rejected(empty, "empty")
    # flip bytes inside the tensor's data: the ZIP CRC check catches it
    corrupt = bytearray(data)
    offset = data.index(b"\x93NUMPY", data.index(b"t0.npy")) + 200
    corrupt[offset:offset + 8] = bytes(8)
    bad = tmp_path / "crc.ckpt"
    bad.write_bytes(bytes(corrupt))
    _assert_rejected(bad, "corrupted")


def test_foreign_files_are_rejected(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a checkpoint\n")
    _assert_rejected(text, "not a dynet checkpoint")
    plain_npz = tmp_path / "plain.npz"
    np.savez(plain_npz, weights=np.ones(3))
    _assert_rejected(plain_npz, "no 'structure' entry", "weights")
    with pytest.raises(FileNotFoundError, match="no such file"):
        load(tmp_path / "missing.ckpt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save([1], tmp_path / "no_dir" / "x.ckpt")


def _cuda_checkpoint(path):
    """A checkpoint whose tensor was saved from cuda:0 (written by hand: no GPU needed)."""
    structure = {"format": "dynet.checkpoint", "version": 1,
                 "obj": {"T": "dict", "items": [["w", {
                     "T": "tensor", "k": "t0", "dtype": "float32", "shape": [2],
                     "device": "cuda:0", "requires_grad": False}]]}}
    np.savez(path, structure=np.frombuffer(json.dumps(structure).encode(), np.uint8),
             t0=np.array([1.0, 2.0], np.float32))


def test_cuda_checkpoint_on_cpu_machine_needs_map_location(tmp_path):
    path = tmp_path / "gpu.npz"
    _cuda_checkpoint(path)
    if not cuda.is_available():
        with pytest.raises(RuntimeError, match="map_location='cpu'") as info:
            load(path)
        assert "cuda:0" in str(info.value) and os.fspath(path) in str(info.value)
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            load(path, map_location={"cpu": "cpu"})  # the cuda:0 tensor is left unmapped
        with pytest.raises(RuntimeError, match="map_location sends"):
            load(path, map_location="cuda")
    else:
        assert load(path)["w"].device.type == "cuda"
    for loc in ("cpu", dynet.device("cpu"), {"cuda:0": "cpu"}, {"cuda": "cpu"}):
        w = load(path, map_location=loc)["w"]
        assert w.device == dynet.device("cpu")
        np.testing.assert_array_equal(_np(w), [1.0, 2.0])


def test_map_location(device, tmp_path):
    path = tmp_path / "m.ckpt"
    save({"a": dynet.ones(2, device=device), "b": dynet.zeros(1)}, path)
    out = load(path)
    assert out["a"].device == dynet.device(device) and out["b"].device == dynet.device("cpu")
    out = load(path, map_location="cpu")
    assert out["a"].device == out["b"].device == dynet.device("cpu")
    out = load(path, map_location=device)
    assert out["a"].device == out["b"].device == dynet.device(device)
    out = load(path, map_location={"cpu": device})
    assert out["b"].device == dynet.device(device)
    with pytest.raises(TypeError, match="callable map_location"):
        load(path, map_location=lambda storage, loc: storage)


def test_optimizer_and_model_checkpoint_round_trip(device, tmp_path):
    w = dynet.randn(3, 2, device=device, requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    w.grad = dynet.ones(3, 2, device=device)
    opt.step()
    save({"model": {"w": w.detach()}, "optimizer": opt.state_dict(), "epoch": 1},
         tmp_path / "ckpt.npz")
    ckpt = load(tmp_path / "ckpt.npz", map_location="cpu")
    assert ckpt["epoch"] == 1
    assert ckpt["optimizer"]["param_groups"][0]["params"] == [0]
    buf = ckpt["optimizer"]["state"][0]["momentum_buffer"]
    assert buf.device == dynet.device("cpu")
    np.testing.assert_array_equal(_np(buf), np.ones((3, 2), np.float32))
