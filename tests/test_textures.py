"""Textures (meshgraph.render.textures): sampling against hand-written bilinear / nearest / barycentric formulas,
gradients (gradcheck float64), the list / padded / packed views, and Meshes carrying textures through indexing,
extend, clone, detach, to and the joins."""

import math

import pytest
import torch

from meshgraph.render.rasterizer import Fragments
from meshgraph.render.textures import (
    TexturesAtlas,
    TexturesUV,
    TexturesVertex,
    pack_rectangles,
    pack_unique_rectangles,
    Rectangle,
)
from meshgraph.structures import Meshes, join_meshes_as_batch, join_meshes_as_scene


def _fragments(p2f, bary):
    p2f = torch.as_tensor(p2f, dtype=torch.int64)
    return Fragments(pix_to_face=p2f, zbuf=torch.zeros(p2f.shape, dtype=bary.dtype), bary_coords=bary,
                     dists=torch.zeros(p2f.shape, dtype=bary.dtype))


def _texel(img, i, j, padding):
    """img[i, j] with out-of-range indices clamped (border) or zero (zeros)."""
    H, W = len(img), len(img[0])
    if padding == "zeros" and not (0 <= i < H and 0 <= j < W):
        return [0.0] * len(img[0][0])
    return img[min(max(i, 0), H - 1)][min(max(j, 0), W - 1)]


def _bilinear(img, u, v, align_corners, padding="border"):
    """Hand-written bilinear read of img (H, W, C nested lists) at UV (u right, v up)."""
    H, W = len(img), len(img[0])
    if align_corners:
        x, y = u * (W - 1), (1 - v) * (H - 1)
    else:
        x, y = u * W - 0.5, (1 - v) * H - 0.5
    if padding == "border":
        x, y = min(max(x, 0.0), W - 1.0), min(max(y, 0.0), H - 1.0)
    j0, i0 = math.floor(x), math.floor(y)
    fx, fy = x - j0, y - i0
    out = []
    for c in range(len(img[0][0])):
        def t(i, j):
            return _texel(img, i, j, padding)[c]
        out.append((1 - fy) * ((1 - fx) * t(i0, j0) + fx * t(i0, j0 + 1))
                   + fy * ((1 - fx) * t(i0 + 1, j0) + fx * t(i0 + 1, j0 + 1)))
    return out


def _nearest(img, u, v, align_corners):
    H, W = len(img), len(img[0])
    x, y = (u * (W - 1), (1 - v) * (H - 1)) if align_corners else (u * W - 0.5, (1 - v) * H - 0.5)
    return _texel(img, int(round(min(max(y, 0), H - 1))), int(round(min(max(x, 0), W - 1))), "border")


# ---------------------------------------------------------------------- TexturesUV


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("padding_mode", ["border", "zeros"])
def test_uv_single_face_matches_hand_bilinear(align_corners, padding_mode):
    H, W, C = 3, 4, 2
    maps = torch.rand(1, H, W, C, dtype=torch.float64)
    verts_uvs = torch.tensor([[[0.1, 0.2], [0.9, 0.3], [0.4, 0.95]]], dtype=torch.float64)
    faces_uvs = torch.tensor([[[0, 1, 2]]])
    tex = TexturesUV(maps, faces_uvs, verts_uvs, align_corners=align_corners, padding_mode=padding_mode)
    bary = torch.tensor([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.05, 0.9, 0.05], [0.3, 0.3, 0.4]], dtype=torch.float64)
    p2f = torch.tensor([0, 0, 0, -1]).view(1, 2, 2, 1)
    out = tex.sample_textures(_fragments(p2f, bary.view(1, 2, 2, 1, 3)))
    assert out.shape == (1, 2, 2, 1, C)
    img = maps[0].tolist()
    uv = verts_uvs[0]
    for k in range(3):
        u, v = (bary[k] @ uv).tolist()
        want = torch.tensor(_bilinear(img, u, v, align_corners, padding_mode), dtype=torch.float64)
        torch.testing.assert_close(out.reshape(4, C)[k], want)
    # an empty slot reads UV (0, 0): the bottom-left corner (PyTorch3D's behaviour; blending ignores it)
    torch.testing.assert_close(out.reshape(4, C)[3], torch.tensor(_bilinear(img, 0.0, 0.0, align_corners, padding_mode),
                                                                  dtype=torch.float64))


