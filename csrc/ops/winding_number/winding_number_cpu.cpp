// CPU kernel for winding_number (contract in winding_number.h): BVH + boundary chains per call, points in
// parallel.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include "winding_number.h"

namespace mg {
namespace wn {
namespace {

at::Tensor winding_number_cpu(const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
                              const at::Tensor& verts, const at::Tensor& faces, const at::Tensor& mesh_first,
                              const at::Tensor& mesh_size) {
  const at::Tensor fc = check_inputs(points, cloud_first, cloud_size, verts, faces, mesh_first, mesh_size);
  const int64_t N = cloud_first.size(0), F = faces.size(0);
  const auto acc_type = points.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  auto out = at::zeros({points.size(0)}, points.options().dtype(acc_type));
  if (F == 0 || points.size(0) == 0) return out.to(points.scalar_type());
  const auto pts = points.to(acc_type).contiguous(), v = verts.to(acc_type).contiguous();
  const bvh::Bvh b = bvh::build(v.index_select(0, fc.view({-1})).view({F, 3, 3}), mesh_first, mesh_size);
  const bvh::Chains ch = bvh::boundary_chains(b, fc);
  const int64_t M = b.node.size(0);
  const auto cf = cloud_first.contiguous(), cs = cloud_size.contiguous();
  AT_DISPATCH_FLOATING_TYPES(pts.scalar_type(), "winding_number_cpu", [&] {
    using T = scalar_t;
    const T* pp = pts.const_data_ptr<T>();
    const T* vp = v.const_data_ptr<T>();
    T* op = out.mutable_data_ptr<T>();
    for (int64_t n = 0; n < N; ++n) {
      const int64_t root = b.root.const_data_ptr<int64_t>()[n];
      if (root < 0) continue;
      const int64_t p0 = cf.const_data_ptr<int64_t>()[n], np = cs.const_data_ptr<int64_t>()[n];
      at::parallel_for(p0, p0 + np, 64, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i)
          op[i] = winding(pp + 3 * i, vp, fc.const_data_ptr<int64_t>(), b.box.const_data_ptr<T>(),
                          b.node.const_data_ptr<int64_t>(), b.order.const_data_ptr<int64_t>(),
                          ch.start.const_data_ptr<int64_t>(), ch.edge.const_data_ptr<int64_t>(), root, M);
      });
    }
  });
  return out.to(points.scalar_type());
}

}  // namespace
}  // namespace wn
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("winding_number", &mg::wn::winding_number_cpu);
}
