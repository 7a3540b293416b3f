// Schema for random_walk; contract in random_walk.h.
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def("random_walk(Tensor rowptr, Tensor col, Tensor start, SymInt walk_length, float p, float q, int rng_seed) "
        "-> (Tensor node_seq, Tensor edge_seq)",
        {at::Tag::pt2_compliant_tag});
}
