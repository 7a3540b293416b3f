"""The peers' own tutorials and examples, import prefix swapped, run in quick mode (tools/peer_examples.py).

Each test runs the peer's unchanged code (bar the tool's listed data substitutions) in a fresh interpreter and
checks the outcome: losses that fall, images that match meshgraph's native render and an independent projection,
accuracies beside PyG's own in the same run. docs/peer_examples.md has the full-mode numbers.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"

pytestmark = pytest.mark.skipif(not (SHARED / "cow.obj").exists() or not (SHARED / "cora.npz").exists(),
                                reason="needs ../shared/data (cow.obj, cora.npz)")


def _tool():
    spec = importlib.util.spec_from_file_location("peer_examples", ROOT / "tools" / "peer_examples.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("peer_examples", mod)
    spec.loader.exec_module(mod)
    return mod


def _mirror_available(peer: str) -> bool:
    return Path(_tool().MIRRORS[peer][0]).exists()


def _ok(result: dict) -> dict:
    assert result["ok"], result.get("error", result)
    return result


@pytest.fixture(scope="module")
def tool():
    return _tool()


# ---------------------------------------------------------------------------------------------- PyTorch3D

@pytest.mark.skipif(not _mirror_available("pytorch3d"), reason="PyTorch3D's repository mirror is absent")
def test_deform_mesh_tutorial_chamfer_falls_tenfold_and_saves_the_mesh(tool):
    r = _ok(tool.run_example("deform_mesh", meshgraph=True, quick=True))
    first, last = r["chamfer"]
    assert math.isfinite(last) and last < first / 10, r["chamfer"]
    assert r["edge"][1] < 0.05 and r["laplacian"][1] < 0.1, r  # the regularisers keep the sphere a surface
    # ico_sphere(4): 2,562 vertices, 5,120 faces, written by save_obj and read back by load_obj unchanged
    assert r["final_obj_verts_faces"] == [2562, 5120]
    assert r["final_obj_matches_mesh"]


def _orthographic_pixels(points: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel (row, col) of each point under the tutorial's camera, computed here from scratch: look_at from
    distance 20, elevation 10 deg, azimuth 0 (camera on the +z side, above), FoVOrthographicCameras' unit
    NDC scale, PyTorch3D's conventions (+x left, +y up in NDC; world-to-view X @ R + T)."""
    elev = math.radians(10.0)
    eye = np.array([0.0, 20 * math.sin(elev), 20 * math.cos(elev)])
    z = -eye / np.linalg.norm(eye)  # camera looks at the origin
    x = np.cross(np.array([0.0, 1.0, 0.0]), z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z], axis=1)  # columns: camera axes in world coordinates
    view = (points - eye) @ R
    col = (1.0 - view[:, 0]) * size / 2.0 - 0.5
    row = (1.0 - view[:, 1]) * size / 2.0 - 0.5
    return row, col


