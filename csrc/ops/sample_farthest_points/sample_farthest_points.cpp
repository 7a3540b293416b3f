// Schema for sample_farthest_points_idx; contract in sample_farthest_points.h.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def("sample_farthest_points_idx(Tensor points, Tensor lengths, Tensor K, Tensor start, SymInt max_K) -> Tensor",
        {at::Tag::pt2_compliant_tag});
}
