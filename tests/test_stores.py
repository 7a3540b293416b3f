"""FeatureStore / GraphStore: TensorAttr and AttrView semantics (PyG's interface), layout conversions, the
memory-mapped store against the in-memory one (reads on demand, appends, truncated files named), NeighborLoader on
a (FeatureStore, GraphStore) pair giving the Data loader's batch, and training through the loader on features 3x
larger than the memory the process may use (RLIMIT_AS in a subprocess)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from meshgraph.records import Data
from meshgraph.sampling import (
    AttrView,
    EdgeAttr,
    EdgeLayout,
    InMemoryFeatureStore,
    InMemoryGraphStore,
    MemmapFeatureStore,
    NeighborLoader,
    TensorAttr,
)
from meshgraph.sampling.stores import _FieldStatus

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(params=["memory", "memmap"])
def store(request, tmp_path):
    return InMemoryFeatureStore() if request.param == "memory" else MemmapFeatureStore(tmp_path / "fs", window=256)


def test_tensor_attr_and_views(store):
    x = torch.arange(30, dtype=torch.float32).view(10, 3)
    store.put_tensor(x, group_name="paper", attr_name="x", index=None)
    attr = TensorAttr("paper", "x", None)
    assert torch.equal(store.get_tensor(attr), x)
    idx = torch.tensor([7, 0, 7, 3])
    assert torch.equal(store.get_tensor("paper", "x", idx), x[idx])
    assert torch.equal(store["paper", "x", idx], x[idx])
    view = store["paper"]
    assert isinstance(view, AttrView) and view._attr.attr_name == _FieldStatus.UNSET
    assert torch.equal(view.x[idx], x[idx])
    assert torch.equal(view.x(), x)  # unset index -> everything
    assert store.get_tensor_size("paper", "x") == (10, 3)
    assert [(a.group_name, a.attr_name) for a in store.get_all_tensor_attrs()] == [("paper", "x")]
    with pytest.raises(ValueError, match="not fully specified"):
        store.get_tensor(TensorAttr("paper"))
    with pytest.raises(AttributeError, match="all attributes have already been set"):
        AttrView(store, TensorAttr("paper", "x", None)).y  # noqa: B018
    store.update_tensor(x + 1, "paper", "x", None)
    assert torch.equal(store["paper", "x", None], x + 1)
    assert store.remove_tensor("paper", "x", None)
    assert not store.remove_tensor("paper", "x", None)
    assert store.get_tensor_size("paper", "x") is None


def test_partial_writes_and_numpy_indices(store):
    x = torch.zeros(6, 2)
    store["n", "x", None] = x
    store.put_tensor(torch.ones(2, 2), "n", "x", torch.tensor([1, 4]))
    want = x.clone()
    want[[1, 4]] = 1
    assert torch.equal(store["n", "x", None], want)
    got = store.get_tensor("n", "x", np.array([4, 1]), convert_type=True)
    assert isinstance(got, np.ndarray) and (got == 1).all()


def test_memmap_reads_on_demand_and_names_a_truncated_file(tmp_path):
    fs = MemmapFeatureStore(tmp_path, window=4 * 3 * 5)  # a window of 5 rows: reads span several windows
    g = torch.Generator().manual_seed(0)
    parts = [torch.randn(n, 3, generator=g) for n in (7, 0, 13)]
    for p in parts:
        fs.append_tensor(p, None, "x")
    x = torch.cat(parts)
    idx = torch.randint(0, 20, (50,), generator=g)
    assert torch.equal(fs.get_tensor(None, "x", idx), x[idx])
    assert torch.equal(fs.get_tensor(None, "x", slice(3, 9)), x[3:9])
    assert torch.equal(fs.get_tensor(None, "x", -1), x[-1])
    assert fs.get_tensor(None, "x", torch.tensor([], dtype=torch.long)).shape == (0, 3)
    with pytest.raises(IndexError, match="outside the 20 rows"):
        fs.get_tensor(None, "x", torch.tensor([20]))
    with pytest.raises(ValueError, match="append"):
        fs.append_tensor(torch.zeros(2, 4), None, "x")
    with open(tmp_path / "None.x.bin", "r+b") as f:
        f.truncate(100)
    with pytest.raises(ValueError, match=r"None\.x\.bin.*truncated"):
        fs.get_tensor(None, "x", idx)


def test_graph_store_layouts_agree():
    g = torch.Generator().manual_seed(1)
    ei = torch.randint(0, 30, (2, 200), generator=g)
    gs = InMemoryGraphStore()
    gs.put_edge_index((ei[0], ei[1]), edge_type=None, layout="coo", size=(30, 30))
    row, col, perm = gs.csr()
    assert torch.equal(torch.repeat_interleave(torch.arange(30), row.diff()), ei[0, perm])
    assert torch.equal(col, ei[1, perm])
    row2, colptr, perm2 = gs.csc()
    assert torch.equal(torch.repeat_interleave(torch.arange(30), colptr.diff()), ei[1, perm2])
    assert torch.equal(row2, ei[0, perm2])
    # a CSR-only store converts back to COO and CSC
    gs2 = InMemoryGraphStore()
    gs2.put_edge_index((row, col), edge_type=None, layout=EdgeLayout.CSR, size=(30, 30))
    r, c, _ = gs2.coo()
    assert sorted(zip(r.tolist(), c.tolist())) == sorted(zip(*ei.tolist()))
    gs2.csc(store=True)
    assert {a.layout for a in gs2.get_all_edge_attrs()} == {EdgeLayout.CSR, EdgeLayout.CSC}
    assert EdgeAttr(None, "csc").is_sorted
    with pytest.raises(ValueError, match="is_sorted"):
        EdgeAttr(None, "csr", is_sorted=True)
    with pytest.raises(KeyError, match="not found"):
        gs.get_edge_index(None, "csc")


@pytest.mark.parametrize("memmap", [False, True])
def test_neighbor_loader_on_stores_matches_the_data_loader(tmp_path, memmap):
    g = torch.Generator().manual_seed(2)
    N = 80
    ei = torch.randint(0, N, (2, 600), generator=g)
    x = torch.randn(N, 5, generator=g)
    y = torch.randint(0, 4, (N,), generator=g)
    fs = MemmapFeatureStore(tmp_path) if memmap else InMemoryFeatureStore()
    fs.put_tensor(x, None, "x", None)
    fs.put_tensor(y, None, "y", None)
    gs = InMemoryGraphStore()
    gs.put_edge_index((ei[0], ei[1]), None, "coo", size=(N, N))
    seeds = torch.tensor([4, 9, 0, 33])
    torch.manual_seed(5)
    a = NeighborLoader((fs, gs), [3, 2], input_nodes=seeds, batch_size=4)(torch.arange(4))
    torch.manual_seed(5)
    b = NeighborLoader(Data(x=x, y=y, edge_index=ei), [3, 2], input_nodes=seeds, batch_size=4)(torch.arange(4))
    assert torch.equal(a.n_id, b.n_id) and torch.equal(a.edge_index, b.edge_index)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and torch.equal(a.e_id, b.e_id)
    assert a.batch_size == 4
    # input_nodes=None: every node of the store
    assert len(NeighborLoader((fs, gs), [2], batch_size=10)) == N // 10


LIMIT = 128 << 20  # bytes of address space the child may add once it holds torch, the graph, the loader and the model
CHILD = textwrap.dedent("""
    import resource, sys
    import torch
    torch.set_num_threads(1)
    from meshgraph.nn import SAGEConv
    from meshgraph.sampling import InMemoryGraphStore, MemmapFeatureStore, NeighborLoader

    root, N, F, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    g = torch.Generator().manual_seed(0)
    ei = torch.randint(0, N, (2, 4 * N), generator=g)
    gs = InMemoryGraphStore()
    gs.put_edge_index((ei[0], ei[1]), None, "coo", size=(N, N))
    fs = MemmapFeatureStore(root, window=8 << 20)
    loader = NeighborLoader((fs, gs), [5, 3], batch_size=64, shuffle=True)
    conv = SAGEConv(F, 2)
    opt = torch.optim.Adam(conv.parameters(), lr=0.05)
    # the limit counts address space (thread stacks and allocator reservations too), so it is set once the
    # process holds its graph, loader and model: from here on, training may use `limit` more bytes
    vm = int(next(l for l in open("/proc/self/status") if l.startswith("VmSize")).split()[1]) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (vm + limit, vm + limit))
    try:
        torch.empty(N, F)
        print("FULL-ALLOC-SUCCEEDED")
    except (RuntimeError, MemoryError):
        print("full allocation refused")
    losses = []
    for step, batch in enumerate(loader):
        n_id = batch.n_id
        want0 = torch.where(n_id % 2 == 0, 1.0, -1.0)
        assert torch.equal(batch.x[:, 0], want0) and torch.equal(batch.x[:, 1], n_id.float() / N)
        out = conv(batch.x, batch.edge_index)[: batch.batch_size]
        loss = torch.nn.functional.cross_entropy(out, batch.y[: batch.batch_size])
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(loss.item())
        if step == 15:
            break
    print("losses", sum(losses[:5]) / 5, sum(losses[-5:]) / 5)
    print("peak-rss-kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""")


def test_features_three_times_the_memory_limit_train_through_the_loader(tmp_path):
    F = 512
    N = 3 * LIMIT // (4 * F) + 1
    fs = MemmapFeatureStore(tmp_path)
    block = 8192
    for start in range(0, N, block):  # streamed to disk: the test process never holds the features either
        ids = torch.arange(start, min(start + block, N))
        x = torch.zeros(ids.numel(), F)
        x[:, 0] = torch.where(ids % 2 == 0, 1.0, -1.0)
        x[:, 1] = ids.float() / N
        fs.append_tensor(x, None, "x")
    fs.put_tensor((torch.arange(N) % 2 == 0).long(), None, "y", None)
    assert os.path.getsize(tmp_path / "None.x.bin") > 3 * LIMIT
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MALLOC_ARENA_MAX="1")
    res = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), str(N), str(F), str(LIMIT)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "full allocation refused" in res.stdout  # the limit is real: the features cannot be loaded whole
    first, last = map(float, res.stdout.split("losses")[1].split()[:2])
    assert last < first  # it trains
