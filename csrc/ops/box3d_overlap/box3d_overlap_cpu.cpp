// CPU kernel for box3d_overlap (contract in box3d_overlap.h): parallel over the N x M pairs, each with the shared
// C10_HOST_DEVICE overlap_pair of box3d_overlap.h (bit-identical to the CUDA kernel: no FP contraction).
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <tuple>

#include "../../common/dispatch.h"
#include "box3d_overlap.h"

namespace mg {
namespace box3d {
namespace {

std::tuple<at::Tensor, at::Tensor> box3d_overlap_cpu(const at::Tensor& boxes1, const at::Tensor& boxes2) {
  const Call c = prepare(boxes1, boxes2);
  if (c.empty()) return {c.vol, c.iou};
  MG_DISPATCH_FLOATING_TYPES(boxes1.scalar_type(), "box3d_overlap_cpu", [&] {
    using T = mg::acc_t<scalar_t>;
    const T rel_tol = coplanar_rel_tol<scalar_t, T>();
    const scalar_t* ap = c.a.const_data_ptr<scalar_t>();
    const scalar_t* bp = c.b.const_data_ptr<scalar_t>();
    scalar_t* vp = c.vol.mutable_data_ptr<scalar_t>();
    scalar_t* ip = c.iou.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, c.N * c.M, 64, [&](int64_t lo, int64_t hi) {
      for (int64_t k = lo; k < hi; ++k) {
        const int64_t n = k / c.M, m = k % c.M;
        overlap_pair<scalar_t, T>(ap + 24 * n, bp + 24 * m, rel_tol, vp + k, ip + k);
      }
    });
  });
  return {c.vol, c.iou};
}

}  // namespace
}  // namespace box3d
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) { m.impl("box3d_overlap", &mg::box3d::box3d_overlap_cpu); }