def test_uv_nearest_sampling_reads_one_texel():
    maps = torch.arange(12, dtype=torch.float32).view(1, 3, 4, 1)
    verts_uvs = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]])
    tex = TexturesUV(maps, torch.tensor([[[0, 1, 2]]]), verts_uvs, sampling_mode="nearest")
    bary = torch.tensor([[0.1, 0.8, 0.1], [0.7, 0.1, 0.2]])
    out = tex.sample_textures(_fragments(torch.zeros(1, 1, 2, 1), bary.view(1, 1, 2, 1, 3)))
    img = maps[0].tolist()
    for k in range(2):
        u, v = (bary[k] @ verts_uvs[0]).tolist()
        assert out.reshape(2)[k].item() == _nearest(img, u, v, True)[0]


def test_uv_batch_with_k_slots_and_different_map_sizes():
    # two meshes, K = 2 slots, maps of different sizes (the smaller one resized to the larger, bilinearly)
    m0, m1 = torch.rand(4, 5, 3), torch.rand(4, 5, 3)
    fu = [torch.tensor([[0, 1, 2], [2, 1, 3]]), torch.tensor([[1, 0, 2]])]
    vu = [torch.rand(4, 2), torch.rand(3, 2)]
    tex = TexturesUV([m0, m1], fu, vu)
    # mesh 1's face is packed face 2
    p2f = torch.tensor([[[[0, 1]], [[1, -1]]], [[[2, 2]], [[-1, -1]]]])  # (2, 2, 1, 2)
    bary = torch.rand(2, 2, 1, 2, 3)
    out = tex.sample_textures(_fragments(p2f, bary))
    assert out.shape == (2, 2, 1, 2, 3)
    corners = {0: (0, fu[0][0]), 1: (0, fu[0][1]), 2: (1, fu[1][0])}
    for n, h, k in [(0, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 0), (1, 0, 1)]:
        f = int(p2f[n, h, 0, k])
        mesh, face = corners[f]
        u, v = (bary[n, h, 0, k] @ vu[mesh][face]).tolist()
        want = _bilinear([m0, m1][mesh].tolist(), u, v, True)
        torch.testing.assert_close(out[n, h, 0, k], torch.tensor(want), atol=1e-5, rtol=1e-5)


def test_uv_gradients_reach_maps_uvs_and_barycentrics():
    maps = torch.rand(1, 3, 4, 2, dtype=torch.float64, requires_grad=True)
    uvs = torch.tensor([[[0.13, 0.21], [0.87, 0.34], [0.42, 0.91]]], dtype=torch.float64, requires_grad=True)
    bary = torch.tensor([[0.2, 0.3, 0.5], [0.6, 0.15, 0.25]], dtype=torch.float64).view(1, 1, 2, 1, 3).requires_grad_()
    faces = torch.tensor([[[0, 1, 2]]])
    p2f = torch.zeros(1, 1, 2, 1, dtype=torch.int64)

    def f(m, u, b):
        return TexturesUV(m, faces, u).sample_textures(_fragments(p2f, b))

    assert torch.autograd.gradcheck(f, (maps, uvs, bary))


def test_uv_packed_views_point_at_the_same_corners():
    fu = [torch.tensor([[0, 1, 2], [2, 1, 3]]), torch.tensor([[1, 0, 2]])]
    vu = [torch.rand(4, 2), torch.rand(3, 2)]
    tex = TexturesUV([torch.rand(2, 2, 3)] * 2, fu, vu)
    packed = tex.verts_uvs_packed()[tex.faces_uvs_packed()]
    torch.testing.assert_close(packed, torch.cat([vu[0][fu[0]], vu[1][fu[1]]]))
    assert tex.faces_uvs_padded().shape == (2, 2, 3) and tex.verts_uvs_padded().shape == (2, 4, 2)
    assert tex.faces_uvs_padded()[1, 1].tolist() == [0, 0, 0]  # padding


