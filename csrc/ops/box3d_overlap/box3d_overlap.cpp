// Schema for box3d_overlap (contract in box3d_overlap.h).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(meshgraph, m) {
  m.def("box3d_overlap(Tensor boxes1, Tensor boxes2) -> (Tensor vol, Tensor iou)", {at::Tag::pt2_compliant_tag});
}
