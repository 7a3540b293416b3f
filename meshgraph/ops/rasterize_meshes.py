"""rasterize_meshes: PyTorch3D's mesh rasterizer (pix_to_face, zbuf, bary_coords, dists), binned so that no bin
can overflow, with gradients through barycentrics, depth and distances. Also interpolate_face_attributes.

Kernels: csrc/ops/rasterize_meshes/. Vertices are given in raster space: NDC x, y (x left, y up) and the view
depth z, what `cameras.transform_points_raster` returns (PyTorch3D builds the same space inside MeshRasterizer).
"""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import (
    check_index_tensor,
    check_nonnegative_int,
    check_positive_int,
    check_tensor,
    first_from_counts,
    offsets_from_counts,
)
from .interpolate_face_attributes import interpolate_face_attributes, interpolate_vertex_features  # noqa: F401
from .rasterize_points import RASTER_DTYPES, image_hw

_extension.load()


def mesh_arrays(meshes):
    """(verts (V, 3) packed, faces (F, 3) packed int64, face first (N,), face count (N,)) from a GraphBatch with faces, a PyTorch3D-style Meshes
    (anything with verts_packed / faces_packed, PyTorch3D's own included) or a pair (verts list, faces list)."""
    from ..graph import GraphBatch

    if isinstance(meshes, GraphBatch):
        if meshes.num_faces == 0 and meshes.num_graphs and not any(meshes.is_mesh()):
            raise ValueError("meshes: this GraphBatch has no faces (use rasterize_points for point clouds)")
        pos, faces = meshes.pos_packed(), meshes.faces_packed()
        size = meshes.num_faces_per_graph.to(pos.device)
        first = first_from_counts(size)
    elif hasattr(meshes, "verts_packed") and hasattr(meshes, "faces_packed"):
        pos, faces = meshes.verts_packed(), meshes.faces_packed()
        size = meshes.num_faces_per_mesh().to(pos.device)
        first = meshes.mesh_to_faces_packed_first_idx().to(pos.device)
    elif isinstance(meshes, (tuple, list)) and len(meshes) == 2:
        verts, faces_list = meshes
        if isinstance(verts, torch.Tensor):
            verts = list(verts)
        if len(verts) != len(faces_list):
            raise ValueError(f"meshes: {len(verts)} vertex tensors but {len(faces_list)} face tensors")
        chunks, offset = [], 0
        for i, (v, f) in enumerate(zip(verts, faces_list)):
            check_tensor(v, f"verts[{i}]", dim=2, dtypes=RASTER_DTYPES, shape=(None, 3))
            check_index_tensor(f, f"faces[{i}]", dim=2, shape=(None, 3))
            if f.numel() and (int(f.min()) < 0 or int(f.max()) >= v.shape[0]):
                raise ValueError(f"faces[{i}] holds indices outside [0, {v.shape[0]})")
            chunks.append(f.long() + offset)
            offset += v.shape[0]
        if not verts:
            raise ValueError("meshes is empty: give at least one mesh")
        pos = torch.cat(list(verts), 0)
        faces = torch.cat(chunks, 0).to(pos.device)
        size = torch.tensor([f.shape[0] for f in faces_list], dtype=torch.int64, device=pos.device)
        first = first_from_counts(size)
    else:
        raise TypeError("meshes must be a GraphBatch with faces, a Meshes (verts_packed / faces_packed) or a pair "
                        "(list of (V_i, 3) verts, list of (F_i, 3) faces)")
    check_tensor(pos, "mesh vertices", dtypes=RASTER_DTYPES)
    return pos, faces.long(), first.long(), size.long()


# Faces with a vertex at z < this are never drawn (PyTorch3D's kernels skip them whole: their projection is wrong).
Z_MIN = 1e-8


