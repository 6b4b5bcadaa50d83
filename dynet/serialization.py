"""Checkpoints without pickle: dynet.save / dynet.load.

A checkpoint is ONE NumPy .npz archive. Its entry "structure" is UTF-8 JSON describing the
saved object (nested dicts, OrderedDicts, lists and tuples of tensors, NumPy arrays and
scalars, and plain Python numbers, strings, booleans and None); every tensor is stored as a
host array entry "t<N>" with its dtype, shape, device and requires_grad recorded in the JSON.
Loading uses np.load(..., allow_pickle=False), so a checkpoint can never run code.

Saving to a path is atomic: the archive is written to a temporary file in the same
directory, flushed and fsynced, then renamed over the target with os.replace, so a crash
leaves either the old file or the new one, never a torn mix, and no temporary file behind.

Tensor subclasses (nn.Parameter) load back as plain tensors with their requires_grad, as
in a PyTorch state_dict; load_state_dict copies them into the parameters.

Devices: map_location=None puts each tensor back on the device it was saved from and raises
a RuntimeError (telling you to pass map_location='cpu') when that device is unusable here; a
device ('cpu', 'cuda', 'cuda:1', a dynet.device) sends every tensor there; a dict such as
{'cuda:0': 'cpu'} remaps saved devices one by one (others stay as saved).
"""
from __future__ import annotations

import io
import json
import os
import pickle
import uuid
import zipfile
from collections import Counter, OrderedDict
from typing import Any, Callable, Dict, Optional, Union

import numpy as np

from . import dtypes
from ._typing import DeviceLike, FileLike
from .backend import CPU, as_device, concrete, cuda, device_context, move
from .tensor import Tensor

FORMAT = "dynet.checkpoint"
VERSION = 1
_STRUCTURE = "structure"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_NPY_MAGIC = b"\x93NUMPY"

# map_location: one device for every tensor, a {saved device: device} dict, or a callable
MapLocation = Union[DeviceLike, Dict[str, DeviceLike], Callable[..., Any], None]


class CheckpointError(RuntimeError, ValueError):
    """A file that is not a readable dynet checkpoint (pickled, truncated or foreign)."""


# ---------------------------------------------------------------------------------------
# save


def save(obj: Any, f: FileLike, pickle_module: Any = None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True,
         _disable_byteorder_record: bool = False) -> None:
    """Saves `obj` to a path or a binary file, as torch.save.

    The archive always records byte order: each array's .npy header names it ('<f4'), so
    _disable_byteorder_record (which drops torch's separate byteorder entry) changes nothing.

    Tensors, NumPy arrays, numbers, strings and dicts/lists/tuples of them are stored without
    pickle (loadable with weights_only=True); any other picklable object (a whole Module, a
    custom class) is pickled inside the archive, its tensors still stored as arrays, and
    needs dynet.load(..., weights_only=False). A path ending in ".safetensors" writes a
    safetensors file instead (a flat {name: Tensor} dict such as a state_dict).
    """
    if _is_path(f) and _is_safetensors(f):
        from ._safetensors import save_file
        return save_file(obj, os.fspath(f))
    arrays = {}
    structure = {"format": FORMAT, "version": VERSION,
                 "obj": _Encoder(arrays).encode(obj, "obj")}
    # Everything that can fail on a bad object failed above, before any file was touched.
    payload = json.dumps(structure, allow_nan=True).encode("utf-8")
    entries = {_STRUCTURE: np.frombuffer(payload, dtype=np.uint8)}
    entries.update(arrays)
    if _is_path(f):
        _write_atomic(os.fspath(f), entries)
    else:
        if isinstance(f, io.TextIOBase) or not hasattr(f, "write"):
            raise TypeError(f"dynet.save expects a path or a binary file object, got "
                            f"{type(f).__name__}")
        _write_npz(f, entries)


def _is_path(f):
    return isinstance(f, (str, bytes, os.PathLike))


def _write_npz(fileobj, entries):
    np.savez(fileobj, **entries)