def test_uv_faces_verts_textures_are_the_maps_at_the_corner_uvs():
    maps = torch.rand(1, 5, 6, 3)
    vu = torch.rand(1, 4, 2)
    fu = torch.tensor([[[0, 1, 2], [3, 2, 1]]])
    tex = TexturesUV(maps, fu, vu)
    got = tex.faces_verts_textures_packed()
    for f in range(2):
        for c in range(3):
            u, v = vu[0, fu[0, f, c]].tolist()
            torch.testing.assert_close(got[f, c], torch.tensor(_bilinear(maps[0].tolist(), u, v, True)))


def test_uv_multiple_maps_pick_the_faces_map():
    maps = torch.rand(1, 3, 4, 4, 2)  # M = 3 maps
    vu = torch.rand(1, 3, 2)
    fu = torch.tensor([[[0, 1, 2], [0, 1, 2]]])
    tex = TexturesUV(maps, fu, vu, maps_ids=torch.tensor([[2, 0]]))
    bary = torch.tensor([0.3, 0.3, 0.4]).expand(1, 1, 2, 1, 3).contiguous()
    out = tex.sample_textures(_fragments(torch.tensor([0, 1]).view(1, 1, 2, 1), bary))
    u, v = (bary[0, 0, 0, 0] @ vu[0]).tolist()
    torch.testing.assert_close(out[0, 0, 0, 0], torch.tensor(_bilinear(maps[0, 2].tolist(), u, v, True)))
    torch.testing.assert_close(out[0, 0, 1, 0], torch.tensor(_bilinear(maps[0, 0].tolist(), u, v, True)))


def test_uv_join_scene_keeps_every_corner_colour():
    # join_scene packs the maps into one; sampling the corners of every face gives the same colours as before
    for align in (True, False):
        maps = [torch.rand(6, 9, 3), torch.rand(8, 5, 3), torch.rand(4, 4, 3)]
        fu = [torch.randint(0, 5, (7, 3)) for _ in range(3)]
        vu = [torch.rand(5, 2) * 0.8 + 0.1 for _ in range(3)]
        tex = TexturesUV(maps, fu, vu, align_corners=align, sampling_mode="nearest")
        scene = tex.join_scene()
        assert len(scene.maps_list()) == 1 and scene.faces_uvs_list()[0].shape == (21, 3)
        # nearest reads are exact when the maps were not resized: compare each mesh with its own texture
        for i in range(3):
            own = TexturesUV([maps[i]], [fu[i]], [vu[i]], align_corners=align, sampling_mode="nearest")
            torch.testing.assert_close(scene.faces_verts_textures_packed()[7 * i:7 * (i + 1)],
                                       own.faces_verts_textures_packed())


def test_uv_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="faces_uvs"):
        TexturesUV(torch.rand(1, 2, 2, 3), torch.zeros(1, 4, 2, dtype=torch.int64), torch.rand(1, 3, 2))
    with pytest.raises(ValueError, match="verts_uvs"):
        TexturesUV(torch.rand(1, 2, 2, 3), torch.zeros(1, 4, 3, dtype=torch.int64), torch.rand(2, 3, 2))
    with pytest.raises(ValueError, match="maps"):
        TexturesUV(torch.rand(2, 2, 2, 3), torch.zeros(1, 4, 3, dtype=torch.int64), torch.rand(1, 3, 2))


# ---------------------------------------------------------------------- TexturesVertex / TexturesAtlas


def test_vertex_any_width_is_the_barycentric_mix():
    feats = torch.randn(2, 4, 7, dtype=torch.float64)  # C = 7
    verts = torch.rand(2, 4, 3)
    faces = torch.tensor([[[0, 1, 2], [1, 2, 3]]] * 2)
    meshes = Meshes(verts, faces, textures=TexturesVertex(feats))
    p2f = torch.tensor([0, 3, -1]).view(1, 1, 3, 1)
    bary = torch.rand(1, 1, 3, 1, 3, dtype=torch.float64)
    out = meshes.sample_textures(_fragments(p2f, bary))
    fp = meshes.faces_packed()
    packed = feats.reshape(8, 7)
    for s, f in enumerate([0, 3]):
        want = sum(bary[0, 0, s, 0, i] * packed[fp[f, i]] for i in range(3))
        torch.testing.assert_close(out[0, 0, s, 0], want)
    assert (out[0, 0, 2] == 0).all()


