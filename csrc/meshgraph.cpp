// The meshgraph operator library. Each op folder adds its schemas with TORCH_LIBRARY_FRAGMENT in
// csrc/ops/<op>/<op>.cpp and its kernels with TORCH_LIBRARY_IMPL in <op>_cpu.cpp / <op>_cuda.cu.
// The extension registers operators only (no Python bindings); Python loads it with
// torch.ops.load_library (meshgraph/_extension.py).
#include <torch/library.h>

TORCH_LIBRARY(meshgraph, m) {}
