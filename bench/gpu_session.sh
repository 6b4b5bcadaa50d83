#!/usr/bin/env bash
# One call on a lent GPU machine (the device tool's `run`): every check the GPU issues ask for,
# logs written under $OUT (or ./gpu-out), in the order that fails fastest. It writes 7 files
# (the device tool brings back at most 8), the rest goes to stdout.
#   bash bench/gpu_session.sh            # on the GPU machine, from the repo root
# The machine has numpy, cupy-cuda13x, torch (CUDA) and pytest but no network: run the
# project from the checkout (PYTHONPATH), never pip install.
set -uo pipefail
out="${OUT:-gpu-out}"
mkdir -p "$out"
export PYTHONPATH="$PWD" PYTHONUNBUFFERED=1
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
python3 -c "import dynet; print('cuda usable:', dynet.cuda.is_available(), \
dynet.cuda.get_device_name() if dynet.cuda.is_available() else '')"
# 1. the whole suite with its cuda cases (-rs lists any skip, so a skipped cuda case shows)
python3 -m pytest -q -rs -p no:cacheprovider tests > "$out/pytest-cuda.log" 2>&1
echo "pytest exit $?"; tail -n 3 "$out/pytest-cuda.log"
# 2. LeNet on the bundled sample, on the GPU
python3 -m dynet.examples.lenet --device cuda --metrics-out "$out/lenet-metrics-cuda.json" \
    2>&1 | grep -v "samples/s ETA"
echo "lenet exit $?"
# 3. the benchmark, CPU and CUDA side by side, against PyTorch
python3 bench/run.py --devices cpu,cuda --compare torch ${BENCH_ARGS:-} --out "$out/bench" \
    2>&1 | tee "$out/bench.log" | grep -E "^\[[0-9]+/[0-9]+\] .*:" || true
