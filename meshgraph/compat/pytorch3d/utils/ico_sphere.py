"""`pytorch3d.utils.ico_sphere` mirror: meshgraph's icosphere returned as Meshes, with PyTorch3D's vertex values."""

import torch

from ....graph import Graph, GraphBatch
from ....ops.subdivide import subdivide
from ....structures import Meshes
from ....utils import ico_sphere as _ico_sphere


def ico_sphere(level: int = 0, device=None) -> Meshes:
    """Unit icosphere subdivided `level` times, as Meshes of one mesh (PyTorch3D's `ico_sphere`).

    The vertices are PyTorch3D's, not meshgraph.utils.ico_sphere's exact ones: PyTorch3D starts from the
    icosahedron's unit vertices rounded to 4 decimals (norm 1.0000255, kept at level 0) and, in float32, splits
    every face in four and projects the vertices to the sphere once per level. The rounding moves vertices by up to
    4.5e-5, enough to flip pixels at the edges of PyTorch3D's reference renders (its fisheye sphere test)."""
    if level < 0:
        raise ValueError("level must be >= 0.")
    base = _ico_sphere(0, dtype=torch.float64)
    mesh = GraphBatch([Graph((base.pos * 1e4).round().div(1e4).float(), base.faces)])
    for _ in range(level):
        mesh = subdivide(mesh)
        pos = mesh.pos_packed()
        mesh.update_features("pos", pos / pos.norm(p=2, dim=1, keepdim=True))
    verts, faces = mesh.pos_packed(), mesh.faces_packed()
    if device is not None:
        verts, faces = verts.to(device), faces.to(device)
    return Meshes(verts=[verts], faces=[faces])


__all__ = ["ico_sphere"]