def _clip_point(p1, p2, z_clip: float, perspective_correct: bool):
    """Where the edges p1 -> p2 (rows of raster-space points) cross z = z_clip, and the fraction w along them.

    With perspective_correct, x, y are interpolated as view-space x z, y z (NDC x, y times depth) and projected
    back onto the plane, since NDC x, y are not linear along a view-space edge."""
    w = (p1[:, 2] - z_clip) / (p1[:, 2] - p2[:, 2])
    p = p1 * (1 - w[:, None]) + p2 * w[:, None]
    if perspective_correct:
        xy = (p1[:, :2] * p1[:, 2:3] * (1 - w[:, None]) + p2[:, :2] * p2[:, 2:3] * w[:, None]) / z_clip
        p = torch.cat([xy, p[:, 2:]], 1)
    return p, w


def clip_face_verts(face_verts, mesh_first, mesh_size, z_clip_value=None, cull_to_frustum=False,
                    perspective_correct=False):
    """Clip raster-space faces at z = z_clip_value and cull those outside the frustum (PyTorch3D's clip_faces).

    A face with every vertex outside one side of the box |x|, |y| <= 1 (cull_to_frustum) or behind z_clip_value
    is dropped; with two vertices behind it becomes the triangle of its front part, with one the quad of its front
    part split in two triangles ("neighbours"). Returns None when nothing changes, else (face_verts', first',
    size', origin (F',) original face of each, to_original (F', 3, 3) mapping a clipped face's barycentrics b to
    the original face's (to_original @ b), neighbour (F',) the other half of a split quad or -1).
    """
    F = face_verts.shape[0]
    device = face_verts.device
    culled = torch.zeros(F, dtype=torch.bool, device=device)
    if cull_to_frustum:
        for axis in (0, 1):
            c = face_verts[:, :, axis]
            culled |= (c < -1).all(1) | (c > 1).all(1)
    behind = (face_verts[:, :, 2] < z_clip_value) if z_clip_value is not None else torch.zeros_like(culled)[:, None]
    n_behind = behind.sum(1)
    if not bool((n_behind > 0).any()) and not bool(culled.any()):
        return None
    one = (n_behind == 0) & ~culled
    tri = (n_behind == 2) & ~culled
    quad = (n_behind == 1) & ~culled
    count = one.long() + tri.long() + 2 * quad.long()
    start = offsets_from_counts(count)
    F2 = int(start[-1])
    first2 = start[mesh_first]
    size2 = start[mesh_first + mesh_size] - first2
    fv2 = face_verts.new_zeros(F2, 3, 3)
    origin = torch.zeros(F2, dtype=torch.long, device=device)
    eye = torch.eye(3, dtype=face_verts.dtype, device=device)
    to_orig = eye.expand(F2, 3, 3).clone()
    neighbour = torch.full((F2,), -1, dtype=torch.long, device=device)
    ids = one.nonzero()[:, 0]
    fv2[start[ids]] = face_verts[ids]
    origin[start[ids]] = ids
    for sel, odd in ((tri, ~behind), (quad, behind)):
        ids = sel.nonzero()[:, 0]
        if ids.numel() == 0:
            continue
        i1 = odd[ids].long().argmax(1)  # the vertex in front (tri) or behind (quad)
        i2, i3 = (i1 + 1) % 3, (i1 + 2) % 3
        fv = face_verts[ids]
        ar = torch.arange(ids.numel(), device=device)
        p1, p2, p3 = fv[ar, i1], fv[ar, i2], fv[ar, i3]
        p4, w2 = _clip_point(p1, p2, z_clip_value, perspective_correct)
        w3 = ((p1[:, 2] - z_clip_value) / (p1[:, 2] - p3[:, 2])).detach()  # PyTorch3D detaches this fraction
        p5 = p1 * (1 - w3[:, None]) + p3 * w3[:, None]
        if perspective_correct:
            xy = (p1[:, :2] * p1[:, 2:3] * (1 - w3[:, None]) + p3[:, :2] * p3[:, 2:3] * w3[:, None]) / z_clip_value
            p5 = torch.cat([xy, p5[:, 2:]], 1)
        b1, b2, b3 = eye[i1], eye[i2], eye[i3]  # original barycentrics of p1, p2, p3
        b4 = b1 * (1 - w2[:, None]) + b2 * w2[:, None]
        b5 = b1 * (1 - w3[:, None]) + b3 * w3[:, None]
        at = start[ids]
        if sel is tri:
            fv2[at] = torch.stack([p4, p5, p1], 1)
            to_orig[at] = torch.stack([b4, b5, b1], 2)
            origin[at] = ids
        else:
            fv2[at] = torch.stack([p4, p2, p5], 1)
            fv2[at + 1] = torch.stack([p5, p2, p3], 1)
            to_orig[at] = torch.stack([b4, b2, b5], 2)
            to_orig[at + 1] = torch.stack([b5, b2, b3], 2)
            origin[at] = origin[at + 1] = ids
            neighbour[at], neighbour[at + 1] = at + 1, at
    return fv2, first2, size2, origin, to_orig, neighbour


