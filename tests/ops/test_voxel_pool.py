"""voxel_grid_pool vs a direct per-voxel computation."""

import pytest
import torch

import meshgraph as mg
from meshgraph.ops import voxel_grid_pool


def test_pools_per_graph_voxels_and_unpools():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(200, 3, generator=g, dtype=torch.float64)
    b = torch.rand(50, 3, generator=g, dtype=torch.float64) + 10
    fa, fb = torch.randn(200, 4, generator=g, dtype=torch.float64), torch.randn(50, 4, generator=g, dtype=torch.float64)
    batch = mg.GraphBatch([mg.Graph(a, vertex_features={"f": fa}), mg.Graph(b, vertex_features={"f": fb})])
    pooled, cluster = voxel_grid_pool(batch, 0.25, reduce="max")
    assert cluster.shape == (250,) and len(pooled) == 2
    for gi, (pts, f) in enumerate([(a, fa), (b, fb)]):
        cell = torch.floor((pts - pts.min(0).values) / 0.25).long()
        keys = sorted({tuple(c) for c in cell.tolist()})
        assert pooled.num_verts_per_graph[gi] == len(keys)
        for j, key in enumerate(keys):
            m = (cell == torch.tensor(key)).all(1)
            torch.testing.assert_close(pooled.list("pos")[gi][j], pts[m].mean(0))
            torch.testing.assert_close(pooled.list("f")[gi][j], f[m].max(0).values)
    unpooled = pooled.pos_packed()[cluster]
    assert ((unpooled - batch.pos_packed()).abs() <= 0.25 * 3**0.5).all()
    with pytest.raises(ValueError, match="size"):
        voxel_grid_pool(batch, 0.0)
