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


def test_nerf_cow_trains_with_hierarchical_sampling_and_writes_its_outputs(shared_data, tmp_path):
    import json

    ex = _example("nerf_cow")
    r = ex.run(shared_data, steps=24, size=16, n_views=8, rays_per_image=64, cameras_per_step=2, n_coarse=8, n_fine=8,
               hidden=16, n_harmonic=4, lr=1e-2, eval_every=12, out=tmp_path, threads=None, progress=False)
    assert r["steps"] == 24 and len(r["losses"]) == 24
    first, last = sum(r["losses"][:4]) / 4, sum(r["losses"][-4:]) / 4
    assert last < 0.8 * first, r["losses"]
    curve = r["psnr_curve"]  # the untrained model, after 12 steps, after 24 steps
    assert len(curve) == 3 and curve[-1][1] > curve[0][1] + 0.5, curve
    assert r["heldout_views"] == [0] and 0.0 < r["foreground_fraction"] < 1.0
    for path in [*r["images"], r["curve"]]:
        assert Path(path).stat().st_size > 0
    assert json.loads((tmp_path / "metrics.json").read_text())["steps"] == 24
    assert ex.plot_curve(curve, tmp_path / "pillow.png", use_matplotlib=False).endswith("pillow.png")
    assert (tmp_path / "pillow.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_nerf_cow_rays_match_pixels_and_stay_in_the_box(shared_data):
    import torch

    from meshgraph.render.implicit import NDCMultinomialRaysampler, ray_bundle_to_ray_points

    ex = _example("nerf_cow")
    mesh = ex.load_cow(shared_data)
    cams = ex.make_cameras(*ex.view_angles(4))
    images, masks = ex.render_views(mesh, cams, 16)
    # the raysampler's pixel grid is the rasterizer's: reading the images at every ray's xy gives them back
    grid = NDCMultinomialRaysampler(image_width=16, image_height=16, n_pts_per_ray=4, min_depth=ex.NEAR,
                                    max_depth=ex.FAR)
    bundle = grid(cams)
    torch.testing.assert_close(ex.pixels_at(images, bundle.xys.reshape(4, -1, 1, 2)).reshape(images.shape), images)
    lo, hi = torch.tensor([-0.5, -0.4, -0.6]), torch.tensor([0.5, 0.6, 0.4])
    boxed = ex.BoxRaysampler(grid, lo, hi)(cams, stratified_sampling=True)
    z = boxed.lengths
    hit = z[..., -1] > z[..., 0]
    assert hit.any() and (~hit).any() and (z.diff(dim=-1) >= 0).all()
    pts = ray_bundle_to_ray_points(boxed)[hit]
    assert (pts >= lo - 1e-4).all() and (pts <= hi + 1e-4).all()
    # every pixel of the cow is on a ray through the box (the box holds the cow)
    full = ex.BoxRaysampler(grid, mesh.verts_packed().min(0).values, mesh.verts_packed().max(0).values)(cams)
    covered = full.lengths[..., -1] > full.lengths[..., 0]
    assert covered[masks].all()
    # the fine pass: coarse depths plus n_fine from sample_pdf, sorted, within each ray's range, where the weights are
    weights = torch.zeros_like(z)
    weights[..., 2] = 1.0
    fine = ex.ProbabilisticRaysampler(5).train()(boxed, weights)  # random quantiles (det puts u = 0 at the start)
    assert fine.lengths.shape == (*z.shape[:-1], z.shape[-1] + 5) and (fine.lengths.diff(dim=-1) >= 0).all()
    lo_z, hi_z = 0.5 * (z[..., 1:2] + z[..., 2:3]), 0.5 * (z[..., 2:3] + z[..., 3:4])  # the weighted interval
    in_bin = (fine.lengths >= lo_z - 1e-5) & (fine.lengths <= hi_z + 1e-5)
    is_coarse = (fine.lengths[..., None, :] == z[..., :, None]).any(-2)
    assert (in_bin | is_coarse)[hit].all() and (in_bin[hit].sum(-1) >= 5).all()


def test_nerf_cow_time_budget_mode_stops_and_writes(shared_data, tmp_path):
    ex = _example("nerf_cow")
    r = ex.run(shared_data, minutes=0.1, size=8, n_views=4, rays_per_image=16, cameras_per_step=1, n_coarse=4,
               n_fine=4, hidden=8, n_harmonic=2, eval_every=1e9, out=tmp_path, threads=None, progress=False)
    assert r["steps"] == len(r["losses"]) and len(r["psnr_curve"]) == 2  # untrained + final, no periodic ones
    assert r["psnr_curve"][-1][0] <= r["wall_seconds"] and (tmp_path / "metrics.json").is_file()
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


def test_sbm_sage_trains_full_batch_and_through_the_loader(tmp_path):
    """examples/sbm_sage.py (issue 15's real task) on a 3,000-node SBM graph: both trainings beat the features-only
    Bayes classifier, mini-batch lands within a few points of full batch, and --out writes the same JSON."""
    import json

    out = tmp_path / "sbm.json"
    r = _example("sbm_sage").main(["--nodes", "3000", "--full-epochs", "60", "--epochs", "3", "--batch-size", "64",
                                   "--out", str(out)])
    assert json.loads(out.read_text()) == r
    full, mini = r["full_batch_test_accuracy"], r["minibatch_test_accuracy"]
    assert len(mini) == 3 and r["batches_per_epoch"] > 1
    assert full > r["bayes_features"] and mini[-1] > r["bayes_features"] and abs(mini[-1] - full) < 0.1
