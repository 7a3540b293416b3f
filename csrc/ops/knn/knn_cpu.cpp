// CPU kernel for knn_points_idx (contract in knn.h): checks, outputs, and the choice among the five algorithms of
// knn_cpu.h (each in its own knn_cpu_*.cpp), all parallel over the queries of all clouds.
#include <ATen/ATen.h>
#include <ATen/core/Tensor.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <type_traits>

#include "../../common/checks.h"
#include "../../common/cpu_pool.h"
#include "../../common/dispatch.h"
#include "knn.h"
#include "knn_cpu.h"

namespace mg {
namespace knn {
namespace {

std::tuple<at::Tensor, at::Tensor> knn_points_idx_cpu(const at::Tensor& p1, const at::Tensor& p2,
                                                      const at::Tensor& lengths1, const at::Tensor& lengths2, int64_t K,
                                                      int64_t norm) {
  check_knn_inputs(p1, p2, lengths1, lengths2, K, norm);
  const int64_t N = p1.size(0), P1 = p1.size(1), P2 = p2.size(1), D = p1.size(2);
  const auto acc_type = point_acc_type(p1);
  // outputs from the reuse pool (warm pages); entries past min(K, length) stay 0
  auto dists = cpu::pooled_empty({N, P1, K}, p1.options().dtype(acc_type)).zero_();
  auto idx = cpu::pooled_empty({N, P1, K}, p1.options().dtype(at::kLong)).zero_();
  if (N == 0 || P1 == 0 || P2 == 0) return {dists.to(p1.scalar_type()), idx};  // nothing to search
  const auto l1 = clamped_lengths(lengths1, P1);
  const auto l2 = clamped_lengths(lengths2, P2);
  const int64_t* l1p = l1.const_data_ptr<int64_t>();
  const int64_t* l2p = l2.const_data_ptr<int64_t>();
  MG_DISPATCH_FLOATING_TYPES(p1.scalar_type(), "knn_points_idx_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    acc_t* dp = dists.mutable_data_ptr<acc_t>();
    int64_t* ip = idx.mutable_data_ptr<int64_t>();
    if (D <= 3) {
      const Grid g = build_grid(p2, l2, acc_type, cell_occupancy(K));
      const auto q1 = p1.to(acc_type).contiguous();
      const acc_t* qp = q1.const_data_ptr<acc_t>();
      if (block_search_applies(K, P2)) {
        block_knn<acc_t>(g, qp, D, l1p, l2p, N, P1, K, static_cast<int>(norm), dp, ip);
      } else {
        shell_knn<acc_t>(g, qp, D, l1p, l2p, N, P1, K, static_cast<int>(norm), dp, ip);
      }
    } else if (norm == 2 && std::is_same<acc_t, scalar_t>::value && P2 < (int64_t{1} << 31)) {
      if constexpr (std::is_same<acc_t, scalar_t>::value) {
        const bool self = p1.data_ptr() == p2.data_ptr() && p1.sizes() == p2.sizes() &&
                          p1.strides() == p2.strides() && std::equal(l1p, l1p + N, l2p);
        if (!self || !gemm_knn_self<acc_t>(p1, l1p, K, dp, ip)) gemm_knn<acc_t>(p1, p2, l1p, l2p, K, dp, ip);
      }
    } else {
      scan_knn<scalar_t, acc_t>(p1, p2, l1p, l2p, K, norm, dp, ip);
    }
  });
  return {dists.to(p1.scalar_type()), idx};
}

}  // namespace
}  // namespace knn
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) { m.impl("knn_points_idx", &mg::knn::knn_points_idx_cpu); }
