// interpolate_face_attributes: barycentric interpolation of per-face-corner or per-vertex values at the
// rasterized pixel slots (PyTorch3D's interpolate_face_attributes, plus a form that reads vertex features through
// the faces so that no (F, 3, D) copy is made).
//
//   interpolate_face_attributes(pix_to_face: (S...) int64, bary: (S..., 3), values, faces?) -> (S..., D)
//     faces absent:  values (F, 3, D), row(f, i) = 3 f + i   (PyTorch3D's face_attributes)
//     faces (F, 3):  values (V, D),    row(f, i) = faces[f, i]
//     out[s] = sum_i bary[s, i] * values[row(pix_to_face[s], i)], zeros where pix_to_face[s] < 0.
//   interpolate_face_attributes_backward(grad (S..., D), pix_to_face, bary, values, faces?) ->
//     (grad_bary (S..., 3), grad_values like values): grad_bary[s, i] = <grad[s], values[row]>,
//     grad_values[row] += bary[s, i] grad[s].
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/macros/Macros.h>
#include <c10/util/Optional.h>

#include <cstdint>

namespace mg {
namespace interp {

// Rows of values read by slot face f (faces may be null: the (F, 3, D) layout).
C10_HOST_DEVICE inline int64_t value_row(const int64_t* faces, int64_t f, int i) {
  return faces != nullptr ? faces[3 * f + i] : 3 * f + i;
}

inline void check_inputs(const at::Tensor& pix_to_face, const at::Tensor& bary, const at::Tensor& values,
                         const c10::optional<at::Tensor>& faces) {
  TORCH_CHECK(pix_to_face.scalar_type() == at::kLong, "pix_to_face must be int64");
  TORCH_CHECK(bary.dim() == pix_to_face.dim() + 1 && bary.size(-1) == 3 &&
                  bary.sizes().slice(0, pix_to_face.dim()) == pix_to_face.sizes(),
              "bary must have the shape of pix_to_face plus a trailing 3");
  TORCH_CHECK(bary.scalar_type() == values.scalar_type(), "bary and values must share a dtype");
  TORCH_CHECK(values.scalar_type() == at::kFloat || values.scalar_type() == at::kDouble,
              "values must be float32 or float64");
  if (faces.has_value()) {
    TORCH_CHECK(faces->dim() == 2 && faces->size(1) == 3 && faces->scalar_type() == at::kLong,
                "faces must be (F, 3) int64");
    TORCH_CHECK(values.dim() == 2, "values must be (V, D) when faces are given");
  } else {
    TORCH_CHECK(values.dim() == 3 && values.size(1) == 3, "values must be (F, 3, D) without faces");
  }
  TORCH_CHECK(bary.device() == values.device() && pix_to_face.device() == values.device(),
              "inputs must share a device");
}

// The inputs as the kernels read them: contiguous, faces undefined for the (F, 3, D) layout.
struct Contiguous {
  at::Tensor p2f, bary, values, faces;
};

inline Contiguous contiguous_inputs(const at::Tensor& pix_to_face, const at::Tensor& bary, const at::Tensor& values,
                                    const c10::optional<at::Tensor>& faces) {
  return {pix_to_face.contiguous(), bary.contiguous(), values.contiguous(),
          faces.has_value() ? faces->contiguous() : at::Tensor()};
}

inline int64_t num_faces(const at::Tensor& values, const c10::optional<at::Tensor>& faces) {
  return faces.has_value() ? faces->size(0) : values.size(0);
}

}  // namespace interp
}  // namespace mg
