"""Near-plane clipping of triangle meshes in view space, so faces that cross behind a perspective camera render
correctly instead of flipping through the projection (PyTorch3D's z_clip_value)."""

from __future__ import annotations

import torch


def clip_faces_near(verts: torch.Tensor, faces: torch.Tensor, z_near: float,
                    features: torch.Tensor | None = None):
    """Clip triangles against the plane z = z_near of view space.

    Args:
        verts: (V, 3) view-space vertices; faces: (F, 3) int64; features: optional (V, C) vertex features.

    Returns:
        (verts', faces', features', face_origin): faces entirely in front (z >= z_near) are kept as they are;
        faces entirely behind are dropped; a face with one vertex behind becomes two triangles, with two behind
        one triangle, on new vertices where its edges cross the plane (features interpolated linearly along the
        edge). face_origin (F',) maps every output face to its input face. Differentiable w.r.t. verts and
        features.
    """
    V = verts.shape[0]
    z = verts[:, 2]
    behind = z[faces] < z_near  # (F, 3)
    nb = behind.sum(1)
    keep = nb == 0
    fid = torch.arange(faces.shape[0], device=faces.device)
    out_faces, origin = [faces[keep]], [fid[keep]]
    new_verts, new_feats = [], []
    offset = V

    def crossing(a, b):
        """Points where edges a -> b (vertex index tensors) cross the plane, and their features."""
        za, zb = z[a], z[b]
        t = ((z_near - za) / (zb - za)).clamp(0, 1)[:, None]
        p = verts[a] + t * (verts[b] - verts[a])
        f = None if features is None else features[a] + t * (features[b] - features[a])
        return p, f

    for count in (1, 2):
        sel = nb == count
        if not bool(sel.any()):
            continue
        fs, bs = faces[sel], behind[sel]
        # rotate each face so that vertex 0 is the odd one out (the one behind for count 1, in front for count 2)
        odd = bs if count == 1 else ~bs
        r = odd.float().argmax(1)
        idx = torch.stack([r, (r + 1) % 3, (r + 2) % 3], 1)
        a, b, c = fs.gather(1, idx).unbind(1)
        pab, fab = crossing(a, b)
        pac, fac = crossing(a, c)
        m = a.shape[0]
        i_ab = offset + torch.arange(m, device=faces.device)
        i_ac = offset + m + torch.arange(m, device=faces.device)
        offset += 2 * m
        new_verts += [pab, pac]
        if features is not None:
            new_feats += [fab, fac]
        if count == 1:  # a behind: quad (ab, b, c, ac) -> two triangles, winding kept
            out_faces += [torch.stack([i_ab, b, c], 1), torch.stack([i_ab, c, i_ac], 1)]
            origin += [fid[sel], fid[sel]]
        else:  # only a in front: triangle (a, ab, ac)
            out_faces.append(torch.stack([a, i_ab, i_ac], 1))
            origin.append(fid[sel])
    verts_out = torch.cat([verts, *new_verts], 0)
    feats_out = None if features is None else torch.cat([features, *new_feats], 0)
    return verts_out, torch.cat(out_faces, 0), feats_out, torch.cat(origin, 0)
