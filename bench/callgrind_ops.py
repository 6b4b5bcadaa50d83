"""Instruction counts per tiny op (dynet only), under valgrind's callgrind: repeatable on a
loaded machine where wall-clock timings are not.

    PYTHONPATH=. .venv/bin/python bench/callgrind_ops.py [--calls 2000] [OP ...]

One valgrind run for all ops: each op's step (bench/op_overhead.py's cases) is warmed up,
then callgrind's counters are zeroed, the step runs `calls` times and the counters are
dumped (callgrind's client requests, through a ten-line C library compiled here with the
system's gcc and valgrind headers). Prints instructions per call; chain100 counts one
whole chain (100 ops forward + backward).
"""
import argparse
import ctypes
import glob
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_C = r"""
#include <valgrind/callgrind.h>
void cg_zero(void) { CALLGRIND_ZERO_STATS; }
void cg_dump(const char *name) { CALLGRIND_DUMP_STATS_AT(name); }
"""


def _child(lib, ops, calls):
    sys.path.insert(0, str(ROOT))
    from bench import op_overhead, workloads as wl
    cg = ctypes.CDLL(lib)
    cases = op_overhead.cases()
    adapter = wl.load_adapter("dynet")
    for op in ops:
        step, _ = cases[op](adapter, "cpu")
        n = max(calls // 100, 5) if op == "chain100" else calls
        for _ in range(50):
            step()
        cg.cg_zero()
        for _ in range(n):
            step()
        cg.cg_dump(f"{op}:{n}".encode())


def main():
    """Prints instructions per call for each chosen op."""
    if len(sys.argv) > 3 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[4:], int(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ops", nargs="*")
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench import op_overhead
    ops = args.ops or list(op_overhead.cases())
    with tempfile.TemporaryDirectory() as tmp:
        lib = os.path.join(tmp, "cg.so")
        src = os.path.join(tmp, "cg.c")
        Path(src).write_text(_C)
        subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", lib, src], check=True)
        out = os.path.join(tmp, "cg.out")
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", "--collect-atstart=yes",
             f"--callgrind-out-file={out}", sys.executable, __file__, "--child", lib,
             str(args.calls)] + ops, capture_output=True, text=True, cwd=ROOT, env=env)
        if proc.returncode:
            raise RuntimeError(f"callgrind failed:\n{proc.stderr[-3000:]}")
        for path in sorted(glob.glob(out + ".*")):
            text = Path(path).read_text(errors="replace")
            trigger = re.search(r"^desc: Trigger: Client Request: (\S+):(\d+)", text, re.M)
            total = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
            if trigger and total:
                op, n = trigger.group(1), int(trigger.group(2))
                print(f"{op:12s} {int(total.group(1)) / n:12,.0f} instructions per call",
                      flush=True)


if __name__ == "__main__":
    main()
