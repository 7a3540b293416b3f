"""voxel_grid_pool: coarsen point sets by a voxel grid (one point per occupied voxel of each graph)."""

from __future__ import annotations

import torch

from .scatter import scatter


def voxel_grid_pool(batch, size: float | torch.Tensor, reduce: str = "mean") -> tuple["GraphBatch", torch.Tensor]:
    """Pool every graph's points into cubic voxels of edge `size` (a float, or (D,) sizes per axis), each graph's
    grid anchored at its own minimum corner (PyG's voxel_grid + pooling).

    Returns:
        (pooled, cluster): pooled is a GraphBatch of point clouds, one point per occupied voxel (position = mean of
        its points; every floating vertex feature reduced with `reduce`: "mean", "sum", "max" or "min"), graphs in
        the input's order and voxels sorted within each; cluster (sum_V,) int64 maps each input point to its pooled
        point (use it to unpool: `pooled_feature[cluster]`). Reductions run on the fused segment kernel.
    """
    from ..graph import POS, Graph, GraphBatch  # a graph-level op: the container is imported on use (layering)

    if not isinstance(batch, GraphBatch):
        raise TypeError(f"batch must be a GraphBatch, got {type(batch).__name__}")
    pos = batch.pos
    if pos is None:
        raise ValueError("voxel_grid_pool needs vertex positions")
    size_t = torch.as_tensor(size, dtype=pos.dtype, device=pos.device).reshape(-1)
    if size_t.numel() not in (1, pos.shape[1]) or not bool((size_t > 0).all()):
        raise ValueError(f"size must be positive, one value or one per axis ({pos.shape[1]}), got {size!r}")
    gi = batch.graph_index
    N = len(batch)
    if batch.num_verts == 0:
        return GraphBatch([Graph(pos.new_zeros((0, pos.shape[1]))) for _ in range(N)]), gi.clone()
    lo = torch.full((N, pos.shape[1]), float("inf"), dtype=pos.dtype, device=pos.device)
    lo = lo.scatter_reduce(0, gi[:, None].expand_as(pos), pos.detach(), "amin", include_self=True)
    cell = torch.floor((pos.detach() - lo[gi]) / size_t).long()
    key = torch.cat([gi[:, None], cell], dim=1)
    uniq, cluster = torch.unique(key, dim=0, return_inverse=True)  # sorted by graph, then voxel
    C = uniq.shape[0]
    pooled = {name: scatter(x, cluster, C, reduce if name != POS else "mean")
              for name, x in batch._vfeats.items() if x.is_floating_point()}
    per_graph = torch.zeros(N, dtype=torch.int64, device=pos.device).index_add_(0, uniq[:, 0], torch.ones_like(uniq[:, 0]))
    counts = per_graph.tolist()
    graphs, start = [], 0
    for n in counts:
        feats = {k: v[start : start + n] for k, v in pooled.items() if k != POS}
        graphs.append(Graph(pooled[POS][start : start + n], vertex_features=feats))
        start += n
    return GraphBatch(graphs), cluster
