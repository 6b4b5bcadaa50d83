"""Imports flow one way (DESIGN.md): autograd Functions live in dynet/ops (and autograd),
backend/cuda.py never imports backend/device.py, data/ never imports the top-level package
or nn, and nn.functional imports conv/pool plainly."""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "dynet"


def _tree(relative):
    path = PACKAGE / relative
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imports(relative):
    """Absolute module names imported anywhere in the file (relative imports resolved)."""
    package = ["dynet"] + list(pathlib.PurePosixPath(relative).parent.parts)
    out = set()
    for node in ast.walk(_tree(relative)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            if node.module:  # `from .. import x` imports dynet.x, not dynet's own names
                out.add(module)
            out.update(f"{module}.{alias.name}" for alias in node.names)
    return out


def test_cuda_does_not_import_device():
    assert "dynet.backend.cuda" in _imports("backend/device.py")
    assert not any(m.startswith("dynet.backend.device") for m in _imports("backend/cuda.py"))


@pytest.mark.parametrize("path", sorted(p.relative_to(PACKAGE).as_posix()
                                        for p in (PACKAGE / "data").rglob("*.py")))
def test_data_does_not_import_the_package_or_nn(path):
    bad = {m for m in _imports(path) if m == "dynet" or m.startswith("dynet.nn")}
    assert not bad, f"dynet/{path} imports {sorted(bad)}"


def _function_subclasses(relative):
    for node in ast.walk(_tree(relative)):
        if isinstance(node, ast.ClassDef) and any(
                getattr(b, "id", getattr(b, "attr", None)) == "Function" for b in node.bases):
            yield node.name


def test_functions_live_in_ops():
    outside = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.split("/")[0] in ("ops", "autograd"):
            continue
        names = list(_function_subclasses(rel))
        if names:
            outside[rel] = names
    assert not outside, f"autograd Functions outside dynet/ops: {outside}"


def test_nn_functional_has_no_lazy_getattr():
    tree = _tree("nn/functional.py")
    assert not [n for n in tree.body if isinstance(n, ast.FunctionDef)
                and n.name == "__getattr__"]
    from dynet.nn import functional
    from dynet.ops import conv, pool
    assert functional.conv2d is conv.conv2d and functional.max_pool2d is pool.max_pool2d
    assert all(hasattr(functional, name) for name in functional.__all__)


def test_scanner_sees_relative_imports():
    assert "dynet.ops.functions" in _imports("data/dataloader.py") or \
        "dynet.tensor" in _imports("data/dataloader.py")
    assert "dynet.backend.deferred" in _imports("backend/cuda.py")
