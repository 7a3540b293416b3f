"""graclus: kernel vs reference (CPU), matching properties on every device, seeds, opcheck, bad input."""

import pytest
import torch

from meshgraph.ops.graclus import graclus
from meshgraph.ops.reference import graclus as graclus_reference
from meshgraph.ops.edge_utils import coalesce, sort_edge_index, to_undirected

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


def random_graph(n: int, e: int, device="cpu", self_loops: bool = False, gen=None) -> torch.Tensor:
    if n == 0:
        return torch.empty(2, 0, dtype=torch.long, device=device)
    ei = torch.randint(0, n, (2, e), generator=gen)
    if not self_loops:
        ei = ei[:, ei[0] != ei[1]]
    return coalesce(to_undirected(ei, num_nodes=n), num_nodes=n).to(device)


def csr(edge_index, n, weight=None):
    edge_index, weight = sort_edge_index(edge_index, weight, num_nodes=n)
    counts = torch.zeros(n, dtype=torch.long, device=edge_index.device).index_add_(
        0, edge_index[0], torch.ones_like(edge_index[0]))
    rowptr = torch.zeros(n + 1, dtype=torch.long, device=edge_index.device)
    rowptr[1:] = counts.cumsum(0)
    return rowptr, edge_index[1], weight


def check_matching(cluster: torch.Tensor, edge_index: torch.Tensor, n: int, weight=None) -> None:
    """Every cluster is a node alone or a matched pair joined by an edge, labelled min(u, v); no edge joins two
    singletons (maximality; for weighted graphs, over the edges with weight >= 0)."""
    cluster, edge_index = cluster.cpu(), edge_index.cpu()
    assert cluster.shape == (n,) and cluster.dtype == torch.int64
    sizes = torch.bincount(cluster, minlength=n)
    assert n == 0 or int(sizes.max()) <= 2
    nodes = torch.arange(n)
    assert bool((cluster <= nodes).all()), "a cluster is labelled by its smallest node"
    assert bool((cluster[cluster] == cluster).all()), "the label is a member of its cluster"
    edges = set(map(tuple, edge_index.t().tolist()))
    for u in range(n):
        c = int(cluster[u])
        if c != u:
            assert (u, c) in edges or (c, u) in edges, f"matched pair ({c}, {u}) is not an edge"
    single = sizes[cluster] == 1
    keep = edge_index[0] != edge_index[1]
    if weight is not None:
        keep &= weight.cpu().float() >= 0
    row, col = edge_index[:, keep]
    assert not bool((single[row] & single[col]).any()), "two unmatched neighbours: the matching is not maximal"


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n,e", [(0, 0), (1, 0), (5, 0), (7, 12), (60, 200), (300, 2000)])
def test_graclus_gives_a_maximal_matching(device, weighted, n, e):
    ei = random_graph(n, e, device)
    w = torch.rand(ei.shape[1], device=device) if weighted else None
    cluster = graclus(ei, w, num_nodes=n)
    check_matching(cluster, ei, n, w)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("index_dtype", [torch.int32, torch.int64])
@pytest.mark.parametrize("self_loops", [False, True])
def test_graclus_cpu_kernel_matches_reference(weighted, index_dtype, self_loops):
    gen = torch.Generator().manual_seed(3)
    for n, e in [(0, 0), (3, 0), (9, 20), (80, 300), (200, 1500)]:
        ei = random_graph(n, e, self_loops=self_loops, gen=gen)
        w = torch.rand(ei.shape[1], generator=gen) if weighted else None
        rowptr, col, w = csr(ei, n, w)
        for seed in (0, 1, 12345, 2**62 + 7):
            out = torch.ops.meshgraph.graclus(rowptr, col.to(index_dtype), w, seed)
            assert torch.equal(out, graclus_reference(rowptr, col, w, seed))


@pytest.mark.parametrize("dtype", FLOATS)
def test_graclus_weight_dtypes_match_reference(dtype):
    ei = random_graph(120, 800)
    w = torch.rand(ei.shape[1]).to(dtype)
    rowptr, col, w = csr(ei, 120, w)
    out = torch.ops.meshgraph.graclus(rowptr, col, w, 99)
    assert torch.equal(out, graclus_reference(rowptr, col, w, 99))
    check_matching(out, ei, 120)


def test_graclus_wrapper_reference_flag_and_generator():
    ei = random_graph(100, 500)
    w = torch.rand(ei.shape[1])
    a = graclus(ei, w, generator=torch.Generator().manual_seed(5))
    b = graclus(ei, w, generator=torch.Generator().manual_seed(5), reference=True)
    assert torch.equal(a, b)
    seen = {tuple(graclus(ei, generator=torch.Generator().manual_seed(s)).tolist()) for s in range(6)}
    assert len(seen) > 1, "the visit order follows the generator"
    torch.manual_seed(0)
    c = graclus(ei)
    torch.manual_seed(0)
    assert torch.equal(c, graclus(ei)), "without a generator the global RNG decides"


