"""compat.pytorch3d.io / utils: OBJ and PLY with PyTorch3D's contract, against files written here."""

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import meshgraph as mg
from meshgraph.compat.pytorch3d.io import load_obj, load_objs_as_meshes, load_ply, save_obj, save_ply
from meshgraph.compat.pytorch3d.structures import Meshes
from meshgraph.compat.pytorch3d.utils import ico_sphere

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

OBJ = """# a quad, a triangle with normals and uvs, negative indices
mtllib m.mtl
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
v 0 0 1
vt 0 0
vt 1 0
vt 1 1
vn 0 0 1
vn 0 1 0
f 1 2 3 4
usemtl red
f 1/1/1 2/2/1 5/3/2
f -1 -2 -3
"""

MTL = """newmtl red
Ka 0.1 0.2 0.3
Kd 1.0 0.0 0.0
Ks 0.5 0.5 0.5
Ns 10
"""


def test_load_obj_named_tuples_fans_and_indices(tmp_path):
    (tmp_path / "m.obj").write_text(OBJ)
    (tmp_path / "m.mtl").write_text(MTL)
    verts, faces, aux = load_obj(tmp_path / "m.obj")
    assert verts.dtype == torch.float32 and verts.shape == (5, 3)
    assert faces._fields == ("verts_idx", "normals_idx", "textures_idx", "materials_idx")
    assert aux._fields == ("normals", "verts_uvs", "material_colors", "texture_images", "texture_atlas")
    # the quad is the fan (0, 1, 2), (0, 2, 3); negative indices count from the end
    assert faces.verts_idx.tolist() == [[0, 1, 2], [0, 2, 3], [0, 1, 4], [4, 3, 2]]
    assert faces.normals_idx.tolist() == [[-1, -1, -1], [-1, -1, -1], [0, 0, 1], [-1, -1, -1]]
    assert faces.textures_idx.tolist() == [[-1, -1, -1], [-1, -1, -1], [0, 1, 2], [-1, -1, -1]]
    assert faces.materials_idx.tolist() == [-1, -1, 0, 0]
    assert torch.equal(aux.normals, torch.tensor([[0.0, 0, 1], [0, 1, 0]]))
    assert torch.equal(aux.verts_uvs, torch.tensor([[0.0, 0], [1, 0], [1, 1]]))
    red = aux.material_colors["red"]
    assert torch.equal(red["diffuse_color"], torch.tensor([1.0, 0, 0])) and torch.equal(red["shininess"], torch.tensor([10.0]))
    assert aux.texture_images == {} and aux.texture_atlas is None
    with open(tmp_path / "m.obj") as f:  # a file object: no folder to find the mtl in
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v2, f2, a2 = load_obj(f, load_textures=False)
    assert torch.equal(v2, verts) and a2.material_colors is None
    with pytest.raises(ValueError, match="texture_wrap"):
        load_obj(tmp_path / "m.obj", texture_wrap="mirror")
    # some faces of m.obj have no vt indices: an atlas cannot be sampled for them (PyTorch3D reads the last vt)
    with pytest.raises(ValueError, match="m.obj: texture atlas: faces use texture"):
        load_obj(tmp_path / "m.obj", create_texture_atlas=True)


def test_save_obj_text_and_round_trip(tmp_path):
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1.5, 0]])
    faces = torch.tensor([[0, 1, 2]])
    save_obj(tmp_path / "a.obj", verts, faces, decimal_places=2)
    assert (tmp_path / "a.obj").read_text() == "v 0.00 0.00 0.00\nv 1.00 0.00 0.00\nv 0.00 1.50 0.00\nf 1 2 3"
    normals = torch.tensor([[0.0, 0, 1]])
    save_obj(tmp_path / "b.obj", verts, faces, normals=normals, faces_normals_idx=torch.zeros(1, 3, dtype=torch.int64))
    v, f, aux = load_obj(tmp_path / "b.obj", load_textures=False)
    assert torch.equal(v, verts) and torch.equal(f.verts_idx, faces) and torch.equal(aux.normals, normals)
    assert f.normals_idx.tolist() == [[0, 0, 0]]
    with pytest.raises(ValueError):
        save_obj(tmp_path / "c.obj", verts, torch.tensor([[0, 1]]))


