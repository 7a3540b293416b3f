"""NeighborLoader (W11): the W10 synthetic graph (fixed seed) scaled to 2,000,000 nodes and 40,000,000 edges,
128 features, fan-out [15, 10, 5], batch size 1024 (--quick: 20,000 nodes, 200,000 edges, 16 features, batch 256;
--nodes, --edges, --features, --batch, --sample-batches, --train-batches, --hidden override the sizes, e.g. the
medium run `--nodes 200000 --edges 4000000 --train-batches 10`).

Measured: sampling only (sampled edges per second, single worker: iterating each loader, which samples and gathers
the batch's features); one epoch of a 3-layer GraphSAGE (hidden 256) over 100 batches (sample + gather features +
forward/backward/step, with trim_to_layer); the loader's resident memory with num_workers=2 (the main process's growth
while the workers run: the CSC is shared, never copied per worker).

Peer: PyG 2.8's NeighborLoader in the same run when pyg-lib or torch-sparse is importable (PyG has no sampler
without them), else a line saying it is absent. torch-sparse is built from source into a folder of its own, never
into the venv (DEVELOPERS.md "torch-sparse as a benchmark peer"); this script appends that folder to sys.path
(after the venv's, so torch and PyG still come from the venv) before PyG is imported: `--peer-path DIR`, else the
environment variable MESHGRAPH_TORCH_SPARSE_SITE (no default: a torch-sparse found on its own would change PyG's
behaviour for every later import in the process, e.g. the test suite's). PyG's torch-sparse path returns no
per-hop counts (only pyg-lib does), so PyG cannot trim_to_layer there: the training rows are then timed without
trimming on both sides, plus ours with trimming as an extra row.

Checked before timing: every batch edge is the graph edge its e_id names and x equals the graph's rows at n_id (both
loaders); the two loaders sample the same amount of work (mean sampled edges per batch within 10 %: both draw
min(degree, fan-out) neighbours of every frontier node without replacement).
"""

from __future__ import annotations

import os
import sys
import time

import torch

from _common import bench_args, peak_extra_memory_mb, report

TORCH_SPARSE_SITE = None  # e.g. MESHGRAPH_TORCH_SPARSE_SITE=/work/sparse-site (DEVELOPERS.md)


def add_peer_path(path: str | None = None) -> str | None:
    """Appends the torch-sparse folder (`path`, else MESHGRAPH_TORCH_SPARSE_SITE) to
    sys.path when it holds `torch_sparse`; returns it, or None. Must run before torch_geometric is imported:
    torch_geometric.typing decides WITH_TORCH_SPARSE when it is first imported."""
    path = path or os.environ.get("MESHGRAPH_TORCH_SPARSE_SITE", TORCH_SPARSE_SITE)
    if not path or not os.path.isdir(os.path.join(path, "torch_sparse")):
        return None
    if "torch_geometric" in sys.modules:
        print(f"torch_geometric was imported before {path} was added: PyG may not see torch-sparse")
    if path not in sys.path:
        sys.path.append(path)
    return path


def w11_graph(N: int, E: int, F: int, seed: int = 0):
    """The W10 community graph (bm_w10.w10_graph: 50 communities, heavy-tailed sources, fixed seed) scaled to N
    nodes and E edges; a uniform random graph with 50 random classes where bm_w10 is not present."""
    from meshgraph.records import Data

    try:
        from bm_w10 import w10_graph
    except ImportError:
        g = torch.Generator().manual_seed(seed)
        return Data(x=torch.randn(N, F, generator=g), edge_index=torch.randint(0, N, (2, E), generator=g),
                    y=torch.randint(0, 50, (N,), generator=g))
    x, edge_index, _, y = w10_graph(nodes=N, edges=E, features=F, seed=seed)
    return Data(x=x, edge_index=edge_index, y=y)


def check(batch, data):
    assert torch.equal(batch.x, data.x[batch.n_id]), "features are not the rows at n_id"
    assert torch.equal(batch.n_id[batch.edge_index], data.edge_index[:, batch.e_id]), "an edge is not its e_id"


