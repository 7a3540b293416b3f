// CPU kernels for winding_number and winding_number_backward (contract in winding_number.h): points in parallel
// over the BVH of mesh_bvh.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <torch/library.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include "../../common/checks.h"
#include "winding_number.h"

namespace mg {
namespace wn {
namespace {

// Points per chunk of the backward's vertex-gradient buffers, and the most chunks (each a (V, 3) buffer).
constexpr int64_t kGradChunk = 4096, kMaxGradChunks = 16;

// Calls fn(i, root) for every point i of an element with faces, elements in order, points in parallel.
template <typename Fn>
void each_point(const at::Tensor& cloud_first, const at::Tensor& cloud_size, const at::Tensor& root, int64_t lo,
                int64_t hi, Fn&& fn) {
  const int64_t N = cloud_first.size(0);
  const int64_t* cf = cloud_first.const_data_ptr<int64_t>();
  const int64_t* cs = cloud_size.const_data_ptr<int64_t>();
  const int64_t* rt = root.const_data_ptr<int64_t>();
  for (int64_t n = 0; n < N; ++n) {
    if (rt[n] < 0) continue;
    const int64_t a = std::max(cf[n], lo), b = std::min(cf[n] + cs[n], hi);
    for (int64_t i = a; i < b; ++i) fn(i, rt[n]);
  }
}

at::Tensor winding_number_cpu(const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
                              const at::Tensor& verts, const at::Tensor& faces, const at::Tensor& box,
                              const at::Tensor& node, const at::Tensor& order, const at::Tensor& root,
                              const at::Tensor& chain_start, const at::Tensor& chain_edge) {
  const int64_t M = check_inputs(points, cloud_first, cloud_size, verts, faces, box, node, order, root, chain_start,
                                 chain_edge);
  const int64_t F = faces.size(0), V = verts.size(0), P = points.size(0), B = chain_edge.size(0);
  const auto acc = points.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  auto out = at::zeros({P}, points.options().dtype(acc));
  if (F == 0 || P == 0) return out.to(points.scalar_type());
  const auto pts = points.to(acc).contiguous(), v = verts.to(acc).contiguous(), fc = faces.contiguous();
  const auto bx = box.contiguous(), nd = node.contiguous(), od = order.contiguous(), rt = root.contiguous();
  const auto st = chain_start.contiguous(), ed = chain_edge.contiguous();
  const auto cf = cloud_first.contiguous(), cs = cloud_size.contiguous();
  AT_DISPATCH_FLOATING_TYPES(pts.scalar_type(), "winding_number_cpu", [&] {
    using T = scalar_t;
    const T* pp = pts.const_data_ptr<T>();
    T* op = out.mutable_data_ptr<T>();
    at::parallel_for(0, P, 64, [&](int64_t lo, int64_t hi) {
      each_point(cf, cs, rt, lo, hi, [&](int64_t i, int64_t r) {
        SolidAngleSum<T> sum{pp + 3 * i, T(0)};
        visit_terms(pp + 3 * i, v.const_data_ptr<T>(), V, fc.const_data_ptr<int64_t>(), F, bx.const_data_ptr<T>(),
                    nd.const_data_ptr<int64_t>(), od.const_data_ptr<int64_t>(), st.const_data_ptr<int64_t>(),
                    ed.const_data_ptr<int64_t>(), B, r, M, sum);
        op[i] = sum.w / T(kFourPi);
      });
    });
  });
  return out.to(points.scalar_type());
}

template <typename T>
struct AddTo {
  T* buf;
  void operator()(int64_t v, const T* g) const {
    buf[3 * v] += g[0];
    buf[3 * v + 1] += g[1];
    buf[3 * v + 2] += g[2];
  }
};

}  // namespace

std::tuple<at::Tensor, at::Tensor> winding_number_backward_cpu(
    const at::Tensor& grad, const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
    const at::Tensor& verts, const at::Tensor& faces, const at::Tensor& box, const at::Tensor& node,
    const at::Tensor& order, const at::Tensor& root, const at::Tensor& chain_start, const at::Tensor& chain_edge) {
  const int64_t M = check_inputs(points, cloud_first, cloud_size, verts, faces, box, node, order, root, chain_start,
                                 chain_edge);
  MG_CHECK_SHAPE(grad, {points.size(0)});
  MG_CHECK_SAME_DTYPE(grad, points);
  MG_CHECK_SAME_DEVICE(grad, points);
  const int64_t F = faces.size(0), V = verts.size(0), P = points.size(0), B = chain_edge.size(0);
  const auto acc = points.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  auto gp = at::zeros({P, 3}, points.options().dtype(acc));
  if (F == 0 || P == 0) return {gp.to(points.scalar_type()), at::zeros_like(verts)};
  const auto pts = points.to(acc).contiguous(), v = verts.to(acc).contiguous(), fc = faces.contiguous();
  const auto g = grad.to(acc).contiguous();
  const auto bx = box.contiguous(), nd = node.contiguous(), od = order.contiguous(), rt = root.contiguous();
  const auto st = chain_start.contiguous(), ed = chain_edge.contiguous();
  const auto cf = cloud_first.contiguous(), cs = cloud_size.contiguous();
  // chunk c of the points adds into buffer c % C; a buffer's chunks run in order on one thread
  const int64_t chunks = (P + kGradChunk - 1) / kGradChunk, C = std::min(chunks, kMaxGradChunks);
  auto bufs = at::zeros({C, V, 3}, points.options().dtype(acc));
  AT_DISPATCH_FLOATING_TYPES(pts.scalar_type(), "winding_number_backward_cpu", [&] {
    using T = scalar_t;
    const T* pp = pts.const_data_ptr<T>();
    const T* gpp = g.const_data_ptr<T>();
    T* gpo = gp.mutable_data_ptr<T>();
    T* bp = bufs.mutable_data_ptr<T>();
    at::parallel_for(0, C, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t k = c; k < chunks; k += C)
          each_point(cf, cs, rt, k * kGradChunk, std::min(P, (k + 1) * kGradChunk), [&](int64_t i, int64_t r) {
            SolidAngleGrad<T, AddTo<T>> term{pp + 3 * i, gpp[i] / T(kFourPi), AddTo<T>{bp + 3 * V * c}, {0, 0, 0}};
            visit_terms(pp + 3 * i, v.const_data_ptr<T>(), V, fc.const_data_ptr<int64_t>(), F,
                        bx.const_data_ptr<T>(), nd.const_data_ptr<int64_t>(), od.const_data_ptr<int64_t>(),
                        st.const_data_ptr<int64_t>(), ed.const_data_ptr<int64_t>(), B, r, M, term);
            for (int k3 = 0; k3 < 3; ++k3) gpo[3 * i + k3] = term.gq[k3];
          });
    });
    // the buffers summed in a fixed order
    for (int64_t c = 1; c < C; ++c)
      for (int64_t j = 0; j < 3 * V; ++j) bp[j] += bp[3 * V * c + j];
  });
  return {gp.to(points.scalar_type()), bufs[0].to(verts.scalar_type())};
}

}  // namespace wn
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("winding_number", &mg::wn::winding_number_cpu);
  m.impl("winding_number_backward", &mg::wn::winding_number_backward_cpu);
}
