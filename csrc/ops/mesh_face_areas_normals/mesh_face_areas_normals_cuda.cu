// CUDA kernels for mesh_face_areas_normals (contract in mesh_face_areas_normals.h): one thread per face with the
// shared C10_HOST_DEVICE per-face code (bit-identical to the CPU: no FP contraction); face indices clamped into
// [0, V) (no sync). The backward writes per-corner contributions (no atomics) that ATen's index_put_ sums.
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <tuple>

#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "mesh_face_areas_normals.h"

namespace mg {
namespace face_geom {
namespace {

template <typename scalar_t, typename index_t>
__global__ void forward_kernel(const scalar_t* __restrict__ verts, const index_t* __restrict__ faces, int64_t V,
                               int64_t F, scalar_t* __restrict__ areas, scalar_t* __restrict__ normals) {
  MG_CUDA_KERNEL_LOOP(f, F) { forward_face<scalar_t, index_t, mg::acc_t<scalar_t>>(verts, faces, f, V, areas, normals); }
}

template <typename scalar_t, typename index_t, typename T>
__global__ void backward_kernel(const scalar_t* __restrict__ grad_areas, const scalar_t* __restrict__ grad_normals,
                                const scalar_t* __restrict__ verts, const index_t* __restrict__ faces, int64_t V,
                                int64_t F, T* __restrict__ contrib) {
  MG_CUDA_KERNEL_LOOP(f, F) { backward_face<scalar_t, index_t, T>(grad_areas, grad_normals, verts, faces, f, V, contrib); }
}

std::tuple<at::Tensor, at::Tensor> mesh_face_areas_normals_cuda(const at::Tensor& verts, const at::Tensor& faces) {
  const Call c = forward_call(verts, faces);
  const c10::cuda::CUDAGuard guard(verts.device());
  if (c.F > 0) {
    MG_DISPATCH_FLOATING_TYPES(verts.scalar_type(), "mesh_face_areas_normals_cuda", [&] {
      MG_DISPATCH_INDEX_TYPES(faces.scalar_type(), "mesh_face_areas_normals_cuda", [&] {
        forward_kernel<scalar_t, index_t>
            <<<cuda::num_blocks(c.F), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
                c.v.const_data_ptr<scalar_t>(), c.fc.const_data_ptr<index_t>(), c.V, c.F,
                c.areas.mutable_data_ptr<scalar_t>(), c.normals.mutable_data_ptr<scalar_t>());
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      });
    });
  }
  return {c.areas, c.normals};
}

at::Tensor mesh_face_areas_normals_backward_cuda(const at::Tensor& grad_areas, const at::Tensor& grad_normals,
                                                 const at::Tensor& verts, const at::Tensor& faces) {
  const Call c = backward_call(grad_areas, grad_normals, verts, faces);
  const c10::cuda::CUDAGuard guard(verts.device());
  if (c.F > 0) {
    MG_DISPATCH_FLOATING_TYPES(verts.scalar_type(), "mesh_face_areas_normals_backward_cuda", [&] {
      MG_DISPATCH_INDEX_TYPES(faces.scalar_type(), "mesh_face_areas_normals_backward_cuda", [&] {
        using T = mg::acc_t<scalar_t>;
        backward_kernel<scalar_t, index_t, T>
            <<<cuda::num_blocks(c.F), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
                c.ga.const_data_ptr<scalar_t>(), c.gn.const_data_ptr<scalar_t>(), c.v.const_data_ptr<scalar_t>(),
                c.fc.const_data_ptr<index_t>(), c.V, c.F, c.contrib.mutable_data_ptr<T>());
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      });
    });
  }
  return scatter_to_verts(c.contrib, faces, c.V, verts.scalar_type());
}

}  // namespace
}  // namespace face_geom
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("mesh_face_areas_normals", &mg::face_geom::mesh_face_areas_normals_cuda);
  m.impl("mesh_face_areas_normals_backward", &mg::face_geom::mesh_face_areas_normals_backward_cuda);
}
