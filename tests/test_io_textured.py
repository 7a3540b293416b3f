"""Textured IO: OBJ + MTL + map_Kd into TexturesUV / TexturesAtlas and back out, PLY vertex colours, normals and UVs
into TexturesVertex / TexturesUV and back, and the errors / warnings for malformed or missing inputs.

Expected values come from closed forms (an image linear in u and v is sampled exactly by bilinear interpolation,
so an atlas texel equals its UV point; the atlas points are the centroids of the R x R sub-triangles) or from files
written here by an independent writer (Pillow, plyfile).
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from meshgraph.io import IO, load_obj, load_objs_as_meshes, save_obj
from meshgraph.render.textures import TexturesAtlas, TexturesUV, TexturesVertex
from meshgraph.structures import Meshes


def _write_png(path, pixels: np.ndarray) -> None:
    Image.fromarray(pixels.astype(np.uint8)).save(path)


def _linear_image(size: int = 256) -> np.ndarray:
    """(size, size, 3) uint8 image whose red is u * 255 and green v * 255 at the texel centres (row 0 = v = 1)."""
    c = np.arange(size, dtype=np.float64) / (size - 1) * 255
    img = np.zeros((size, size, 3))
    img[..., 0] = c[None, :]
    img[..., 1] = c[::-1, None]
    img[..., 2] = 128
    return np.rint(img)


def _tri_obj(tmp_path, uvs, mtl: str | None, faces: str = "f 1/1 2/2 3/3", name: str = "m.obj"):
    lines = ["mtllib m.mtl"] if mtl is not None else []
    lines += ["v 0 0 0", "v 1 0 0", "v 0 1 0"] + [f"vt {u} {v}" for u, v in uvs] + ["usemtl mat", faces]
    (tmp_path / name).write_text("\n".join(lines) + "\n")
    if mtl is not None:
        (tmp_path / "m.mtl").write_text(mtl)
    return tmp_path / name


# ------------------------------------------------------------------------------------------------------ cow


@pytest.fixture
def textured_cow(tmp_path, shared_data):
    shutil.copy(shared_data / "cow.obj", tmp_path / "cow.obj")
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(32, 48, 3))
    _write_png(tmp_path / "cow texture.png", pixels)  # a space in the name, as PyTorch3D allows
    (tmp_path / "cow.mtl").write_text(
        "newmtl material_1\nmap_Kd cow texture.png\nKa 0.1 0.2 0.3\nKd 1.0 0.5 0.25\nKs 0.0 0.0 0.0\nNs 10.0\n")
    return tmp_path / "cow.obj", pixels / 255.0


def test_cow_obj_uvs_materials_and_image(textured_cow, shared_data):
    path, pixels = textured_cow
    verts, faces, aux = load_obj(path)
    lines = (shared_data / "cow.obj").read_text().splitlines()
    vt = np.array([[float(x) for x in ln.split()[1:3]] for ln in lines if ln.startswith("vt ")], dtype=np.float32)
    ft = np.array([[int(c.split("/")[1]) - 1 for c in ln.split()[1:]] for ln in lines if ln.startswith("f ")])
    torch.testing.assert_close(aux.verts_uvs, torch.from_numpy(vt))
    torch.testing.assert_close(faces.textures_idx, torch.from_numpy(ft))
    assert (faces.materials_idx == 0).all()
    colors = aux.material_colors["material_1"]
    torch.testing.assert_close(colors["ambient_color"], torch.tensor([0.1, 0.2, 0.3]))
    torch.testing.assert_close(colors["diffuse_color"], torch.tensor([1.0, 0.5, 0.25]))
    torch.testing.assert_close(colors["shininess"], torch.tensor([10.0]))
    torch.testing.assert_close(aux.texture_images["material_1"], torch.from_numpy(pixels).float())
    assert aux.texture_atlas is None

    mesh = load_objs_as_meshes([path, path])
    assert isinstance(mesh.textures, TexturesUV) and len(mesh) == 2
    torch.testing.assert_close(mesh.textures.maps_padded()[1], torch.from_numpy(pixels).float())
    torch.testing.assert_close(mesh.textures.verts_uvs_list()[0], torch.from_numpy(vt))
    torch.testing.assert_close(mesh.textures.faces_uvs_list()[1], torch.from_numpy(ft))
    # the same through IO, and no textures when asked for none
    assert isinstance(IO().load_mesh(path).textures, TexturesUV)
    assert IO().load_mesh(path, include_textures=False).textures is None


@pytest.mark.filterwarnings("ignore:Texture UV coordinates outside")
def test_cow_atlas_through_io(textured_cow):
    path, _ = textured_cow
    mesh = IO().load_mesh(path, create_texture_atlas=True, texture_atlas_size=3)
    assert isinstance(mesh.textures, TexturesAtlas)
    assert mesh.textures.atlas_padded().shape == (1, mesh.num_faces_per_mesh()[0], 3, 3, 3)
    assert mesh.textures.atlas_padded().min() >= 0 and mesh.textures.atlas_padded().max() <= 1


# ---------------------------------------------------------------------------------------------- atlases


def _cell_barycentrics(R: int) -> np.ndarray:
    """PyTorch3D's documented layout: cell (y, x) below the diagonal (x + y < R) is the upward sub-triangle with
    corner (x, y) / R, the others the downward sub-triangle mirrored to (R - 1 - x, R - 1 - y)."""
    out = np.zeros((R, R, 3))
    for y in range(R):
        for x in range(R):
            if x + y < R:
                w0, w1 = (x + 1 / 3) / R, (y + 1 / 3) / R
            else:
                w0, w1 = (R - 1 - x + 2 / 3) / R, (R - 1 - y + 2 / 3) / R
            out[y, x] = (w0, w1, 1 - w0 - w1)
    return out


@pytest.mark.parametrize("R", [1, 2, 5])
def test_atlas_samples_linear_image_at_subtriangle_centroids(tmp_path, R):
    _write_png(tmp_path / "tex.png", _linear_image())
    uvs = [(0.1, 0.2), (0.9, 0.3), (0.4, 0.95)]
    path = _tri_obj(tmp_path, uvs, "newmtl mat\nKd 0.2 0.2 0.2\nmap_Kd tex.png\n")
    _, _, aux = load_obj(path, create_texture_atlas=True, texture_atlas_size=R)
    atlas = aux.texture_atlas
    assert atlas.shape == (1, R, R, 3) and atlas.dtype == torch.float32
    expected_uv = _cell_barycentrics(R) @ np.array(uvs)  # (R, R, 2)
    torch.testing.assert_close(atlas[0, ..., :2], torch.from_numpy(expected_uv).float(), atol=2e-6, rtol=0)
    torch.testing.assert_close(atlas[0, ..., 2], torch.full((R, R), 128 / 255), atol=1e-6, rtol=0)
    # the R x R points are exactly the centroids of the R^2 sub-triangles, each once
    centroids = []
    for i in range(R):
        for j in range(R - i):
            centroids.append(((i + 1 / 3) / R, (j + 1 / 3) / R))
            if i + j <= R - 2:
                centroids.append(((i + 2 / 3) / R, (j + 2 / 3) / R))
    got = sorted(map(tuple, np.round(_cell_barycentrics(R)[..., :2].reshape(-1, 2), 9)))
    assert got == sorted(map(tuple, np.round(np.array(centroids), 9)))


def test_atlas_wrap_modes(tmp_path):
    _write_png(tmp_path / "tex.png", _linear_image())
    mtl = "newmtl mat\nmap_Kd tex.png\n"
    inside = [(0.25, 0.5), (0.75, 0.5), (0.5, 0.75)]
    outside = [(1.25, 0.5), (-0.25, 0.5), (0.5, 1.75)]  # inside mod 1
    _, _, ref = load_obj(_tri_obj(tmp_path, inside, mtl, name="a.obj"), create_texture_atlas=True,
                         texture_atlas_size=4)
    with pytest.warns(UserWarning, match="outside the range"):
        _, _, rep = load_obj(_tri_obj(tmp_path, outside, mtl, name="b.obj"), create_texture_atlas=True,
                             texture_atlas_size=4, texture_wrap="repeat")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, _, clamp = load_obj(_tri_obj(tmp_path, outside, mtl, name="c.obj"), create_texture_atlas=True,
                               texture_atlas_size=4, texture_wrap="clamp")
    # per-vertex wrapping (PyTorch3D's): the u of vertex 1 becomes 0.75, so the triangles differ only there
    wrapped = [(0.25, 0.5), (0.75, 0.5), (0.5, 0.75)]
    expected = _cell_barycentrics(4) @ np.array(wrapped)
    torch.testing.assert_close(rep.texture_atlas[0, ..., :2], torch.from_numpy(expected).float(), atol=2e-6, rtol=0)
    torch.testing.assert_close(rep.texture_atlas, ref.texture_atlas)
    expected = _cell_barycentrics(4) @ np.clip(np.array(outside), 0, 1)
    torch.testing.assert_close(clamp.texture_atlas[0, ..., :2], torch.from_numpy(expected).float(), atol=2e-6,
                               rtol=0)
    with pytest.raises(ValueError, match="texture_wrap"):
        load_obj(_tri_obj(tmp_path, inside, mtl), texture_wrap="mirror")


def test_atlas_material_colours_and_white(tmp_path):
    obj = "\n".join(["mtllib m.mtl", "v 0 0 0", "v 1 0 0", "v 0 1 0", "f 1 2 3", "usemtl red", "f 1 3 2",
                     "usemtl blue", "f 2 1 3"])
    (tmp_path / "m.obj").write_text(obj)
    (tmp_path / "m.mtl").write_text("newmtl red\nKd 1 0 0\nnewmtl blue\nKd 0 0 1\n")
    _, faces, aux = load_obj(tmp_path / "m.obj", create_texture_atlas=True, texture_atlas_size=2)
    assert faces.materials_idx.tolist() == [-1, 0, 1]
    expected = torch.tensor([[1.0, 1, 1], [1, 0, 0], [0, 0, 1]])[:, None, None].expand(3, 2, 2, 3)
    torch.testing.assert_close(aux.texture_atlas, expected)
    _, _, aux = load_obj(tmp_path / "m.obj", load_textures=False, create_texture_atlas=True, texture_atlas_size=2)
    torch.testing.assert_close(aux.texture_atlas, torch.ones(3, 2, 2, 3))


# ------------------------------------------------------------------------------------------- save and back


def test_save_obj_texture_round_trip(tmp_path):
    verts = torch.rand(5, 3)
    faces = torch.tensor([[0, 1, 2], [0, 2, 3], [1, 4, 2]])
    verts_uvs = torch.rand(6, 2)
    faces_uvs = torch.tensor([[0, 1, 2], [3, 4, 5], [5, 1, 0]])
    texture = torch.randint(0, 256, (7, 9, 3)) / 255.0
    path = tmp_path / "out.obj"
    save_obj(path, verts, faces, verts_uvs=verts_uvs, faces_uvs=faces_uvs, texture_map=texture)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mtl", "out.obj", "out.png"]
    assert (tmp_path / "out.mtl").read_text() == "newmtl mesh\nmap_Kd out.png\n"
    torch.testing.assert_close(torch.from_numpy(np.asarray(Image.open(tmp_path / "out.png")) / 255.0).float(),
                               texture)
    mesh = load_objs_as_meshes([path])
    torch.testing.assert_close(mesh.verts_list()[0], verts, atol=1e-6, rtol=0)
    torch.testing.assert_close(mesh.textures.verts_uvs_list()[0], verts_uvs, atol=1e-6, rtol=0)
    torch.testing.assert_close(mesh.textures.faces_uvs_list()[0], faces_uvs)
    torch.testing.assert_close(mesh.textures.maps_padded()[0], texture)
    # IO().save_mesh writes the TexturesUV of a Meshes the same way
    IO().save_mesh(mesh, tmp_path / "again.obj")
    again = IO().load_mesh(tmp_path / "again.obj")
    torch.testing.assert_close(again.textures.maps_padded(), mesh.textures.maps_padded())
    torch.testing.assert_close(again.textures.faces_uvs_list()[0], faces_uvs)


# ------------------------------------------------------------------------------------- errors and warnings


def test_malformed_mtl_names_file_and_line(tmp_path):
    path = _tri_obj(tmp_path, [(0, 0), (1, 0), (0, 1)], "newmtl mat\nKa 1 1 1\nKd 1 x 1\n")
    with pytest.raises(ValueError, match=r"m\.mtl:3: Kd"):
        load_obj(path)
    path = _tri_obj(tmp_path, [(0, 0), (1, 0), (0, 1)], "Kd 1 1 1\nnewmtl mat\n")
    with pytest.raises(ValueError, match=r"m\.mtl:1: Kd before any newmtl"):
        load_obj(path)
    path = _tri_obj(tmp_path, [(0, 0), (1, 0), (0, 1)], "newmtl mat\nKs 1 1\n")
    with pytest.raises(ValueError, match=r"m\.mtl:2: Ks needs 3"):
        load_obj(path)


def test_missing_and_unreadable_images(tmp_path):
    path = _tri_obj(tmp_path, [(0, 0), (1, 0), (0, 1)], "newmtl mat\nmap_Kd nowhere.png\n")
    with pytest.warns(UserWarning, match="Texture file does not exist: .*nowhere.png"):
        _, _, aux = load_obj(path)
    assert aux.texture_images == {}
    (tmp_path / "broken.png").write_bytes(b"not a png")
    path = _tri_obj(tmp_path, [(0, 0), (1, 0), (0, 1)], "newmtl mat\nmap_Kd broken.png\n")
    with pytest.raises(ValueError, match="broken.png: cannot read the texture image"):
        load_obj(path)
    path = _tri_obj(tmp_path, [(0, 0), (1, 0), (0, 1)], None)
    with pytest.warns(UserWarning, match="No mtl file provided"):
        load_obj(path)


def test_bad_uv_indices(tmp_path):
    _write_png(tmp_path / "tex.png", _linear_image(8))
    mtl = "newmtl mat\nmap_Kd tex.png\n"
    path = _tri_obj(tmp_path, [(0, 0), (1, 0), (0, 1)], mtl, faces="f 1/1 2/2 3/3\nf 1/1 2/9 3/3")
    with pytest.warns(UserWarning, match=r"Faces have invalid indices: a texture index .*m\.obj, line 10"):
        load_obj(path)
    with pytest.warns(UserWarning, match="invalid indices"), pytest.raises(ValueError, match=r"m\.obj: .*vt"):
        load_obj(path, create_texture_atlas=True)
    with pytest.warns(UserWarning, match="invalid indices"), pytest.raises(ValueError, match=r"m\.obj: .*vt"):
        load_objs_as_meshes([path])
    path = _tri_obj(tmp_path, [(0, 0), (1, 0), (0, 1)], mtl, faces="f 1 2 3")  # an image but no vt corners
    with pytest.raises(ValueError, match=r"m\.obj: .*texture \(vt\)"):
        load_objs_as_meshes([path])
    path = _tri_obj(tmp_path, [(0, 0), (1, 0), (0, 1)], mtl, faces="f 1/1 2/2")
    (tmp_path / "m.obj").write_text((tmp_path / "m.obj").read_text().replace("vt 0 1", "vt 0"))
    with pytest.raises(ValueError, match=r"does not have 2 values.*m\.obj, line 7"):
        load_obj(path)


# ---------------------------------------------------------------------------------------------------- PLY


def _write_ply(path, colors: np.ndarray, color_type: str, normals=True, uvs=None, comments=()):
    from plyfile import PlyData, PlyElement

    pos = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    fields = [("x", "f4"), ("y", "f4"), ("z", "f4")]
    cols = [pos[:, 0], pos[:, 1], pos[:, 2]]
    if normals:
        nrm = pos[[1, 2, 3, 0]] * 0.5
        fields += [("nx", "f4"), ("ny", "f4"), ("nz", "f4")]
        cols += [nrm[:, 0], nrm[:, 1], nrm[:, 2]]
    if colors is not None:
        fields += [(c, color_type) for c in ("red", "green", "blue")]
        cols += [colors[:, 0], colors[:, 1], colors[:, 2]]
    if uvs is not None:
        fields += [("texture_u", "f4"), ("texture_v", "f4")]
        cols += [uvs[:, 0], uvs[:, 1]]
    vert = np.zeros(4, dtype=fields)
    for (name, _), c in zip(fields, cols):
        vert[name] = c
    face = np.zeros(2, dtype=[("vertex_indices", "i4", (3,))])
    face["vertex_indices"] = [[0, 1, 2], [0, 2, 3]]
    PlyData([PlyElement.describe(vert, "vertex"), PlyElement.describe(face, "face")], text=False,
            comments=list(comments)).write(str(path))
    return pos


def test_ply_uchar_colours_and_normals(tmp_path):
    colors = np.array([[0, 128, 255], [10, 20, 30], [255, 255, 255], [1, 2, 3]])
    pos = _write_ply(tmp_path / "c.ply", colors, "u1")
    mesh = IO().load_mesh(tmp_path / "c.ply")
    assert isinstance(mesh.textures, TexturesVertex)
    torch.testing.assert_close(mesh.textures.verts_features_list()[0], torch.from_numpy(colors / 255.0).float())
    torch.testing.assert_close(mesh.verts_normals_list()[0], torch.from_numpy(pos[[1, 2, 3, 0]] * 0.5))
    assert IO().load_mesh(tmp_path / "c.ply", include_textures=False).textures is None
    # back out: uchar when asked, float otherwise; read with plyfile
    from plyfile import PlyData

    IO().save_mesh(mesh, tmp_path / "u.ply", colors_as_uint8=True)
    v = PlyData.read(str(tmp_path / "u.ply"))["vertex"].data
    assert v["red"].dtype == np.uint8
    np.testing.assert_array_equal(np.stack([v["red"], v["green"], v["blue"]], 1), colors)
    np.testing.assert_allclose(np.stack([v["nx"], v["ny"], v["nz"]], 1), pos[[1, 2, 3, 0]] * 0.5)
    IO().save_mesh(mesh, tmp_path / "f.ply", binary=False)
    v = PlyData.read(str(tmp_path / "f.ply"))["vertex"].data
    assert v["red"].dtype == np.float32
    np.testing.assert_allclose(np.stack([v["red"], v["green"], v["blue"]], 1), colors / 255.0, atol=1e-6)


def test_ply_float_colours_point_cloud_and_wide_features(tmp_path):
    colors = np.random.default_rng(1).random((4, 3)).astype(np.float32)
    _write_ply(tmp_path / "c.ply", colors, "f4", normals=False)
    mesh = IO().load_mesh(tmp_path / "c.ply")
    torch.testing.assert_close(mesh.textures.verts_features_list()[0], torch.from_numpy(colors))  # not scaled
    cloud = IO().load_pointcloud(tmp_path / "c.ply")
    torch.testing.assert_close(cloud.features_packed(), torch.from_numpy(colors))
    wide = Meshes(verts=mesh.verts_list(), faces=mesh.faces_list(), textures=TexturesVertex([torch.rand(4, 5)]))
    with pytest.warns(UserWarning, match="has 5 colors, not 3"):
        IO().save_mesh(wide, tmp_path / "w.ply")
    assert IO().load_mesh(tmp_path / "w.ply").textures is None


def test_ply_uvs_with_texture_file(tmp_path):
    pixels = np.random.default_rng(2).integers(0, 256, (5, 6, 3))
    _write_png(tmp_path / "skin.png", pixels)
    uvs = np.random.default_rng(3).random((4, 2)).astype(np.float32)
    _write_ply(tmp_path / "t.ply", None, "u1", uvs=uvs, comments=["TextureFile skin.png"])
    mesh = IO().load_mesh(tmp_path / "t.ply")
    assert isinstance(mesh.textures, TexturesUV)
    torch.testing.assert_close(mesh.textures.verts_uvs_list()[0], torch.from_numpy(uvs))
    torch.testing.assert_close(mesh.textures.faces_uvs_list()[0], mesh.faces_list()[0])
    torch.testing.assert_close(mesh.textures.maps_padded()[0], torch.from_numpy(pixels / 255.0).float())