class SAGE(torch.nn.Module):
    def __init__(self, conv_cls, F, hidden, classes, layers=3):
        super().__init__()
        dims = [F] + [hidden] * (layers - 1) + [classes]
        self.convs = torch.nn.ModuleList(conv_cls(a, b) for a, b in zip(dims, dims[1:]))

    def forward(self, x, edge_index, nodes, edges, trim):
        for i, conv in enumerate(self.convs):
            if trim:
                x, edge_index, _ = trim(i, nodes, edges, x, edge_index)
            x = conv(x, edge_index)
            if i < len(self.convs) - 1:
                x = x.relu()
        return x


def sampled_edges_per_s(loader, batches):
    """(sampled edges per second, mean sampled edges per batch) over `batches` batches after one warm-up."""
    it = iter(loader)
    next(it)  # warm-up (and the DataLoader's iterator start)
    t, edges = time.perf_counter(), 0
    for _ in range(batches):
        edges += next(it).edge_index.size(1)
    return edges / (time.perf_counter() - t), edges / batches


def epoch_s(loader, model, batches, trim):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    it = iter(loader)
    t = time.perf_counter()
    for _ in range(batches):
        b = next(it)
        # PyG stores no per-hop counts on torch-sparse batches (a None attribute is not kept): trim is None then
        nodes, edges = getattr(b, "num_sampled_nodes", None), getattr(b, "num_sampled_edges", None)
        out = model(b.x, b.edge_index, nodes, edges, trim)[: b.batch_size]
        loss = torch.nn.functional.cross_entropy(out, b.y[: b.batch_size])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - t


def pyg_loader(data, fan, B, peer_path):
    """PyG's NeighborLoader on the same graph, or None (with the reason printed)."""
    try:
        import torch_geometric.typing as pyg_typing
    except ImportError:
        print("peer absent: torch_geometric is not importable")
        return None
    if pyg_typing.WITH_PYG_LIB:
        print("peer: PyG NeighborLoader on pyg-lib")
    elif pyg_typing.WITH_TORCH_SPARSE:
        import torch_sparse

        print(f"peer: PyG NeighborLoader on torch-sparse {torch_sparse.__version__} ({torch_sparse.__file__})")
    else:
        where = f" (looked in {peer_path})" if peer_path else " (no torch-sparse folder given: --peer-path or " \
            "MESHGRAPH_TORCH_SPARSE_SITE)"
        print(f"peer absent: PyG 2.8's NeighborLoader needs pyg-lib or torch-sparse, neither is importable{where}")
        return None
    import warnings

    from torch_geometric.data import Data as PyGData
    from torch_geometric.loader import NeighborLoader as PyGNeighborLoader

    with warnings.catch_warnings():  # "Using NeighborSampler without a pyg-lib installation is deprecated"
        warnings.simplefilter("ignore")
        return PyGNeighborLoader(PyGData(x=data.x, edge_index=data.edge_index, y=data.y), fan, batch_size=B,
                                 shuffle=True)


