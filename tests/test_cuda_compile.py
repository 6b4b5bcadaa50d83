"""Every CUDA kernel dynet can build, compiled with NVRTC for sm_90 and sm_80 through CuPy's
own code generation (float16/32/64 where the kernel takes them, 32- and 64-bit indexing),
without a GPU; a broken body must fail. Needs the cuda-check extra; skips without it, and
fails instead where DYNET_REQUIRE_CUDA_CHECK is set (CI)."""
import ast
import os
import pathlib

import pytest

import cuda_codegen as cg
from dynet.backend import kernels

cupy, WHY_NOT = cg.cupy_or_reason()
if cupy is None and os.environ.get("DYNET_REQUIRE_CUDA_CHECK"):
    raise RuntimeError(f"DYNET_REQUIRE_CUDA_CHECK is set but {WHY_NOT}: install the "
                       "cuda-check extra (pip install -e '.[cuda-check]')")
needs_nvrtc = pytest.mark.skipif(
    cupy is None, reason=f"the cuda-check extra is not installed ({WHY_NOT}): "
                         "pip install -e '.[cuda-check]'")
MODULES = {m.__name__: m for m in kernels.kernel_modules()}
ENTRIES = [(mod, entry) for mod, m in MODULES.items() for entry in getattr(m, "CUDA_KERNELS", ())]
RAW = [(mod, entry) for mod, m in MODULES.items()
       for entry in getattr(m, "CUDA_RAW_KERNELS", ())]
PACKAGE = pathlib.Path(kernels.__file__).resolve().parents[2]


def _dtypes(module):
    return getattr(module, "CUDA_DTYPES", cg.DEFAULT_DTYPES)


@pytest.fixture
def binaries():
    with cg.pinned_arch(cupy) as out:
        yield out


def test_the_registry_is_not_empty_and_names_are_unique():
    assert len(ENTRIES) >= 4 + 100  # conv, pool, and every optimizer flag combination
    names = [entry[0] for _, entry in ENTRIES] + [entry[0] for _, entry in RAW]
    assert len(names) == len(set(names)), "two kernels share a name (the kernel cache key)"
    for mod, entry in ENTRIES:
        assert len(entry) == 4 and all(isinstance(s, str) for s in entry), (mod, entry[0])


@needs_nvrtc
@pytest.mark.parametrize("arch", cg.ARCHS)
@pytest.mark.parametrize("mod, entry", ENTRIES, ids=[e[0] for _, e in ENTRIES])
def test_elementwise_kernel_compiles(mod, entry, arch, binaries):
    module = MODULES[mod]
    for dtype in _dtypes(module):
        for index_32_bits in (True, False):
            code = cg.elementwise_source(cupy, module, entry, dtype, index_32_bits)
            cg.compile_source(cupy, code, arch, binaries)


if RAW:  # defined only when some module lists a raw kernel: an empty parametrize skips
    @needs_nvrtc
    @pytest.mark.parametrize("arch", cg.ARCHS)
    @pytest.mark.parametrize("mod, entry", RAW, ids=[e[0] for _, e in RAW])
    def test_raw_kernel_compiles(mod, entry, arch, binaries):
        cg.compile_raw(cupy, entry[1], arch, binaries)


BROKEN = [
    ("undeclared name", lambda body: body + "\nundeclared_name_ = 1;"),
    ("missing semicolon mid-body", lambda body: body.rstrip().rstrip(";") + "\nint z = 0"),
    ("type error", lambda body: body + "\nT* q = 3.5;"),
]


@needs_nvrtc
@pytest.mark.parametrize("breakage", BROKEN, ids=[b[0] for b in BROKEN])
def test_negative_control_a_broken_body_fails_to_compile(breakage, binaries):
    mod, entry = next((m, e) for m, e in ENTRIES if e[0] == "im2col")
    name, ins, outs, body = entry
    code = cg.elementwise_source(cupy, MODULES[mod], (name, ins, outs, breakage[1](body)),
                                 "float32", True)
    priv_exc = cupy.cuda.compiler.CompileException
    with pytest.raises(priv_exc):
        cg.compile_source(cupy, code, "90", binaries)
    # ...while the intact body compiles in the same harness
    cg.compile_source(cupy, cg.elementwise_source(cupy, MODULES[mod], entry, "float32", True),
                      "90", binaries)


