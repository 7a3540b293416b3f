"""Hot paths read no device memory from Python (issue 17: "device syncs per call are removed from hot paths").

With MESHGRAPH_DEVICE_PATH=1, CPU tensors follow the CUDA rules (meshgraph._utils.values_are_free is False: no
per-call value checks). A TorchDispatchMode then records every aten call that reads tensor data on the host or has a
data-dependent output shape (`.item()`, `int(t)`, `bool(t)`, `nonzero`, boolean-mask indexing, ...): each is a device
sync on CUDA. The wrappers below must make none on a warm call (caches built by the first call, as a training loop
does). The custom ops' own C++ (the rasterizers' and the knn grid's one or two host reads, docs/concepts.md) runs
below the mode and is not counted here.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import meshgraph
from meshgraph.graph import GraphBatch
from meshgraph.losses import chamfer_distance
from meshgraph.nn import GraphToImage
from meshgraph.ops import (
    ball_query,
    gather_scatter,
    knn_points,
    packed_to_padded,
    padded_to_packed,
    sample_points_from_meshes,
    scatter,
)
from meshgraph.render import FoVOrthographicCameras, FoVPerspectiveCameras, look_at_view_transform

SYNC_TAGS = (torch.Tag.data_dependent_output, torch.Tag.dynamic_output_shape)


class SyncRecorder(TorchDispatchMode):
    """Names of the aten ops that would wait for the device on CUDA."""

    def __init__(self) -> None:
        super().__init__()
        self.syncs: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if any(tag in func.tags for tag in SYNC_TAGS) and not _static_indexing(func, args):
            self.syncs.append(str(func))
        return func(*args, **(kwargs or {}))


_INDEX_OPS = {"aten::index.Tensor", "aten::index_put", "aten::index_put_", "aten::_index_put_impl_"}


def _static_indexing(func, args) -> bool:
    """Advanced indexing with integer tensors has a static output shape; only boolean masks are data-dependent."""
    if func.name() not in _INDEX_OPS:
        return False
    indices = args[1] if len(args) > 1 else ()
    return all(i is None or i.dtype not in (torch.bool, torch.uint8) for i in indices)


@pytest.fixture
def device_rules(monkeypatch):
    monkeypatch.setenv("MESHGRAPH_DEVICE_PATH", "1")
    monkeypatch.delenv("MESHGRAPH_CHECK_VALUES", raising=False)


def _warm_syncs(fn) -> list[str]:
    fn()  # builds the caches (adjacency of an edge tensor, ...)
    with SyncRecorder() as rec:
        fn()
    return rec.syncs


def test_recorder_sees_a_sync(device_rules):
    """The recorder is not blind: .item(), bool() and mask indexing are recorded."""
    t = torch.arange(5.0)
    with SyncRecorder() as rec:
        t.sum().item()
        bool((t > 2).any())
        t[t > 2]
    assert len(rec.syncs) >= 3


def _meshes(n=2):
    torch.manual_seed(0)
    verts = [torch.rand(12, 3) * 0.5 + torch.tensor([0.0, 0.0, 2.0]) for _ in range(n)]
    faces = [torch.randint(0, 12, (20, 3)) for _ in range(n)]
    return GraphBatch.from_meshes(verts, faces)


CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


@case
def gather_scatter_pytorch3d():
    x = torch.randn(50, 8)
    edges = _EDGES
    return lambda: gather_scatter(x, edges, False)


_EDGES = torch.randint(0, 50, (120, 2))
_INDEX = torch.randint(0, 10, (200,))


@case
def scatter_mean_with_dim_size():
    src = torch.randn(200, 4)
    return lambda: scatter(src, _INDEX, 10, "mean")


@case
def knn_points_with_lengths():
    p1, p2 = torch.randn(2, 30, 3), torch.randn(2, 40, 3)
    l1, l2 = torch.tensor([30, 20]), torch.tensor([40, 15])
    return lambda: knn_points(p1, p2, l1, l2, K=4)


@case
def ball_query_with_lengths():
    p1, p2 = torch.randn(2, 30, 3), torch.randn(2, 40, 3)
    l1, l2 = torch.tensor([30, 20]), torch.tensor([40, 15])
    return lambda: ball_query(p1, p2, l1, l2, K=5, radius=0.5)


@case
def packed_padded_round_trip():
    x, first = torch.randn(30, 3), torch.tensor([0, 10, 22])
    return lambda: padded_to_packed(packed_to_padded(x, first, 12), first, 30)


@case
def chamfer_with_lengths():
    x, y = torch.randn(2, 30, 3), torch.randn(2, 25, 3)
    lx, ly = torch.tensor([30, 12]), torch.tensor([25, 20])
    return lambda: chamfer_distance(x, y, x_lengths=lx, y_lengths=ly)


@case
def sample_points():
    m = _meshes()
    g = torch.Generator().manual_seed(0)
    return lambda: sample_points_from_meshes(m, 100, return_normals=True, generator=g)


def _graph_to_image(mode, blend="hard", perspective=True):
    m = _meshes()
    R, T = look_at_view_transform(2.0, 10.0, 20.0)
    cams = FoVPerspectiveCameras(R=R, T=T) if perspective else FoVOrthographicCameras(R=R, T=T)
    layer = GraphToImage((16, 20), mode=mode, blend=blend, blur_radius=1e-3 if blend == "softmax" else 0.0)
    return lambda: layer(m, cams, m.pos_packed())


@case
def graph_to_image_points():
    return _graph_to_image("points")


@case
def graph_to_image_mesh_hard_perspective_clipped():
    return _graph_to_image("mesh")


@case
def graph_to_image_mesh_soft():
    return _graph_to_image("mesh", "softmax")


@case
def graph_to_image_mesh_orthographic():
    return _graph_to_image("mesh", perspective=False)


@case
def gcn_conv():
    from meshgraph.compat.pyg.nn import GCNConv

    conv = GCNConv(8, 4)
    x, ei = torch.randn(50, 8), _EDGES.t().contiguous()
    return lambda: conv(x, ei)


@case
def gat_conv():
    from meshgraph.compat.pyg.nn import GATConv

    conv = GATConv(8, 4, heads=2)
    x, ei = torch.randn(50, 8), _EDGES.t().contiguous()
    return lambda: conv(x, ei)


@pytest.mark.parametrize("name", sorted(CASES))
def test_warm_call_reads_no_device_memory(device_rules, name):
    fn = CASES[name]()
    assert _warm_syncs(fn) == [], f"{name} syncs with the device on every call"


def test_value_checks_still_run_where_free(monkeypatch):
    """Without the device rules (CPU tensors, eager) the per-call value checks run; MESHGRAPH_CHECK_VALUES=1 runs
    them under the device rules too."""
    x = torch.randn(5, 3)
    bad = torch.tensor([0, 2, 9])  # first_idxs past the rows
    monkeypatch.delenv("MESHGRAPH_DEVICE_PATH", raising=False)
    with pytest.raises(ValueError, match="first_idxs"):
        packed_to_padded(x, bad, 3)
    monkeypatch.setenv("MESHGRAPH_DEVICE_PATH", "1")
    assert not meshgraph._utils.values_are_free(x)
    monkeypatch.setenv("MESHGRAPH_CHECK_VALUES", "1")
    assert meshgraph._utils.values_are_free(x)
    with pytest.raises(ValueError, match="first_idxs"):
        packed_to_padded(x, bad, 3)
