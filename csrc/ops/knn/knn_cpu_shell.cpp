// knn_points_idx on CPU, D <= 3, K beyond the block search: every query runs the shell-by-shell grid search of
// knn.h (grid_knn_row, the code the CUDA kernel runs) over its cloud's grid (knn_cpu.h).
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>

#include "knn_cpu.h"

namespace mg {
namespace knn {

template <typename acc_t>
void shell_knn(const Grid& g, const acc_t* qp, int64_t D, const int64_t* l1p, const int64_t* l2p, int64_t N,
               int64_t P1, int64_t K, int norm, acc_t* dp, int64_t* ip) {
  const acc_t* pts = g.pts.const_data_ptr<acc_t>();
  const int64_t* pidx = g.point_idx.const_data_ptr<int64_t>();
  const int64_t* cs = g.cell_start.const_data_ptr<int64_t>();
  const acc_t* params = g.params.const_data_ptr<acc_t>();
  at::parallel_for(0, N * P1, 64, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) grid_knn_row(t, qp, P1, D, l1p, l2p, params, pts, pidx, cs, K, norm, dp, ip);
  });
}

template void shell_knn<float>(const Grid&, const float*, int64_t, const int64_t*, const int64_t*, int64_t, int64_t,
                               int64_t, int, float*, int64_t*);
template void shell_knn<double>(const Grid&, const double*, int64_t, const int64_t*, const int64_t*, int64_t, int64_t,
                                int64_t, int, double*, int64_t*);

}  // namespace knn
}  // namespace mg
