"""meshgraph.Volumes (PyTorch3D's semantics): constructors (tensor / list, voxel sizes, translations), coordinate
grids and transforms, indexing, update_padded, clone / to; Volumes.to_graph lattices (6 / 18 / 26 neighbours, against
an explicit neighbour enumeration) feeding a GNN layer; add_pointclouds_to_volumes; VolumeSampler and
VolumeRenderer with duck-typed ray bundles."""

import itertools
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from meshgraph import GraphBatch, VolumeLocator, Volumes, add_pointclouds_to_volumes
from meshgraph.render.volume_renderer import VolumeRenderer, VolumeSampler
from meshgraph.structures import Pointclouds
from meshgraph.transforms.transform3d import Scale


def _list_volumes(C=2, sizes=((3, 4, 5), (2, 4, 3)), seed=0):
    g = torch.Generator().manual_seed(seed)
    dens = [torch.rand(1, *s, generator=g) for s in sizes]
    feats = [torch.randn(C, *s, generator=g) for s in sizes]
    return dens, feats


def test_constructor_pads_lists_and_records_grid_sizes():
    dens, feats = _list_volumes()
    v = Volumes(densities=dens, features=feats)
    assert v.densities().shape == (2, 1, 3, 4, 5) and v.features().shape == (2, 2, 3, 4, 5)
    assert v.get_grid_sizes().tolist() == [[3, 4, 5], [2, 4, 3]]
    for a, b in zip(v.densities_list(), dens):
        assert torch.equal(a, b)
    for a, b in zip(v.features_list(), feats):
        assert torch.equal(a, b)
    assert v.densities()[1, :, 2:].abs().sum() == 0  # zero padding
    with pytest.raises(ValueError, match="same number of channels"):
        Volumes(densities=[torch.rand(1, 2, 2, 2), torch.rand(2, 2, 2, 2)])
    with pytest.raises(ValueError, match="5-dim"):
        Volumes(densities=torch.rand(2, 3, 3, 3))
    with pytest.raises(ValueError, match="match the size"):
        Volumes(densities=torch.rand(2, 1, 3, 3, 3), features=torch.rand(2, 4, 3, 3, 2))


@pytest.mark.parametrize("voxel_size", [0.5, (0.5, 1.0, 2.0), torch.tensor([0.5]), torch.tensor([[0.3], [0.7]]),
                                        torch.tensor([[0.3, 0.4, 0.5], [0.7, 0.8, 0.9]])])
def test_world_coordinates_follow_voxel_size_and_translation(voxel_size):
    D, H, W = 3, 4, 5
    t = torch.tensor([[0.1, -0.2, 0.3], [1.0, 2.0, -3.0]])
    v = Volumes(densities=torch.rand(2, 1, D, H, W), voxel_size=voxel_size, volume_translation=t)
    vs = torch.as_tensor(voxel_size, dtype=torch.float32)
    vs = (vs.reshape(1, 3) if vs.numel() == 3 else vs.reshape(-1, vs.shape[-1] if vs.ndim == 2 else 1)).expand(2, 3)
    world = v.get_coord_grid(world_coordinates=True)
    # voxel (z, y, x) sits at (x - (W - 1) / 2, y - (H - 1) / 2, z - (D - 1) / 2) * voxel_size - translation
    z, y, x = torch.meshgrid(torch.arange(D), torch.arange(H), torch.arange(W), indexing="ij")
    centred = torch.stack([x - (W - 1) / 2, y - (H - 1) / 2, z - (D - 1) / 2], -1).float()
    expect = centred[None] * vs[:, None, None, None] - t[:, None, None, None]
    torch.testing.assert_close(world, expect)
    local = v.get_coord_grid(world_coordinates=False)
    assert local.amin().item() == -1 and local.amax().item() == 1
    torch.testing.assert_close(v.world_to_local_coords(world), local, atol=1e-5, rtol=0)
    torch.testing.assert_close(v.local_to_world_coords(local), world)
    m = v.get_local_to_world_coords_transform().get_matrix()
    expect_m = Scale((torch.tensor([W, H, D]) - 1) * vs * 0.5).translate(-t).get_matrix()
    torch.testing.assert_close(m, expect_m)
    torch.testing.assert_close(v.get_world_to_local_coords_transform().get_matrix(), torch.linalg.inv(m))


def test_local_grid_resamples_to_the_volume_with_grid_sample():
    """PyTorch3D's convention check: grid_sample at the local coordinate grid returns the volume itself."""
    for align in (True, False):
        v = Volumes(densities=torch.rand(2, 3, 4, 5, 6), align_corners=align)
        out = F.grid_sample(v.densities(), v.get_coord_grid(world_coordinates=False), align_corners=align)
        torch.testing.assert_close(out, v.densities())


