#!/usr/bin/env bash
# Compile-only check of every CUDA source against the headers of CUDA builds of torch, on a machine with
# nvcc but no GPU and a CPU-only torch. Recipe and rationale: DEVELOPERS.md.
#
# Header sets: MESHGRAPH_CUDA_TORCH (space-separated torch versions, default "2.14.1 2.11.0": the newest we build
# against and the one the GPU machines' image has, CUDA 13). Headers come from wheels (torch CUDA build + nvidia
# cu13 header wheels), unpacked once per version into $MESHGRAPH_CACHE (default ~/.cache/meshgraph). A source
# whose hash (itself, the repo headers it includes transitively, nvcc's version, the flags and the torch version) already
# passed is skipped. Two files compile at a time. The flags match setup.py's nvcc flags (--fmad=false: the
# CPU/CUDA parity rule of csrc/common/dispatch.h).
# Exit status: 0 when every file compiles against every header set (or nvcc is absent and
# MESHGRAPH_REQUIRE_NVCC!=1), 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${MESHGRAPH_CACHE:-$HOME/.cache/meshgraph}
TORCH_CUDA_VERSIONS=${MESHGRAPH_CUDA_TORCH:-"2.14.1 2.11.0"}
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
  local name version=
  name=$(echo "${1%%[=<>]*}" | tr - _)
  [[ $1 == *==* ]] && version=${1##*==}
  python -m pip download -q --no-deps --only-binary=:all: -d "$dir" "$1" >&2
  if [ -n "$version" ]; then  # that version's wheel (several versions share the folder)
    ls -t "$dir"/"$name"-"$version"[-+]*.whl | head -n1
  else
    ls -t "$dir"/"$name"-*.whl | head -n1
  fi
}

unpack_headers() {  # unpack_headers <torch version> -> the header set's folder (unpacked once)
  local version=$1 HDR=$CACHE/cuda-headers-$1
  if [ ! -f "$HDR/.complete" ]; then
    echo "check_cuda_compiles: unpacking CUDA headers of torch $version into $HDR" >&2
    rm -rf "$HDR" && mkdir -p "$HDR"
    python - "$HDR" "$(fetch_wheel torch==$version)" 'torch/include/' <<'PY'
import sys, zipfile
dest, wheel, prefix = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    if not any(n.startswith("torch/include/c10/cuda/") for n in z.namelist()):
        sys.exit(f"{wheel} is not a CUDA build of torch (no c10/cuda headers)")
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
  echo "$HDR"
}

NVCC_VERSION=$(nvcc --version | tail -n1)
export PASSED

mapfile -t SOURCES < <(find csrc -name '*.cu' | sort)
[ "${#SOURCES[@]}" -gt 0 ] || { echo "check_cuda_compiles: no .cu files"; exit 0; }

compile_one() {  # compile_one <src>:<key>:<torch version>; FLAGS_<version with _> holds that set's flags
  local src key version flags obj log
  IFS=: read -r src key version <<<"$1"
  flags=FLAGS_${version//./_}; flags=${!flags}
  obj=$(mktemp --suffix=.o); log=$(mktemp)
  if nvcc -c "$src" -o "$obj" $flags >"$log" 2>&1; then
    touch "$PASSED/$key"; echo "  compiled   $src (torch $version)"; rm -f "$obj" "$log"
  else
    echo "  FAILED     $src (torch $version)"; cat "$log"; rm -f "$obj" "$log"; return 1
  fi
}
export -f compile_one

todo=()
# Per source: a hash of the source and of every repo header it includes, transitively (quoted includes, resolved
# against the including file's folder, as the compiler does), so a change to one header recompiles only its users.
declare -A DEPS_HASH
while read -r src hash; do DEPS_HASH[$src]=$hash; done < <(python3 - "${SOURCES[@]}" <<'PY'
import hashlib, os, re, sys
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)
def closure(path, seen):
    if path in seen:
        return
    seen.add(path)
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for name in INCLUDE.findall(text):
        dep = os.path.normpath(os.path.join(os.path.dirname(path), name))
        if os.path.isfile(dep):
            closure(dep, seen)
for src in sys.argv[1:]:
    files = set()
    closure(os.path.normpath(src), files)
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f.encode() + b"\0")
        with open(f, "rb") as fh:
            h.update(fh.read())
    print(src, h.hexdigest()[:32])
PY
)
for version in $TORCH_CUDA_VERSIONS; do
  HDR=$(unpack_headers "$version")
  NV_INC=$(ls -d "$HDR"/nvidia/cu*/include | head -n1)
  FLAGS="-std=c++20 --expt-relaxed-constexpr --fmad=false -DPy_LIMITED_API=0x03090000 $ARCH -I$HDR/torch/include -I$HDR/torch/include/torch/csrc/api/include -I$NV_INC"
  var=FLAGS_${version//./_}
  printf -v "$var" '%s' "$FLAGS"
  export "${var?}"
  for src in "${SOURCES[@]}"; do
    # The key covers the source and the repo headers it includes (DEPS_HASH), nvcc, the flags and the version.
    key=$(echo "${DEPS_HASH[$src]} $NVCC_VERSION $FLAGS $version" | sha256sum | cut -c1-32)
    if [ -f "$PASSED/$key" ]; then echo "  cached ok  $src (torch $version)"; else todo+=("$src:$key:$version"); fi
  done
done

status=0
if [ "${#todo[@]}" -gt 0 ]; then
  printf '%s\n' "${todo[@]}" | xargs -P "$JOBS" -I{} bash -c 'compile_one "$@"' _ {} || status=1
fi
n_sets=$(wc -w <<<"$TORCH_CUDA_VERSIONS")
[ $status = 0 ] && echo "check_cuda_compiles: all ${#SOURCES[@]} CUDA sources compile against torch $TORCH_CUDA_VERSIONS ($n_sets header sets)" \
  || echo "check_cuda_compiles: FAILED" >&2
exit $status
