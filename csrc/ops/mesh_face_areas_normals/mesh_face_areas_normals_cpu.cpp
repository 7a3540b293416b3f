// CPU kernels for mesh_face_areas_normals (contract in mesh_face_areas_normals.h): parallel over faces with the
// shared C10_HOST_DEVICE per-face code (bit-identical to CUDA: no FP contraction); the backward's per-corner
// contributions are summed by ATen's index_put_ (no atomics, the same order on every run).
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <tuple>

#include "../../common/dispatch.h"
#include "mesh_face_areas_normals.h"

namespace mg {
namespace face_geom {
namespace {

std::tuple<at::Tensor, at::Tensor> mesh_face_areas_normals_cpu(const at::Tensor& verts, const at::Tensor& faces) {
  const Call c = forward_call(verts, faces);
  if (c.F == 0) return {c.areas, c.normals};
  MG_DISPATCH_FLOATING_TYPES(verts.scalar_type(), "mesh_face_areas_normals_cpu", [&] {
    MG_DISPATCH_INDEX_TYPES(faces.scalar_type(), "mesh_face_areas_normals_cpu", [&] {
      const scalar_t* vp = c.v.const_data_ptr<scalar_t>();
      const index_t* fp = c.fc.const_data_ptr<index_t>();
      scalar_t* ap = c.areas.mutable_data_ptr<scalar_t>();
      scalar_t* np = c.normals.mutable_data_ptr<scalar_t>();
      at::parallel_for(0, c.F, 4096, [&](int64_t lo, int64_t hi) {
        for (int64_t f = lo; f < hi; ++f) forward_face<scalar_t, index_t, mg::acc_t<scalar_t>>(vp, fp, f, c.V, ap, np);
      });
    });
  });
  return {c.areas, c.normals};
}

at::Tensor mesh_face_areas_normals_backward_cpu(const at::Tensor& grad_areas, const at::Tensor& grad_normals,
                                                const at::Tensor& verts, const at::Tensor& faces) {
  const Call c = backward_call(grad_areas, grad_normals, verts, faces);
  MG_DISPATCH_FLOATING_TYPES(verts.scalar_type(), "mesh_face_areas_normals_backward_cpu", [&] {
    MG_DISPATCH_INDEX_TYPES(faces.scalar_type(), "mesh_face_areas_normals_backward_cpu", [&] {
      using T = mg::acc_t<scalar_t>;
      const scalar_t* vp = c.v.const_data_ptr<scalar_t>();
      const index_t* fp = c.fc.const_data_ptr<index_t>();
      const scalar_t* gap = c.ga.const_data_ptr<scalar_t>();
      const scalar_t* gnp = c.gn.const_data_ptr<scalar_t>();
      T* cp = c.contrib.mutable_data_ptr<T>();
      at::parallel_for(0, c.F, 4096, [&](int64_t lo, int64_t hi) {
        for (int64_t f = lo; f < hi; ++f) backward_face<scalar_t, index_t, T>(gap, gnp, vp, fp, f, c.V, cp);
      });
    });
  });
  return scatter_to_verts(c.contrib, faces, c.V, verts.scalar_type());
}

}  // namespace
}  // namespace face_geom
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("mesh_face_areas_normals", &mg::face_geom::mesh_face_areas_normals_cpu);
  m.impl("mesh_face_areas_normals_backward", &mg::face_geom::mesh_face_areas_normals_backward_cpu);
}
