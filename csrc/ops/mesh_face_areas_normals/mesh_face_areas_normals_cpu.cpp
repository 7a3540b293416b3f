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
  check_inputs(verts, faces);
  const int64_t V = verts.size(0), F = faces.size(0);
  check_face_range_cpu(faces, V);
  auto areas = at::empty({F}, verts.options());
  auto normals = at::empty({F, 3}, verts.options());
  if (F == 0) return {areas, normals};
  const auto v = verts.contiguous(), fc = faces.contiguous();
  MG_DISPATCH_FLOATING_TYPES(verts.scalar_type(), "mesh_face_areas_normals_cpu", [&] {
    MG_DISPATCH_INDEX_TYPES(faces.scalar_type(), "mesh_face_areas_normals_cpu", [&] {
      const scalar_t* vp = v.const_data_ptr<scalar_t>();
      const index_t* fp = fc.const_data_ptr<index_t>();
      scalar_t* ap = areas.mutable_data_ptr<scalar_t>();
      scalar_t* np = normals.mutable_data_ptr<scalar_t>();
      at::parallel_for(0, F, 4096, [&](int64_t lo, int64_t hi) {
        for (int64_t f = lo; f < hi; ++f) forward_face<scalar_t, index_t, mg::acc_t<scalar_t>>(vp, fp, f, V, ap, np);
      });
    });
  });
  return {areas, normals};
}

at::Tensor mesh_face_areas_normals_backward_cpu(const at::Tensor& grad_areas, const at::Tensor& grad_normals,
                                                const at::Tensor& verts, const at::Tensor& faces) {
  check_backward(grad_areas, grad_normals, verts, faces);
  const int64_t V = verts.size(0), F = faces.size(0);
  check_face_range_cpu(faces, V);
  const auto acc = at::toOpMathType(verts.scalar_type());
  auto contrib = at::empty({F, 3, 3}, verts.options().dtype(acc));
  if (F > 0) {
    const auto v = verts.contiguous(), fc = faces.contiguous(), ga = grad_areas.contiguous(),
               gn = grad_normals.contiguous();
    MG_DISPATCH_FLOATING_TYPES(verts.scalar_type(), "mesh_face_areas_normals_backward_cpu", [&] {
      MG_DISPATCH_INDEX_TYPES(faces.scalar_type(), "mesh_face_areas_normals_backward_cpu", [&] {
        using T = mg::acc_t<scalar_t>;
        const scalar_t* vp = v.const_data_ptr<scalar_t>();
        const index_t* fp = fc.const_data_ptr<index_t>();
        const scalar_t* gap = ga.const_data_ptr<scalar_t>();
        const scalar_t* gnp = gn.const_data_ptr<scalar_t>();
        T* cp = contrib.mutable_data_ptr<T>();
        at::parallel_for(0, F, 4096, [&](int64_t lo, int64_t hi) {
          for (int64_t f = lo; f < hi; ++f) backward_face<scalar_t, index_t, T>(gap, gnp, vp, fp, f, V, cp);
        });
      });
    });
  }
  return scatter_to_verts(contrib, faces, V, verts.scalar_type());
}

}  // namespace
}  // namespace face_geom
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("mesh_face_areas_normals", &mg::face_geom::mesh_face_areas_normals_cpu);
  m.impl("mesh_face_areas_normals_backward", &mg::face_geom::mesh_face_areas_normals_backward_cpu);
}