def test_heterogeneous_grids_span_minus_one_to_one_each():
    dens, _ = _list_volumes()
    v = Volumes(densities=dens)
    local = v.get_coord_grid(world_coordinates=False)
    own = local[1, :2, :4, :3]
    assert own[..., 0].amin() == -1 and own[..., 0].amax() == 1 and own[..., 2].amax() == 1


def test_bad_voxel_size_and_translation_raise():
    with pytest.raises(ValueError, match="voxel_size"):
        Volumes(densities=torch.rand(2, 1, 2, 2, 2), voxel_size=(1.0, 2.0))
    with pytest.raises(ValueError, match="volume_translation"):
        Volumes(densities=torch.rand(2, 1, 2, 2, 2), volume_translation=torch.zeros(3, 3))


def test_getitem_update_padded_clone_to():
    dens, feats = _list_volumes(sizes=((3, 4, 5), (2, 4, 3), (3, 3, 3)))
    v = Volumes(densities=dens, features=feats, voxel_size=torch.tensor([[0.5], [1.0], [2.0]]))
    for index, rows in ((1, [1]), ([0, 2], [0, 2]), (slice(1, 3), [1, 2]), (torch.tensor([True, False, True]), [0, 2]),
                        (torch.tensor([2, 0]), [2, 0])):
        s = v[index]
        assert len(s) == len(rows)
        assert torch.equal(s.densities(), v.densities()[rows])
        assert torch.equal(s.get_grid_sizes(), v.get_grid_sizes()[rows])
        torch.testing.assert_close(s.get_local_to_world_coords_transform().get_matrix(),
                                   v.get_local_to_world_coords_transform().get_matrix()[rows])
    for bad in (1.2, torch.tensor([0.0, 1.0])):
        with pytest.raises(IndexError):
            v[bad]
    u = v.update_padded(v.densities() * 2)
    assert u.features() is None and torch.equal(u.densities(), v.densities() * 2) and u.locator is v.locator
    with pytest.raises(ValueError, match="match the size"):
        v.update_padded(v.densities()[..., :2])
    c = v.clone()
    c.densities()[0, 0, 0, 0, 0] += 1
    assert not torch.equal(c.densities(), v.densities())
    assert v.to("cpu") is v and v.to("cpu", copy=True) is not v and v.cpu() is v
    assert set(vars(v)) == {"device", "_densities", "_features", "locator"}


def test_locator_accepts_tuple_list_and_tensor_grid_sizes():
    sizes = [(3, 5, 7)] * 4
    for g in ((3, 5, 7), sizes, torch.tensor(sizes)):
        loc = VolumeLocator(batch_size=4, grid_sizes=g, device="cpu")
        assert loc.get_grid_sizes().tolist() == [list(s) for s in sizes]
        assert tuple(int(r) for r in loc._resolution) == (3, 5, 7)


def _lattice_edges(D, H, W, order):
    """The lattice's directed neighbour pairs, enumerated voxel by voxel (the oracle)."""
    out = set()
    for z, y, x in itertools.product(range(D), range(H), range(W)):
        for dz, dy, dx in itertools.product((-1, 0, 1), repeat=3):
            if 0 < abs(dz) + abs(dy) + abs(dx) <= order and 0 <= z + dz < D and 0 <= y + dy < H and 0 <= x + dx < W:
                out.add(((z * H + y) * W + x, ((z + dz) * H + y + dy) * W + x + dx))
    return out


@pytest.mark.parametrize("connectivity,order", [(6, 1), (18, 2), (26, 3)])
def test_to_graph_gives_the_lattice_with_world_positions_and_features(connectivity, order):
    dens, feats = _list_volumes()
    v = Volumes(densities=dens, features=feats, voxel_size=0.5, volume_translation=(1.0, 0.0, -1.0))
    g = v.to_graph(connectivity)
    assert isinstance(g, GraphBatch) and g.num_graphs == 2
    assert list(g.num_verts_per_graph.tolist()) == [60, 24]
    world = v.get_coord_grid()
    for i, (D, H, W) in enumerate(((3, 4, 5), (2, 4, 3))):
        ei = g.edge_index_list()[i]
        got = set(map(tuple, ei.t().tolist()))
        assert got == _lattice_edges(D, H, W, order) and ei.shape[1] == len(got)
        pos = g.list("pos")[i]
        torch.testing.assert_close(pos, world[i, :D, :H, :W].reshape(-1, 3))
        x = g.list("features")[i]
        torch.testing.assert_close(x, torch.cat([dens[i], feats[i]]).reshape(3, -1).t())
    # every GNN layer runs on voxels: a GCN layer over the lattice, differentiable back to the volume
    from meshgraph.nn import GCNConv

    d = torch.rand(1, 1, 3, 3, 3, requires_grad=True)
    lat = Volumes(densities=d).to_graph(26)
    out = GCNConv(1, 4)(lat.packed("features"), lat.edge_index)
    out.sum().backward()
    assert out.shape == (27, 4) and d.grad is not None
    with pytest.raises(ValueError, match="connectivity"):
        v.to_graph(8)