@needs_nvrtc
def test_raw_kernel_harness_and_its_negative_control(binaries):
    good = 'extern "C" __global__ void dynet_probe(float* y) { y[threadIdx.x] = 1.0f; }'
    cg.compile_raw(cupy, good, "90", binaries)
    with pytest.raises(cupy.cuda.compiler.CompileException):
        cg.compile_raw(cupy, good.replace("1.0f;", "1.0f"), "90", binaries)


@needs_nvrtc
def test_generated_source_follows_dtype_and_index_width():
    mod, entry = next((m, e) for m, e in ENTRIES if e[0] == "maxpool2d_fwd")
    c32 = cg.elementwise_source(cupy, MODULES[mod], entry, "float16", True)
    c64 = cg.elementwise_source(cupy, MODULES[mod], entry, "float64", False)
    assert "typedef float16 T;" in c32 and "CArray<float16, 4, 1, 1> x" in c32
    assert "typedef double T;" in c64 and "CIndexer<1, 0>" in c64
    assert "const int H" in c32 and "CArray<long long, 1, 1, 0> _raw_idx" in c64


# ---------------------------------------------------------------------------------------
# Registration: every kernel built in dynet/ goes through backend.cuda's factories, which
# refuse a definition that no CUDA_KERNELS list holds.

KERNEL_CLASSES = {"ElementwiseKernel", "RawKernel", "RawModule", "ReductionKernel"}


def _sources():
    return sorted((PACKAGE / "dynet").rglob("*.py"))


def test_cupy_kernel_classes_are_built_only_by_the_registered_factories():
    offenders = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            name = node.attr if isinstance(node, ast.Attribute) else \
                node.id if isinstance(node, ast.Name) else None
            if name in KERNEL_CLASSES and path.name != "cuda.py":
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {name}")
    assert not offenders, ("build kernels through backend.cuda.elementwise_kernel/raw_kernel "
                           f"so they are registered: {offenders}")


def test_kernel_builders_live_in_modules_with_a_registry_and_literal_names_are_listed():
    table, raw = kernels.registered_kernels(), kernels.registered_raw_kernels()
    problems = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defines = {t.id for node in tree.body if isinstance(node, ast.Assign)
                   for t in node.targets if isinstance(t, ast.Name)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("elementwise_kernel", "raw_kernel")):
                continue
            where = f"{path.relative_to(PACKAGE)}:{node.lineno}"
            listing = "CUDA_KERNELS" if node.func.attr == "elementwise_kernel" \
                else "CUDA_RAW_KERNELS"
            if listing not in defines:
                problems.append(f"{where}: module has no {listing}")
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and first.value not in (
                    table if listing == "CUDA_KERNELS" else raw):
                problems.append(f"{where}: {first.value!r} is not in {listing}")
    assert not problems, problems


def test_the_factory_refuses_an_unregistered_definition(monkeypatch):
    from dynet.backend import cuda
    built = []

    class FakeCupy:
        def ElementwiseKernel(self, *args):
            built.append(args)
            return object()

    monkeypatch.setattr(cuda, "_cupy", FakeCupy())
    monkeypatch.setattr(cuda, "_elementwise_kernels", {})
    name, ins, outs, body = next(e for _, e in ENTRIES if e[0] == "col2im")
    with pytest.raises(RuntimeError, match="dynet_col2im is not listed"):
        cuda.elementwise_kernel(name, ins, outs, body + " ")  # a body that differs
    with pytest.raises(RuntimeError, match="dynet_nope is not listed"):
        cuda.elementwise_kernel("nope", ins, outs, body)
    assert not built
    cuda.elementwise_kernel(name, ins, outs, body)
    assert built == [(ins, outs, body, "dynet_col2im")]