def _merge_neighbours(p2f, zbuf, bary, dists, neighbour, K: int):
    """Of the two halves of a split quad found at one pixel keep the one nearer the pixel (smaller |dist|; ties:
    the lower index), as PyTorch3D's kernels do, then keep the first K slots left."""
    valid = p2f >= 0
    nb = torch.where(valid, neighbour[p2f.clamp_min(0)], -1)
    a = dists.detach().abs()
    # slot j loses to slot i when i holds j's neighbour and i is nearer
    holds = (p2f[..., :, None] == nb[..., None, :]) & (nb[..., None, :] >= 0)
    nearer = (a[..., :, None] < a[..., None, :]) | ((a[..., :, None] == a[..., None, :]) & (p2f[..., :, None] < p2f[..., None, :]))
    keep = valid & ~(holds & nearer).any(-2)
    order = torch.sort((~keep).to(torch.int8), dim=-1, stable=True).indices[..., :K]
    keep = keep.gather(-1, order)
    pick = lambda t: t.gather(-1, order)  # noqa: E731
    p2f = torch.where(keep, pick(p2f), -1)
    zbuf = torch.where(keep, pick(zbuf), -1)
    dists = torch.where(keep, pick(dists), -1)
    bary = torch.where(keep[..., None], bary.gather(-2, order[..., None].expand(*order.shape, 3)), -1)
    return p2f, zbuf, bary, dists


def rasterize_meshes(
    meshes,
    image_size: int | tuple[int, int] = 256,
    blur_radius: float = 0.0,
    faces_per_pixel: int = 8,
    bin_size: int | None = None,
    max_faces_per_bin: int | None = None,
    perspective_correct: bool = False,
    clip_barycentric_coords: bool = False,
    cull_backfaces: bool = False,
    z_clip_value: float | None = None,
    cull_to_frustum: bool = False,
):
    """Rasterize meshes whose vertices are in raster space (PyTorch3D's `rasterize_meshes`, same outputs).

    Args:
        meshes: a GraphBatch with faces (vertex `pos` in raster space), a Meshes (PyTorch3D's or meshgraph's:
            anything with verts_packed / faces_packed) or a pair (verts list, faces list).
        image_size: S or (H, W).
        blur_radius: >= 0; a pixel outside a face still hits it when its *squared* 2D distance to the face is
            below blur_radius (PyTorch3D's convention), for soft rasterization.
        faces_per_pixel: K nearest faces kept per pixel.
        bin_size: tile side in pixels; None picks it from the face sizes; 0 rasterizes without bins. The result
            never depends on it (tiles are sized from the data and cannot overflow).
        max_faces_per_bin: accepted for PyTorch3D compatibility and ignored.
        perspective_correct: perspective-correct barycentrics (use with perspective cameras).
        clip_barycentric_coords: clamp barycentrics to [0, 1] (renormalized) before depth and outputs.
        cull_backfaces: skip faces whose projected winding is clockwise (area < 0).
        z_clip_value: clip faces at the plane z = z_clip_value (see `clip_face_verts`); pix_to_face and
            bary_coords still refer to the original faces.
        cull_to_frustum: skip faces entirely outside |x| <= 1 or |y| <= 1.

    Returns:
        pix_to_face (N, H, W, K) int64 packed face indices, zbuf (N, H, W, K) depth, bary_coords (N, H, W, K, 3),
        dists (N, H, W, K) signed squared 2D distance (negative inside); -1 pads all of them. Faces with a
        vertex at z < 1e-8 (behind the camera, after any clipping), a non-finite or a degenerate (zero-area)
        projection are never drawn, as in PyTorch3D; pixels whose interpolated depth is < 0 are skipped.
        Differentiable w.r.t. the vertices through zbuf, bary_coords and dists.
    """
    pos, faces, first, size = mesh_arrays(meshes)
    return rasterize_face_verts(pos[faces], first, size, image_size, blur_radius, faces_per_pixel, bin_size,
                                perspective_correct, clip_barycentric_coords, cull_backfaces, z_clip_value,
                                cull_to_frustum)


