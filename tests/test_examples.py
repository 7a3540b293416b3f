"""Examples run on tiny settings (the full runs are documented in docs/)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _example(name):
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        return __import__(name)
    finally:
        sys.path.pop(0)


def test_pointcloud_classification_runs(shared_data):
    r = _example("pointcloud_classification").run(shared_data, steps=3, points=128, batch=4, test=8)
    assert 0.0 <= r["test_accuracy"] <= 1.0 and r["step_ms"] > 0


def test_planetoid_main_runs_one_short_seed(shared_data):
    rows = _example("planetoid").main(["--data", str(shared_data), "--datasets", "cora", "--seeds", "1", "--epochs", "3"])
    assert len(rows) == 2 and all(0 <= r[2] <= 100 for r in rows)


def test_synsin_trains_and_gradients_reach_features_and_positions(shared_data, tmp_path):
    r = _example("synsin").run(shared_data, steps=15, size=32, points=1500, out=tmp_path)
    assert r["grads"]["features"] > 0 and r["grads"]["positions"] > 0 and r["grads"]["decoder"] > 0
    assert r["psnr_after"] > r["psnr_before"] + 3  # a few steps already beat the untrained decoder clearly
    assert Path(r["image"]).stat().st_size > 0


def test_gin_motifs_dataset_is_labelled_by_its_motif_and_trains(tmp_path):
    import networkx as nx

    ex = _example("gin_motifs")
    gen = __import__("torch").Generator().manual_seed(0)
    for cls, name in enumerate(ex.NAMES):  # a tree plus one 5-node motif: the cycles are the motif's
        d = ex.make_graph(cls, gen)
        g = nx.Graph(d.edge_index.t().tolist())
        assert g.number_of_nodes() == d.num_nodes and nx.is_connected(g)
        assert len(nx.cycle_basis(g)) == len(ex.MOTIFS[name]) - 4
        core = nx.k_core(g, 2)  # the tree's nodes peel away; the motif remains
        assert core.number_of_nodes() == 5 and core.number_of_edges() == len(ex.MOTIFS[name])
    r = ex.run(graphs=64, epochs=2, folder=tmp_path, log=lambda *_: None)
    assert r["graphs"] == 64 and r["classes"] == 4 and 0.0 <= r["test_accuracy"] <= 1.0
    assert (tmp_path / "MOTIFS" / "raw" / "MOTIFS_A.txt").is_file()


def test_planetoid_zoo_runs_both_libraries(shared_data):
    rows = _example("planetoid_zoo").main(["--data", str(shared_data), "--datasets", "cora", "--models", "sgc", "appnp",
                                           "--seeds", "1", "--epochs", "3"])
    assert [(r[1], r[2]) for r in rows] == [("sgc", "meshgraph"), ("sgc", "pyg"), ("appnp", "meshgraph"), ("appnp", "pyg")]
    assert all(0 <= r[3] <= 100 for r in rows)


# --- textures (issue 14)
def test_fit_textured_mesh_loss_drops_and_writes_its_files(shared_data, tmp_path):
    """A few full-batch steps at a tiny size: the weighted loss falls, the metrics are in range, files written."""
    r = _example("fit_textured_mesh").run(iters=6, image_size=24, views=3, views_per_iter=3, level=2,
                                          faces_per_pixel=6, held_out=2, out=tmp_path, progress=False,
                                          log=lambda *_: None, cow=shared_data / "cow.obj")
    total = r["history"]["total"]
    assert len(total) == 6 and total[-1] < total[0]
    assert r["history"]["rgb"][-1] < r["history"]["rgb"][0]
    assert 0.0 < r["silhouette_iou"] <= 1.0 and r["psnr"] > 0
    for name in ("views", "silhouettes", "losses", "mesh", "metrics"):
        assert Path(r["files"][name]).stat().st_size > 0, name
# --- end textures
