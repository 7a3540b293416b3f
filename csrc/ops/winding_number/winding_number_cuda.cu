// CUDA kernels for winding_number and winding_number_backward (contract in winding_number.h): one thread per
// point over the BVH of mesh_bvh (no synchronisation); every id clamped.
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <tuple>

#include "../../common/checks.h"
#include "../../common/cuda_utils.cuh"
#include "../../common/determinism.h"
#include "../../common/index_math.h"
#include "winding_number.h"

namespace mg {
namespace wn {
namespace {

// The BVH and chain pointers of one call.
template <typename T>
struct Tree {
  const T* verts;
  int64_t V;
  const int64_t* faces;
  int64_t F;
  const T* box;
  const int64_t* node;
  const int64_t* order;
  const int64_t* bstart;
  const int64_t* bedge;
  int64_t B;
  const int64_t* root;
  int64_t M;
};

template <typename T>
Tree<T> tree_of(const at::Tensor& v, const at::Tensor& fc, const at::Tensor& bx, const at::Tensor& nd,
                const at::Tensor& od, const at::Tensor& st, const at::Tensor& ed, const at::Tensor& rt, int64_t M) {
  return {v.const_data_ptr<T>(),     v.size(0),  fc.const_data_ptr<int64_t>(), fc.size(0),
          bx.const_data_ptr<T>(),    nd.const_data_ptr<int64_t>(), od.const_data_ptr<int64_t>(),
          st.const_data_ptr<int64_t>(), ed.const_data_ptr<int64_t>(), ed.size(0), rt.const_data_ptr<int64_t>(), M};
}

// The element owning point i (ranges unchecked on CUDA: an unsorted one leaves points unowned, at 0).
__device__ inline int64_t owner(const int64_t* cf, const int64_t* cs, int64_t N, int64_t i) {
  const int64_t n = row_of_entry(cf, N, i);
  return n >= 0 && i < cf[n] + cs[n] ? n : -1;
}

template <typename T>
__global__ void winding_kernel(const T* __restrict__ pts, const int64_t* cf, const int64_t* cs, int64_t N, int64_t P,
                               Tree<T> t, T* out) {
  MG_CUDA_KERNEL_LOOP(i, P) {
    const int64_t n = owner(cf, cs, N, i);
    if (n < 0) continue;
    SolidAngleSum<T> sum{pts + 3 * i, T(0)};
    visit_terms(pts + 3 * i, t.verts, t.V, t.faces, t.F, t.box, t.node, t.order, t.bstart, t.bedge, t.B, t.root[n],
                t.M, sum);
    out[i] = sum.w / T(kFourPi);
  }
}

template <typename T>
struct AtomicAddTo {
  T* buf;
  C10_HOST_DEVICE void operator()(int64_t v, const T* g) const {
#if defined(__CUDA_ARCH__)
    atomicAdd(buf + 3 * v, g[0]);
    atomicAdd(buf + 3 * v + 1, g[1]);
    atomicAdd(buf + 3 * v + 2, g[2]);
#endif
  }
};

template <typename T>
__global__ void winding_grad_kernel(const T* __restrict__ grad, const T* __restrict__ pts, const int64_t* cf,
                                    const int64_t* cs, int64_t N, int64_t P, Tree<T> t, T* grad_pts, T* grad_verts) {
  MG_CUDA_KERNEL_LOOP(i, P) {
    const int64_t n = owner(cf, cs, N, i);
    if (n < 0) continue;
    SolidAngleGrad<T, AtomicAddTo<T>> term{pts + 3 * i, grad[i] / T(kFourPi), AtomicAddTo<T>{grad_verts}, {0, 0, 0}};
    visit_terms(pts + 3 * i, t.verts, t.V, t.faces, t.F, t.box, t.node, t.order, t.bstart, t.bedge, t.B, t.root[n],
                t.M, term);
    for (int k = 0; k < 3; ++k) grad_pts[3 * i + k] = term.gq[k];
  }
}

at::Tensor winding_number_cuda(const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
                               const at::Tensor& verts, const at::Tensor& faces, const at::Tensor& box,
                               const at::Tensor& node, const at::Tensor& order, const at::Tensor& root,
                               const at::Tensor& chain_start, const at::Tensor& chain_edge) {
  const int64_t M = check_inputs(points, cloud_first, cloud_size, verts, faces, box, node, order, root, chain_start,
                                 chain_edge);
  const c10::cuda::CUDAGuard guard(points.device());
  const int64_t N = cloud_first.size(0), F = faces.size(0), P = points.size(0), V = verts.size(0);
  const auto acc = points.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  auto out = at::zeros({P}, points.options().dtype(acc));
  if (F == 0 || V == 0 || P == 0 || N == 0 || M == 0) return out.to(points.scalar_type());
  const auto pts = points.to(acc).contiguous(), v = verts.to(acc).contiguous(), fc = faces.contiguous();
  const auto bx = box.contiguous(), nd = node.contiguous(), od = order.contiguous(), rt = root.contiguous();
  const auto st = chain_start.contiguous(), ed = chain_edge.contiguous();
  const auto cf = cloud_first.contiguous(), cs = cloud_size.contiguous();
  AT_DISPATCH_FLOATING_TYPES(pts.scalar_type(), "winding_number_cuda", [&] {
    winding_kernel<scalar_t><<<cuda::num_blocks(P), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        pts.const_data_ptr<scalar_t>(), cf.const_data_ptr<int64_t>(), cs.const_data_ptr<int64_t>(), N, P,
        tree_of<scalar_t>(v, fc, bx, nd, od, st, ed, rt, M), out.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out.to(points.scalar_type());
}

std::tuple<at::Tensor, at::Tensor> winding_number_backward_cuda(
    const at::Tensor& grad, const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
    const at::Tensor& verts, const at::Tensor& faces, const at::Tensor& box, const at::Tensor& node,
    const at::Tensor& order, const at::Tensor& root, const at::Tensor& chain_start, const at::Tensor& chain_edge) {
  const int64_t M = check_inputs(points, cloud_first, cloud_size, verts, faces, box, node, order, root, chain_start,
                                 chain_edge);
  MG_CHECK_SHAPE(grad, {points.size(0)});
  MG_CHECK_SAME_DTYPE(grad, points);
  MG_CHECK_SAME_DEVICE(grad, points);
  const c10::cuda::CUDAGuard guard(points.device());
  if (use_deterministic_path(points)) {  // the CPU kernel's fixed-order sums, on host copies
    const auto cpu = [](const at::Tensor& t) { return t.cpu(); };
    auto [gp, gv] = winding_number_backward_cpu(cpu(grad), cpu(points), cpu(cloud_first), cpu(cloud_size), cpu(verts),
                                                cpu(faces), cpu(box), cpu(node), cpu(order), cpu(root),
                                                cpu(chain_start), cpu(chain_edge));
    return {gp.to(points.device()), gv.to(points.device())};
  }
  const int64_t N = cloud_first.size(0), F = faces.size(0), P = points.size(0), V = verts.size(0);
  const auto acc = points.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  auto gp = at::zeros({P, 3}, points.options().dtype(acc));
  auto gv = at::zeros({V, 3}, points.options().dtype(acc));
  if (F == 0 || V == 0 || P == 0 || N == 0 || M == 0) return {gp.to(points.scalar_type()), gv.to(verts.scalar_type())};
  const auto pts = points.to(acc).contiguous(), v = verts.to(acc).contiguous(), fc = faces.contiguous();
  const auto g = grad.to(acc).contiguous();
  const auto bx = box.contiguous(), nd = node.contiguous(), od = order.contiguous(), rt = root.contiguous();
  const auto st = chain_start.contiguous(), ed = chain_edge.contiguous();
  const auto cf = cloud_first.contiguous(), cs = cloud_size.contiguous();
  alert_atomic_reduction("winding_number_backward_cuda");
  AT_DISPATCH_FLOATING_TYPES(pts.scalar_type(), "winding_number_backward_cuda", [&] {
    winding_grad_kernel<scalar_t><<<cuda::num_blocks(P), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        g.const_data_ptr<scalar_t>(), pts.const_data_ptr<scalar_t>(), cf.const_data_ptr<int64_t>(),
        cs.const_data_ptr<int64_t>(), N, P, tree_of<scalar_t>(v, fc, bx, nd, od, st, ed, rt, M),
        gp.mutable_data_ptr<scalar_t>(), gv.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {gp.to(points.scalar_type()), gv.to(verts.scalar_type())};
}

}  // namespace
}  // namespace wn
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("winding_number", &mg::wn::winding_number_cuda);
  m.impl("winding_number_backward", &mg::wn::winding_number_backward_cuda);
}
