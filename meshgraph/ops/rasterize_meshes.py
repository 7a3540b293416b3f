"""rasterize_meshes: PyTorch3D's mesh rasterizer (pix_to_face, zbuf, bary_coords, dists), binned so that no bin
can overflow, with gradients through barycentrics, depth and distances. Also interpolate_face_attributes.

Kernels: csrc/ops/rasterize_meshes/. Vertices are given in raster space: NDC x, y (x left, y up) and the view
depth z, what `cameras.transform_points_raster` returns (PyTorch3D builds the same space inside MeshRasterizer).
"""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import check_index_tensor, check_tensor
from .interpolate_face_attributes import interpolate_face_attributes, interpolate_vertex_features  # noqa: F401
from .rasterize_points import RASTER_DTYPES, image_hw

_extension.load()


def _mesh_face_verts(meshes):
    """(face_verts (F, 3, 3), first (N,), size (N,)) from a GraphBatch with faces or a pair (verts list, faces list)."""
    from ..graph import GraphBatch

    if isinstance(meshes, GraphBatch):
        if meshes.num_faces == 0 and meshes.num_graphs and not any(meshes.is_mesh()):
            raise ValueError("meshes: this GraphBatch has no faces (use rasterize_points for point clouds)")
        pos, faces = meshes.pos_packed(), meshes.faces_packed()
        size = meshes.num_faces_per_graph.to(pos.device)
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
    else:
        raise TypeError("meshes must be a GraphBatch with faces or a pair (list of (V_i, 3) verts, list of (F_i, 3) faces)")
    check_tensor(pos, "mesh vertices", dtypes=RASTER_DTYPES)
    first = size.cumsum(0) - size
    return pos[faces], first, size


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
):
    """Rasterize meshes whose vertices are in raster space (PyTorch3D's `rasterize_meshes`, same outputs).

    Args:
        meshes: a GraphBatch with faces (vertex `pos` in raster space), or a pair (verts list, faces list).
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

    Returns:
        pix_to_face (N, H, W, K) int64 packed face indices, zbuf (N, H, W, K) depth, bary_coords (N, H, W, K, 3),
        dists (N, H, W, K) signed squared 2D distance (negative inside); -1 pads all of them. Faces with a
        non-finite or degenerate (zero-area) projection are never drawn; pixels where a face lies behind the
        camera (interpolated depth < 0) are skipped. Differentiable w.r.t. the vertices through zbuf,
        bary_coords and dists.
    """
    H, W = image_hw(image_size)
    if isinstance(faces_per_pixel, bool) or not isinstance(faces_per_pixel, int) or faces_per_pixel <= 0:
        raise ValueError(f"faces_per_pixel must be a positive int, got {faces_per_pixel!r}")
    if isinstance(blur_radius, bool) or not isinstance(blur_radius, (int, float)) or not (0 <= blur_radius < float("inf")):
        raise ValueError(f"blur_radius must be a finite number >= 0, got {blur_radius!r}")
    if bin_size is not None and (isinstance(bin_size, bool) or not isinstance(bin_size, int) or bin_size < 0):
        raise ValueError(f"bin_size must be None or a non-negative int, got {bin_size!r}")
    face_verts, first, size = _mesh_face_verts(meshes)
    code = -1 if bin_size == 0 else (0 if bin_size is None else int(bin_size))
    return torch.ops.meshgraph.rasterize_meshes(
        face_verts, first, size, H, W, float(blur_radius), faces_per_pixel, code, bool(perspective_correct),
        bool(clip_barycentric_coords), bool(cull_backfaces),
    )


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
    ctx.flags = (inputs[8], inputs[9])
    ctx.save_for_backward(inputs[0], output[0])


def _backward(ctx, grad_p2f, grad_zbuf, grad_bary, grad_dists):
    face_verts, p2f = ctx.saved_tensors

    def z(g, shape):
        return torch.zeros(shape, dtype=face_verts.dtype, device=face_verts.device) if g is None else g

    grad = torch.ops.meshgraph.rasterize_meshes_backward(
        face_verts, p2f, z(grad_zbuf, p2f.shape), z(grad_bary, (*p2f.shape, 3)), z(grad_dists, p2f.shape), *ctx.flags
    )
    return (grad,) + (None,) * 10


def _setup_backward(ctx, inputs, output):
    ctx.flags = (inputs[5], inputs[6])
    ctx.save_for_backward(*inputs[:5])


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
