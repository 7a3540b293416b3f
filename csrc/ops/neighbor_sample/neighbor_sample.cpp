// Schema for neighbor_sample; contract in neighbor_sample.h. The output sizes depend on the data (the fake
// kernel gives them unbacked sizes).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def(
      "neighbor_sample(Tensor rowptr, Tensor col, Tensor seeds, int[] num_neighbors, bool replace, bool directed, "
      "bool disjoint, Tensor? weight, Tensor? time, Tensor? seed_time, int rng_seed) -> (Tensor node, Tensor row, "
      "Tensor col, Tensor edge, Tensor batch, Tensor num_sampled_nodes, Tensor num_sampled_edges)",
      {at::Tag::pt2_compliant_tag});
}
