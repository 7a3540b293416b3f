#!/usr/bin/env bash
# The first command to run on a machine with a GPU (issue 17). From the repository root:
#
#     bash tools/gpu_check.sh
#
# 1. builds meshgraph with its CUDA kernels (MESHGRAPH_CUDA=1) on every core;
# 2. runs the whole test suite with the device-parametrized tests on CUDA (MESHGRAPH_TEST_DEVICES=cuda; the CPU
#    variants are what CI runs everywhere else);
# 3. runs compute-sanitizer --tool memcheck over a CUDA test subset (every op, raw-op checks, deterministic
#    paths), and --tool racecheck over the tests of the kernels that use shared memory (knn, FPS);
# 4. runs the GPU benchmarks (W1 gather_scatter; knn W8: 100k points, K=8; rasterize points (W5) and mesh (W6)
#    at 256^2 and 1024^2), each checked against our CPU kernels before timing;
# 5. writes docs/benchmarks-gpu.md: the card (nvidia-smi), versions, each step's status and time, the benchmark
#    tables and the tail of any failing step's log.
#
# Every step runs even if an earlier one failed (one GPU session should report everything it can); the script
# exits non-zero if any step failed. The steps share a deadline (GPU_CHECK_BUDGET_S, default 470 s) so that the
# whole run stays under 8 minutes on a 16-core machine with one GPU; a step cut off by it counts as failed.
# Logs: $GPU_CHECK_LOGS (default build/gpu_check/).
set -euo pipefail
cd "$(dirname "$0")/.."

START=$(date +%s)
BUDGET=${GPU_CHECK_BUDGET_S:-470}
LOGS=${GPU_CHECK_LOGS:-build/gpu_check}
PY=${PYTHON:-python}
NPROC=$(nproc)
OUT=docs/benchmarks-gpu.md
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log

declare -a NAMES=() STATUS=() SECONDS_TAKEN=()
FAILED=0

# step <name> <budget seconds> <command...>: runs the command with its output in $LOGS/<name>.log, bounded by
# min(budget, time left before the deadline); records pass / FAIL / TIMEOUT.
step() {
  local name=$1 budget=$2 left t0 rc=0
  shift 2
  left=$((BUDGET - ($(date +%s) - START)))
  [ "$left" -lt "$budget" ] && budget=$left
  t0=$(date +%s)
  if [ "$budget" -le 0 ]; then
    rc=124
    echo "deadline reached before this step" >"$LOGS/$name.log"
  else
    echo "== $name (up to ${budget}s): $*"
    timeout --kill-after=10 "$budget" "$@" >"$LOGS/$name.log" 2>&1 || rc=$?
  fi
  NAMES+=("$name")
  SECONDS_TAKEN+=("$(($(date +%s) - t0))")
  if [ "$rc" = 0 ]; then
    STATUS+=("pass")
  elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    STATUS+=("TIMEOUT"); FAILED=1
  else
    STATUS+=("FAIL (exit $rc)"); FAILED=1
  fi
  echo "   ${STATUS[-1]} in ${SECONDS_TAKEN[-1]}s (log: $LOGS/$name.log)"
  tail -n 3 "$LOGS/$name.log" | sed 's/^/   | /'
}

# ---------------------------------------------------------------------------------------------- prerequisites
command -v nvidia-smi >/dev/null || { echo "gpu_check: nvidia-smi not found: no GPU driver on this machine" >&2; exit 1; }
CARD=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -n1)
echo "gpu_check: $CARD; $NPROC cores; budget ${BUDGET}s"
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'torch.cuda.is_available() is False')"
"$PY" -c "import pytest" 2>/dev/null || { echo "gpu_check: pytest must be installed" >&2; exit 1; }
command -v ninja >/dev/null || "$PY" -c "import ninja" 2>/dev/null || echo "gpu_check: warning: no ninja, the build runs serially" >&2
TORCH_LINE=$("$PY" -c "import torch; print(f'torch {torch.__version__} (CUDA {torch.version.cuda})')")
SANITIZER=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -n1 || true)

# ---------------------------------------------------------------------------------------------------- 1. build
export MAX_JOBS=$NPROC
step build 240 env MESHGRAPH_CUDA=1 "$PY" setup.py build_ext --inplace -j "$NPROC"
step cuda-kernels-registered 20 "$PY" -c "
import meshgraph, torch
assert meshgraph._extension.has_cuda_kernels(), 'meshgraph was built without its CUDA kernels'
print('CUDA kernels registered')"

