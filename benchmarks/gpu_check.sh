#!/usr/bin/env bash
# The one prepared GPU check (issue 13, item 6): at most 10 minutes on one GPU (its parts' time limits add up to
# 570 s). Run it whenever a GPU is lent (device tool: `run` with `bash benchmarks/gpu_check.sh`) and commit results/gpu_check/ with the GPU named.
#   1. the CUDA tests (tests/test_cuda.py: forward, a training step and enhance agree with the CPU)
#   2. the CUDA bench at cpu, gpu and paper widths (forward, training step with the speed switches: strict fp32,
#      Adamax loop, torch.compile; each as a fraction of the TF32 matmul ceiling)
#   3. a slice of the gpu profile through the study's path: stage (a) for 300 steps, scored (gpu_slice.py)
#   4. the smallest point of the gpu profile's scaling curve (central, k = 0.25; docs/scaling.md), when the
#      data sets it trains and scores on are on the machine (`python -m starlib data status`); else a line
#      saying it was skipped. Its budget folder goes to results/gpu_check/scaling/.
# Each part has its own time limit and a failed part does not stop the others; the exit status says whether
# all passed. Outputs go to $OUT (default results/gpu_check/) and, on the device tool, to its $OUT as well.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
if [ ! -x "$PY" ]; then make venv >/dev/null || exit 1; fi
DEST=results/gpu_check
mkdir -p "$DEST"
status=0
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$DEST/gpu.csv" 2>&1 || status=1
# the inductor test (a cold compile, a minute or more) is left to users with time on a GPU; the bench times
# torch.compile itself (a failed switch there becomes a train_step_failed row, not a lost run)
timeout 90 "$PY" -m pytest -q -p no:cacheprovider tests/test_cuda.py -k "not compiled" \
    > "$DEST/cuda_tests.txt" 2>&1 || status=1
# the training steps come last and the CSV is rewritten after each, so a cut-off bench keeps what it measured
timeout 250 "$PY" benchmarks/bench.py --device cuda --profile gpu --widths cpu gpu paper \
    --out "$DEST/benchmarks_cuda.csv" > "$DEST/bench.txt" 2>&1 || status=1
timeout 120 "$PY" benchmarks/gpu_slice.py --steps 300 --items 40 --device cuda \
    --out "$DEST/gpu_slice.csv" > "$DEST/gpu_slice.txt" 2>&1 || status=1
if "$PY" -m starlib data status >/dev/null 2>&1; then
    timeout 110 "$PY" -m starlib scaling --profile gpu --group central --budgets 0.25 --device cuda \
        > "$DEST/scaling.txt" 2>&1 || status=1
    if [ -d results/gpu/scaling/k0.25 ]; then mkdir -p "$DEST/scaling" && cp -r results/gpu/scaling/k0.25 "$DEST/scaling/"; fi
else
    echo "scaling point skipped: the data sets are not on this machine (python -m starlib data status)" \
        > "$DEST/scaling.txt"
fi
tail -n 3 "$DEST"/*.txt
if [ -n "${OUT:-}" ] && [ -d "${OUT}" ]; then cp -r "$DEST" "$OUT/"; fi
exit $status
