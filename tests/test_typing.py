"""Type hints on the public signatures, the py.typed marker, and Args in class docstrings."""
import ast
import inspect
import pathlib
import sys
import typing

import pytest

import dynet
from dynet import nn, optim
from dynet.data import DataLoader, TensorDataset

ROOT = pathlib.Path(__file__).resolve().parent.parent
tensor_module = sys.modules["dynet.tensor"]

FACTORIES = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full", "eye",
             "arange", "linspace", "logspace", "rand", "randn", "randint", "randperm",
             "normal", "zeros_like", "ones_like", "empty_like", "full_like", "rand_like",
             "randn_like", "randint_like"]
OPTIMIZERS = [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad,
              optim.Adadelta]


def assert_annotated(fn, name):
    """Every parameter but self, and the return, has a hint that resolves."""
    hints = typing.get_type_hints(fn)  # raises on a hint naming something undefined
    sig = inspect.signature(fn)
    missing = [p for p in sig.parameters if p != "self" and p not in hints]
    assert not missing, f"{name}: no type hint for {missing}"
    assert "return" in hints, f"{name}: no return type"


def public_methods(cls):
    for name, member in vars(cls).items():
        if isinstance(member, property):
            yield f"{cls.__name__}.{name}", member.fget
        elif inspect.isfunction(member) and (not name.startswith("_") or name in (
                "__init__", "__array__", "__dlpack__", "__dlpack_device__", "__call__",
                "__len__", "__iter__")):
            yield f"{cls.__name__}.{name}", member


@pytest.mark.parametrize("name", FACTORIES)
def test_factory_functions_are_annotated(name):
    assert_annotated(getattr(dynet, name), name)
    assert typing.get_type_hints(getattr(dynet, name))["return"] is dynet.Tensor


def test_tensor_methods_are_annotated():
    # the methods written in tensor.py (the ones copied from ops.functions are covered by
    # the TYPE_CHECKING declarations below)
    source = ast.parse((ROOT / "dynet" / "tensor.py").read_text())
    cls = next(n for n in source.body if isinstance(n, ast.ClassDef) and n.name == "Tensor")
    written = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
    checked = 0
    for name, fn in public_methods(dynet.Tensor):
        if name.split(".")[1] in written:
            assert_annotated(fn, name)
            checked += 1
    assert checked > 60


def test_installed_tensor_methods_are_declared_for_type_checkers():
    source = ast.parse((ROOT / "dynet" / "_tensor_methods.py").read_text())
    cls = next(n for n in source.body if isinstance(n, ast.ClassDef))
    declared = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}
    installed = set(tensor_module._DELEGATED) | {
        a for a, t in tensor_module._ALIASES.items() if t} | {"where"}
    assert not installed - set(declared), "declare these in dynet/_tensor_methods.py"
    for name, node in declared.items():
        assert node.returns is not None, name
        # the declared parameters are those of the method that really gets installed
        real = inspect.signature(getattr(dynet.Tensor, name))
        names = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]
        real_names = [p.name for p in real.parameters.values()
                      if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        assert names[1:] == real_names[1:], name


def test_module_methods_are_annotated():
    for name, fn in public_methods(nn.Module):
        assert_annotated(fn, name)
    hints = typing.get_type_hints(nn.Module.train)
    assert isinstance(hints["return"], typing.TypeVar)  # model.train() keeps its class


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=lambda c: c.__name__)
def test_optimizers_are_annotated_and_document_their_arguments(cls):
    assert_annotated(cls.__init__, f"{cls.__name__}.__init__")
    assert_annotated(cls.step, f"{cls.__name__}.step")
    doc = inspect.getdoc(cls)
    assert "Args:" in doc and "lr" in doc and "params" in doc or cls is optim.AdamW
    for name in ("zero_grad", "state_dict", "load_state_dict", "add_param_group"):
        assert_annotated(getattr(optim.Optimizer, name), name)


def test_data_and_serialization_are_annotated():
    assert_annotated(DataLoader.__init__, "DataLoader.__init__")
    assert_annotated(DataLoader.__len__, "DataLoader.__len__")
    assert_annotated(DataLoader.__iter__, "DataLoader.__iter__")
    assert_annotated(TensorDataset.__init__, "TensorDataset.__init__")
    assert_annotated(dynet.save, "save")
    assert_annotated(dynet.load, "load")
    doc = inspect.getdoc(DataLoader)
    params = inspect.signature(DataLoader.__init__).parameters
    for name in params:
        if name != "self":
            assert f"{name}:" in doc, f"DataLoader's docstring does not describe {name}"


def test_py_typed_marker_is_package_data():
    assert (ROOT / "dynet" / "py.typed").is_file()
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["dynet"]