def main(argv=None):
    args = bench_args(argv, nodes=(int, None), edges=(int, None), features=(int, None), batch=(int, None),
                      hidden=(int, None), **{"sample-batches": (int, None), "train-batches": (int, None),
                                             "peer-path": (str, None), "skip-workers": (int, 0)})
    peer_path = add_peer_path(args.peer_path)  # before anything imports torch_geometric
    from meshgraph.nn import SAGEConv
    from meshgraph.sampling import NeighborLoader, trim_to_layer

    if args.quick:
        N, E, F, B, fan, n_sample, n_train, hidden = 20_000, 200_000, 16, 256, [15, 10, 5], 3, 2, 32
    else:
        N, E, F, B, fan, n_sample, n_train, hidden = 2_000_000, 40_000_000, 128, 1024, [15, 10, 5], 20, 100, 256
    N, E, F, B = args.nodes or N, args.edges or E, args.features or F, args.batch or B
    n_sample, n_train, hidden = args.sample_batches or n_sample, args.train_batches or n_train, args.hidden or hidden
    data = w11_graph(N, E, F)
    print(f"W11 graph: {N} nodes, {data.edge_index.size(1)} edges, {F} features, fan-out {fan}, batch {B}")
    torch.manual_seed(0)
    t = time.perf_counter()
    ours = NeighborLoader(data, fan, batch_size=B, shuffle=True)
    print(f"meshgraph NeighborLoader construction (CSC build): {time.perf_counter() - t:.2f} s")
    check(next(iter(ours)), data)

    t = time.perf_counter()
    peer = pyg_loader(data, fan, B, peer_path)
    if peer is not None:
        first = next(iter(peer))
        print(f"PyG NeighborLoader construction + first batch: {time.perf_counter() - t:.2f} s")
        check(first, data)
        peer_counts = getattr(first, "num_sampled_nodes", None) is not None  # pyg-lib: yes; torch-sparse: no

    rate, per_batch = sampled_edges_per_s(ours, n_sample)
    rows = [("meshgraph NeighborLoader", 1e6 / rate)]
    print(f"\nmeshgraph: {rate / 1e6:.3f} M sampled edges/s ({per_batch:.0f} edges per batch)")
    if peer is not None:
        prate, peer_per_batch = sampled_edges_per_s(peer, n_sample)
        print(f"PyG: {prate / 1e6:.3f} M sampled edges/s ({peer_per_batch:.0f} edges per batch)")
        assert abs(peer_per_batch / per_batch - 1) < 0.1, "the two loaders do not sample the same amount of work"
        rows.append(("PyG NeighborLoader", 1e6 / prate))
    report(f"sampling only, single worker, {n_sample} batches (ms per 1000 sampled edges)", rows,
           "meshgraph NeighborLoader")

    classes = int(data.y.max()) + 1
    trim_both = peer is None or peer_counts
    torch.manual_seed(0)
    s = epoch_s(ours, SAGE(SAGEConv, F, hidden, classes), n_train, trim_to_layer)
    rows = [("meshgraph SAGEConv + trim_to_layer", s * 1e3)]
    if not trim_both:  # the peer cannot trim: the like-for-like row is ours untrimmed
        torch.manual_seed(0)
        s = epoch_s(ours, SAGE(SAGEConv, F, hidden, classes), n_train, None)
        rows.insert(0, ("meshgraph SAGEConv, no trim", s * 1e3))
    if peer is not None:
        from torch_geometric.nn import SAGEConv as PyGSAGEConv
        from torch_geometric.utils import trim_to_layer as pyg_trim

        torch.manual_seed(0)
        ps = epoch_s(peer, SAGE(PyGSAGEConv, F, hidden, classes), n_train, pyg_trim if trim_both else None)
        rows.append((f"PyG SAGEConv{' + trim_to_layer' if trim_both else ', no trim (torch-sparse)'}", ps * 1e3))
    report(f"3-layer SAGE (hidden {hidden}), {n_train} batches: sample + gather + train", rows, rows[0][0])

    if args.skip_workers:
        return
    workers = NeighborLoader(data, fan, batch_size=B, shuffle=True, num_workers=2, transform=private_memory)
    private = []

    def run_workers():
        it = iter(workers)
        for _ in range(min(2 * n_sample, len(workers))):
            private.append(next(it).worker_private_mb)

    mb = peak_extra_memory_mb(run_workers)
    graph_mb = (data.edge_index.numel() * 8 * 2 + data.x.numel() * 4) / 2**20
    print(f"\nloader memory, num_workers=2 (graph: edge_index + CSC + features = {graph_mb:.0f} MB)")
    print(f"  each worker's private memory (smaps Private_Dirty): at most {max(private):.1f} MB")
    print(f"  main process growth while the workers run: {mb:.1f} MB")
    print(f"  CSC in shared memory: {workers.node_sampler.colptr.is_shared() and workers.node_sampler.row.is_shared()}")


def private_memory(batch):
    """Runs in the worker: its private dirty memory (what a copy of the graph would show up as)."""
    with open("/proc/self/smaps_rollup") as f:
        kb = sum(int(line.split()[1]) for line in f if line.startswith("Private_Dirty"))
    batch.worker_private_mb = kb / 1024
    return batch


if __name__ == "__main__":
    main()
