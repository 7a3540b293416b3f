// Schemas for packed_to_padded / padded_to_packed; contract in packed_to_padded.h.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def("packed_to_padded(Tensor inputs, Tensor first_idxs, SymInt max_size) -> Tensor",
        {at::Tag::pt2_compliant_tag});
  m.def("padded_to_packed(Tensor inputs, Tensor first_idxs, SymInt num_inputs) -> Tensor",
        {at::Tag::pt2_compliant_tag});
}
