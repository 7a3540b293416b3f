"""cubify: occupancy grids -> watertight meshes (Mesh R-CNN's voxel-to-mesh step, PyTorch3D's cubify).

Output order is PyTorch3D's: faces voxel by voxel in (y, x, z) order, each voxel's exposed sides in the order of
`_CUBE_TRIANGLES`; vertices are the used lattice corners sorted by their (y, x, z) lattice index.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._utils import FLOAT_DTYPES, check_tensor

_ALIGN = ("topleft", "corner", "center")

# The 12 triangles of a unit cube as corner codes 4 x + 2 y + z, two per side, and the side each belongs to as
# (axis, direction): axis 0 = x, 1 = y, 2 = z. Sides and diagonals as PyTorch3D's cubify splits them, wound so
# the right-handed normals point out of the cube.
_CUBE_TRIANGLES = (
    ((0, 1, 2), (0, -1)), ((1, 3, 2), (0, -1)),
    ((2, 3, 6), (1, +1)), ((3, 7, 6), (1, +1)),
    ((0, 2, 6), (2, -1)), ((0, 6, 4), (2, -1)),
    ((0, 5, 1), (1, -1)), ((0, 4, 5), (1, -1)),
    ((6, 7, 5), (0, +1)), ((6, 5, 4), (0, +1)),
    ((1, 7, 3), (2, +1)), ((1, 5, 7), (2, +1)),
)


def _coords(i: torch.Tensor, n: int, align: str, dtype) -> torch.Tensor:
    """Lattice index i in [0, n] along an axis of n voxels -> coordinate, with PyTorch3D's arithmetic (so values
    are bit-identical): "corner" spans [-1, 1] with the grid's outer corners, "topleft" puts the first and last
    voxel's low corner at -1 and 1, "center" their centres. A 1-voxel axis (n - 1 = 0) uses step 2."""
    i = i.to(dtype)
    if align == "center":
        i = i - 0.5
    div = n if align == "corner" else max(n - 1, 1)
    return i * 2.0 / div - 1.0


def _exposed(occ: torch.Tensor, axis: int, direction: int) -> torch.Tensor:
    """(N, H, W, D) bool: occupied voxels whose neighbour along `axis` (0 x = W, 1 y = H, 2 z = D; dims 2, 1, 3)
    in `direction` is empty or outside the grid."""
    dim = {0: 2, 1: 1, 2: 3}[axis]
    pad = [0, 0] * 3
    side = 2 * (3 - dim)  # F.pad lists the last dim first
    pad[side + (1 if direction > 0 else 0)] = 1
    padded = F.pad(occ.to(torch.uint8), pad).bool()
    start = 1 if direction > 0 else 0
    nb = padded.narrow(dim, start, occ.shape[dim])
    return occ & ~nb


def cubify(voxels: torch.Tensor, thresh: float, align: str = "topleft", device=None):
    """Replace every voxel with occupancy >= thresh by a cube, keep only the sides between occupied and empty
    space (watertight), merge shared corners (PyTorch3D's cubify, same vertex and face order).

    Args:
        voxels: (N, D, H, W) occupancy probabilities; x runs along W, y along H, z along D.
        thresh: occupancy threshold (a voxel is occupied when its value is >= thresh, as in PyTorch3D).
        align: "topleft", "corner" or "center" (PyTorch3D's alignment modes).
        device: device of the output (default: the voxels').

    Returns:
        GraphBatch of N meshes (empty graphs for empty grids), faces wound so normals point out of the solid,
        vertices in the dtype of voxels. Not differentiable (occupancy is thresholded).
    """
    from ..graph import Graph, GraphBatch

    check_tensor(voxels, "voxels", dim=4, dtypes=FLOAT_DTYPES)
    if align not in _ALIGN:
        raise ValueError(f"Align mode must be one of (topleft, corner, center), got {align!r}")
    device = voxels.device if device is None else torch.device(device)
    N, D, H, W = voxels.shape
    with torch.no_grad():
        occ = (voxels >= thresh).permute(0, 2, 3, 1)  # (N, H, W, D): PyTorch3D's voxel order y, x, z
        sides = {s: _exposed(occ, *s) for s in {t[1] for t in _CUBE_TRIANGLES}}
        keep = torch.stack([sides[s] for _, s in _CUBE_TRIANGLES], dim=-1)  # (N, H, W, D, 12)
        n, y, x, z, t = torch.nonzero(keep, as_tuple=True)
        corners = torch.tensor([c for c, _ in _CUBE_TRIANGLES], device=voxels.device)[t]  # (F, 3) codes
        cx, cy, cz = corners // 4, (corners // 2) % 2, corners % 2
        L = (H + 1) * (W + 1) * (D + 1)
        lattice = ((y[:, None] + cy) * (W + 1) + (x[:, None] + cx)) * (D + 1) + (z[:, None] + cz)
        used, faces = torch.unique(n[:, None] * L + lattice, return_inverse=True)  # sorted: by mesh, then index
        mesh_of_vert = used // L
        rem = used % L
        ly, lx, lz = rem // ((W + 1) * (D + 1)), (rem // (D + 1)) % (W + 1), rem % (D + 1)
        verts = torch.stack([_coords(lx, W, align, voxels.dtype), _coords(ly, H, align, voxels.dtype),
                             _coords(lz, D, align, voxels.dtype)], 1)
        vcount = torch.bincount(mesh_of_vert, minlength=N).tolist()
        fcount = torch.bincount(n, minlength=N).tolist()
    graphs, v0, f0 = [], 0, 0
    for i in range(N):
        graphs.append(Graph(verts[v0 : v0 + vcount[i]].to(device), (faces[f0 : f0 + fcount[i]] - v0).to(device)))
        v0 += vcount[i]
        f0 += fcount[i]
    return GraphBatch(graphs)
