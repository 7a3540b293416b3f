// CPU kernel for ray_mesh_intersect_idx (contract in ray_mesh_intersect.h): rays in parallel over the element's BVH.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/full.h>
#include <torch/library.h>

#include <algorithm>
#include <limits>
#include <tuple>

#include "ray_mesh_intersect.h"

namespace mg {
namespace rmi {
namespace {

std::tuple<at::Tensor, at::Tensor> ray_mesh_intersect_idx_cpu(const at::Tensor& origins, const at::Tensor& directions,
                                                              const at::Tensor& ray_first, const at::Tensor& ray_size,
                                                              const at::Tensor& tris, const at::Tensor& box,
                                                              const at::Tensor& node, const at::Tensor& order,
                                                              const at::Tensor& root) {
  const int64_t M = check_inputs(origins, directions, ray_first, ray_size, tris, box, node, order, root);
  const int64_t R = origins.size(0), F = tris.size(0), N = ray_first.size(0);
  const auto acc_type = origins.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  auto t_out = at::full({R}, std::numeric_limits<double>::infinity(), origins.options().dtype(acc_type));
  auto face = at::full({R}, -1, origins.options().dtype(at::kLong));
  const auto o = origins.to(acc_type).contiguous(), d = directions.to(acc_type).contiguous();
  const auto tri = tris.to(acc_type).contiguous();
  const auto rf = ray_first.contiguous(), rs = ray_size.contiguous();
  const auto bx = box.contiguous(), nd = node.contiguous(), od = order.contiguous(), rt = root.contiguous();
  AT_DISPATCH_FLOATING_TYPES(tri.scalar_type(), "ray_mesh_intersect_idx_cpu", [&] {
    using T = scalar_t;
    const T* op = o.const_data_ptr<T>();
    const T* dp = d.const_data_ptr<T>();
    const T* tp = tri.const_data_ptr<T>();
    const T* bp = bx.const_data_ptr<T>();
    const int64_t* np = nd.const_data_ptr<int64_t>();
    const int64_t* opp = od.const_data_ptr<int64_t>();
    T* top = t_out.mutable_data_ptr<T>();
    int64_t* fp = face.mutable_data_ptr<int64_t>();
    for (int64_t n = 0; n < N; ++n) {
      const int64_t r = rt.const_data_ptr<int64_t>()[n];
      if (r < 0) continue;
      const int64_t r0 = rf.const_data_ptr<int64_t>()[n], nr = rs.const_data_ptr<int64_t>()[n];
      at::parallel_for(r0, r0 + nr, 256, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i)
          closest_hit(op + 3 * i, dp + 3 * i, bp, np, opp, tp, r, M, F, top + i, fp + i);
      });
    }
  });
  return {t_out.to(origins.scalar_type()), face};
}

}  // namespace
}  // namespace rmi
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("ray_mesh_intersect_idx", &mg::rmi::ray_mesh_intersect_idx_cpu);
}
