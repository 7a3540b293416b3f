// knn_points_idx on CPU, D > 3 without the GEMM path (norm 1, or half types): a scan of every point (knn_cpu.h).
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>

#include "knn_cpu.h"

namespace mg {
namespace knn {

// High D, any norm: scan the cloud with the running top K in the output row (exact; the definition).
template <typename scalar_t, typename acc_t>
void scan_knn(const at::Tensor& p1, const at::Tensor& p2, const int64_t* l1p, const int64_t* l2p, int64_t K,
              int64_t norm, acc_t* dp, int64_t* ip) {
  const int64_t N = p1.size(0), P1 = p1.size(1), P2 = p2.size(1), D = p1.size(2);
  const auto a1 = p1.contiguous(), a2 = p2.contiguous();
  const scalar_t* x1 = a1.const_data_ptr<scalar_t>();
  const scalar_t* x2 = a2.const_data_ptr<scalar_t>();
  at::parallel_for(0, N * P1, 16, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / P1, i = t - n * P1;
      const int64_t Keff = std::min<int64_t>(K, l2p[n]);
      if (i >= l1p[n] || Keff == 0) continue;
      const scalar_t* q = x1 + t * D;
      int64_t size = 0;
      for (int64_t j = 0; j < l2p[n]; ++j) {
        const acc_t s = exact_distance<scalar_t, acc_t>(q, x2 + (n * P2 + j) * D, D, norm);
        heap_offer(dp + t * K, ip + t * K, size, Keff, s, j);
      }
      heap_sort(dp + t * K, ip + t * K, size);
    }
  });
}

template void scan_knn<float, float>(const at::Tensor&, const at::Tensor&, const int64_t*, const int64_t*, int64_t,
                                     int64_t, float*, int64_t*);
template void scan_knn<double, double>(const at::Tensor&, const at::Tensor&, const int64_t*, const int64_t*, int64_t,
                                       int64_t, double*, int64_t*);
template void scan_knn<c10::Half, float>(const at::Tensor&, const at::Tensor&, const int64_t*, const int64_t*,
                                         int64_t, int64_t, float*, int64_t*);
template void scan_knn<c10::BFloat16, float>(const at::Tensor&, const at::Tensor&, const int64_t*, const int64_t*,
                                             int64_t, int64_t, float*, int64_t*);

}  // namespace knn
}  // namespace mg