def _write_atomic(path, entries):
    path = os.path.abspath(path)
    directory, name = os.path.split(path)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"dynet.save: directory {directory!r} does not exist "
                                f"(saving {path!r})")
    tmp, fd = _open_temp(directory, name)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_npz(fh, entries)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:  # also KeyboardInterrupt: never leave a partial temp file behind
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _open_temp(directory, name):
    # os.open with mode 0o666 lets the umask decide the permissions, as for a plain open()
    # (tempfile.mkstemp would leave the checkpoint readable by its owner only).
    for _ in range(100):
        tmp = os.path.join(directory, f".{name}.{uuid.uuid4().hex[:12]}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
        except FileExistsError:
            continue
        return tmp, fd
    raise FileExistsError(f"dynet.save: could not create a temporary file in {directory!r}")


def _fsync_directory(directory):
    """Makes the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Encoder:
    """Turns an object into JSON-able structure, collecting arrays into `arrays`."""

    def __init__(self, arrays):
        self.arrays = arrays
        self.tensor_keys = {}  # id(tensor) -> entry name: shared tensors stay shared
        self.active = set()  # ids of containers being encoded (cycle detection)

    def _add_array(self, array):
        key = f"t{len(self.arrays)}"
        self.arrays[key] = array
        return key

    def encode(self, obj, path):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, Tensor):
            return self._tensor(obj, path)
        if isinstance(obj, np.generic):  # before float: np.float64 subclasses float
            arr = np.asarray(obj)
            self._check_dtype(arr.dtype, obj, path)
            return {"T": "npscalar", "k": self._add_array(arr), "dtype": arr.dtype.name}
        if isinstance(obj, np.ndarray):
            if obj.dtype.hasobject or obj.dtype.kind not in "biufc":
                return self._pickled(obj, path)
            return {"T": "ndarray", "k": self._add_array(obj), "dtype": obj.dtype.name,
                    "shape": list(obj.shape)}
        if isinstance(obj, (int, float)):
            return int(obj) if isinstance(obj, int) else float(obj)
        if isinstance(obj, (dict, list, tuple)) and type(obj) not in _PLAIN_CONTAINERS:
            return self._pickled(obj, path)  # a subclass (namedtuple, defaultdict) keeps its type
        if isinstance(obj, dict) and not all(_plain_key(k) for k in obj):
            return self._pickled(obj, path)
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in self.active:
                raise ValueError(f"dynet.save: circular reference at {path}")
            self.active.add(id(obj))
            try:
                return self._container(obj, path)
            finally:
                self.active.discard(id(obj))
        return self._pickled(obj, path)

    def _pickled(self, obj, path):
        """Pickles what JSON cannot describe; its tensors still go to array entries."""
        encoder = self

        class _Pickler(pickle.Pickler):
            def persistent_id(self, o):
                if isinstance(o, Tensor):
                    node = encoder._tensor(o, path)
                    if type(o) is not Tensor:
                        node["cls"] = f"{type(o).__module__}.{type(o).__qualname__}"
                    return node
                return None

        buf = io.BytesIO()
        try:
            _Pickler(buf, protocol=4).dump(obj)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise TypeError(f"dynet.save cannot save an object of type {_qualname(obj)} "
                            f"(at {path}): it is not picklable ({exc})") from exc
        return {"T": "pickle", "k": self._add_array(np.frombuffer(buf.getvalue(), np.uint8)),
                "type": _qualname(obj)}

    def _container(self, obj, path):
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                items.append([self._key(k, path), self.encode(v, f"{path}[{k!r}]")])
            kind = ("odict" if isinstance(obj, OrderedDict) else
                    "counter" if isinstance(obj, Counter) else "dict")
            return {"T": kind, "items": items}
        kind = "tuple" if isinstance(obj, tuple) else "list"
        return {"T": kind, "items": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]}

    def _key(self, key, path):
        if key is None or isinstance(key, (bool, str)):
            return key
        if isinstance(key, (int, float)) and not isinstance(key, np.generic):
            return int(key) if isinstance(key, int) else float(key)
        if isinstance(key, tuple):
            return {"T": "tuple", "items": [self._key(k, path) for k in key]}
        raise TypeError(f"dynet.save cannot save a dict key of type {_qualname(key)} "
                        f"(key {key!r} at {path}); keys must be str, int, float, bool, None "
                        "or tuples of them")

    def _tensor(self, t, path):
        key = self.tensor_keys.get(id(t))
        data = t._data
        if key is None:
            key = self._add_array(move(data, CPU))
            self.tensor_keys[id(t)] = key
        return {"T": "tensor", "k": key, "dtype": data.dtype.name, "shape": list(data.shape),
                "device": str(t.device), "requires_grad": bool(t.requires_grad)}

    @staticmethod
    def _check_dtype(dtype, obj, path):
        if dtype.hasobject or dtype.kind not in "biufc":
            raise TypeError(f"dynet.save cannot save a NumPy array of dtype {dtype} (at "
                            f"{path}): only numeric and bool arrays are stored without pickle")


_PLAIN_CONTAINERS = (dict, OrderedDict, Counter, list, tuple)  # as torch's weights_only allows


def _plain_key(key):
    if key is None or isinstance(key, (bool, str)):
        return True
    if isinstance(key, (int, float)) and not isinstance(key, np.generic):
        return True
    return isinstance(key, tuple) and type(key) is tuple and all(_plain_key(k) for k in key)


def _is_safetensors(f):
    name = os.fspath(f)
    name = name.decode() if isinstance(name, bytes) else name
    return name.lower().endswith(".safetensors")


def _qualname(obj):
    t = type(obj)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


# ---------------------------------------------------------------------------------------
# load


def load(f: FileLike, map_location: MapLocation = None, pickle_module: Any = None, *,
         weights_only: Optional[bool] = None, mmap: Optional[bool] = None,
         **pickle_load_args: Any) -> Any:
    """Loads an object written by dynet.save from a path or a binary file object.

    map_location: None (each tensor back on its saved device), a device for all tensors, or
    a dict mapping saved device strings to devices. weights_only (default True, as in
    PyTorch 2.6+) loads tensors, arrays, numbers, strings and containers without unpickling
    and refuses pickled objects; weights_only=False also unpickles them (only for files you
    trust: unpickling can run arbitrary code). mmap is accepted and ignored. A path ending in
    ".safetensors" is read with the safetensors library and gives {name: Tensor}.
    """
    mapper = _DeviceMapper(map_location)
    mapper.weights_only = True if weights_only is None else bool(weights_only)
    if _is_path(f) and _is_safetensors(f):
        from ._safetensors import load_file
        return load_file(os.fspath(f), mapper)
    if _is_path(f):
        name = os.fspath(f)
        name = name.decode() if isinstance(name, bytes) else name
        try:
            fh = open(name, "rb")
        except FileNotFoundError:
            raise FileNotFoundError(f"dynet.load: no such file: {name!r}") from None
        with fh:
            return _load_from(fh, name, mapper)
    if isinstance(f, io.TextIOBase):
        raise TypeError(f"dynet.load: {getattr(f, 'name', f)!r} is opened in text mode; open "
                        "it with 'rb'")
    if not hasattr(f, "read"):
        raise TypeError(f"dynet.load expects a path or a binary file object, got "
                        f"{type(f).__name__}")
    name = getattr(f, "name", None)
    name = name if isinstance(name, str) else f"<{type(f).__name__}>"
    if not (hasattr(f, "seekable") and f.seekable()):
        f = io.BytesIO(f.read())  # np.load and zipfile need to seek
    return _load_from(f, name, mapper)


def _load_from(fh, name, mapper):
    start = fh.tell()
    head = fh.read(8)
    fh.seek(start)
    _check_header(head, name)
    try:
        npz = np.load(fh, allow_pickle=False)
    except Exception as exc:
        raise CheckpointError(f"{name!r} is not a readable dynet checkpoint: the archive is "
                              f"truncated or corrupted ({type(exc).__name__}: {exc})") from exc
    with npz:
        files = set(npz.files)
        if _STRUCTURE not in files:
            raise CheckpointError(_foreign_zip_message(name, sorted(files)))
        structure = _read_structure(npz, name)
        try:
            return _Decoder(npz, name, mapper, files).decode(structure["obj"])
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            raise CheckpointError(f"{name!r}: the checkpoint structure is malformed "
                                  f"({type(exc).__name__}: {exc})") from exc


def _check_header(head, name):
    if len(head) == 0:
        raise CheckpointError(f"{name!r} is empty: not a dynet checkpoint (a save that never "
                              "completed?)")
    if head.startswith(_ZIP_MAGIC):
        return
    if head.startswith(_NPY_MAGIC):
        raise CheckpointError(f"{name!r} is a single NumPy .npy array, not a dynet checkpoint "
                              "(load it with numpy.load)")
    if head[:1] == b"\x80":
        raise CheckpointError(f"{name!r} holds pickled Python objects (e.g. written by "
                              "pickle.dump or a legacy torch.save); dynet.load never unpickles "
                              "because unpickling can run arbitrary code. Re-save the data "
                              "with dynet.save.")
    if len(head) < 4 and _ZIP_MAGIC[0].startswith(head):
        raise CheckpointError(f"{name!r} is truncated: only {len(head)} bytes")
    raise CheckpointError(f"{name!r} is not a dynet checkpoint (unrecognised header "
                          f"{head!r}; a dynet checkpoint is a .npz ZIP archive)")


def _foreign_zip_message(name, files):
    shown = ", ".join(files[:5]) + (", ..." if len(files) > 5 else "")
    if any(f.endswith("data.pkl") or f.endswith(".pkl") for f in files):
        return (f"{name!r} is a PyTorch torch.save archive (it holds pickled objects: "
                f"{shown}); dynet.load never unpickles. Convert it by loading with torch and "
                "re-saving tensors as NumPy arrays with dynet.save.")
    return (f"{name!r} is a ZIP/.npz archive but not a dynet checkpoint: it has no "
            f"'{_STRUCTURE}' entry (entries: {shown or 'none'})")


def _read_structure(npz, name):
    try:
        raw = npz[_STRUCTURE]
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise ValueError(f"entry '{_STRUCTURE}' has dtype {raw.dtype} and shape {raw.shape}")
        structure = json.loads(raw.tobytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise CheckpointError(f"{name!r}: the checkpoint's structure entry is unreadable "
                              f"(truncated or corrupted: {type(exc).__name__}: {exc})") from exc
    if not isinstance(structure, dict) or structure.get("format") != FORMAT:
        raise CheckpointError(f"{name!r} is an .npz archive with a '{_STRUCTURE}' entry that "
                              "is not a dynet checkpoint header")
    if structure.get("version", 0) > VERSION:
        raise CheckpointError(f"{name!r} was written by a newer dynet (checkpoint format "
                              f"version {structure.get('version')}, this dynet reads up to "
                              f"{VERSION}); upgrade dynet to load it")
    return structure


class _DeviceMapper:
    """Resolves map_location for each saved device string."""

    def __init__(self, map_location):
        self.table = None
        self.target = None
        if map_location is None:
            return
        if isinstance(map_location, dict):
            # keyed by Device, whose equality treats 'cuda' and 'cuda:0' as the same GPU
            self.table = {as_device(k): as_device(v) for k, v in map_location.items()}
        elif callable(map_location) and not isinstance(map_location, str):
            raise TypeError("dynet.load: a callable map_location is not supported; pass a "
                            "device or a dict like {'cuda:0': 'cpu'}")
        else:
            self.target = as_device(map_location)

    def __call__(self, saved, name):
        if self.target is not None:
            device = self.target
        else:
            device = as_device(saved)
            if self.table is not None:
                device = self.table.get(device, device)
        if device.type == "cuda":
            if not cuda.is_available():
                how = (f"{name!r}: map_location sends tensors saved on {saved} to {device}"
                       if self.target is not None or self.table is not None
                       else f"{name!r} holds tensors saved on {saved}")
                raise RuntimeError(
                    f"{how}, but CUDA is not available on this machine. Pass "
                    "map_location='cpu' to dynet.load to load them on the CPU.")
            index = device.index or 0
            if index >= cuda.device_count():
                raise RuntimeError(
                    f"{name!r} holds tensors for {device}, but only {cuda.device_count()} CUDA "
                    "device(s) exist here. Pass map_location (e.g. 'cuda:0' or 'cpu') to "
                    "dynet.load.")
        return concrete(device)


class _Decoder:
    """Rebuilds the saved object from the structure and the archive's arrays."""

    def __init__(self, npz, name, mapper, files):
        self.npz, self.name, self.mapper, self.files = npz, name, mapper, files
        self.tensors = {}  # entry -> Tensor: a tensor saved twice loads as one object

    def decode(self, node):
        if not isinstance(node, dict):
            return node
        kind = node.get("T")
        if kind in ("dict", "odict", "counter"):
            cls = {"odict": OrderedDict, "counter": Counter}.get(kind, dict)
            return cls((self._key(k), self.decode(v)) for k, v in node["items"])
        if kind == "list":
            return [self.decode(v) for v in node["items"]]
        if kind == "tuple":
            return tuple(self.decode(v) for v in node["items"])
        if kind == "tensor":
            return self._tensor(node)
        if kind == "ndarray":
            return self._array(node["k"], node["dtype"], node["shape"])
        if kind == "npscalar":
            return self._array(node["k"], node["dtype"], []).reshape(())[()]
        if kind == "pickle":
            return self._unpickle(node)
        raise CheckpointError(f"{self.name!r}: unknown node type {kind!r} in the checkpoint "
                              "structure (written by a newer dynet?)")

    def _unpickle(self, node):
        if self.mapper.weights_only:
            raise pickle.UnpicklingError(_weights_only_message(node.get("type", "object")))
        raw = self.npz[node["k"]]
        decoder = self

        class _Unpickler(pickle.Unpickler):
            def persistent_load(self, pid):
                t = decoder._tensor(pid)
                if pid.get("cls") == "dynet.nn.parameter.Parameter" or (
                        pid.get("cls", "").endswith(".Parameter")):
                    from .nn import Parameter
                    key = ("param", pid["k"])
                    p = decoder.tensors.get(key)
                    if p is None:
                        p = decoder.tensors[key] = Parameter(t, t.requires_grad)
                    return p
                return t

        return _Unpickler(io.BytesIO(raw.tobytes())).load()

    def _key(self, k):
        if isinstance(k, dict) and k.get("T") == "tuple":
            return tuple(self._key(x) for x in k["items"])
        return k

    def _array(self, key, dtype, shape):
        if key + ".npy" not in self.files and key not in self.files:
            raise CheckpointError(f"{self.name!r} is missing array entry {key!r} (truncated or "
                                  "edited archive)")
        try:
            arr = self.npz[key]
        except Exception as exc:
            raise CheckpointError(f"{self.name!r}: array entry {key!r} is unreadable "
                                  f"({type(exc).__name__}: {exc}); the file is truncated, "
                                  "corrupted or holds pickled objects") from exc
        if arr.dtype != np.dtype(dtype) or list(arr.shape) != list(shape):
            raise CheckpointError(f"{self.name!r}: array entry {key!r} has dtype {arr.dtype} and "
                                  f"shape {tuple(arr.shape)}, but the structure says {dtype} "
                                  f"{tuple(shape)}")
        return arr

    def _tensor(self, node):
        key = node["k"]
        t = self.tensors.get(key)
        if t is not None:
            return t
        arr = self._array(key, node["dtype"], node["shape"])
        dtypes.from_numpy_dtype(arr.dtype)
        device = self.mapper(node.get("device", "cpu"), self.name)
        if device.type != "cpu":
            with device_context(device):
                arr = move(arr, device)
        t = Tensor._make(arr, False)
        if node.get("requires_grad"):
            t.requires_grad = True
        self.tensors[key] = t
        return t


def _weights_only_message(what):
    return ("Weights only load failed. This file can still be loaded, to do so you have two "
            "options, do those steps only if you trust the source of the checkpoint. \n\t(1) "
            "Re-running `dynet.load` with `weights_only` set to `False` will likely succeed, "
            "but it can result in arbitrary code execution. Do it only if you got the file "
            "from a trusted source.\n\t(2) Alternatively, re-save only tensors, arrays, "
            "numbers, strings and dicts/lists/tuples of them (e.g. model.state_dict()), "
            "which load with `weights_only=True`.\n\tWeightsUnpickler error: Unsupported "
            f"global: GLOBAL {what} was not an allowed global by default.")


__all__ = ["save", "load", "CheckpointError"]
