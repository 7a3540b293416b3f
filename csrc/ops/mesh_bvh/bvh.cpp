// CPU construction of the BVH (bvh.h) and of the boundary chains of its nodes.
#include "bvh.h"

#include "../../common/checks.h"

#include <ATen/Dispatch.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>
#include <vector>

namespace mg {
namespace bvh {
namespace {

template <typename T>
void build_element(const T* tri, int64_t f0, int64_t nf, std::vector<T>& box, std::vector<int64_t>& node,
                   std::vector<int64_t>& order) {
  const int64_t base = static_cast<int64_t>(order.size());
  const int64_t node0 = static_cast<int64_t>(node.size() / 3);
  std::vector<T> cen(3 * nf);
  for (int64_t f = 0; f < nf; ++f) {
    order.push_back(f0 + f);
    for (int a = 0; a < 3; ++a) {
      const T* t = tri + 9 * (f0 + f);
      cen[3 * f + a] = (t[a] + t[3 + a] + t[6 + a]) / T(3);
    }
  }
  const auto new_node = [&](int64_t first, int64_t count) {
    node.insert(node.end(), {first, count, -1});
    box.insert(box.end(), 6, T(0));
    return static_cast<int64_t>(node.size() / 3) - 1;
  };
  std::vector<int64_t> todo{new_node(base, nf)};
  while (!todo.empty()) {
    const int64_t m = todo.back();
    todo.pop_back();
    const int64_t first = node[3 * m], count = node[3 * m + 1];
    T lo[3], hi[3], clo[3], chi[3];
    for (int a = 0; a < 3; ++a) {
      lo[a] = clo[a] = std::numeric_limits<T>::infinity();
      hi[a] = chi[a] = -std::numeric_limits<T>::infinity();
    }
    for (int64_t k = first; k < first + count; ++k) {
      const T* t = tri + 9 * order[k];
      const T* c = &cen[3 * (order[k] - f0)];
      for (int a = 0; a < 3; ++a) {
        for (int v = 0; v < 3; ++v) {
          lo[a] = std::min(lo[a], t[3 * v + a]);
          hi[a] = std::max(hi[a], t[3 * v + a]);
        }
        clo[a] = std::min(clo[a], c[a]);
        chi[a] = std::max(chi[a], c[a]);
      }
    }
    // a few ulps of the largest coordinate: rays grazing the box and points on it stay inside after rounding
    T scale = 0;
    for (int a = 0; a < 3; ++a) scale = std::max({scale, std::abs(lo[a]), std::abs(hi[a])});
    const T pad = T(16) * std::numeric_limits<T>::epsilon() * scale + std::numeric_limits<T>::min();
    for (int a = 0; a < 3; ++a) {
      box[6 * m + a] = lo[a] - pad;
      box[6 * m + 3 + a] = hi[a] + pad;
    }
    if (count <= kLeafSize) continue;
    int axis = 0;
    for (int a = 1; a < 3; ++a)
      if (chi[a] - clo[a] > chi[axis] - clo[axis]) axis = a;
    const int64_t half = count / 2;
    std::nth_element(order.begin() + first, order.begin() + first + half, order.begin() + first + count,
                     [&](int64_t x, int64_t y) {
                       const T cx = cen[3 * (x - f0) + axis], cy = cen[3 * (y - f0) + axis];
                       return cx < cy || (cx == cy && x < y);
                     });
    const int64_t left = new_node(first, half);
    new_node(first + half, count - half);
    node[3 * m + 2] = left;
    todo.push_back(left + 1);
    todo.push_back(left);
  }
  // canonical order within leaves (nth_element leaves it unspecified): the tree is a function of the triangles
  for (int64_t m = node0; m < static_cast<int64_t>(node.size() / 3); ++m)
    if (node[3 * m + 2] < 0) std::sort(order.begin() + node[3 * m], order.begin() + node[3 * m] + node[3 * m + 1]);
}

// faces (F, 3) int64 on the CPU, contiguous: every vertex id within [0, V).
void check_face_ids(const at::Tensor& faces, int64_t V) {
  const int64_t* fp = faces.const_data_ptr<int64_t>();
  for (int64_t i = 0; i < faces.numel(); ++i)
    TORCH_CHECK(fp[i] >= 0 && fp[i] < V, "faces must index verts: face ", i / 3, " holds ", fp[i], ", V = ", V);
}

}  // namespace

Bvh build(const at::Tensor& tris, const at::Tensor& mesh_first, const at::Tensor& mesh_size) {
  const auto t = tris.contiguous();
  const int64_t N = mesh_first.size(0);
  const auto mf = mesh_first.contiguous(), ms = mesh_size.contiguous();
  std::vector<int64_t> node, order, root(N, -1);
  Bvh out;
  AT_DISPATCH_FLOATING_TYPES(t.scalar_type(), "bvh_build", [&] {
    std::vector<scalar_t> box;
    for (int64_t n = 0; n < N; ++n) {
      const int64_t nf = ms.const_data_ptr<int64_t>()[n];
      if (nf <= 0) continue;
      root[n] = static_cast<int64_t>(node.size() / 3);
      build_element(t.const_data_ptr<scalar_t>(), mf.const_data_ptr<int64_t>()[n], nf, box, node, order);
    }
    // faces of no element follow, in increasing id order: order always holds the F faces
    std::vector<char> covered(static_cast<size_t>(t.size(0)), 0);
    for (const int64_t f : order) covered[f] = 1;
    for (int64_t f = 0; f < t.size(0); ++f)
      if (!covered[f]) order.push_back(f);
    const int64_t M = static_cast<int64_t>(node.size() / 3);
    out.box = at::empty({M, 6}, t.options());
    std::copy(box.begin(), box.end(), out.box.mutable_data_ptr<scalar_t>());
  });
  const auto opts = mesh_first.options().dtype(at::kLong);
  const int64_t M = static_cast<int64_t>(node.size() / 3);
  out.node = at::empty({M, 3}, opts);
  std::copy(node.begin(), node.end(), out.node.mutable_data_ptr<int64_t>());
  out.order = at::empty({static_cast<int64_t>(order.size())}, opts);
  std::copy(order.begin(), order.end(), out.order.mutable_data_ptr<int64_t>());
  out.root = at::empty({N}, opts);
  std::copy(root.begin(), root.end(), out.root.mutable_data_ptr<int64_t>());
  return out;
}

Chains boundary_chains(const Bvh& b, const at::Tensor& faces) {
  using Edge = std::array<int64_t, 3>;  // u < v, mult
  const int64_t M = b.node.size(0);
  const int64_t* node = b.node.const_data_ptr<int64_t>();
  const int64_t* order = b.order.const_data_ptr<int64_t>();
  const auto fc = faces.contiguous();
  const int64_t* fp = fc.const_data_ptr<int64_t>();
  std::vector<std::vector<Edge>> chain(static_cast<size_t>(M));
  const auto add_sorted = [](std::vector<Edge>& e) {  // sort by (u, v), sum multiplicities, drop zeros
    std::sort(e.begin(), e.end());
    size_t w = 0;
    for (size_t r = 0; r < e.size();) {
      Edge x = e[r++];
      while (r < e.size() && e[r][0] == x[0] && e[r][1] == x[1]) x[2] += e[r++][2];
      if (x[2] != 0) e[w++] = x;
    }
    e.resize(w);
  };
  for (int64_t m = M - 1; m >= 0; --m) {  // children follow their parent: bottom-up
    std::vector<Edge>& e = chain[m];
    const int64_t left = node[3 * m + 2];
    if (left < 0) {
      for (int64_t k = node[3 * m]; k < node[3 * m] + node[3 * m + 1]; ++k) {
        const int64_t* f = fp + 3 * order[k];
        for (int s = 0; s < 3; ++s) {
          const int64_t u = f[s], v = f[(s + 1) % 3];
          if (u != v) e.push_back(u < v ? Edge{u, v, 1} : Edge{v, u, -1});
        }
      }
      add_sorted(e);
    } else {  // merge of the two sorted children's chains
      const auto& l = chain[left];
      const auto& r = chain[left + 1];
      e.reserve(l.size() + r.size());
      size_t i = 0, j = 0;
      while (i < l.size() || j < r.size()) {
        if (j == r.size() || (i < l.size() && (l[i][0] < r[j][0] || (l[i][0] == r[j][0] && l[i][1] < r[j][1])))) {
          e.push_back(l[i++]);
        } else if (i == l.size() || r[j][0] < l[i][0] || r[j][1] < l[i][1]) {
          e.push_back(r[j++]);
        } else {
          const int64_t mult = l[i][2] + r[j][2];
          if (mult != 0) e.push_back({l[i][0], l[i][1], mult});
          ++i, ++j;
        }
      }
    }
  }
  const auto opts = b.node.options();
  Chains out;
  out.start = at::empty({M + 1}, opts);
  int64_t* sp = out.start.mutable_data_ptr<int64_t>();
  sp[0] = 0;
  for (int64_t m = 0; m < M; ++m) sp[m + 1] = sp[m] + static_cast<int64_t>(chain[m].size());
  out.edge = at::empty({sp[M], 3}, opts);
  int64_t* ep = out.edge.mutable_data_ptr<int64_t>();
  for (int64_t m = 0; m < M; ++m)
    for (const Edge& x : chain[m]) {
      std::copy(x.begin(), x.end(), ep);
      ep += 3;
    }
  return out;
}

int64_t check_bvh(const at::Tensor& box, const at::Tensor& node, const at::Tensor& order, const at::Tensor& root,
                  int64_t F, int64_t N, const at::Tensor& like, at::ScalarType box_dtype) {
  TORCH_CHECK(box.dim() == 2 && box.size(1) == 6, "box must be (M, 6), got ", box.sizes());
  const int64_t M = box.size(0);
  MG_CHECK_SHAPE(node, {M, 3});
  MG_CHECK_SHAPE(order, {F});
  MG_CHECK_SHAPE(root, {N});
  MG_CHECK_DTYPE(box, box_dtype);
  MG_CHECK_DTYPE(node, at::kLong);
  MG_CHECK_DTYPE(order, at::kLong);
  MG_CHECK_DTYPE(root, at::kLong);
  for (const at::Tensor* t : {&box, &node, &order, &root})
    TORCH_CHECK(t->device() == like.device(), "the BVH tensors must be on the device of the queries (",
                like.device(), "), got ", t->device());
  if (!like.device().is_cpu()) return M;
  const auto nc = node.contiguous(), oc = order.contiguous(), rc = root.contiguous();
  const int64_t* np = nc.const_data_ptr<int64_t>();
  for (int64_t m = 0; m < M; ++m) {
    const int64_t first = np[3 * m], count = np[3 * m + 1], left = np[3 * m + 2];
    TORCH_CHECK(first >= 0 && count >= 0 && first <= F - count, "BVH node ", m, " has face range [", first, ", ",
                first, " + ", count, ") outside [0, ", F, ")");
    TORCH_CHECK(left == -1 || (left > m && left + 1 < M), "BVH node ", m, " has child ", left, " (M = ", M, ")");
  }
  const int64_t* op = oc.const_data_ptr<int64_t>();
  for (int64_t k = 0; k < F; ++k) TORCH_CHECK(op[k] >= 0 && op[k] < F, "BVH order holds ", op[k], ", F = ", F);
  const int64_t* rp = rc.const_data_ptr<int64_t>();
  for (int64_t n = 0; n < N; ++n)
    TORCH_CHECK(rp[n] >= -1 && rp[n] < M, "BVH root of element ", n, " is ", rp[n], " (M = ", M, ")");
  return M;
}

void check_chains(const at::Tensor& start, const at::Tensor& edge, int64_t M, int64_t V, const at::Tensor& like) {
  MG_CHECK_SHAPE(start, {M + 1});
  TORCH_CHECK(edge.dim() == 2 && edge.size(1) == 3, "chain_edge must be (B, 3), got ", edge.sizes());
  MG_CHECK_DTYPE(start, at::kLong);
  MG_CHECK_DTYPE(edge, at::kLong);
  MG_CHECK_SAME_DEVICE(start, like);
  MG_CHECK_SAME_DEVICE(edge, like);
  if (!like.device().is_cpu()) return;
  const auto sc = start.contiguous(), ec = edge.contiguous();
  const int64_t* sp = sc.const_data_ptr<int64_t>();
  TORCH_CHECK(sp[0] == 0 && sp[M] == edge.size(0), "chain_start must run from 0 to B = ", edge.size(0));
  for (int64_t m = 0; m < M; ++m) TORCH_CHECK(sp[m] <= sp[m + 1], "chain_start must be non-decreasing");
  const int64_t* ep = ec.const_data_ptr<int64_t>();
  for (int64_t e = 0; e < edge.size(0); ++e)
    TORCH_CHECK(ep[3 * e] >= 0 && ep[3 * e] < V && ep[3 * e + 1] >= 0 && ep[3 * e + 1] < V,
                "chain_edge ", e, " names a vertex outside [0, ", V, ")");
}

int64_t check_point_query(const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
                          const at::Tensor& verts, const at::Tensor& faces, const at::Tensor& box,
                          const at::Tensor& node, const at::Tensor& order, const at::Tensor& root) {
  TORCH_CHECK(points.dim() == 2 && points.size(1) == 3, "points must be (P, 3)");
  TORCH_CHECK(verts.dim() == 2 && verts.size(1) == 3, "verts must be (V, 3)");
  TORCH_CHECK(faces.dim() == 2 && faces.size(1) == 3, "faces must be (F, 3)");
  MG_CHECK_FLOATING(points);
  MG_CHECK_SAME_DTYPE(points, verts);
  MG_CHECK_DTYPE(faces, at::kLong);
  MG_CHECK_SAME_DEVICE(points, verts);
  MG_CHECK_SAME_DEVICE(points, faces);
  const int64_t N = cloud_first.dim() == 1 ? cloud_first.size(0) : -1;
  TORCH_CHECK(N >= 0, "cloud_first must be (N,)");
  check_ranges(cloud_first, cloud_size, N, points.size(0), points, "cloud_first", "cloud_size", /*disjoint=*/true);
  const auto acc = points.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const int64_t M = check_bvh(box, node, order, root, faces.size(0), N, points, acc);
  if (faces.device().is_cpu()) check_face_ids(faces.contiguous(), verts.size(0));
  return M;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> build_host(
    const at::Tensor& verts, const at::Tensor& faces, const at::Tensor& mesh_first, const at::Tensor& mesh_size) {
  TORCH_CHECK(verts.dim() == 2 && verts.size(1) == 3, "verts must be (V, 3), got ", verts.sizes());
  TORCH_CHECK(faces.dim() == 2 && faces.size(1) == 3, "faces must be (F, 3), got ", faces.sizes());
  MG_CHECK_FLOATING(verts);
  MG_CHECK_DTYPE(faces, at::kLong);
  MG_CHECK_SAME_DEVICE(verts, faces);
  const int64_t N = mesh_first.dim() == 1 ? mesh_first.size(0) : -1;
  TORCH_CHECK(N >= 0, "mesh_first must be (N,)");
  const int64_t V = verts.size(0), F = faces.size(0);
  check_ranges(mesh_first, mesh_size, N, F, verts, "mesh_first", "mesh_size", /*disjoint=*/true);
  const auto mf = mesh_first.cpu(), ms = mesh_size.cpu();
  if (!verts.device().is_cpu()) check_ranges(mf, ms, N, F, mf, "mesh_first", "mesh_size", /*disjoint=*/true);
  const auto fc = faces.cpu().contiguous();
  check_face_ids(fc, V);
  const auto acc = verts.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const auto v = verts.cpu().to(acc).contiguous();
  const Bvh b = build(v.index_select(0, fc.view({-1})).view({F, 3, 3}), mf, ms);
  const Chains c = boundary_chains(b, fc);
  return {b.box, b.node, b.order, b.root, c.start, c.edge};
}

}  // namespace bvh
}  // namespace mg
