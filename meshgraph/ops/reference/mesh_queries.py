"""Pure-PyTorch definitions of the BVH mesh queries: mesh_bvh (the tree the kernels build, step by step),
winding_number (+ its backward), bvh_closest_face_idx and ray_mesh_intersect_idx (every query against every
triangle of its element: O(queries x faces) memory per element; the specification the BVH kernels meet; the query
references read only each element's face set from the BVH tensors)."""

from __future__ import annotations

import math

import torch

from .point_face import point_triangle_distance_sq

LEAF_SIZE = 4


def mesh_bvh(verts, faces, mesh_first, mesh_size):
    """(box (M, 6), node (M, 3), order (F,), root (N,), chain_start (M + 1,), chain_edge (B, 3)): per element with
    faces, a tree of median splits of the triangle centroids ((a + b + c) / 3) along the axis of their largest
    extent (first axis on ties), the smaller half of the (centroid coordinate, face id) keys to the left child,
    nodes of at most LEAF_SIZE faces are leaves with their faces in increasing id order. Nodes are numbered as a
    stack processes them: a node's two children are created together (left, right = left + 1) when it is
    processed, and the left subtree is processed before the right. box: the node's triangles' bounds padded by
    16 eps max|coordinate| + tiny (float32, float64 for float64 vertices). order ends with the faces of no
    element (increasing ids). chain: per node, the sorted (u < v)
    vertex pairs whose net directed-edge multiplicity over the node's faces (+1 per u -> v side) is non-zero."""
    acc = torch.float64 if verts.dtype == torch.float64 else torch.float32
    eps, tiny = torch.finfo(acc).eps, torch.finfo(acc).tiny
    tri = verts.to(acc)[faces]  # (F, 3, 3)
    cen = (tri[:, 0] + tri[:, 1] + tri[:, 2]) / 3
    boxes, nodes, order, roots = [], [], [], []
    for f0, nf in zip(mesh_first.tolist(), mesh_size.tolist()):
        if nf <= 0:
            roots.append(-1)
            continue
        roots.append(len(nodes))
        base = len(order)
        order.extend(range(f0, f0 + nf))
        nodes.append([base, nf, -1])
        todo = [len(nodes) - 1]
        while todo:
            m = todo.pop()
            first, count = nodes[m][0], nodes[m][1]
            ids = torch.tensor(order[first:first + count])
            t = tri[ids].reshape(-1, 3)
            lo, hi = t.min(0).values, t.max(0).values
            scale = torch.maximum(lo.abs().max(), hi.abs().max())
            pad = torch.tensor(16 * eps, dtype=acc) * scale + tiny
            boxes.append((m, torch.cat([lo - pad, hi + pad])))
            if count <= LEAF_SIZE:
                order[first:first + count] = sorted(order[first:first + count])
                continue
            c = cen[ids]
            ext = c.max(0).values - c.min(0).values
            axis = 0
            for a in (1, 2):
                if ext[a] > ext[axis]:
                    axis = a
            keys = sorted(zip(c[:, axis].tolist(), ids.tolist()))
            order[first:first + count] = [i for _, i in keys]
            half = count // 2
            left = len(nodes)
            nodes.append([first, half, -1])
            nodes.append([first + half, count - half, -1])
            nodes[m][2] = left
            todo += [left + 1, left]
    covered = set(order)
    order += [f for f in range(faces.shape[0]) if f not in covered]  # faces of no element last
    M = len(nodes)
    box = torch.zeros(M, 6, dtype=acc)
    for m, b in boxes:
        box[m] = b
    node = torch.tensor(nodes, dtype=torch.int64).reshape(M, 3)
    fl = faces.tolist()
    start, edges = [0], []
    for first, count, _ in nodes:
        mult = {}
        for f in order[first:first + count]:
            for s in range(3):
                u, v = fl[f][s], fl[f][(s + 1) % 3]
                if u != v:
                    key, sgn = ((u, v), 1) if u < v else ((v, u), -1)
                    mult[key] = mult.get(key, 0) + sgn
        edges += [[u, v, k] for (u, v), k in sorted(mult.items()) if k != 0]
        start.append(len(edges))
    dev = verts.device
    return (box.to(dev), node.to(dev), torch.tensor(order, dtype=torch.int64, device=dev),
            torch.tensor(roots, dtype=torch.int64, device=dev), torch.tensor(start, dtype=torch.int64, device=dev),
            torch.tensor(edges, dtype=torch.int64, device=dev).reshape(-1, 3))