def rasterize_meshes_python(meshes, image_size=256, blur_radius: float = 0.0, faces_per_pixel: int = 8,
                            perspective_correct: bool = False, clip_barycentric_coords: bool = False,
                            cull_backfaces: bool = False, z_clip_value=None, cull_to_frustum: bool = True,
                            clipped_faces_neighbor_idx=None):
    """rasterize_meshes through the brute-force pure-PyTorch reference kernel (`meshgraph.ops.reference`) instead
    of the compiled one: PyTorch3D's `rasterize_meshes_python`, same signature (note its cull_to_frustum=True
    default). Slow; for tests. clipped_faces_neighbor_idx must be None (the clipping here finds its own)."""
    if clipped_faces_neighbor_idx is not None:
        raise ValueError("clipped_faces_neighbor_idx is not supported: the split-quad neighbours come from the clipping")
    from .reference import render as reference

    pos, faces, first, size = mesh_arrays(meshes)
    return _rasterize(reference.rasterize_meshes, pos[faces], first, size, image_size, blur_radius,
                      faces_per_pixel, 0, perspective_correct, clip_barycentric_coords, cull_backfaces, z_clip_value,
                      cull_to_frustum)


def rasterize_face_verts(face_verts, first, size, image_size=256, blur_radius: float = 0.0, faces_per_pixel: int = 8,
                         bin_size=None, perspective_correct: bool = False, clip_barycentric_coords: bool = False,
                         cull_backfaces: bool = False, z_clip_value=None, cull_to_frustum: bool = False):
    """rasterize_meshes on packed raster-space face vertices (F, 3, 3), meshes given by face first / size (N,)."""
    return _rasterize(torch.ops.meshgraph.rasterize_meshes, face_verts, first, size, image_size, blur_radius,
                      faces_per_pixel, bin_size, perspective_correct, clip_barycentric_coords, cull_backfaces,
                      z_clip_value, cull_to_frustum)


def _rasterize(kernel, face_verts, first, size, image_size, blur_radius, faces_per_pixel, bin_size,
               perspective_correct, clip_barycentric_coords, cull_backfaces, z_clip_value, cull_to_frustum):
    H, W = image_hw(image_size)
    faces_per_pixel = check_positive_int(faces_per_pixel, "faces_per_pixel")
    if isinstance(blur_radius, bool) or not isinstance(blur_radius, (int, float)) or not (0 <= blur_radius < float("inf")):
        raise ValueError(f"blur_radius must be a finite number >= 0, got {blur_radius!r}")
    if bin_size is not None:
        bin_size = check_nonnegative_int(bin_size, "bin_size")
    if z_clip_value is not None and not (isinstance(z_clip_value, (int, float)) and not isinstance(z_clip_value, bool)):
        raise ValueError(f"z_clip_value must be None or a number, got {z_clip_value!r}")
    clipped = None
    if z_clip_value is not None or cull_to_frustum:
        clipped = clip_face_verts(face_verts, first, size, None if z_clip_value is None else float(z_clip_value),
                                  bool(cull_to_frustum), bool(perspective_correct))
    K = faces_per_pixel
    if clipped is not None:
        face_verts, first, size, origin, to_orig, neighbour = clipped
        if bool((neighbour >= 0).any()):
            K = 2 * faces_per_pixel  # room for both halves of split quads; merged below
    drawn = face_verts[:, :, 2].detach().amin(1) >= Z_MIN
    face_verts = torch.where(drawn[:, None, None], face_verts, float("nan"))
    p2f, zbuf, bary, dists = kernel(
        face_verts, first, size, H, W, float(blur_radius), K, bin_size, bool(perspective_correct),
        bool(clip_barycentric_coords), bool(cull_backfaces),
    )
    if clipped is None:
        return p2f, zbuf, bary, dists
    if K != faces_per_pixel:
        p2f, zbuf, bary, dists = _merge_neighbours(p2f, zbuf, bary, dists, neighbour, faces_per_pixel)
    valid = p2f >= 0
    safe = p2f.clamp_min(0)
    bary = torch.where(valid[..., None], (to_orig[safe] @ bary[..., None])[..., 0], bary)
    return torch.where(valid, origin[safe], -1), zbuf, bary, dists