def test_add_pointclouds_to_volumes_splats_world_points():
    g = torch.Generator().manual_seed(0)
    pts = [torch.rand(30, 3, generator=g) * 3 - 1.5, torch.rand(12, 3, generator=g) * 3 - 1.5]
    feats = [torch.rand(30, 2, generator=g), torch.rand(12, 2, generator=g)]
    pcl = Pointclouds(points=pts, features=feats)
    vols = Volumes(densities=torch.zeros(2, 1, 4, 4, 4), features=torch.zeros(2, 2, 4, 4, 4), voxel_size=1.0)
    for mode in ("trilinear", "nearest"):
        out = add_pointclouds_to_volumes(pcl, vols, mode=mode, rescale_features=False)
        assert vols.densities().abs().sum() == 0  # the initial volumes are untouched
        # every point inside the grid's span votes with total weight 1; padded points (cloud 1 has 12) add nothing
        inside = [((p.abs() <= 1.5).all(1)).sum().item() for p in pts]
        torch.testing.assert_close(out.densities().sum((1, 2, 3, 4)), torch.tensor(inside, dtype=torch.float32))
        py = add_pointclouds_to_volumes(pcl, vols, mode=mode, rescale_features=True, _python=True)
        kern = add_pointclouds_to_volumes(pcl, vols, mode=mode, rescale_features=True)
        torch.testing.assert_close(kern.features(), py.features())
    with pytest.raises(ValueError, match="same batch size"):
        add_pointclouds_to_volumes(pcl, vols[0])
    with pytest.raises(ValueError, match="features"):
        add_pointclouds_to_volumes(Pointclouds(points=pts), vols)


def _bundle(N=2, R=5, P=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    return SimpleNamespace(origins=torch.randn(N, R, 3, generator=g), directions=torch.randn(N, R, 3, generator=g),
                           lengths=torch.rand(N, R, P, generator=g) * 2, xys=torch.zeros(N, R, 2))


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_volume_sampler_matches_grid_sample_at_the_local_ray_points(mode):
    v = Volumes(densities=torch.rand(2, 1, 4, 5, 6), features=torch.rand(2, 3, 4, 5, 6), voxel_size=0.4,
                volume_translation=(0.2, -0.1, 0.3))
    rb = _bundle()
    dens, feats = VolumeSampler(v, sample_mode=mode)(rb)
    assert dens.shape == (2, 5, 7, 1) and feats.shape == (2, 5, 7, 3)
    world = rb.origins[..., None, :] + rb.lengths[..., None] * rb.directions[..., None, :]
    local = v.world_to_local_coords(world)
    want = F.grid_sample(v.features(), local.reshape(2, -1, 1, 1, 3), mode=mode, align_corners=True)
    torch.testing.assert_close(feats, want.reshape(2, 3, 5, 7).permute(0, 2, 3, 1))
    no_feats, empty = VolumeSampler(Volumes(densities=v.densities()))(rb)
    assert empty.shape == (2, 5, 7, 0)
    with pytest.raises(ValueError, match="same batch size"):
        VolumeSampler(v[0])(rb)
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        VolumeSampler(v)(SimpleNamespace(origins=rb.origins[0], directions=rb.directions[0], lengths=rb.lengths[0]))
    with pytest.raises(ValueError, match="Volumes"):
        VolumeSampler(torch.zeros(1))


def test_volume_renderer_calls_raysampler_sampler_and_raymarcher():
    v = Volumes(densities=torch.rand(2, 1, 4, 4, 4), features=torch.rand(2, 3, 4, 4, 4))
    rb = _bundle()
    seen = {}

    def raysampler(cameras, volumetric_function, **kw):
        seen["sampler"] = volumetric_function
        return rb

    def raymarcher(rays_densities, rays_features, ray_bundle, **kw):
        w = rays_densities[..., 0].softmax(-1)[..., None]
        return torch.cat([(w * rays_features).sum(-2), rays_densities.amax(-2)], -1)

    images, bundle = VolumeRenderer(raysampler, raymarcher)(cameras=None, volumes=v)
    assert bundle is rb and images.shape == (2, 5, 4) and isinstance(seen["sampler"], VolumeSampler)
    d, f = VolumeSampler(v)(rb)
    torch.testing.assert_close(images, raymarcher(d, f, rb))
    with pytest.raises(ValueError, match="Callable"):
        VolumeRenderer(None, raymarcher)
