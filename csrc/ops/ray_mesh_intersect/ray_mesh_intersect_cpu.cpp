// CPU kernel for ray_mesh_intersect_idx (contract in ray_mesh_intersect.h): rays in parallel over the 4-wide form
// of the elements' BVH (ray_wide_bvh.h: same answer as the scalar traversal CUDA runs, which rays with a zero
// direction component and unconvertible trees take here too).
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <algorithm>
#include <limits>
#include <tuple>

#include "ray_mesh_intersect.h"
#include "ray_wide_bvh.h"

namespace mg {
namespace rmi {
namespace {

std::tuple<at::Tensor, at::Tensor, at::Tensor> ray_mesh_intersect_idx_cpu(
    const at::Tensor& origins, const at::Tensor& directions, const at::Tensor& ray_first, const at::Tensor& ray_size,
    const at::Tensor& tris, const at::Tensor& box, const at::Tensor& node, const at::Tensor& order,
    const at::Tensor& root) {
  const int64_t M = check_inputs(origins, directions, ray_first, ray_size, tris, box, node, order, root);
  const int64_t R = origins.size(0), F = tris.size(0), N = ray_first.size(0);
  const auto acc_type = origins.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  auto t_out = at::full({R}, std::numeric_limits<double>::infinity(), origins.options().dtype(acc_type));
  auto face = at::full({R}, -1, origins.options().dtype(at::kLong));
  auto bary = at::zeros({R, 3}, origins.options().dtype(acc_type));
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
    T* bp3 = bary.mutable_data_ptr<T>();
    const int64_t* rootp = rt.const_data_ptr<int64_t>();
    wide::Tree<T> tree;
    const bool sah = F <= wide::kSahFacesPerRay * R;
    const bool wide_ok = R > 0 && wide::build(bp, np, opp, tp, M, F, rootp, N, sah, tree);
    for (int64_t n = 0; n < N; ++n) {
      const int64_t r = rootp[n];
      if (r < 0) continue;
      const int64_t r0 = rf.const_data_ptr<int64_t>()[n], nr = rs.const_data_ptr<int64_t>()[n];
      const int32_t w = wide_ok ? tree.root[n] : -1;
      at::parallel_for(r0, r0 + nr, 256, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          const T* di = dp + 3 * i;
          if (w >= 0 && di[0] != T(0) && di[1] != T(0) && di[2] != T(0)) {
            wide::closest_hit(tree, w, op + 3 * i, di, top + i, fp + i, bp3 + 3 * i);
          } else {
            closest_hit(op + 3 * i, di, bp, np, opp, tp, r, M, F, top + i, fp + i, bp3 + 3 * i);
          }
        }
      });
    }
  });
  return {t_out.to(origins.scalar_type()), face, bary.to(origins.scalar_type())};
}

}  // namespace
}  // namespace rmi
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("ray_mesh_intersect_idx", &mg::rmi::ray_mesh_intersect_idx_cpu);
}
