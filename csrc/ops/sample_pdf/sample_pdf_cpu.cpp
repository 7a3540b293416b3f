// CPU kernel for sample_pdf (contract in sample_pdf.h): parallel over rows, a per-thread buffer of partial sums,
// a binary search per sample (the shared helpers of sample_pdf.h, as the CUDA kernels).
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <vector>

#include "../../common/dispatch.h"
#include "sample_pdf.h"

namespace mg {
namespace pdf {
namespace {

at::Tensor sample_pdf_cpu(const at::Tensor& bins, const at::Tensor& weights, const at::Tensor& uniforms, double eps) {
  check_inputs(bins, weights, uniforms);
  const int64_t B = weights.size(0), n = weights.size(1), S = uniforms.size(1);
  auto out = at::empty({B, S}, bins.options());
  if (B == 0 || S == 0) return out;
  const auto b = bins.contiguous(), w = weights.contiguous(), u = uniforms.contiguous();
  MG_DISPATCH_FLOATING_TYPES(bins.scalar_type(), "sample_pdf_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const acc_t e = static_cast<acc_t>(eps);
    const scalar_t* bp = b.const_data_ptr<scalar_t>();
    const scalar_t* wp = w.const_data_ptr<scalar_t>();
    const acc_t* up = u.const_data_ptr<acc_t>();
    scalar_t* op = out.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, B, std::max<int64_t>(1, 16384 / (n + S)), [&](int64_t lo, int64_t hi) {
      std::vector<acc_t> c(n);
      for (int64_t r = lo; r < hi; ++r) {
        const scalar_t* br = bp + r * (n + 1);
        const scalar_t* wr = wp + r * n;
        const acc_t total = row_partial_sums<scalar_t, acc_t>(wr, n, e, c.data());
        for (int64_t s = 0; s < S; ++s)
          op[r * S + s] = sample_one<scalar_t, acc_t>(br, wr, c.data(), n, total, e, up[r * S + s]);
      }
    });
  });
  return out;
}

}  // namespace
}  // namespace pdf
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) { m.impl("sample_pdf", &mg::pdf::sample_pdf_cpu); }
