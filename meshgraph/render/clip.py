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


def split_faces_near(verts: torch.Tensor, faces: torch.Tensor, z_near: float):
    """Near-plane clipping with shapes fixed by F alone (no data-dependent sizes: no device sync, torch.compile
    traces it without graph breaks).

    Args:
        verts: (V, 3) view-space vertices; faces: (F, 3) int64; z_near: the plane z = z_near.

    Returns:
        (verts', faces', weights):
        - verts' (V + 2F, 3): verts, then for face f the points where its edges a -> b and a -> c cross the plane
          (rows V + f and V + F + f; a is the face's odd vertex out, as in `clip_faces_near`);
        - faces' (2F, 3): rows 2f and 2f + 1 are what face f becomes: itself (all in front), two triangles (one
          vertex behind), one triangle (two behind), or none; unused rows are the zero-area face (0, 0, 0), which
          no rasterizer draws. faces' // 2 along rows is the input face, so faces stay grouped by graph;
        - weights (2F, 3, 3): row r of weights[g] holds the weights of vertex r of output face g on the vertices of
          input face g // 2 (in their order): barycentrics b' in the output face are b' @ weights[g] in the input
          face (the crossing points are affine in view space, as perspective-correct barycentrics are).
    Differentiable w.r.t. verts (verts' and weights).
    """
    V, F = verts.shape[0], faces.shape[0]
    dev = faces.device
    z = verts[:, 2]
    fz = z[faces]                                                # (F, 3)
    behind = fz < z_near
    nb = behind.sum(1)
    odd = torch.where((nb == 1)[:, None], behind, ~behind)
    r = torch.where((nb == 1) | (nb == 2), odd.to(torch.uint8).argmax(1), 0)
    pos = torch.stack([r, (r + 1) % 3, (r + 2) % 3], 1)          # positions of a, b, c in the face
    a, b, c = faces.gather(1, pos).unbind(1)
    za, zb, zc = fz.gather(1, pos).unbind(1)

    def crossing(zq, q):
        d = zq - za
        t = ((z_near - za) / torch.where(d == 0, torch.ones_like(d), d)).clamp(0, 1)
        return t, verts[a] + t[:, None] * (verts[q] - verts[a])

    t_ab, p_ab = crossing(zb, b)
    t_ac, p_ac = crossing(zc, c)
    fid = torch.arange(F, device=dev)
    i_ab, i_ac = V + fid, V + F + fid
    zero = torch.zeros_like(a)
    one_hot = torch.eye(3, dtype=verts.dtype, device=verts.device)
    e = one_hot[pos]                                             # (F, 3 [a, b, c], 3): one-hot rows
    w_ab = (1 - t_ab)[:, None] * e[:, 0] + t_ab[:, None] * e[:, 1]
    w_ac = (1 - t_ac)[:, None] * e[:, 0] + t_ac[:, None] * e[:, 2]
    ident = one_hot.expand(F, 3, 3)
    none = torch.zeros_like(ident)
    n1, n2, n0 = (nb == 1)[:, None], (nb == 2)[:, None], (nb == 0)[:, None]
    # first output face: itself | (ab, b, c) | (a, ab, ac) | none
    f1 = torch.where(n0, faces, torch.where(n1, torch.stack([i_ab, b, c], 1),
                                            torch.where(n2, torch.stack([a, i_ab, i_ac], 1), zero[:, None])))
    w1 = torch.where(n0[..., None], ident, torch.where(n1[..., None], torch.stack([w_ab, e[:, 1], e[:, 2]], 1),
                                                      torch.where(n2[..., None], torch.stack([e[:, 0], w_ab, w_ac], 1),
                                                                  none)))
    # second output face: (ab, c, ac) for one vertex behind, else none
    f2 = torch.where(n1, torch.stack([i_ab, c, i_ac], 1), zero[:, None])
    w2 = torch.where(n1[..., None], torch.stack([w_ab, e[:, 2], w_ac], 1), none)
    verts_out = torch.cat([verts, p_ab, p_ac], 0)
    return verts_out, torch.stack([f1, f2], 1).reshape(2 * F, 3), torch.stack([w1, w2], 1).reshape(2 * F, 3, 3)
