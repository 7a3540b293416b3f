"""Pure-PyTorch definition of point_face_distance_idx: every point against every triangle of its element."""

from __future__ import annotations

import torch


def point_face_distance_idx(points, cloud_first, cloud_size, tris, mesh_first, mesh_size):
    """(point_to_face (P,), face_to_point (F,)): packed index of the closest triangle / point within each element
    (exact squared point-triangle distance, ties to the smaller index); -1 where the other set is empty."""
    from ...losses.point_mesh import point_triangle_distance_sq

    p2f = torch.full((points.shape[0],), -1, dtype=torch.int64, device=points.device)
    f2p = torch.full((tris.shape[0],), -1, dtype=torch.int64, device=points.device)
    for p0, np_, f0, nf in zip(cloud_first.tolist(), cloud_size.tolist(), mesh_first.tolist(), mesh_size.tolist()):
        if np_ <= 0 or nf <= 0:
            continue
        p, t = points[p0 : p0 + np_], tris[f0 : f0 + nf]
        d = point_triangle_distance_sq(p[:, None, :], t[None, :, 0], t[None, :, 1], t[None, :, 2])  # (np, nf)
        p2f[p0 : p0 + np_] = d.argmin(1) + f0
        f2p[f0 : f0 + nf] = d.argmin(0) + p0
    return p2f, f2p
