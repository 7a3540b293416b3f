// Schema for ball_query_idx; contract in ball_query.h.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  // K is the output's last dim (SymInt)
  m.def("ball_query_idx(Tensor p1, Tensor p2, Tensor lengths1, Tensor lengths2, SymInt K, float radius) -> Tensor",
        {at::Tag::pt2_compliant_tag});
}