def element_faces(node, order, root):
    """The sorted face ids of every element of a BVH (those below its root), a list of (n_faces,) tensors."""
    out = []
    for r in root.tolist():
        if r < 0:
            out.append(order[:0])
            continue
        first, count = node[r, 0].item(), node[r, 1].item()
        out.append(order[first:first + count].sort().values)
    return out


def triangle_solid_angle(q: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Signed solid angle of triangles (a, b, c) (..., 3) seen from q (..., 3), broadcasting (Van Oosterom and
    Strackee): positive when q lies on the side the normal (b - a) x (c - a) points away from."""
    x, y, z = a - q, b - q, c - q
    lx, ly, lz = x.norm(dim=-1), y.norm(dim=-1), z.norm(dim=-1)
    det = (x * torch.linalg.cross(y, z, dim=-1)).sum(-1)
    den = lx * ly * lz + (x * y).sum(-1) * lz + (x * z).sum(-1) * ly + (y * z).sum(-1) * lx
    return 2 * torch.atan2(det, den)


def winding_number(points, cloud_first, cloud_size, verts, faces, box, node, order, root, chain_start, chain_edge):
    """(P,): sum over the element's triangles of their solid angle at each point / (4 pi); 0 for points of no
    element or of an element without faces. Half types computed in float32. Differentiable (torch autograd)."""
    acc = torch.float64 if points.dtype == torch.float64 else torch.float32
    v = verts.to(acc)
    parts, rows = [], []
    for p0, np_, fids in zip(cloud_first.tolist(), cloud_size.tolist(), element_faces(node, order, root)):
        if np_ <= 0 or fids.numel() == 0:
            continue
        t = v[faces[fids]]  # (nf, 3, 3)
        q = points[p0 : p0 + np_].to(acc)[:, None, :]
        parts.append(triangle_solid_angle(q, t[None, :, 0], t[None, :, 1], t[None, :, 2]).sum(1) / (4 * math.pi))
        rows.append(torch.arange(p0, p0 + np_, device=points.device))
    out = torch.zeros(points.shape[0], dtype=acc, device=points.device)
    if parts:
        out = out.index_put((torch.cat(rows),), torch.cat(parts))
    return out.to(points.dtype)


def winding_number_backward(grad, points, cloud_first, cloud_size, verts, faces, box, node, order, root, chain_start,
                            chain_edge):
    """(grad_points (P, 3), grad_verts (V, 3)): the gradient of sum(grad * winding_number) (autograd of the
    reference above; exact away from the surface)."""
    with torch.enable_grad():
        p = points.detach().requires_grad_(True)
        v = verts.detach().requires_grad_(True)
        w = winding_number(p, cloud_first, cloud_size, v, faces, box, node, order, root, chain_start, chain_edge)
        gp, gv = torch.autograd.grad((w * grad).sum(), (p, v), allow_unused=True)
    return (torch.zeros_like(points) if gp is None else gp), (torch.zeros_like(verts) if gv is None else gv)


def bvh_closest_face_idx(points, cloud_first, cloud_size, verts, faces, box, node, order, root):
    """(P,) packed index of the closest face of every point within its element (exact squared point-triangle
    distance in float32 / float64, ties to the smaller index); -1 for points of no element or without faces."""
    acc = torch.float64 if points.dtype == torch.float64 else torch.float32
    out = torch.full((points.shape[0],), -1, dtype=torch.int64, device=points.device)
    v = verts.to(acc)
    for p0, np_, fids in zip(cloud_first.tolist(), cloud_size.tolist(), element_faces(node, order, root)):
        if np_ <= 0 or fids.numel() == 0:
            continue
        t = v[faces[fids]]
        q = points[p0 : p0 + np_].to(acc)[:, None, :]
        d2 = point_triangle_distance_sq(q, t[None, :, 0], t[None, :, 1], t[None, :, 2])  # (np, nf)
        best = d2.min(1).values
        col = torch.where(d2 == best[:, None], torch.arange(fids.numel(), device=q.device), fids.numel()).min(1).values
        out[p0 : p0 + np_] = fids[col]
    return out


def ray_triangle_t(o: torch.Tensor, d: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor):
    """Moller-Trumbore, broadcasting over (..., 3): (t, u, v, hit) for rays o + t d and triangles (a, b, c); the
    hit point is (1 - u - v) a + u b + v c. hit: det != 0, u >= 0, v >= 0, u + v <= 1, t > 0 (both sides)."""
    o, d, a, b, c = torch.broadcast_tensors(o, d, a, b, c)
    e1, e2 = b - a, c - a
    p = torch.linalg.cross(d, e2, dim=-1)
    det = (e1 * p).sum(-1)
    ok = det != 0
    inv = 1 / torch.where(ok, det, torch.ones_like(det))
    s = o - a
    u = (s * p).sum(-1) * inv
    q = torch.linalg.cross(s, e1, dim=-1)
    v = (d * q).sum(-1) * inv
    t = (e2 * q).sum(-1) * inv
    hit = ok & (u >= 0) & (u <= 1) & (v >= 0) & (u + v <= 1) & (t > 0)
    return t, u, v, hit


def ray_mesh_intersect_idx(origins, directions, ray_first, ray_size, tris, box, node, order, root):
    """(t (R,), face (R,), bary (R, 3)): the nearest hit (t > 0, both sides) of every ray within its element, ties
    to the smaller face index, and its barycentrics (1 - u - v, u, v) w.r.t. the face's vertices; t = inf,
    face = -1 and bary = 0 for misses. Half types computed in float32, t and bary in the input dtype."""
    acc = torch.float64 if origins.dtype == torch.float64 else torch.float32
    t_out = torch.full((origins.shape[0],), math.inf, dtype=acc, device=origins.device)
    face = torch.full((origins.shape[0],), -1, dtype=torch.int64, device=origins.device)
    bary = torch.zeros((origins.shape[0], 3), dtype=acc, device=origins.device)
    tr = tris.to(acc)
    for r0, nr, fids in zip(ray_first.tolist(), ray_size.tolist(), element_faces(node, order, root)):
        nf = fids.numel()
        if nr <= 0 or nf <= 0:
            continue
        o, d = origins[r0 : r0 + nr].to(acc)[:, None], directions[r0 : r0 + nr].to(acc)[:, None]
        t3 = tr[fids]
        t, u, v, hit = ray_triangle_t(o, d, t3[None, :, 0], t3[None, :, 1], t3[None, :, 2])
        t = torch.where(hit, t, math.inf)
        best = t.min(1).values
        # ties to the smaller index: the first column reaching the minimum
        first = torch.where(hit & (t == best[:, None]), torch.arange(nf, device=t.device), nf).min(1).values
        any_hit = torch.isfinite(best)
        col = first.clamp(max=nf - 1)[:, None]
        t_out[r0 : r0 + nr] = best
        face[r0 : r0 + nr] = torch.where(any_hit, fids[col[:, 0]], -1)
        u, v = u.gather(1, col), v.gather(1, col)
        bary[r0 : r0 + nr] = torch.where(any_hit[:, None], torch.cat([1 - u - v, u, v], 1), 0)
    return t_out.to(origins.dtype), face, bary.to(origins.dtype)