# --------------------------------------------------------------------------------------------------- 2. tests
export MESHGRAPH_TEST_DEVICES=cuda
step tests-cuda 170 "$PY" -m pytest -q -p no:cacheprovider tests

# ------------------------------------------------------------------------------------------- 3. sanitizers
# The caching allocator hides out-of-bounds accesses inside its blocks: allocate every tensor on its own.
SUBSET=(tests/test_raw_op_checks.py tests/test_determinism.py tests/ops/test_gather_scatter.py
  tests/ops/test_neighbor_softmax.py tests/ops/test_packed_to_padded.py tests/ops/test_knn.py
  tests/ops/test_ball_query.py tests/ops/test_sample_farthest_points.py tests/ops/test_point_face_distance.py
  tests/ops/test_rasterize_points.py tests/ops/test_composite_points.py tests/ops/test_interpolate_face_attributes.py
  tests/ops/test_rasterize_meshes.py)
SAN_K="cuda and not gradcheck and not compile and not opcheck and not large"
if [ -n "$SANITIZER" ]; then
  step memcheck 90 env PYTORCH_NO_CUDA_MEMORY_CACHING=1 "$SANITIZER" --tool memcheck --error-exitcode 1 \
    --print-limit 20 "$PY" -m pytest -q -x -p no:cacheprovider "${SUBSET[@]}" -k "$SAN_K"
  step racecheck 45 env PYTORCH_NO_CUDA_MEMORY_CACHING=1 "$SANITIZER" --tool racecheck --racecheck-report hazard \
    --error-exitcode 1 --print-limit 20 "$PY" -m pytest -q -x -p no:cacheprovider tests/ops/test_knn.py \
    tests/ops/test_sample_farthest_points.py -k "$SAN_K"
else
  NAMES+=("sanitizers"); STATUS+=("FAIL (compute-sanitizer not found)"); SECONDS_TAKEN+=(0); FAILED=1
fi

# ------------------------------------------------------------------------------------------------ 4. benchmarks
unset MESHGRAPH_TEST_DEVICES
cd benchmarks
step bench-w1-gather-scatter 40 "$PY" bm_gather_scatter.py --device cuda --threads "$NPROC" --features 64 128
step bench-knn-w8 30 "$PY" bm_knn.py --device cuda --threads "$NPROC"
step bench-rasterize-points 30 "$PY" bm_rasterize_points.py --device cuda --threads "$NPROC" --sizes 256,1024
step bench-rasterize-meshes 30 "$PY" bm_rasterize_meshes.py --device cuda --threads "$NPROC" --sizes 256,1024
cd ..

# --------------------------------------------------------------------------------------------------- 5. report
{
  echo "# GPU check and benchmarks"
  echo
  echo "Written by \`tools/gpu_check.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
  echo
  echo "- card: $CARD (nvidia-smi)"
  echo "- $TORCH_LINE, $NPROC CPU cores, nvcc $(nvcc --version 2>/dev/null | tail -n1 || echo 'not found')"
  echo "- total: $(($(date +%s) - START)) s; result: $([ $FAILED = 0 ] && echo 'every step passed' || echo 'FAILED')"
  echo
  echo "| step | status | seconds |"
  echo "| --- | --- | --- |"
  for i in "${!NAMES[@]}"; do echo "| ${NAMES[$i]} | ${STATUS[$i]} | ${SECONDS_TAKEN[$i]} |"; done
  for b in bench-w1-gather-scatter bench-knn-w8 bench-rasterize-points bench-rasterize-meshes; do
    echo
    echo "## $b"
    echo
    echo '```'
    cat "$LOGS/$b.log" 2>/dev/null || echo "(not run)"
    echo '```'
  done
  for i in "${!NAMES[@]}"; do
    if [ "${STATUS[$i]}" != pass ] && [ -f "$LOGS/${NAMES[$i]}.log" ]; then
      echo
      echo "## ${NAMES[$i]}: ${STATUS[$i]} (last 40 lines of the log)"
      echo
      echo '```'
      tail -n 40 "$LOGS/${NAMES[$i]}.log"
      echo '```'
    fi
  done
} >"$OUT"
echo "gpu_check: wrote $OUT in $(($(date +%s) - START)) s: $([ $FAILED = 0 ] && echo 'all steps passed' || echo 'FAILED')"
exit $FAILED
