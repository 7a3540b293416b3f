"""Build meshgraph's C++/CUDA operator library into meshgraph/_C/.

MESHGRAPH_CUDA=auto (default): add the CUDA sources when torch is a CUDA build and a CUDA toolkit is found.
MESHGRAPH_CUDA=1: require them (error if impossible). MESHGRAPH_CUDA=0: CPU only.
Whether a GPU is present never matters: a GPU-less build machine can build CUDA kernels.
"""

import glob
import os

from setuptools import setup

import torch
from torch.utils.cpp_extension import CUDA_HOME, BuildExtension, CppExtension, CUDAExtension

HERE = os.path.dirname(os.path.abspath(__file__))
# One wheel for every CPython >= 3.9: the library only registers operators, it never includes Python.h.
PY_LIMITED_API = "0x03090000"


def build_cuda() -> bool:
    mode = os.environ.get("MESHGRAPH_CUDA", "auto").strip().lower()
    if mode not in {"auto", "0", "1"}:
        raise RuntimeError(f"MESHGRAPH_CUDA must be auto, 0 or 1, got {mode!r}")
    possible = torch.version.cuda is not None and CUDA_HOME is not None
    if mode == "1" and not possible:
        raise RuntimeError(
            "MESHGRAPH_CUDA=1 but CUDA kernels cannot be built: "
            f"torch.version.cuda={torch.version.cuda!r}, CUDA_HOME={CUDA_HOME!r} "
            "(install a CUDA build of torch and a CUDA toolkit, or set MESHGRAPH_CUDA=0)"
        )
    return mode == "1" or (mode == "auto" and possible)


def extension():
    rel = lambda paths: sorted(os.path.relpath(p, HERE) for p in paths)  # noqa: E731
    cpp = rel(
        glob.glob(os.path.join(HERE, "csrc", "*.cpp"))
        + glob.glob(os.path.join(HERE, "csrc", "common", "*.cpp"))
        + glob.glob(os.path.join(HERE, "csrc", "ops", "*", "*.cpp"))
    )
    cu = rel(glob.glob(os.path.join(HERE, "csrc", "ops", "*", "*.cu")))
    # -fopenmp: at::parallel_for is a header template whose OpenMP pragmas are compiled into *this* library;
    # without the flag every "parallel" kernel silently runs on one thread.
    # -ffp-contract=off / --fmad=false: no a*b+c is fused into an FMA, on either compiler (GCC fuses by default
    # inside the AVX2+FMA builds of the hot loops, nvcc everywhere), so CPU and CUDA round every distance, tie and
    # FPS pick the same way; see csrc/common/dispatch.h and DEVELOPERS.md ("CPU/CUDA parity").
    cxx = ["-O3", "-std=c++20", f"-DPy_LIMITED_API={PY_LIMITED_API}", "-fvisibility=hidden", "-fopenmp",
           "-ffp-contract=off"]
    link = ["-fopenmp"]
    if os.environ.get("MESHGRAPH_NATIVE", "0") == "1":
        cxx.append("-march=native")
    if build_cuda():
        nvcc = ["-O3", "-std=c++20", f"-DPy_LIMITED_API={PY_LIMITED_API}", "--expt-relaxed-constexpr", "-lineinfo",
                "--fmad=false"]
        return CUDAExtension(
            "meshgraph._C._meshgraph",
            cpp + cu,
            extra_compile_args={"cxx": cxx, "nvcc": nvcc},
            extra_link_args=link,
            py_limited_api=True,
        )
    return CppExtension(
        "meshgraph._C._meshgraph", cpp, extra_compile_args={"cxx": cxx}, extra_link_args=link, py_limited_api=True
    )


setup(
    ext_modules=[extension()],
    cmdclass={"build_ext": BuildExtension.with_options(no_python_abi_suffix=True)},
    options={"bdist_wheel": {"py_limited_api": "cp39"}},
)
