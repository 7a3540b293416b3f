"""vert_align: sample image features at vertex positions (PyTorch3D's vert_align), Mesh R-CNN's bridge from an
image backbone to graph refinement."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._utils import FLOAT_DTYPES, check_tensor


def vert_align(feats, verts, return_packed: bool = False, interp_mode: str = "bilinear",
               padding_mode: str = "zeros", align_corners: bool = True) -> torch.Tensor:
    """Sample (N, C, H, W) feature maps (or a list of them, concatenated along C) at each vertex's (x, y) in
    normalized [-1, 1] image coordinates, as torch.nn.functional.grid_sample reads them.

    Args:
        feats: (N, C, H, W) tensor or list of such tensors (same N).
        verts: (N, V, 2+) padded vertex positions, or a batch (GraphBatch, Meshes, Pointclouds, PyTorch3D's own
            structures: their padded positions).
        return_packed: return (sum_V, C) over each graph's real vertices (needs a GraphBatch or equal sizes).
        interp_mode, padding_mode, align_corners: as in grid_sample.

    Returns:
        (N, V, C) sampled features, or (sum_V, C) packed. Differentiable w.r.t. feats and verts.
    """
    lengths = None
    if not torch.is_tensor(verts):
        from ..structures import as_graph_batch

        try:
            batch = as_graph_batch(verts)
        except TypeError:
            raise ValueError("verts must be a tensor or have a `points_padded' or`verts_padded` attribute.") from None
        lengths = batch.num_verts_per_graph
        verts = batch.pos_padded()
    if verts.dim() != 3:
        raise ValueError("verts tensor should be 3 dimensional")
    check_tensor(verts, "verts", dim=3, dtypes=FLOAT_DTYPES)
    if verts.shape[2] < 2:
        raise ValueError(f"verts must have at least 2 coordinates, got shape {tuple(verts.shape)}")
    maps = feats if isinstance(feats, (list, tuple)) else [feats]
    if not maps:
        raise ValueError("feats must not be an empty list")
    for i, f in enumerate(maps):
        if not torch.is_tensor(f) or f.dim() != 4:
            raise ValueError("feats must have shape (N, C, H, W)")
        check_tensor(f, f"feats[{i}]" if isinstance(feats, (list, tuple)) else "feats", dim=4, dtypes=FLOAT_DTYPES)
        if f.shape[0] != verts.shape[0]:
            raise ValueError(f"inconsistent batch dimension: feats has batch size {f.shape[0]} but verts has "
                             f"{verts.shape[0]}")
    grid = verts[:, :, None, :2]  # (N, V, 1, 2)
    out = torch.cat(
        [F.grid_sample(f, grid.to(f.dtype), mode=interp_mode, padding_mode=padding_mode, align_corners=align_corners)
         for f in maps], dim=1)  # (N, C, V, 1)
    out = out[..., 0].transpose(1, 2)  # (N, V, C)
    if not return_packed:
        return out
    if lengths is None:
        return out.reshape(-1, out.shape[2])
    local = torch.arange(batch.num_verts, device=out.device) - batch.first_idxs[batch.graph_index]
    return out[batch.graph_index, local]
