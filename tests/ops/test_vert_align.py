"""vert_align: PyTorch3D semantics (grid_sample at (x, y) in [-1, 1], align_corners=True by default)."""

import pytest
import torch

import meshgraph as mg
from meshgraph.ops import vert_align


def test_samples_pixel_centres_and_bilinear_midpoints():
    feats = torch.arange(2 * 3 * 3, dtype=torch.float64).view(1, 2, 3, 3)
    # with align_corners=True, x = -1, 0, 1 hit pixel columns 0, 1, 2 exactly
    verts = torch.tensor([[[-1.0, -1.0, 5.0], [1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]], dtype=torch.float64)
    out = vert_align(feats, verts)
    assert out.shape == (1, 3, 2)
    torch.testing.assert_close(out[0, 0], feats[0, :, 0, 0])
    torch.testing.assert_close(out[0, 1], feats[0, :, 1, 2])
    torch.testing.assert_close(out[0, 2], feats[0, :, 1:3, 1:3].mean((1, 2)))  # midpoint of 4 pixels


def test_lists_of_maps_packed_graph_batches_and_gradients():
    g = mg.GraphBatch([mg.Graph(torch.rand(4, 3) * 2 - 1), mg.Graph(torch.rand(2, 3) * 2 - 1)])
    f1 = torch.randn(2, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    f2 = torch.randn(2, 5, 4, 4, dtype=torch.float64)
    packed = vert_align([f1, f2.float().double()], g, return_packed=True)
    assert packed.shape == (6, 8)
    padded = vert_align([f1, f2], g.pos_padded().double())
    torch.testing.assert_close(packed[4:], padded[1, :2])
    v = (torch.rand(2, 5, 3, dtype=torch.float64) * 1.6 - 0.8).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: vert_align(a, b), (f1, v))
    with pytest.raises(ValueError, match="batch size"):
        vert_align(f1[:1], v)
    with pytest.raises(ValueError, match="verts"):
        vert_align(f1, v[..., :1])
