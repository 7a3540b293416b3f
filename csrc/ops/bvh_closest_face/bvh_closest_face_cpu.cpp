// CPU kernel for bvh_closest_face_idx (contract in bvh_closest_face.h): points in parallel, one traversal each.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/full.h>
#include <torch/library.h>

#include "bvh_closest_face.h"

namespace mg {
namespace bcf {
namespace {

at::Tensor bvh_closest_face_idx_cpu(const at::Tensor& points, const at::Tensor& cloud_first,
                                    const at::Tensor& cloud_size, const at::Tensor& verts, const at::Tensor& faces,
                                    const at::Tensor& box, const at::Tensor& node, const at::Tensor& order,
                                    const at::Tensor& root) {
  const int64_t M = bvh::check_point_query(points, cloud_first, cloud_size, verts, faces, box, node, order, root);
  const int64_t N = cloud_first.size(0), F = faces.size(0), V = verts.size(0);
  auto out = at::full({points.size(0)}, -1, points.options().dtype(at::kLong));
  if (F == 0 || points.size(0) == 0) return out;
  const auto acc = points.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const auto pts = points.to(acc).contiguous(), v = verts.to(acc).contiguous(), fc = faces.contiguous();
  const auto bx = box.contiguous(), nd = node.contiguous(), od = order.contiguous(), rt = root.contiguous();
  const auto cf = cloud_first.contiguous(), cs = cloud_size.contiguous();
  AT_DISPATCH_FLOATING_TYPES(pts.scalar_type(), "bvh_closest_face_idx_cpu", [&] {
    using T = scalar_t;
    const T* pp = pts.const_data_ptr<T>();
    const T* vp = v.const_data_ptr<T>();
    const T* bp = bx.const_data_ptr<T>();
    const int64_t* fp = fc.const_data_ptr<int64_t>();
    const int64_t* np = nd.const_data_ptr<int64_t>();
    const int64_t* opp = od.const_data_ptr<int64_t>();
    int64_t* outp = out.mutable_data_ptr<int64_t>();
    for (int64_t n = 0; n < N; ++n) {
      const int64_t r = rt.const_data_ptr<int64_t>()[n];
      if (r < 0) continue;
      const int64_t p0 = cf.const_data_ptr<int64_t>()[n], np_ = cs.const_data_ptr<int64_t>()[n];
      at::parallel_for(p0, p0 + np_, 64, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) outp[i] = closest_face(pp + 3 * i, vp, V, fp, F, bp, np, opp, r, M);
      });
    }
  });
  return out;
}

}  // namespace
}  // namespace bcf
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("bvh_closest_face_idx", &mg::bcf::bvh_closest_face_idx_cpu);
}