def test_vertex_gradients_reach_features():
    feats = torch.randn(1, 3, 2, dtype=torch.float64, requires_grad=True)
    bary = torch.rand(1, 2, 1, 1, 3, dtype=torch.float64, requires_grad=True)
    faces = torch.tensor([[0, 1, 2]])
    p2f = torch.zeros(1, 2, 1, 1, dtype=torch.int64)
    assert torch.autograd.gradcheck(
        lambda f, b: TexturesVertex(f).sample_textures(_fragments(p2f, b), faces_packed=faces), (feats, bary))


def test_atlas_reads_the_cell_of_the_barycentrics():
    R = 3
    atlas = torch.rand(1, 2, R, R, 2)
    tex = TexturesAtlas(atlas)
    # below the diagonal: cell (floor(b0 R), floor(b1 R)); above it, the mirrored cell
    bary = torch.tensor([[0.1, 0.5, 0.4], [0.7, 0.2, 0.1], [0.6, 0.3, 0.1]])
    p2f = torch.tensor([1, 0, 1]).view(1, 1, 3, 1)
    out = tex.sample_textures(_fragments(p2f, bary.view(1, 1, 3, 1, 3)))
    for s in range(3):
        b0, b1 = bary[s, 0].item(), bary[s, 1].item()
        x, y = int(b0 * R), int(b1 * R)
        if (b0 + b1) * R - (x + y) > 1:
            x, y = R - 1 - x, R - 1 - y
        torch.testing.assert_close(out[0, 0, s, 0], atlas[0, int(p2f[0, 0, s, 0]), y, x])


# ---------------------------------------------------------------------- Meshes carry textures


def _uv_meshes(n=3):
    verts = [torch.rand(4 + i, 3) for i in range(n)]
    faces = [torch.tensor([[0, 1, 2], [1, 2, 3]]) for _ in range(n)]
    tex = TexturesUV([torch.rand(4, 4, 3) for _ in range(n)], faces, [torch.rand(4, 2) for _ in range(n)])
    return Meshes(verts, faces, textures=tex)


def test_meshes_index_extend_clone_detach_carry_textures():
    m = _uv_meshes()
    none = m[torch.zeros(3, dtype=torch.bool)]  # an empty selection: no meshes, an empty texture batch
    assert len(none) == 0 and none.textures._N == 0
    sub = m[[2, 0]]
    torch.testing.assert_close(sub.textures.maps_padded(), m.textures.maps_padded()[[2, 0]])
    assert sub.textures._num_faces_per_mesh == [2, 2]
    ext = m.extend(2)
    assert len(ext.textures.maps_list()) == 6
    torch.testing.assert_close(ext.textures.verts_uvs_padded()[3], m.textures.verts_uvs_padded()[1])
    c = m.clone()
    assert c.textures is not m.textures
    assert c.textures.maps_padded().data_ptr() != m.textures.maps_padded().data_ptr()
    leaf = torch.rand(3, 4, 4, 3, requires_grad=True)
    g = Meshes(m.verts_list(), m.faces_list(), textures=TexturesUV(leaf * 2, m.faces_padded(), torch.rand(3, 4, 2)))
    assert g.textures.maps_padded().requires_grad and not g.detach().textures.maps_padded().requires_grad
    before = m.textures
    maps_before = before.maps_padded()
    moved = m.to("cpu", copy=True)  # a copy moves a clone of the textures: the original keeps its own
    assert moved.textures is not before and m.textures is before and before.maps_padded() is maps_before
    torch.testing.assert_close(moved.textures.maps_padded(), maps_before)