def test_ply_face_orders_and_round_trip(tmp_path):
    # two quads: PyTorch3D puts every first fan triangle before every second one
    ply = "ply\nformat ascii 1.0\nelement vertex 6\nproperty float x\nproperty float y\nproperty float z\n" \
          "element face 2\nproperty list uchar int vertex_index\nend_header\n" + \
          "".join(f"{i} {i % 2} 0\n" for i in range(6)) + "4 0 1 2 3\n4 2 3 4 5\n"
    (tmp_path / "q.ply").write_text(ply)
    verts, faces = load_ply(tmp_path / "q.ply")
    assert verts.dtype == torch.float32 and verts.shape == (6, 3)
    assert faces.tolist() == [[0, 1, 2], [2, 3, 4], [0, 2, 3], [2, 4, 5]]
    mixed = ply.replace("element face 2", "element face 2").replace("4 2 3 4 5\n", "3 2 3 4\n")
    (tmp_path / "m.ply").write_text(mixed)
    assert load_ply(tmp_path / "m.ply")[1].tolist() == [[0, 1, 2], [0, 2, 3], [2, 3, 4]]
    normals = torch.nn.functional.normalize(torch.rand(6, 3), dim=1)
    for ascii in (False, True):
        save_ply(tmp_path / "out.ply", verts, faces, verts_normals=normals, ascii=ascii)
        v, f = load_ply(tmp_path / "out.ply")
        assert torch.allclose(v, verts) and torch.equal(f, faces)
    save_ply(tmp_path / "cloud.ply", verts)  # no faces: a point cloud
    v, f = load_ply(tmp_path / "cloud.ply")
    assert torch.equal(v, verts) and f.shape == (0, 3)


@pytest.mark.skipif(not (DATA / "igea.ply").exists(), reason="needs ../shared/data")
def test_real_files_agree_with_load_mesh():
    verts, faces = load_ply(DATA / "igea.ply")  # tristrips
    g = mg.io.load_mesh(DATA / "igea.ply")
    assert torch.allclose(verts, g.pos) and torch.equal(faces, g.faces)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the shared cow.obj comes without its .mtl
        v, f, aux = load_obj(DATA / "cow.obj")
        meshes = load_objs_as_meshes([DATA / "cow.obj", DATA / "teapot.obj"])
    cow = mg.io.load_mesh(DATA / "cow.obj")
    assert v.shape == (2930, 3) and torch.allclose(v, cow.pos) and torch.equal(f.verts_idx, cow.faces)
    assert aux.verts_uvs is not None and f.textures_idx.shape == (5856, 3) and (f.textures_idx >= 0).all()
    assert type(meshes) is Meshes and meshes.num_verts_per_mesh().tolist() == [2930, 1292]
    assert meshes.num_faces_per_mesh().tolist() == [5856, 2464]


def test_ico_sphere_is_meshes_on_the_unit_sphere():
    for level, (nv, nf) in enumerate([(12, 20), (42, 80), (162, 320)]):
        s = ico_sphere(level)
        assert type(s) is Meshes and s.verts_packed().shape == (nv, 3) and s.faces_packed().shape == (nf, 3)
        # PyTorch3D starts from the icosahedron's 4-decimal vertices (unit length to ~5e-5) and normalizes the
        # subdivided ones
        assert torch.allclose(s.verts_packed().norm(dim=1), torch.ones(nv), atol=1e-4 if level == 0 else 1e-6)
        # outward winding: every face normal points away from the centre
        centres = s.verts_packed()[s.faces_packed()].mean(1)
        assert ((s.faces_normals_packed() * centres).sum(1) > 0).all()
    assert np.allclose(ico_sphere(0).verts_packed()[0].numpy(), [-0.5257, 0.8507, 0.0], atol=1e-4)
    with pytest.raises(ValueError):
        ico_sphere(-1)


