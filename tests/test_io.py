"""Mesh IO: the shared meshes load with the right counts; round trips; malformed files give named errors."""

import numpy as np
import pytest
import torch

from meshgraph import Graph
from meshgraph.io import MeshFileError, load_mesh, save_mesh
from meshgraph.io.mesh import tristrips_to_triangles


def obj_vertices(path):
    """Independent parse of an OBJ's `v` lines (the file order load_mesh must keep)."""
    return np.array([[float(t) for t in line.split()[1:4]] for line in open(path) if line.startswith("v ")])


@pytest.mark.parametrize("name,verts,faces", [("cow.obj", 2930, 5856), ("teapot.obj", 1292, 2464), ("stanford-bunny.obj", 35947, 69451)])
def test_shared_obj_meshes_load_with_file_counts_and_order(shared_data, name, verts, faces):
    g = load_mesh(shared_data / name)
    assert g.num_verts == verts and g.faces.shape == (faces, 3)
    np.testing.assert_allclose(g.pos.double().numpy(), obj_vertices(shared_data / name), rtol=1e-6)
    assert int(g.faces.min()) == 0 and int(g.faces.max()) == verts - 1


def test_igea_tristrips_become_the_triangles_they_describe(shared_data):
    from plyfile import PlyData

    g = load_mesh(shared_data / "igea.ply")
    assert g.num_verts == 134345
    # independent decoding of the strips: plain Python loop over the raw list
    strip = PlyData.read(str(shared_data / "igea.ply"))["tristrips"].data["vertex_indices"][0].tolist()
    expected, run = [], []
    for v in strip + [-1]:
        if v < 0:
            for i in range(len(run) - 2):
                a, b, c = (run[i], run[i + 1], run[i + 2]) if i % 2 == 0 else (run[i + 1], run[i], run[i + 2])
                if a != b and b != c and a != c:
                    expected.append((a, b, c))
            run = []
        else:
            run.append(v)
    assert g.faces.shape[0] == len(expected) > 0
    assert g.faces.tolist() == [list(t) for t in expected]


def test_tristrip_winding_alternates_and_degenerate_joins_drop():
    t = tristrips_to_triangles(np.array([0, 1, 2, 3, 3, 4, -1, 5, 6, 7]))
    assert t.tolist() == [[0, 1, 2], [2, 1, 3], [5, 6, 7]]


@pytest.mark.parametrize("ext", ["obj", "ply", "off", "stl"])
def test_round_trip_keeps_geometry(tmp_path, shared_data, ext):
    g = load_mesh(shared_data / "teapot.obj")
    save_mesh(tmp_path / f"t.{ext}", g)
    h = load_mesh(tmp_path / f"t.{ext}")
    assert h.faces.shape == g.faces.shape
    tri_g = torch.sort(g.pos[g.faces].reshape(-1, 9), dim=0).values
    tri_h = torch.sort(h.pos[h.faces].reshape(-1, 9), dim=0).values
    torch.testing.assert_close(tri_h, tri_g, atol=1e-5, rtol=1e-5)


def test_ply_round_trip_keeps_vertex_features_ascii_and_binary(tmp_path):
    g = Graph(torch.rand(5, 3), torch.tensor([[0, 1, 2], [2, 3, 4]]), vertex_features={"normal": torch.rand(5, 3), "quality": torch.rand(5)})
    for binary in (True, False):
        save_mesh(tmp_path / "f.ply", g, binary=binary)
        h = load_mesh(tmp_path / "f.ply")
        torch.testing.assert_close(h.vertex_features["normal"], g.vertex_features["normal"])
        torch.testing.assert_close(h.vertex_features["quality"], g.vertex_features["quality"])


def test_ply_polygons_become_fans(tmp_path):
    (tmp_path / "q.ply").write_text(
        "ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\n"
        "element face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n"
    )
    assert load_mesh(tmp_path / "q.ply").faces.tolist() == [[0, 1, 2], [0, 2, 3]]


def test_truncated_binary_ply_names_the_file(tmp_path, shared_data):
    data = (shared_data / "igea.ply").read_bytes()
    (tmp_path / "cut.ply").write_bytes(data[: len(data) // 2])
    with pytest.raises(MeshFileError, match="cut.ply"):
        load_mesh(tmp_path / "cut.ply")


@pytest.mark.parametrize("name,text,match", [
    ("oob.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n", "oob.obj"),
    ("empty.obj", "# nothing here\n", "empty.obj"),
    ("nan.obj", "v nan 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "NaN"),
    ("short.off", "OFF\n3 1 0\n0 0 0\n1 0\n", "short.off"),
    ("bad.ply", "ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nend_header\n0\n1\n", "x, y, z"),
    ("face_oob.ply", "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
     "element face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n", "references vertex 7"),
    ("notply.ply", "this is not a ply file\n", "notply.ply"),
])
def test_malformed_files_raise_mesh_file_error_naming_the_problem(tmp_path, name, text, match):
    (tmp_path / name).write_text(text)
    with pytest.raises(MeshFileError, match=match):
        load_mesh(tmp_path / name)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.obj"):
        load_mesh(tmp_path / "nope.obj")
    (tmp_path / "a.xyz").write_text("1 2 3\n")
    with pytest.raises(MeshFileError, match="unsupported"):
        load_mesh(tmp_path / "a.xyz")
    with pytest.raises(TypeError, match="mesh"):
        save_mesh(tmp_path / "a.obj", torch.zeros(3, 3))