@pytest.mark.skipif(not _mirror_available("pytorch3d"), reason="PyTorch3D's repository mirror is absent")
def test_render_points_tutorial_matches_native_render_and_projection(tool, tmp_path):
    r = _ok(tool.run_example("render_points", meshgraph=True, quick=True))
    images = {k: np.load(v) for k, v in r["images"].items()}
    assert sorted(images) == ["image_cell12", "image_cell14", "image_cell17", "image_cell19"]

    tool.prepare_pointcloud(tmp_path)
    cloud = np.load(tmp_path / "data" / "PittsburghBridge" / "pointcloud.npz")
    size = 512
    row, col = _orthographic_pixels(cloud["verts"].astype(np.float64), size)
    near = np.zeros((size, size), dtype=bool)  # pixels within 2 px of a projected point (radius 0.003 = 0.8 px)
    ri, ci = np.round(row).astype(int), np.round(col).astype(int)
    for dr in range(-2, 3):
        for dc in range(-2, 3):
            rr, cc = np.clip(ri + dr, 0, size - 1), np.clip(ci + dc, 0, size - 1)
            near[rr, cc] = True
    hit = np.zeros((size, size), dtype=bool)  # pixels whose centre holds a point's centre
    inside = (ri >= 0) & (ri < size) & (ci >= 0) & (ci < size)
    hit[ri[inside], ci[inside]] = True

    backgrounds = {"image_cell12": (0, 0, 0), "image_cell14": (0, 0, 1), "image_cell17": (0, 0, 0),
                   "image_cell19": (1, 0, 0)}
    for cell, bg in backgrounds.items():
        img = images[cell][0]
        assert img.shape == (size, size, 3)
        is_bg = np.all(np.abs(img - np.asarray(bg, dtype=np.float32)) < 1e-6, axis=-1)
        # background exactly where no point reaches, drawn where points are, a cow-sized blob in between
        assert is_bg[~near].all(), (cell, int((~is_bg & ~near).sum()))
        assert (~is_bg[hit]).mean() > 0.99, cell
        assert 0.05 < (~is_bg).mean() < 0.6, cell
        assert img.min() >= 0.0 and img.max() <= 1.0 + 1e-6

    # the same scene through meshgraph's native API (GraphBatch + GraphToImage)
    npz = tmp_path / "data" / "PittsburghBridge" / "pointcloud.npz"
    for cell, comp in {"image_cell12": "alpha", "image_cell19": "norm_weighted"}.items():
        native = tool.native_point_render(npz, comp, None if cell == "image_cell12" else (1, 0, 0)).detach().numpy()
        np.testing.assert_allclose(images[cell], native, atol=1e-5)


# ---------------------------------------------------------------------------------------------- PyG

@pytest.mark.skipif(not _mirror_available("pyg"), reason="PyG's repository mirror is absent")
@pytest.mark.parametrize("example,epochs,min_acc,tol", [("gcn", "50", 0.75, 0.03), ("gat", "30", 0.70, 0.04)])
def test_planetoid_example_cora_accuracy_matches_pyg_same_run(tool, example, epochs, min_acc, tol):
    pytest.importorskip("torch_geometric")
    ours = _ok(tool.run_example(example, meshgraph=True, quick=True, dataset="Cora", env={"PEER_EPOCHS": epochs}))
    peer = _ok(tool.run_example(example, meshgraph=False, quick=True, dataset="Cora", env={"PEER_EPOCHS": epochs}))
    assert ours["conv_class"].startswith("meshgraph."), ours["conv_class"]
    assert peer["conv_class"].startswith("torch_geometric."), peer["conv_class"]
    assert ours["final"]["test_acc"] >= min_acc, ours["final"]
    assert abs(ours["final"]["test_acc"] - peer["final"]["test_acc"]) <= tol, (ours["final"], peer["final"])


@pytest.mark.skipif(not _mirror_available("pyg"), reason="PyG's repository mirror is absent")
def test_pointnet2_example_trains_on_synthetic_shapes_all_on_meshgraph(tool):
    """PointNet++ (MLP, fps, radius, PointNetConv, global_max_pool, DataLoader from meshgraph.compat) on the
    synthetic 4-shape set, strict swap of the mirrored namespaces (no workaround)."""
    pytest.importorskip("torch_geometric")  # the example's transforms are PyG's (no mirror)
    r = _ok(tool.run_example("pointnet2", meshgraph=True, quick=True,
                             env={"PEER_POINTS": "128", "PEER_MODELNET_SIZE": "64,32", "PEER_EPOCHS": "4"}))
    assert all(c.startswith("meshgraph.") for c in r["conv_class"]) and len(r["conv_class"]) == 2, r["conv_class"]
    assert r["loader_class"].startswith("meshgraph."), r["loader_class"]
    assert r["mlp_class"].startswith("meshgraph."), r["mlp_class"]
    losses = r["losses"]
    assert len(losses) == 8 and all(math.isfinite(v) for v in losses)
    assert np.mean(losses[-3:]) < 0.75 * losses[0], losses
    assert 0.0 <= r["test_acc"] <= 1.0
