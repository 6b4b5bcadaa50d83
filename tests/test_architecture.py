"""Layering rules checked on the source: cupy only inside dynet/backend/, no sys.exit anywhere."""
import ast
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "dynet"
SOURCES = sorted(PACKAGE.rglob("*.py"))


def _relative(path):
    return path.relative_to(PACKAGE.parent).as_posix()


def _imported_modules(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                node.func, "id", None)) in ("import_module", "__import__"):
            for arg in node.args[:1]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    yield node.lineno, arg.value


def _is_cupy(module):
    return module.split(".")[0] in ("cupy", "cupyx")


def _sys_exit_calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr == "exit" and \
                    isinstance(f.value, ast.Name) and f.value.id in ("sys", "os"):
                yield node.lineno
            if isinstance(f, ast.Attribute) and f.attr == "_exit" and \
                    isinstance(f.value, ast.Name) and f.value.id == "os":
                yield node.lineno
            if isinstance(f, ast.Name) and f.id in ("exit", "quit"):
                yield node.lineno
        if isinstance(node, ast.ImportFrom) and node.module == "sys" and \
                any(a.name == "exit" for a in node.names):
            yield node.lineno


def test_sources_were_found():
    assert len(SOURCES) > 10 and any(p.name == "tensor.py" for p in SOURCES)


@pytest.mark.parametrize("path", SOURCES, ids=_relative)
def test_cupy_imported_only_inside_backend(path):
    if "backend" in path.relative_to(PACKAGE).parts[:1]:
        return
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    offenders = [f"line {line}: {module}" for line, module in _imported_modules(tree)
                 if _is_cupy(module)]
    assert not offenders, (f"{_relative(path)} imports cupy outside dynet/backend/ "
                           f"({', '.join(offenders)}); use dynet.backend.xp_of(array)")


@pytest.mark.parametrize("path", SOURCES, ids=_relative)
def test_no_sys_exit(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    lines = list(_sys_exit_calls(tree))
    assert not lines, f"{_relative(path)} exits the interpreter at line(s) {lines}; raise instead"


def test_scanner_detects_violations():
    bad = ast.parse("import cupy\nfrom cupyx.scipy import ndimage\nimport sys\nsys.exit(1)\n"
                    "importlib.import_module('cupy')\nexit()\n")
    assert [m for _, m in _imported_modules(bad) if _is_cupy(m)] == [
        "cupy", "cupyx.scipy", "cupy"]
    assert list(_sys_exit_calls(bad)) == [4, 6]
    good = ast.parse("from . import cuda\nimport numpy as np\nx.exit_code = 1\n")
    assert not [m for _, m in _imported_modules(good) if _is_cupy(m)]
    assert not list(_sys_exit_calls(good))


def test_import_emits_no_warnings():
    result = subprocess.run([sys.executable, "-W", "error", "-c", "import dynet"],
                            cwd=PACKAGE.parent, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