def test_meshes_reject_textures_of_other_dimensions():
    verts, faces = torch.rand(2, 5, 3), torch.randint(0, 5, (2, 4, 3))
    with pytest.raises(ValueError, match="do not match the dimensions"):
        Meshes(verts, faces, textures=TexturesVertex(torch.rand(2, 4, 3)))
    m = Meshes(verts, faces)
    m.textures = TexturesVertex(torch.rand(1, 5, 3))
    with pytest.raises(ValueError, match="do not match the dimensions"):
        m.sample_textures(None)


def test_join_meshes_as_batch_and_scene_join_textures():
    a, b = _uv_meshes(1), _uv_meshes(2)
    batch = join_meshes_as_batch([a, b])
    assert len(batch) == 3 and len(batch.textures.maps_list()) == 3
    torch.testing.assert_close(batch.textures.faces_verts_textures_packed(),
                               torch.cat([a.textures.faces_verts_textures_packed(), b.textures.faces_verts_textures_packed()]))
    va = Meshes([torch.rand(3, 3)], [torch.tensor([[0, 1, 2]])], textures=TexturesVertex([torch.rand(3, 5)]))
    vb = Meshes([torch.rand(4, 3)], [torch.tensor([[0, 1, 3]])], textures=TexturesVertex([torch.rand(4, 5)]))
    scene = join_meshes_as_scene([va, vb])
    assert len(scene) == 1
    torch.testing.assert_close(scene.textures.verts_features_packed(),
                               torch.cat([va.textures.verts_features_packed(), vb.textures.verts_features_packed()]))
    with pytest.raises(ValueError, match="same type of texture"):
        join_meshes_as_batch([a, va])


def test_pack_rectangles_places_boxes_without_overlap():
    sizes = [(5, 3), (2, 7), (4, 4), (1, 1), (6, 2), (3, 3)]
    total, locs = pack_rectangles(sizes)
    boxes = []
    for (w, h), loc in zip(sizes, locs):
        w, h = (h, w) if loc.flipped else (w, h)  # a flipped box lies turned by 90 degrees
        boxes.append((loc.x, loc.y, w, h))
        assert loc.x >= 0 and loc.y >= 0 and loc.x + w <= total[0] and loc.y + h <= total[1]
    for i in range(len(boxes)):
        for j in range(i):
            xi, yi, wi, hi = boxes[i]
            xj, yj, wj, hj = boxes[j]
            assert xi + wi <= xj or xj + wj <= xi or yi + hi <= yj or yj + hj <= yi, (boxes[i], boxes[j])
    packed = pack_unique_rectangles([Rectangle(3, 4, 0), Rectangle(5, 2, 1), Rectangle(3, 4, 0)])
    assert [p.is_first for p in packed.locations] == [True, True, False]
    assert packed.locations[0][:3] == packed.locations[2][:3]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_sampling_in_every_float_dtype_matches_float32(dtype):
    maps, uvs, feats = torch.rand(1, 5, 6, 3), torch.rand(1, 3, 2), torch.rand(1, 3, 4)
    faces = torch.tensor([[[0, 1, 2]]])
    bary = torch.distributions.Dirichlet(torch.ones(3)).sample((1, 2, 3, 1))
    p2f = torch.zeros(1, 2, 3, 1, dtype=torch.int64)
    ref_uv = TexturesUV(maps, faces, uvs).sample_textures(_fragments(p2f, bary))
    ref_v = TexturesVertex(feats).sample_textures(_fragments(p2f, bary), faces_packed=faces[0])
    got_uv = TexturesUV(maps.to(dtype), faces, uvs.to(dtype)).sample_textures(_fragments(p2f, bary.to(dtype)))
    got_v = TexturesVertex(feats.to(dtype)).sample_textures(_fragments(p2f, bary.to(dtype)), faces_packed=faces[0])
    assert got_uv.dtype == got_v.dtype == dtype
    tol = {torch.float16: 1e-2, torch.bfloat16: 5e-2, torch.float64: 1e-6}[dtype]
    torch.testing.assert_close(got_uv.float(), ref_uv, atol=tol, rtol=tol)
    torch.testing.assert_close(got_v.float(), ref_v, atol=tol, rtol=tol)
