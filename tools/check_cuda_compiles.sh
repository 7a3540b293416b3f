#!/usr/bin/env bash
# Compile-only check of every CUDA source against the headers of a CUDA build of torch, on a machine with
# nvcc but no GPU and a CPU-only torch. Recipe and rationale: DEVELOPERS.md.
#
# Headers come from wheels (torch CUDA build + nvidia cu13 header wheels), unpacked once into
# $MESHGRAPH_CACHE (default ~/.cache/meshgraph). A source whose hash (itself, the repo headers it may include,
# nvcc's version and the flags) already passed is skipped. Two files compile at a time.
# Exit status: 0 when every file compiles (or nvcc is absent and MESHGRAPH_REQUIRE_NVCC!=1), 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${MESHGRAPH_CACHE:-$HOME/.cache/meshgraph}
TORCH_CUDA_VERSION=${MESHGRAPH_CUDA_TORCH:-2.14.1}
HDR=$CACHE/cuda-headers-$TORCH_CUDA_VERSION
PASSED=$CACHE/cuda-compiled
ARCH=${MESHGRAPH_CUDA_ARCH:-"-gencode arch=compute_90,code=sm_90"}
JOBS=${MESHGRAPH_CUDA_JOBS:-2}

if ! command -v nvcc >/dev/null 2>&1; then
  if [ "${MESHGRAPH_REQUIRE_NVCC:-0}" = 1 ]; then echo "check_cuda_compiles: nvcc not found" >&2; exit 1; fi
  echo "check_cuda_compiles: nvcc not found, CUDA compile check not run"; exit 0
fi
mkdir -p "$CACHE" "$PASSED"

fetch_wheel() {  # fetch_wheel <pip requirement> -> path of the wheel (from pip's local folders or PyPI)
  local dir=$CACHE/wheels
  mkdir -p "$dir"
  python -m pip download -q --no-deps --only-binary=:all: -d "$dir" "$1" >&2
  ls -t "$dir"/$(echo "${1%%[=<>]*}" | tr - _)-*.whl | head -n1
}

if [ ! -f "$HDR/.complete" ]; then
  echo "check_cuda_compiles: unpacking CUDA headers into $HDR"
  rm -rf "$HDR" && mkdir -p "$HDR"
  python - "$HDR" "$(fetch_wheel torch==$TORCH_CUDA_VERSION)" 'torch/include/' <<'PY'
import sys, zipfile
dest, wheel, prefix = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    z.extractall(dest, [n for n in z.namelist() if n.startswith(prefix)])
PY
  for pkg in nvidia-cublas nvidia-cusparse nvidia-cusolver nvidia-curand nvidia-cufft; do
    python - "$HDR" "$(fetch_wheel $pkg)" 'nvidia/' <<'PY'
import sys, zipfile
dest, wheel, prefix = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    z.extractall(dest, [n for n in z.namelist() if n.startswith(prefix) and "/include/" in n])
PY
  done
  touch "$HDR/.complete"
fi

NV_INC=$(ls -d "$HDR"/nvidia/cu*/include | head -n1)
FLAGS="-std=c++20 --expt-relaxed-constexpr -DPy_LIMITED_API=0x03090000 $ARCH -I$HDR/torch/include -I$HDR/torch/include/torch/csrc/api/include -I$NV_INC"
NVCC_VERSION=$(nvcc --version | tail -n1)
export FLAGS PASSED

mapfile -t SOURCES < <(find csrc -name '*.cu' | sort)
[ "${#SOURCES[@]}" -gt 0 ] || { echo "check_cuda_compiles: no .cu files"; exit 0; }

todo=()
for src in "${SOURCES[@]}"; do
  # The hash covers the source, every header under csrc/ (what it may include), nvcc and the flags.
  key=$( (cat "$src"; find csrc -name '*.h' -o -name '*.cuh' | sort | xargs cat; echo "$NVCC_VERSION $FLAGS $TORCH_CUDA_VERSION") | sha256sum | cut -c1-32)
  if [ -f "$PASSED/$key" ]; then echo "  cached ok  $src"; else todo+=("$src:$key"); fi
done

compile_one() {
  local src=${1%%:*} key=${1##*:} obj log
  obj=$(mktemp --suffix=.o); log=$(mktemp)
  if nvcc -c "$src" -o "$obj" $FLAGS >"$log" 2>&1; then
    touch "$PASSED/$key"; echo "  compiled   $src"; rm -f "$obj" "$log"
  else
    echo "  FAILED     $src"; cat "$log"; rm -f "$obj" "$log"; return 1
  fi
}
export -f compile_one
status=0
if [ "${#todo[@]}" -gt 0 ]; then
  printf '%s\n' "${todo[@]}" | xargs -P "$JOBS" -I{} bash -c 'compile_one "$@"' _ {} || status=1
fi
[ $status = 0 ] && echo "check_cuda_compiles: all ${#SOURCES[@]} CUDA sources compile" || echo "check_cuda_compiles: FAILED" >&2
exit $status
