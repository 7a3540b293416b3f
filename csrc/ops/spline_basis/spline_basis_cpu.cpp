// CPU kernels of spline_basis (contract in spline_basis.h): edges in parallel, each written by one task.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <vector>

#include "../../common/dispatch.h"
#include "spline_basis.h"

namespace mg {
namespace spline {
namespace {

// Per-dimension (scale, extent) read once per call.
struct Dims {
  std::vector<int64_t> scale, extent;
};

Dims read_dims(const at::Tensor& kernel_size, const at::Tensor& is_open_spline, int degree) {
  const auto ks = kernel_size.contiguous();
  const auto op = is_open_spline.contiguous();
  const int64_t D = ks.numel();
  Dims dims{std::vector<int64_t>(D), std::vector<int64_t>(D)};
  const int64_t* k = ks.const_data_ptr<int64_t>();
  const uint8_t* o = static_cast<const uint8_t*>(op.const_data_ptr());  // bool and uint8: one byte each
  for (int64_t d = 0; d < D; ++d) {
    dims.scale[d] = knot_scale(k[d], o[d] != 0, degree);
    dims.extent[d] = kernel_extent(k[d]);
  }
  return dims;
}

std::tuple<at::Tensor, at::Tensor> spline_basis_cpu(const at::Tensor& pseudo, const at::Tensor& kernel_size,
                                                    const at::Tensor& is_open_spline, int64_t degree) {
  check_spline_args(pseudo, kernel_size, is_open_spline, degree);
  const int64_t E = pseudo.size(0), D = pseudo.size(1), S = num_basis(degree, D);
  auto basis = at::empty({E, S}, pseudo.options());
  auto index = at::empty({E, S}, pseudo.options().dtype(at::kLong));
  if (E == 0) return {basis, index};
  const Dims dims = read_dims(kernel_size, is_open_spline, static_cast<int>(degree));
  MG_DISPATCH_FLOATING_TYPES(pseudo.scalar_type(), "spline_basis_cpu", [&] {
    MG_DISPATCH_SPLINE_DEGREE(degree, [&] {
      using acc_t = mg::acc_t<scalar_t>;
      const scalar_t* p = pseudo.const_data_ptr<scalar_t>();
      const int64_t ps0 = pseudo.stride(0), ps1 = pseudo.stride(1);
      scalar_t* b = basis.mutable_data_ptr<scalar_t>();
      int64_t* wi = index.mutable_data_ptr<int64_t>();
      at::parallel_for(0, E, std::max<int64_t>(1, 4096 / S), [&](int64_t e0, int64_t e1) {
        std::vector<acc_t> t(D);
        std::vector<int64_t> cell(D);
        for (int64_t e = e0; e < e1; ++e) {
          for (int64_t d = 0; d < D; ++d)
            knot(static_cast<acc_t>(p[e * ps0 + d * ps1]), dims.scale[d], &t[d], &cell[d]);
          for (int64_t s = 0; s < S; ++s) {
            int64_t k = s, w = 0, offset = 1;
            acc_t prod = acc_t(1);
            for (int64_t d = 0; d < D; ++d) {
              const int64_t km = k % (DEG + 1);
              k /= DEG + 1;
              w += wrap(cell[d] + km, dims.extent[d]) * offset;
              offset *= dims.extent[d];
              prod *= basis_piece<acc_t, DEG>(t[d], km);
            }
            b[e * S + s] = static_cast<scalar_t>(prod);
            wi[e * S + s] = w;
          }
        }
      });
    });
  });
  return {basis, index};
}

at::Tensor spline_basis_backward_cpu(const at::Tensor& grad_basis, const at::Tensor& pseudo,
                                     const at::Tensor& kernel_size, const at::Tensor& is_open_spline,
                                     int64_t degree) {
  check_spline_args(pseudo, kernel_size, is_open_spline, degree);
  const int64_t E = pseudo.size(0), D = pseudo.size(1), S = num_basis(degree, D);
  MG_CHECK_SHAPE(grad_basis, {E, S});
  MG_CHECK_SAME_DTYPE(grad_basis, pseudo);
  MG_CHECK_SAME_DEVICE(grad_basis, pseudo);
  auto grad = at::empty({E, D}, pseudo.options());
  if (E == 0) return grad;
  const Dims dims = read_dims(kernel_size, is_open_spline, static_cast<int>(degree));
  MG_DISPATCH_FLOATING_TYPES(pseudo.scalar_type(), "spline_basis_backward_cpu", [&] {
    MG_DISPATCH_SPLINE_DEGREE(degree, [&] {
      using acc_t = mg::acc_t<scalar_t>;
      const scalar_t* p = pseudo.const_data_ptr<scalar_t>();
      const scalar_t* gb = grad_basis.const_data_ptr<scalar_t>();
      const int64_t ps0 = pseudo.stride(0), ps1 = pseudo.stride(1);
      const int64_t gs0 = grad_basis.stride(0), gs1 = grad_basis.stride(1);
      scalar_t* g = grad.mutable_data_ptr<scalar_t>();
      at::parallel_for(0, E, std::max<int64_t>(1, 4096 / (S * D)), [&](int64_t e0, int64_t e1) {
        std::vector<acc_t> t(D);
        std::vector<int64_t> cell(D), stride(D);
        for (int64_t d = 0, st = 1; d < D; ++d, st *= DEG + 1) stride[d] = st;
        for (int64_t e = e0; e < e1; ++e) {
          for (int64_t d = 0; d < D; ++d)
            knot(static_cast<acc_t>(p[e * ps0 + d * ps1]), dims.scale[d], &t[d], &cell[d]);
          for (int64_t d = 0; d < D; ++d) {
            acc_t sum = acc_t(0);
            for (int64_t s = 0; s < S; ++s) {
              acc_t term = basis_piece_grad<acc_t, DEG>(t[d], (s / stride[d]) % (DEG + 1));
              for (int64_t d2 = 0; d2 < D; ++d2) {
                if (d2 == d) continue;
                term *= basis_piece<acc_t, DEG>(t[d2], (s / stride[d2]) % (DEG + 1));
              }
              sum += term * static_cast<acc_t>(gb[e * gs0 + s * gs1]);
            }
            g[e * D + d] = static_cast<scalar_t>(sum * static_cast<acc_t>(dims.scale[d]));
          }
        }
      });
    });
  });
  return grad;
}

}  // namespace
}  // namespace spline
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("spline_basis", &mg::spline::spline_basis_cpu);
  m.impl("spline_basis_backward", &mg::spline::spline_basis_backward_cpu);
}
