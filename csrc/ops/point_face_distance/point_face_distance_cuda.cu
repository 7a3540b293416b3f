// CUDA kernel for point_face_distance_idx (contract in point_face_distance.h): one thread per query scans its
// element's targets, skipping those whose bounding box is already farther than the best.
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/full.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <tuple>

#include "../../common/cuda_utils.cuh"
#include "../../common/index_math.h"
#include "point_face_distance.h"

namespace mg {
namespace pfd {
namespace {

// Element n's range [first[n], first[n] + size[n]) clamped into [0, total): the offsets are not checked on CUDA
// (that would need a device sync), so a negative or oversized range must not reach memory.
__device__ inline void element_range(const int64_t* first, const int64_t* size, int64_t n, int64_t total,
                                     int64_t* begin, int64_t* end) {
  *begin = clamp64(first[n], 0, total);
  *end = *begin + clamp64(size[n], 0, total - *begin);
}

// Element of packed item i (in [0, total)) given the per-element ranges (N is small: a linear scan).
__device__ inline int64_t element_of(int64_t i, const int64_t* first, const int64_t* size, int64_t N, int64_t total) {
  for (int64_t n = 0; n < N; ++n) {
    int64_t b, e;
    element_range(first, size, n, total, &b, &e);
    if (i >= b && i < e) return n;
  }
  return -1;
}

template <typename T>
__global__ void point_to_face_kernel(const T* __restrict__ pts, const T* __restrict__ tris, const int64_t* cf,
                                     const int64_t* cs, const int64_t* mf, const int64_t* ms, int64_t N, int64_t P,
                                     int64_t F, int64_t* out) {
  MG_CUDA_KERNEL_LOOP(i, P) {
    const int64_t n = element_of(i, cf, cs, N, P);
    if (n < 0) continue;
    const T* q = pts + 3 * i;
    T best = 0;
    int64_t best_f = -1;
    int64_t f0, f1;
    element_range(mf, ms, n, F, &f0, &f1);
    for (int64_t f = f0; f < f1; ++f) {
      const T* t = tris + 9 * f;
      T lo[3], hi[3];
      triangle_box(t, lo, hi);
      if (best_f >= 0 && point_box_dist2(q, lo, hi) > best) continue;
      const T d = point_triangle_dist2(q, t);
      if (best_f < 0 || d < best) {
        best = d;
        best_f = f;
      }
    }
    out[i] = best_f;
  }
}

template <typename T>
__global__ void face_to_point_kernel(const T* __restrict__ pts, const T* __restrict__ tris, const int64_t* cf,
                                     const int64_t* cs, const int64_t* mf, const int64_t* ms, int64_t N, int64_t P,
                                     int64_t F, int64_t* out) {
  MG_CUDA_KERNEL_LOOP(f, F) {
    const int64_t n = element_of(f, mf, ms, N, F);
    if (n < 0) continue;
    const T* t = tris + 9 * f;
    T lo[3], hi[3];
    triangle_box(t, lo, hi);
    T best = 0;
    int64_t best_i = -1;
    int64_t i0, i1;
    element_range(cf, cs, n, P, &i0, &i1);
    for (int64_t i = i0; i < i1; ++i) {
      if (best_i >= 0 && point_box_dist2(pts + 3 * i, lo, hi) > best) continue;
      const T d = point_triangle_dist2(pts + 3 * i, t);
      if (best_i < 0 || d < best) {
        best = d;
        best_i = i;
      }
    }
    out[f] = best_i;
  }
}

std::tuple<at::Tensor, at::Tensor> point_face_distance_idx_cuda(const at::Tensor& points,
                                                                const at::Tensor& cloud_first,
                                                                const at::Tensor& cloud_size, const at::Tensor& tris,
                                                                const at::Tensor& mesh_first,
                                                                const at::Tensor& mesh_size) {
  check_inputs(points, cloud_first, cloud_size, tris, mesh_first, mesh_size);
  const c10::cuda::CUDAGuard guard(points.device());
  const int64_t P = points.size(0), F = tris.size(0), N = cloud_first.size(0);
  auto p2f = at::full({P}, -1, points.options().dtype(at::kLong));
  auto f2p = at::full({F}, -1, points.options().dtype(at::kLong));
  if (N == 0) return {p2f, f2p};
  // half types compute in float32 (the indices are the only outputs)
  const auto acc_type = points.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const auto pts = points.to(acc_type).contiguous();
  const auto tri = tris.to(acc_type).contiguous();
  const auto cf = cloud_first.contiguous(), cs = cloud_size.contiguous();
  const auto mf = mesh_first.contiguous(), ms = mesh_size.contiguous();
  AT_DISPATCH_FLOATING_TYPES(pts.scalar_type(), "point_face_distance_idx_cuda", [&] {
    const auto stream = c10::cuda::getCurrentCUDAStream();
    if (P > 0) {
      point_to_face_kernel<scalar_t><<<cuda::num_blocks(P), cuda::kThreads, 0, stream>>>(
          pts.const_data_ptr<scalar_t>(), tri.const_data_ptr<scalar_t>(), cf.const_data_ptr<int64_t>(),
          cs.const_data_ptr<int64_t>(), mf.const_data_ptr<int64_t>(), ms.const_data_ptr<int64_t>(), N, P, F,
          p2f.mutable_data_ptr<int64_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    if (F > 0) {
      face_to_point_kernel<scalar_t><<<cuda::num_blocks(F), cuda::kThreads, 0, stream>>>(
          pts.const_data_ptr<scalar_t>(), tri.const_data_ptr<scalar_t>(), cf.const_data_ptr<int64_t>(),
          cs.const_data_ptr<int64_t>(), mf.const_data_ptr<int64_t>(), ms.const_data_ptr<int64_t>(), N, P, F,
          f2p.mutable_data_ptr<int64_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
  });
  return {p2f, f2p};
}

}  // namespace
}  // namespace pfd
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("point_face_distance_idx", &mg::pfd::point_face_distance_idx_cuda);
}