def test_torus_matches_the_loop_definition():
    from math import cos, pi, sin

    from meshgraph.compat.pytorch3d.utils import torus

    r, R, sides, rings = 0.5, 2.0, 5, 7
    verts = [[(R + r * cos(2 * pi * j / sides)) * cos(2 * pi * i / rings),
              (R + r * cos(2 * pi * j / sides)) * sin(2 * pi * i / rings), r * sin(2 * pi * j / sides)]
             for i in range(rings) for j in range(sides)]
    faces = []
    for i in range(rings):
        for j in range(sides):
            a, b = ((i - 1) % rings) * sides, i * sides
            faces += [[a + (j - 1) % sides, b + (j - 1) % sides, b + j], [b + j, a + j, a + (j - 1) % sides]]
    m = torus(r, R, sides, rings)
    assert type(m) is Meshes
    assert torch.allclose(m.verts_packed(), torch.tensor(verts), atol=1e-6)
    assert torch.equal(m.faces_packed(), torch.tensor(faces))
    with pytest.raises(ValueError):
        torus(1, 2, 0, 3)


def test_io_pluggable_meshes_and_point_clouds(tmp_path):
    import struct

    from meshgraph.compat.pytorch3d.io import IO
    from meshgraph.compat.pytorch3d.structures import Pointclouds

    io = IO()
    points = torch.tensor([[0.0, 1, 2], [3, 4, 5]])
    colors = torch.tensor([[0.0, 0.5, 1.0], [1.0, 0.25, 0.0]])
    io.save_pointcloud(Pointclouds([points], features=[colors]), tmp_path / "c.ply")
    header = (b"ply\nformat binary_little_endian 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
              b"property float z\nproperty float red\nproperty float green\nproperty float blue\nend_header\n")
    body = struct.pack("<12f", *torch.cat([points, colors], 1).flatten().tolist())
    assert (tmp_path / "c.ply").read_bytes() == header + body
    back = io.load_pointcloud(tmp_path / "c.ply")
    assert type(back) is Pointclouds and torch.equal(back.points_packed(), points) and torch.equal(back.features_packed(), colors)
    # uchar colours come back scaled to [0, 1]
    io.save_pointcloud(Pointclouds([points], features=[colors]), tmp_path / "u.ply", colors_as_uint8=True, binary=False)
    assert torch.allclose(io.load_pointcloud(tmp_path / "u.ply").features_packed(), torch.round(colors * 255) / 255)
    # meshes: PLY with assigned normals, OBJ; a suffix no format knows
    normals = torch.tensor([[0.0, 0, 1]] * 3)
    mesh = Meshes([points[:1].repeat(3, 1) + torch.eye(3)], [torch.tensor([[0, 1, 2]])], verts_normals=[normals])
    io.save_mesh(mesh, tmp_path / "m.ply")
    m2 = io.load_mesh(tmp_path / "m.ply")
    assert torch.equal(m2.verts_packed(), mesh.verts_packed()) and torch.equal(m2.verts_normals_packed(), normals)
    io.save_mesh(mesh, tmp_path / "m.obj")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m3 = io.load_mesh(tmp_path / "m.obj")
    assert torch.allclose(m3.verts_packed(), mesh.verts_packed()) and torch.equal(m3.faces_packed(), mesh.faces_packed())
    with pytest.raises(ValueError, match="No mesh interpreter found to write"):
        io.save_mesh(mesh, tmp_path / "m.xyz")
    with pytest.raises(ValueError, match="No mesh interpreter found to read"):
        io.load_mesh(tmp_path / "m.xyz")
    (tmp_path / "bad.ply").write_text("v 0 0 0\n")
    with pytest.raises(ValueError, match="Invalid file header"):
        io.load_mesh(tmp_path / "bad.ply")
    with pytest.raises(ValueError, match="single"):
        io.save_mesh(mesh.extend(2), tmp_path / "two.ply")
