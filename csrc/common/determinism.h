// Determinism. Every CUDA kernel that reduces with a float atomicAdd (the backward passes of rasterize_points,
// rasterize_meshes, composite_points and interpolate_face_attributes) has a deterministic alternative: the
// per-item contributions are formed with ATen ops and summed with index_put_(accumulate=true), which PyTorch
// sorts by index when deterministic algorithms are on (a segment reduction: same order on every run). The op
// takes that path whenever torch.use_deterministic_algorithms(True) is in effect (warn_only or not); otherwise
// it calls alertNotDeterministic before launching the atomic kernel. The CPU kernels never use atomics (each
// output element is summed by one thread in a fixed order), so they are deterministic in every mode; with
// MESHGRAPH_DEVICE_PATH=1 CPU tensors take the CUDA side's path, so the CPU tests check the ATen reductions too.
// docs/concepts.md ("Determinism") lists every op.
#pragma once

#include <ATen/Context.h>
#include <ATen/core/Tensor.h>

#include <cstdlib>

namespace mg {

// MESHGRAPH_DEVICE_PATH=1 makes CPU tensors take the CUDA kernels' algorithms (the ATen tile builders, the
// pixel-major mesh walk, the deterministic reductions), so that the CPU test suite also checks the device-side
// logic.
inline bool device_path_forced() {
  const char* v = std::getenv("MESHGRAPH_DEVICE_PATH");
  return v != nullptr && v[0] == '1';
}

// Whether an op on `t` replaces its atomicAdd reduction by the deterministic one: PyTorch asks for
// deterministic algorithms and t is a CUDA tensor (or a CPU tensor with MESHGRAPH_DEVICE_PATH=1).
inline bool use_deterministic_path(const at::Tensor& t) {
  return at::globalContext().deterministicAlgorithms() && (!t.device().is_cpu() || device_path_forced());
}

// Call right before launching a kernel that adds with float atomicAdd (run-to-run order differs): PyTorch's
// error or warning if determinism was asked for and the caller did not take the deterministic path.
inline void alert_atomic_reduction(const char* kernel) { at::globalContext().alertNotDeterministic(kernel); }

}  // namespace mg
