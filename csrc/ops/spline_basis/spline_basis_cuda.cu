// CUDA kernels of spline_basis (contract in spline_basis.h): one thread per (edge, basis function) forward, one per
// (edge, dimension) backward. Each output element is written by one thread (no atomics). kernel_size and
// is_open_spline are read on the device (no host copy, no sync).
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "spline_basis.h"

namespace mg {
namespace spline {
namespace {

template <typename scalar_t, int DEG>
__global__ void basis_kernel(const scalar_t* __restrict__ pseudo, int64_t ps0, int64_t ps1,
                             const int64_t* __restrict__ ks, const uint8_t* __restrict__ open, int64_t E, int64_t D,
                             int64_t S, scalar_t* __restrict__ basis, int64_t* __restrict__ index) {
  using acc_t = mg::acc_t<scalar_t>;
  MG_CUDA_KERNEL_LOOP(i, E * S) {
    const int64_t e = i / S, s = i - e * S;
    int64_t k = s, w = 0, offset = 1;
    acc_t prod = acc_t(1);
    for (int64_t d = 0; d < D; ++d) {
      const int64_t km = k % (DEG + 1);
      k /= DEG + 1;
      acc_t t;
      int64_t cell;
      knot(static_cast<acc_t>(pseudo[e * ps0 + d * ps1]), knot_scale(ks[d], open[d] != 0, DEG), &t, &cell);
      const int64_t extent = kernel_extent(ks[d]);
      w += wrap(cell + km, extent) * offset;
      offset *= extent;
      prod *= basis_piece<acc_t, DEG>(t, km);
    }
    basis[i] = static_cast<scalar_t>(prod);
    index[i] = w;
  }
}

template <typename scalar_t, int DEG>
__global__ void basis_backward_kernel(const scalar_t* __restrict__ grad_basis, int64_t gs0, int64_t gs1,
                                      const scalar_t* __restrict__ pseudo, int64_t ps0, int64_t ps1,
                                      const int64_t* __restrict__ ks, const uint8_t* __restrict__ open, int64_t E,
                                      int64_t D, int64_t S, scalar_t* __restrict__ grad) {
  using acc_t = mg::acc_t<scalar_t>;
  MG_CUDA_KERNEL_LOOP(i, E * D) {
    const int64_t e = i / D, d = i - e * D;
    acc_t t[kMaxDims];
    for (int64_t d2 = 0; d2 < D; ++d2) {
      int64_t cell;
      knot(static_cast<acc_t>(pseudo[e * ps0 + d2 * ps1]), knot_scale(ks[d2], open[d2] != 0, DEG), &t[d2], &cell);
    }
    acc_t sum = acc_t(0);
    for (int64_t s = 0; s < S; ++s) {
      // The factor of dimension d first, then the others in increasing order (the CPU's order).
      int64_t k = s;
      int64_t km[kMaxDims];
      for (int64_t d2 = 0; d2 < D; ++d2, k /= DEG + 1) km[d2] = k % (DEG + 1);
      acc_t term = basis_piece_grad<acc_t, DEG>(t[d], km[d]);
      for (int64_t d2 = 0; d2 < D; ++d2)
        if (d2 != d) term *= basis_piece<acc_t, DEG>(t[d2], km[d2]);
      sum += term * static_cast<acc_t>(grad_basis[e * gs0 + s * gs1]);
    }
    grad[i] = static_cast<scalar_t>(sum * static_cast<acc_t>(knot_scale(ks[d], open[d] != 0, DEG)));
  }
}

std::tuple<at::Tensor, at::Tensor> spline_basis_cuda(const at::Tensor& pseudo, const at::Tensor& kernel_size,
                                                     const at::Tensor& is_open_spline, int64_t degree) {
  check_spline_args(pseudo, kernel_size, is_open_spline, degree);
  const c10::cuda::CUDAGuard guard(pseudo.device());
  const int64_t E = pseudo.size(0), D = pseudo.size(1), S = num_basis(degree, D);
  auto basis = at::empty({E, S}, pseudo.options());
  auto index = at::empty({E, S}, pseudo.options().dtype(at::kLong));
  if (E == 0) return {basis, index};
  const auto ks = kernel_size.contiguous();
  const auto op = is_open_spline.contiguous();
  const auto stream = c10::cuda::getCurrentCUDAStream();
  MG_DISPATCH_FLOATING_TYPES(pseudo.scalar_type(), "spline_basis_cuda", [&] {
    MG_DISPATCH_SPLINE_DEGREE(degree, [&] {
      basis_kernel<scalar_t, DEG><<<cuda::num_blocks(E * S), cuda::kThreads, 0, stream>>>(
          pseudo.const_data_ptr<scalar_t>(), pseudo.stride(0), pseudo.stride(1), ks.const_data_ptr<int64_t>(),
          static_cast<const uint8_t*>(op.const_data_ptr()), E, D, S, basis.mutable_data_ptr<scalar_t>(),
          index.mutable_data_ptr<int64_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  return {basis, index};
}

at::Tensor spline_basis_backward_cuda(const at::Tensor& grad_basis, const at::Tensor& pseudo,
                                      const at::Tensor& kernel_size, const at::Tensor& is_open_spline,
                                      int64_t degree) {
  check_spline_args(pseudo, kernel_size, is_open_spline, degree);
  const int64_t E = pseudo.size(0), D = pseudo.size(1), S = num_basis(degree, D);
  MG_CHECK_SHAPE(grad_basis, {E, S});
  MG_CHECK_SAME_DTYPE(grad_basis, pseudo);
  MG_CHECK_SAME_DEVICE(grad_basis, pseudo);
  const c10::cuda::CUDAGuard guard(pseudo.device());
  auto grad = at::empty({E, D}, pseudo.options());
  if (E == 0) return grad;
  const auto ks = kernel_size.contiguous();
  const auto op = is_open_spline.contiguous();
  const auto stream = c10::cuda::getCurrentCUDAStream();
  MG_DISPATCH_FLOATING_TYPES(pseudo.scalar_type(), "spline_basis_backward_cuda", [&] {
    MG_DISPATCH_SPLINE_DEGREE(degree, [&] {
      basis_backward_kernel<scalar_t, DEG><<<cuda::num_blocks(E * D), cuda::kThreads, 0, stream>>>(
          grad_basis.const_data_ptr<scalar_t>(), grad_basis.stride(0), grad_basis.stride(1),
          pseudo.const_data_ptr<scalar_t>(), pseudo.stride(0), pseudo.stride(1), ks.const_data_ptr<int64_t>(),
          static_cast<const uint8_t*>(op.const_data_ptr()), E, D, S, grad.mutable_data_ptr<scalar_t>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  });
  return grad;
}

}  // namespace
}  // namespace spline
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("spline_basis", &mg::spline::spline_basis_cuda);
  m.impl("spline_basis_backward", &mg::spline::spline_basis_backward_cuda);
}
