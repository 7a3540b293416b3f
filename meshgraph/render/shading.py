"""Shading of rasterized mesh fragments (PyTorch3D 0.7's formulas): per pixel (`phong_shading`), per vertex
(`gouraud_shading`) and per face (`flat_shading`), each -> (N, H, W, K, C) colours for the blending functions.

    colour = (ambient + diffuse) * texel + specular,   ambient = material.ambient * light.ambient,
    diffuse = material.diffuse * lights.diffuse(n, p), specular = material.specular * lights.specular(n, p, camera, s)

Positions and normals at the pixels come from meshgraph's barycentric interpolation kernel, both in one pass
(vertex positions and normals side by side as one (V, 6) feature, read through the faces: no (F, 3, 3) copies).
Meshes are meshgraph's Meshes / GraphBatch or any object with PyTorch3D's Meshes methods.
"""

from __future__ import annotations

import torch

from ..ops.interpolate_face_attributes import interpolate_vertex_features

__all__ = ["flat_shading", "gouraud_shading", "phong_shading"]


def _apply_lighting(points, normals, lights, cameras, materials):
    """(ambient, diffuse, specular) colours at the points: (N, ..., C) for batched points (ambient viewed as
    (N, 1, 1, 1, C) against (N, H, W, K, C) points), squeezed for packed (P, 3) points."""
    light_diffuse = lights.diffuse(normals=normals, points=points)
    light_specular = lights.specular(normals=normals, points=points, camera_position=cameras.get_camera_center(),
                                     shininess=materials.shininess)
    ambient = materials.ambient_color * lights.ambient_color
    diffuse = materials.diffuse_color * light_diffuse
    specular = materials.specular_color * light_specular
    if normals.dim() == 2 and points.dim() == 2:
        return ambient.squeeze(), diffuse.squeeze(), specular.squeeze()
    if ambient.ndim != diffuse.ndim:
        ambient = ambient[:, None, None, None, :]
    return ambient, diffuse, specular


def _pixel_points_and_normals(meshes, fragments) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, H, W, K, 3) world position and (unnormalized) interpolated vertex normal of each slot, zero where
    empty: one interpolation of the (V, 6) [position, normal] vertex feature."""
    verts = meshes.verts_packed()
    both = torch.cat([verts, meshes.verts_normals_packed().to(verts.dtype)], 1)
    out = interpolate_vertex_features(fragments.pix_to_face, fragments.bary_coords, meshes.faces_packed(), both)
    return out[..., :3], out[..., 3:]


def _phong_shading_with_pixels(meshes, fragments, lights, cameras, materials, texels):
    """Per-pixel lighting of every slot: (colours (N, H, W, K, C), pixel world coordinates (N, H, W, K, 3))."""
    points, normals = _pixel_points_and_normals(meshes, fragments)
    ambient, diffuse, specular = _apply_lighting(points, normals, lights, cameras, materials)
    return (ambient + diffuse) * texels + specular, points


def _lit_covered_slots(meshes, fragments, lights, cameras, materials, texels):
    """(ambient + diffuse) * texels + specular at every slot, positions, normals and lighting evaluated only at the
    covered slots (pix_to_face >= 0; a soft render at K = 8 covers a small part of its N H W K slots). An empty
    slot has zero position and normal, so its diffuse and specular terms are exactly 0 and its colour ambient *
    texel: the values of lighting every slot (`_phong_shading_with_pixels`), at the cost of the covered ones."""
    p2f = fragments.pix_to_face
    N, C = p2f.shape[0], texels.shape[-1]
    ambient = materials.ambient_color * lights.ambient_color
    if ambient.ndim != texels.ndim:
        ambient = ambient[:, None, None, None, :]
    out = (ambient * texels).reshape(-1, C)
    idx = (p2f.reshape(-1) >= 0).nonzero().squeeze(1)
    if idx.numel() == 0:
        return out.view(texels.shape)
    verts = meshes.verts_packed()
    both = torch.cat([verts, meshes.verts_normals_packed().to(verts.dtype)], 1)
    pn = interpolate_vertex_features(p2f.reshape(-1)[idx], fragments.bary_coords.reshape(-1, 3)[idx],
                                     meshes.faces_packed(), both)  # (S, 6): one pass, covered slots only
    pts, nrm, tex = pn[:, :3], pn[:, 3:], texels.reshape(-1, C)[idx]
    centers = cameras.get_camera_center()
    if N > 1:  # one light / camera / material per slot, from its image
        owner = idx // (p2f.numel() // N)
        lights = lights.clone().gather_props(owner)
        materials = materials.clone().gather_props(owner)
        if centers.shape[0] > 1:
            centers = centers[owner]
    amb = materials.ambient_color * lights.ambient_color
    diffuse = materials.diffuse_color * lights.diffuse(normals=nrm, points=pts)
    specular = materials.specular_color * lights.specular(normals=nrm, points=pts, camera_position=centers,
                                                          shininess=materials.shininess)
    return out.index_put((idx,), (amb + diffuse) * tex + specular).view(texels.shape)


def phong_shading(meshes, fragments, lights, cameras, materials, texels) -> torch.Tensor:
    """Per-pixel (Phong) shading: lighting evaluated at each slot's interpolated position and vertex normal,
    applied to texels (N, H, W, K, C). -> (N, H, W, K, C)."""
    if torch.compiler.is_compiling():  # static shapes: every slot, as PyTorch3D does
        return _phong_shading_with_pixels(meshes, fragments, lights, cameras, materials, texels)[0]
    return _lit_covered_slots(meshes, fragments, lights, cameras, materials, texels)


def gouraud_shading(meshes, fragments, lights, cameras, materials) -> torch.Tensor:
    """Per-vertex (Gouraud) shading: the vertex colours (a TexturesVertex) lit at the vertices, then interpolated
    with the barycentrics. -> (N, H, W, K, C)."""
    from .textures import TexturesVertex

    if not isinstance(meshes.textures, TexturesVertex):
        raise ValueError("Mesh textures must be an instance of TexturesVertex")
    faces = meshes.faces_packed()
    verts = meshes.verts_packed()
    normals = meshes.verts_normals_packed()
    colors = meshes.textures.verts_features_packed()
    if len(meshes) > 1:  # one light / camera / material per vertex, from its mesh
        owner = meshes.verts_packed_to_mesh_idx()
        lights = lights.clone().gather_props(owner)
        cameras = cameras.clone().gather_props(owner)
        materials = materials.clone().gather_props(owner)
    ambient, diffuse, specular = _apply_lighting(verts, normals, lights, cameras, materials)
    shaded = colors * (ambient + diffuse) + specular
    return interpolate_vertex_features(fragments.pix_to_face, fragments.bary_coords, faces, shaded)


def flat_shading(meshes, fragments, lights, cameras, materials, texels) -> torch.Tensor:
    """Per-face (flat) shading: lighting evaluated at each face's centroid with its face normal, applied to
    texels (N, H, W, K, C). -> (N, H, W, K, C)."""
    verts = meshes.verts_packed()
    faces = meshes.faces_packed()
    face_normals = meshes.faces_normals_packed()
    face_coords = verts[faces].mean(dim=-2)  # (F, 3)
    p2f = fragments.pix_to_face
    empty = (p2f == -1)[..., None]
    idx = p2f.clamp(min=0)
    points = torch.where(empty, 0.0, face_coords[idx])
    normals = torch.where(empty, 0.0, face_normals[idx])
    ambient, diffuse, specular = _apply_lighting(points, normals, lights, cameras, materials)
    return (ambient + diffuse) * texels + specular
