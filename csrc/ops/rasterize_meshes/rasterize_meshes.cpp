// Schemas for rasterize_meshes and its backward, and the face tiles both backends walk (contract in
// rasterize_meshes.h; the tiling itself is shared with rasterize_points).
#include <ATen/ATen.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "rasterize_meshes.h"

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def(
      "rasterize_meshes(Tensor face_verts, Tensor mesh_first, Tensor mesh_size, SymInt image_height, "
      "SymInt image_width, float blur_radius, SymInt K, int? bin_size, bool perspective_correct, "
      "bool clip_barycentric_coords, "
      "bool cull_backfaces) -> (Tensor, Tensor, Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
  m.def(
      "rasterize_meshes_backward(Tensor face_verts, Tensor pix_to_face, Tensor grad_zbuf, Tensor grad_bary, "
      "Tensor grad_dists, bool perspective_correct, bool clip_barycentric_coords) -> Tensor",
      {at::Tag::pt2_compliant_tag});
}

namespace mg {
namespace raster {

void check_mesh_inputs(const at::Tensor& face_verts, const at::Tensor& mesh_first, const at::Tensor& mesh_size,
                       int64_t H, int64_t W, int64_t K, double blur_radius, std::optional<int64_t> bin_size) {
  TORCH_CHECK(face_verts.dim() == 3 && face_verts.size(1) == 3 && face_verts.size(2) == 3,
              "face_verts must be (F, 3, 3), got ", face_verts.sizes());
  MG_CHECK_FLOATING(face_verts);
  MG_CHECK_DIM(mesh_first, 1);
  check_ranges(mesh_first, mesh_size, mesh_first.size(0), face_verts.size(0), face_verts, "mesh_first", "mesh_size",
               /*disjoint=*/true);
  TORCH_CHECK(H > 0 && W > 0, "image size must be positive, got ", H, " x ", W);
  TORCH_CHECK(K > 0, "K must be positive, got ", K);
  TORCH_CHECK(blur_radius >= 0 && std::isfinite(blur_radius), "blur_radius must be finite and >= 0, got ", blur_radius);
  check_bin_size(bin_size);
}

at::Tensor mesh_grads_from_slots(const at::Tensor& pix_to_face, const at::Tensor& contrib, int64_t F,
                                 at::ScalarType dtype) {
  auto grad = at::zeros({F, 9}, contrib.options());
  if (F > 0 && contrib.size(0) > 0)
    grad.index_put_({pix_to_face.reshape({-1}).clamp(0, F - 1)}, contrib, /*accumulate=*/true);
  return grad.view({F, 3, 3}).to(dtype);
}

// CPU: the same tiles, built with plain loops.
static Bins build_face_bins_cpu(const at::Tensor& face_verts, const at::Tensor& mesh_first, const at::Tensor& mesh_size,
                                int64_t H, int64_t W, double blur_radius, std::optional<int64_t> bin_size,
                                bool cull_backfaces,
                                bool perspective_correct) {
  const int64_t F = face_verts.size(0), N = mesh_first.size(0);
  const auto fv = face_verts.to(at::kDouble).contiguous();
  const double* fp = fv.const_data_ptr<double>();
  const auto img_t = image_of_items(mesh_first, mesh_size, F).contiguous();
  std::vector<int64_t> img(img_t.const_data_ptr<int64_t>(), img_t.const_data_ptr<int64_t>() + F);
  std::vector<int64_t> box(4 * F);
  std::vector<double> key(F, 0.0), ext(F, 0.0);
  const double margin = std::sqrt(blur_radius);
  const double inf = std::numeric_limits<double>::infinity();
  at::parallel_for(0, F, 4096, [&](int64_t lo, int64_t hi) {
    for (int64_t f = lo; f < hi; ++f) {
      const double* v = fp + 9 * f;
      bool finite = true;
      for (int i = 0; i < 9; ++i) finite = finite && std::isfinite(v[i]);
      const double area = (v[6] - v[0]) * (v[4] - v[1]) - (v[7] - v[1]) * (v[3] - v[0]);
      if (!finite || !(std::abs(area) > kFaceAreaEps) || (cull_backfaces && area < 0)) {
        img[f] = -1;
        continue;
      }
      const double xmin = std::min({v[0], v[3], v[6]}), xmax = std::max({v[0], v[3], v[6]});
      const double ymin = std::min({v[1], v[4], v[7]}), ymax = std::max({v[1], v[4], v[7]});
      pixel_range_scalar((xmin + xmax) / 2, (xmax - xmin) / 2 + margin, W, H, box[4 * f], box[4 * f + 1]);
      pixel_range_scalar((ymin + ymax) / 2, (ymax - ymin) / 2 + margin, H, W, box[4 * f + 2], box[4 * f + 3]);
      const double zmin = std::min({v[2], v[5], v[8]});
      key[f] = perspective_correct && zmin <= 1e-4 ? -inf : zmin;
      ext[f] = std::max(xmax - xmin, ymax - ymin) + 2 * margin;
    }
  });
  int64_t T = bin_size.value_or(0);
  if (!bin_size.has_value()) {
    double sum = 0;
    int64_t nd = 0;
    for (int64_t f = 0; f < F; ++f)
      if (img[f] >= 0) {
        sum += ext[f];
        ++nd;
      }
    // the CPU kernel visits each face's own pixels, so larger tiles only cut duplicated (face, tile) pairs
    T = auto_bin_size(nd > 0 ? sum / static_cast<double>(nd) * static_cast<double>(std::min(H, W)) / 2 : 0.0, 32, 128);
  }
  Bins b = bins_from_boxes_cpu(box, img, key, N, H, W, T);
  b.box = at::from_blob(box.data(), {F, 4}, at::TensorOptions().dtype(at::kLong)).clone();
  b.key = at::from_blob(key.data(), {F}, at::TensorOptions().dtype(at::kDouble))
              .to(at::toOpMathType(face_verts.scalar_type()))
              .clone();
  return b;
}

Bins build_face_bins(const at::Tensor& face_verts, const at::Tensor& mesh_first, const at::Tensor& mesh_size,
                     int64_t H, int64_t W, double blur_radius, std::optional<int64_t> bin_size, bool cull_backfaces,
                     bool perspective_correct) {
  if (face_verts.device().is_cpu() && !device_path_forced())
    return build_face_bins_cpu(face_verts, mesh_first, mesh_size, H, W, blur_radius, bin_size, cull_backfaces,
                               perspective_correct);
  const int64_t F = face_verts.size(0), N = mesh_first.size(0);
  const auto fv = face_verts.to(at::kDouble);
  const auto x = fv.select(2, 0), y = fv.select(2, 1), z = fv.select(2, 2);  // (F, 3)
  const auto x0 = x.select(1, 0), x1 = x.select(1, 1), x2 = x.select(1, 2);
  const auto y0 = y.select(1, 0), y1 = y.select(1, 1), y2 = y.select(1, 2);
  const auto area = (x2 - x0) * (y1 - y0) - (y2 - y0) * (x1 - x0);
  auto ok = at::isfinite(fv).flatten(1).all(1).logical_and_(area.abs() > kFaceAreaEps);
  if (cull_backfaces) ok.logical_and_(area >= 0);
  auto img = at::where(ok, image_of_items(mesh_first, mesh_size, F), -1);
  const double margin = std::sqrt(blur_radius);
  const auto xmin = at::where(ok, std::get<0>(x.min(1)), 0.0), xmax = at::where(ok, std::get<0>(x.max(1)), 0.0);
  const auto ymin = at::where(ok, std::get<0>(y.min(1)), 0.0), ymax = at::where(ok, std::get<0>(y.max(1)), 0.0);
  const auto [c0, c1] = pixel_range((xmin + xmax) / 2, (xmax - xmin) / 2 + margin, W, H);
  const auto [r0, r1] = pixel_range((ymin + ymax) / 2, (ymax - ymin) / 2 + margin, H, W);
  const auto box = at::stack({c0, c1, r0, r1}, 1);
  // bin_size None: tiles about twice the mean face extent in pixels (a power of two in [8, 128])
  const AutoBin autobin{at::maximum(xmax - xmin, ymax - ymin) + 2 * margin, static_cast<double>(std::min(H, W)) / 2,
                        8, 128};
  // Order key: the nearest vertex depth, a lower bound of every hit's depth when barycentrics are convex. With
  // perspective correction a face touching z <= 1e-4 can produce unnormalized barycentrics: it goes first
  // (key -inf) so that no early exit can skip it.
  auto key = at::where(ok, std::get<0>(z.min(1)), 0.0);
  if (perspective_correct) key = at::where(key <= 1e-4, -std::numeric_limits<double>::infinity(), key);
  const auto order = std::get<1>(at::sort(key, /*stable=*/true, /*dim=*/0, /*descending=*/false));
  Bins b = bins_from_boxes(box, img, order, N, H, W, bin_size, autobin);
  b.box = box.contiguous();
  b.key = key.to(at::toOpMathType(face_verts.scalar_type())).contiguous();  // in the kernels' accumulation type
  return b;
}

}  // namespace raster
}  // namespace mg