def test_graclus_unweighted_ignores_self_loops(device):
    # 0-1 joined, both with self-loops: they must be matched together whatever the order
    ei = torch.tensor([[0, 0, 1, 1, 2], [0, 1, 0, 1, 2]], device=device)
    for s in range(4):
        out = graclus(ei, num_nodes=3, generator=torch.Generator().manual_seed(s))
        assert out.tolist() == [0, 0, 2]


def test_graclus_weighted_prefers_heavy_edges():
    # heavy pairs (0, 1) and (2, 3), light cross edges: every visit order matches the heavy pairs
    ei = to_undirected(torch.tensor([[0, 2, 1, 0], [1, 3, 2, 3]]))
    w = torch.where((ei[0] + ei[1]) % 4 == 1, 10.0, 1.0)  # (0,1) and (2,3) sum to 1 and 5
    for s in range(8):
        out = graclus(ei, w, generator=torch.Generator().manual_seed(s))
        assert out.tolist() == [0, 0, 2, 2]
        assert torch.equal(out, graclus(ei, w, generator=torch.Generator().manual_seed(s), reference=True))


def test_graclus_weighted_never_takes_negative_weights(device):
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    w = torch.tensor([-1.0, -1.0, -2.0, -2.0])
    for s in range(4):
        out = graclus(ei.to(device), w.to(device), generator=torch.Generator().manual_seed(s))
        assert out.tolist() == [0, 1, 2]


def test_graclus_integer_weights_are_read_as_float():
    ei = random_graph(50, 200)
    w = torch.randint(0, 5, (ei.shape[1],))
    a = graclus(ei, w, generator=torch.Generator().manual_seed(1))
    b = graclus(ei, w.double(), generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


def test_graclus_opcheck(device):
    ei = random_graph(30, 100, device)
    w = torch.rand(ei.shape[1], device=device)
    rowptr, col, w = csr(ei, 30, w)
    torch.library.opcheck(torch.ops.meshgraph.graclus.default, (rowptr, col, w, 7))
    torch.library.opcheck(torch.ops.meshgraph.graclus.default, (rowptr, col, None, 7))
    torch.library.opcheck(torch.ops.meshgraph.graclus.default, (rowptr[:1], col[:0], None, 7))


def test_graclus_compiles():
    ei = random_graph(40, 150)
    rowptr, col, _ = csr(ei, 40)
    fn = torch.compile(lambda r, c: torch.ops.meshgraph.graclus(r, c, None, 3), fullgraph=True)
    assert torch.equal(fn(rowptr, col), torch.ops.meshgraph.graclus(rowptr, col, None, 3))


def test_graclus_cuda_is_deterministic_for_a_seed(device):
    ei = random_graph(500, 4000, device)
    w = torch.rand(ei.shape[1], device=device)
    rowptr, col, w = csr(ei, 500, w)
    for weight in (None, w):
        a = torch.ops.meshgraph.graclus(rowptr, col, weight, 11)
        b = torch.ops.meshgraph.graclus(rowptr, col, weight, 11)
        assert torch.equal(a, b)
        check_matching(a, ei, 500, weight)


def test_graclus_rejects_bad_input():
    ei = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="edge_index"):
        graclus(ei[0])
    with pytest.raises(TypeError, match="edge_index"):
        graclus(ei.float())
    with pytest.raises(ValueError, match="weight"):
        graclus(ei, torch.ones(3))
    with pytest.raises(TypeError, match="weight"):
        graclus(ei, torch.ones(2, dtype=torch.bool))
    with pytest.raises(ValueError, match="edge_index"):
        graclus(ei, num_nodes=1)
    with pytest.raises(ValueError, match="num_nodes"):
        graclus(ei, num_nodes=-1)


def test_graclus_raw_op_checks_its_arguments():
    rowptr, col = torch.tensor([0, 1, 2]), torch.tensor([1, 0])
    op = torch.ops.meshgraph.graclus
    op(rowptr, col, None, 0)
    with pytest.raises(RuntimeError, match="rowptr"):
        op(torch.tensor([0, 1, 3]), col, None, 0)
    with pytest.raises(RuntimeError, match="rowptr"):
        op(rowptr.int(), col, None, 0)
    with pytest.raises(RuntimeError, match="col"):
        op(rowptr, torch.tensor([1, 2]), None, 0)
    with pytest.raises(RuntimeError, match="col"):
        op(rowptr, col.float(), None, 0)
    with pytest.raises(RuntimeError, match="weight"):
        op(rowptr, col, torch.ones(3), 0)
    with pytest.raises(RuntimeError, match="weight"):
        op(rowptr, col, torch.ones(2, dtype=torch.int64), 0)
    if torch._C._dispatch_has_kernel_for_dispatch_key("meshgraph::graclus", "CUDA") and torch.cuda.is_available():
        with pytest.raises(RuntimeError):
            op(rowptr.cuda(), col, None, 0)
