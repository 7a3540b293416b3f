"""cubify: watertight meshes with merged corners, outward faces, PyTorch3D's alignment conventions."""

import pytest
import torch

from meshgraph.ops import cubify


def closed_volume(mesh):
    """Signed volume by the divergence theorem: positive for outward faces."""
    v = mesh.pos_packed()[mesh.faces_packed()]
    return (v[:, 0] * torch.linalg.cross(v[:, 1], v[:, 2], dim=1)).sum() / 6


def test_single_voxel_is_a_cube():
    vox = torch.zeros(1, 2, 2, 2)
    vox[0, 0, 0, 0] = 1
    m = cubify(vox, 0.5, align="corner")
    assert m.num_verts == 8 and m.num_faces == 12
    assert set(m.pos_packed().unique().tolist()) == {-1.0, 0.0}  # voxel 0 of 2 spans [-1, 0] with corner align
    torch.testing.assert_close(closed_volume(m), torch.tensor(1.0))


def test_shared_faces_removed_corners_merged_and_watertight():
    vox = torch.zeros(2, 3, 3, 3)
    vox[0, 1, 1, 0:2] = 1  # two adjacent voxels: 6 + 6 - 2 quads = 10 quads, 12 corners
    vox[1] = (torch.rand(3, 3, 3, generator=torch.Generator().manual_seed(0)) > 0.4).float()
    m = cubify(vox, 0.5)
    assert m.num_faces_per_graph[0] == 20 and m.num_verts_per_graph[0] == 12
    for i in range(2):
        g = m[i]
        e = torch.sort(torch.cat([g.faces_packed()[:, [0, 1]], g.faces_packed()[:, [1, 2]], g.faces_packed()[:, [2, 0]]]), 1).values
        _, counts = torch.unique(e, dim=0, return_counts=True)
        assert (counts % 2 == 0).all()  # every edge shared by an even number of faces: closed surface
        step = 2 / 2  # topleft on 3 voxels: voxel edge 2 / (3 - 1)
        occupied = int((vox[i] > 0.5).sum())
        torch.testing.assert_close(closed_volume(g), torch.tensor(occupied * step**3), rtol=1e-5, atol=1e-5)


def test_alignment_modes_and_empty_grids():
    vox = torch.ones(1, 1, 1, 3)  # a row of 3 voxels along x
    xs = {a: sorted(cubify(vox, 0.5, align=a).pos_packed()[:, 0].unique().tolist()) for a in ("topleft", "corner", "center")}
    assert xs["corner"] == pytest.approx([-1, -1 / 3, 1 / 3, 1])
    assert xs["topleft"] == pytest.approx([-1, 0, 1, 2])
    assert xs["center"] == pytest.approx([-1.5, -0.5, 0.5, 1.5])
    empty = cubify(torch.zeros(2, 4, 4, 4), 0.5)
    assert len(empty) == 2 and empty.num_verts == 0
    with pytest.raises(ValueError, match="Align mode must be one of"):
        cubify(vox, 0.5, align="middle")


def test_vertex_and_face_order_are_pytorch3ds():
    """One voxel of a 2^3 grid (topleft): PyTorch3D 0.7.9's cubify gives exactly these vertices (sorted by their
    (y, x, z) lattice index) and faces (sides -x, +y, -z, -y, +x, +z, each split on PyTorch3D's diagonal)."""
    vox = torch.zeros(1, 2, 2, 2)
    vox[0, 0, 0, 0] = 1
    m = cubify(vox, 0.5)
    expected_verts = torch.tensor([[-1.0, -1, -1], [-1, -1, 1], [1, -1, -1], [1, -1, 1], [-1, 1, -1], [-1, 1, 1],
                                   [1, 1, -1], [1, 1, 1]])
    expected_faces = torch.tensor([[0, 1, 4], [1, 5, 4], [4, 5, 6], [5, 7, 6], [0, 4, 6], [0, 6, 2], [0, 3, 1],
                                   [0, 2, 3], [6, 7, 3], [6, 3, 2], [1, 7, 5], [1, 3, 7]])
    torch.testing.assert_close(m.pos_packed(), expected_verts)
    torch.testing.assert_close(m.faces_packed(), expected_faces)


def test_threshold_is_inclusive_like_pytorch3d():
    vox = torch.full((1, 1, 1, 1), 0.5)
    assert cubify(vox, 0.5).num_faces == 12
    assert cubify(vox, 0.51).num_faces == 0