@torch.library.register_fake("meshgraph::rasterize_meshes")
def _fake(face_verts, mesh_first, mesh_size, image_height, image_width, blur_radius, K, bin_size, perspective_correct,
          clip_barycentric_coords, cull_backfaces):
    shape = (mesh_first.shape[0], image_height, image_width, K)
    return (face_verts.new_empty(shape, dtype=torch.int64), face_verts.new_empty(shape),
            face_verts.new_empty((*shape, 3)), face_verts.new_empty(shape))


@torch.library.register_fake("meshgraph::rasterize_meshes_backward")
def _fake_backward(face_verts, pix_to_face, grad_zbuf, grad_bary, grad_dists, perspective_correct, clip_barycentric_coords):
    return torch.empty_like(face_verts)


def _setup(ctx, inputs, output):
    (face_verts, mesh_first, mesh_size, image_height, image_width, blur_radius, K, bin_size, perspective_correct,
     clip_barycentric_coords, cull_backfaces) = inputs
    pix_to_face = output[0]
    ctx.flags = (perspective_correct, clip_barycentric_coords)
    ctx.save_for_backward(face_verts, pix_to_face)


def _backward(ctx, grad_p2f, grad_zbuf, grad_bary, grad_dists):
    face_verts, p2f = ctx.saved_tensors

    def z(g, shape):
        return torch.zeros(shape, dtype=face_verts.dtype, device=face_verts.device) if g is None else g

    grad = torch.ops.meshgraph.rasterize_meshes_backward(
        face_verts, p2f, z(grad_zbuf, p2f.shape), z(grad_bary, (*p2f.shape, 3)), z(grad_dists, p2f.shape), *ctx.flags
    )
    return (grad,) + (None,) * 10


def _setup_backward(ctx, inputs, output):
    face_verts, pix_to_face, grad_zbuf, grad_bary, grad_dists, perspective_correct, clip_barycentric_coords = inputs
    ctx.flags = (perspective_correct, clip_barycentric_coords)
    ctx.save_for_backward(face_verts, pix_to_face, grad_zbuf, grad_bary, grad_dists)


def _backward_backward(ctx, gg):
    # Second order through the readable reference (per-slot recomputation; exact).
    from .reference.render import mesh_slot_fragments

    fv, p2f, gz, gb, gd = ctx.saved_tensors
    with torch.enable_grad():
        f = fv.detach().requires_grad_(True)
        a, b, c = (t.detach().requires_grad_(True) for t in (gz, gb, gd))
        zs, bs, ds = mesh_slot_fragments(f, p2f, *ctx.flags)
        total = (zs * a).sum() + (bs * b).sum() + (ds * c).sum()
        (g,) = torch.autograd.grad(total, f, create_graph=True)
        grads = torch.autograd.grad(g, (f, a, b, c), gg, allow_unused=True)
    return grads[0], None, grads[1], grads[2], grads[3], None, None


torch.library.register_autograd("meshgraph::rasterize_meshes", _backward, setup_context=_setup)
torch.library.register_autograd("meshgraph::rasterize_meshes_backward", _backward_backward, setup_context=_setup_backward)
