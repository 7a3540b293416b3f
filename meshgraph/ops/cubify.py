"""cubify: occupancy grids -> watertight meshes (Mesh R-CNN's voxel-to-mesh step, PyTorch3D's cubify semantics)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._utils import FLOAT_DTYPES, check_tensor
from ..graph import Graph, GraphBatch

_ALIGN = ("topleft", "corner", "center")


def _coords(i: torch.Tensor, n: int, align: str, dtype) -> torch.Tensor:
    """Lattice index i in [0, n] along an axis of n voxels -> coordinate in PyTorch3D's conventions."""
    i = i.to(dtype)
    if align == "corner":  # the grid's outer corners span [-1, 1]
        return -1 + 2 * i / n
    step = 2 / max(n - 1, 1)
    if align == "topleft":  # first voxel's top-left corner at -1, last voxel's at 1
        return -1 + i * step
    return -1 + (i - 0.5) * step  # center: first and last voxel centres at -1 and 1


def cubify(voxels: torch.Tensor, thresh: float, align: str = "topleft") -> GraphBatch:
    """Replace every voxel with occupancy > thresh by a cube, keep only faces between occupied and empty space
    (watertight), merge shared corners.

    Args:
        voxels: (N, D, H, W) occupancy probabilities; x runs along W, y along H, z along D.
        thresh: occupancy threshold.
        align: "topleft", "corner" or "center" (PyTorch3D's alignment modes; vertices in [-1, 1] ranges).

    Returns:
        GraphBatch of N meshes (empty graphs for empty grids), faces wound so normals point out of the solid.
        Vertex and face order may differ from PyTorch3D's; geometry and topology are the same.
    """
    check_tensor(voxels, "voxels", dim=4, dtypes=FLOAT_DTYPES)
    if align not in _ALIGN:
        raise ValueError(f"align must be one of {_ALIGN}, got {align!r}")
    N, D, H, W = voxels.shape
    occ = voxels > thresh
    pad = F.pad(occ.to(torch.uint8), (1, 1, 1, 1, 1, 1)).bool()  # (N, D+2, H+2, W+2)
    L = (D + 1, H + 1, W + 1)
    units = {0: (1, 0, 0), 1: (0, 1, 0), 2: (0, 0, 1)}  # lattice steps along x, y, z (as (x, y, z))
    faces, owners = [], []
    for axis in range(3):  # 0: x (W), 1: y (H), 2: z (D)
        b_ax, c_ax = (axis + 1) % 3, (axis + 2) % 3  # cyclic: e_b x e_c = e_axis
        for sign in (1, -1):
            shift = [0, 0, 0]
            shift[axis] = sign
            # neighbour occupancy in the padded grid (index order z, y, x)
            nb = pad[:, 1 + shift[2] : 1 + shift[2] + D, 1 + shift[1] : 1 + shift[1] + H, 1 + shift[0] : 1 + shift[0] + W]
            n, z, y, x = torch.nonzero(occ & ~nb, as_tuple=True)
            if n.numel() == 0:
                continue
            base = torch.stack([x, y, z], 1)
            if sign > 0:
                base[:, axis] += 1
            eb = torch.tensor(units[b_ax], device=voxels.device)
            ec = torch.tensor(units[c_ax], device=voxels.device)
            corners = [base, base + eb, base + eb + ec, base + ec]
            ids = [((n * L[0] + q[:, 2]) * L[1] + q[:, 1]) * L[2] + q[:, 0] for q in corners]
            t1 = torch.stack([ids[0], ids[1], ids[2]], 1)
            t2 = torch.stack([ids[0], ids[2], ids[3]], 1)
            if sign < 0:  # reverse the winding: the outside is on the negative side
                t1, t2 = t1.flip(1), t2.flip(1)
            faces += [t1, t2]
            owners += [n, n]
    if not faces:
        return GraphBatch([Graph(voxels.new_zeros((0, 3)), torch.zeros((0, 3), dtype=torch.int64, device=voxels.device))
                           for _ in range(N)])
    faces_t, owner = torch.cat(faces), torch.cat(owners)
    order = torch.argsort(owner, stable=True)
    faces_t, owner = faces_t[order], owner[order]
    used, local = torch.unique(faces_t.reshape(-1), return_inverse=True)  # sorted: grouped by mesh
    local = local.view(-1, 3)
    per_lattice = L[0] * L[1] * L[2]
    mesh_of_vert = used // per_lattice
    rem = used % per_lattice
    zi, yi, xi = rem // (L[1] * L[2]), (rem // L[2]) % L[1], rem % L[2]
    verts = torch.stack([_coords(xi, W, align, voxels.dtype), _coords(yi, H, align, voxels.dtype),
                         _coords(zi, D, align, voxels.dtype)], 1)
    vcount = torch.bincount(mesh_of_vert, minlength=N).tolist()
    fcount = torch.bincount(owner, minlength=N).tolist()
    graphs, v0, f0 = [], 0, 0
    for i in range(N):
        graphs.append(Graph(verts[v0 : v0 + vcount[i]], local[f0 : f0 + fcount[i]] - v0))
        v0 += vcount[i]
        f0 += fcount[i]
    return GraphBatch(graphs)
