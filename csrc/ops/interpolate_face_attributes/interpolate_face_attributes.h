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
//   values (and bary) are float16, bfloat16, float32 or float64, read in their dtype; every sum is formed in
//   acc_t<scalar_t> (float32 for the half types), outputs come back in the values' dtype.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/macros/Macros.h>
#include <c10/util/Optional.h>

#include <cstdint>

#include "../../common/checks.h"
#include "../../common/determinism.h"

namespace mg {
namespace interp {

// Row of values read by corner i of face f (faces may be null: the (F, 3, D) layout), or -1 when faces[f, i] is
// outside [0, rows): the kernels skip such a corner (it adds 0, and gets no gradient), so they stay in bounds on
// any faces tensor. On CPU check_inputs also rejects such faces up front (the values are read there anyway).
C10_HOST_DEVICE inline int64_t value_row(const int64_t* faces, int64_t f, int i, int64_t rows) {
  const int64_t r = faces != nullptr ? faces[3 * f + i] : 3 * f + i;
  return r >= 0 && r < rows ? r : -1;
}

// Devices, dtypes and shapes of every argument on every backend; on CPU also faces within [0, V). pix_to_face
// values are not checked: slots outside [0, F) are empty in every kernel.
inline void check_inputs(const at::Tensor& pix_to_face, const at::Tensor& bary, const at::Tensor& values,
                         const c10::optional<at::Tensor>& faces) {
  MG_CHECK_DTYPE(pix_to_face, at::kLong);
  TORCH_CHECK(bary.dim() == pix_to_face.dim() + 1 && bary.size(-1) == 3 &&
                  bary.sizes().slice(0, pix_to_face.dim()) == pix_to_face.sizes(),
              "bary must have the shape of pix_to_face plus a trailing 3");
  TORCH_CHECK(bary.scalar_type() == values.scalar_type(), "bary and values must share a dtype");
  MG_CHECK_FLOATING(values);
  MG_CHECK_SAME_DEVICE(values, bary);
  MG_CHECK_SAME_DEVICE(values, pix_to_face);
  if (faces.has_value()) {
    TORCH_CHECK(faces->dim() == 2 && faces->size(1) == 3 && faces->scalar_type() == at::kLong,
                "faces must be (F, 3) int64");
    TORCH_CHECK(values.dim() == 2, "values must be (V, D) when faces are given");
    MG_CHECK_SAME_DEVICE(values, (*faces));
    if (faces->device().is_cpu() && faces->numel() > 0) {
      const int64_t V = values.size(0);
      TORCH_CHECK(faces->min().item<int64_t>() >= 0 && faces->max().item<int64_t>() < V,
                  "faces must index rows of values: every entry in [0, ", V, ")");
    }
  } else {
    TORCH_CHECK(values.dim() == 3 && values.size(1) == 3, "values must be (F, 3, D) without faces");
  }
}

// The backward's grad: the shape of the output (pix_to_face's plus D), floating, on the device of values.
inline void check_grad(const at::Tensor& grad, const at::Tensor& pix_to_face, const at::Tensor& values) {
  TORCH_CHECK(grad.dim() == pix_to_face.dim() + 1 && grad.sizes().slice(0, pix_to_face.dim()) == pix_to_face.sizes() &&
                  grad.size(-1) == values.size(-1),
              "grad must have the shape of the output (pix_to_face's plus ", values.size(-1), "), got ", grad.sizes());
  MG_CHECK_FLOATING(grad);
  MG_CHECK_SAME_DEVICE(values, grad);
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

// Rows of values: V for (V, D) values, 3 F for (F, 3, D) values.
inline int64_t num_value_rows(const at::Tensor& values) {
  return values.dim() == 2 ? values.size(0) : 3 * values.size(0);
}

inline int64_t num_faces(const at::Tensor& values, const c10::optional<at::Tensor>& faces) {
  return faces.has_value() ? faces->size(0) : values.size(0);
}

// grad_values of the backward without atomics (ATen ops, any device): the kernels' per-corner terms summed with
// index_put_(accumulate=true), deterministic when PyTorch's deterministic algorithms are on (determinism.h);
// formed and summed in the accumulation dtype, returned in the values' dtype.
at::Tensor grad_values_deterministic(const at::Tensor& grad, const at::Tensor& pix_to_face, const at::Tensor& bary,
                                     const at::Tensor& values, const c10::optional<at::Tensor>& faces);

}  // namespace interp
}  // namespace mg
