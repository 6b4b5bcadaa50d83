#!/usr/bin/env bash
# One call on a lent GPU machine (the device tool's `run`), under 6 minutes on an H200 machine:
#   bash bench/gpu_session.sh        # from the repo root; writes under $OUT (or ./gpu-out)
# The machine has python3 3.12, numpy, cupy-cuda13x, torch (CUDA), pytest and pytest-xdist but
# no network: the project runs from the checkout (PYTHONPATH), never pip.
# Stages, each timestamped in session.log and each capped by `timeout` (caps sum to 330 s):
#   1 nvidia-smi (10 s)  2 unavailable_reason (30 s)  3 cuda cases of the suite, xdist, -rs
#   (150 s)  4 LeNet 5 epochs on cuda + metrics JSON (70 s)  5 bench/run.py --devices cuda
#   --compare torch --quick (70 s).
# Files under $OUT (the tool returns at most 8): session.log, nvidia-smi.txt, pytest-cuda.log,
# lenet-metrics-cuda.json, bench/results.{json,md,png}: 7.
set -uo pipefail
out="${OUT:-gpu-out}"
mkdir -p "$out"
export PYTHONPATH="$PWD" PYTHONUNBUFFERED=1
log="$out/session.log"
: > "$log"
t0=$(date +%s)
stage() { echo "[$(date -u +%H:%M:%S) +$(( $(date +%s) - t0 ))s] $*" | tee -a "$log"; }

stage "1 nvidia-smi"
timeout 10 nvidia-smi > "$out/nvidia-smi.txt" 2>&1
stage "1 nvidia-smi exit $?"

stage "2 dynet.cuda.unavailable_reason()"
timeout 30 python3 -c "import dynet; r = dynet.cuda.unavailable_reason(); print('unavailable_reason:', r); \
print('device:', dynet.cuda.get_device_name() if r is None else '-')" 2>&1 | tee -a "$log"
stage "2 exit ${PIPESTATUS[0]}"

stage "3 pytest: the cuda cases, in parallel (-rs lists every skip)"
timeout 150 python3 -m pytest -q -rs -p no:cacheprovider -n 8 -k "cuda and not test_cuda_compile" \
    tests > "$out/pytest-cuda.log" 2>&1
rc=$?
tail -n 3 "$out/pytest-cuda.log" | tee -a "$log"
stage "3 pytest exit $rc ($(grep -c '^SKIPPED' "$out/pytest-cuda.log") skip lines)"

stage "4 LeNet, 5 epochs on cuda"
timeout 70 python3 -m dynet.examples.lenet --device cuda --epochs 5 \
    --metrics-out "$out/lenet-metrics-cuda.json" 2>&1 | grep -v "ETA" | tail -n 12 >> "$log"
stage "4 lenet exit ${PIPESTATUS[0]}"  # LeNet's own status, not grep's or tail's

stage "5 bench/run.py --devices cuda --compare torch --quick"
timeout 70 python3 bench/run.py --devices cuda --compare torch --quick --out "$out/bench" \
    2>&1 | grep -E "^\[[0-9]+/[0-9]+\] .*:|wrote|Error|error" >> "$log"
stage "5 bench exit ${PIPESTATUS[0]}"
stage "done in $(( $(date +%s) - t0 )) s"
