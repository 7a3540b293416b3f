"""random_walk: kernel vs the pure-Python reference (same counter-based draws), walks follow edges, isolated nodes
stay put (torch_cluster semantics), the node2vec p / q bias at its exact probabilities, uniform steps, thread-count
invariance, opcheck, bad input."""

import math

import pytest
import torch

from meshgraph.ops import random_walk

from _sampling_graphs import random_csr


def csr_from_edges(N, pairs, device="cpu"):
    pairs = sorted(pairs)
    rowptr = torch.zeros(N + 1, dtype=torch.long)
    for s, _ in pairs:
        rowptr[s + 1] += 1
    return rowptr.cumsum(0).to(device), torch.tensor([d for _, d in pairs], dtype=torch.long, device=device)


def cycle(n, device="cpu"):
    return csr_from_edges(n, [(i, (i + d) % n) for i in range(n) for d in (1, n - 1)], device)


def complete(n, device="cpu"):
    return csr_from_edges(n, [(i, j) for i in range(n) for j in range(n) if i != j], device)


@pytest.mark.parametrize("p,q", [(1.0, 1.0), (0.5, 2.0), (4.0, 0.25), (1.0, 3.0)])
def test_kernel_matches_reference(device, p, q):
    rowptr, col = random_csr(50, 300, seed=2, device=device)  # nodes 47..49 have no out-edges
    start = torch.tensor([0, 5, 5, 48, 20, 49, 33], device=device)
    got = random_walk(rowptr, col, start, 12, p, q, generator=torch.Generator().manual_seed(4), return_edge_indices=True)
    want = random_walk(rowptr, col, start, 12, p, q, generator=torch.Generator().manual_seed(4), return_edge_indices=True,
                       reference=True)
    assert torch.equal(got[0], want[0].to(device)) and torch.equal(got[1], want[1].to(device))
    assert got[0].shape == (7, 13) and got[1].shape == (7, 12) and got[0].dtype == torch.int64
    assert torch.equal(got[0][:, 0], start)


def test_walks_follow_edges_and_isolated_nodes_stay(device):
    rowptr, col = random_csr(80, 400, seed=3, device=device)
    start = torch.arange(80, device=device)
    for p, q in ((1.0, 1.0), (0.3, 3.0)):
        nodes, edges = random_walk(rowptr, col, start, 9, p, q, return_edge_indices=True)
        cur, nxt = nodes[:, :-1], nodes[:, 1:]
        moved = edges >= 0
        assert torch.equal(col[edges[moved]], nxt[moved])  # the edge leads to the next node
        assert (rowptr[cur[moved]] <= edges[moved]).all() and (edges[moved] < rowptr[cur[moved] + 1]).all()
        deg = rowptr[1:] - rowptr[:-1]
        stuck = ~moved
        assert (deg[cur[stuck]] == 0).all() and torch.equal(nxt[stuck], cur[stuck])  # only at nodes without edges
        assert (nodes[77:] == start[77:, None]).all()  # isolated start nodes stay in place, edges -1
        assert (edges[77:] == -1).all()
    # a node reached mid-walk without out-edges: the walk stays there (torch_cluster's fake self-loop)
    rp, cl = csr_from_edges(3, [(0, 1), (1, 2)], device)
    assert random_walk(rp, cl, torch.tensor([0], device=device), 4).tolist() == [[0, 1, 2, 2, 2]]


def _binomial_ok(k, n, prob, z=6.0):
    return abs(k - n * prob) <= z * math.sqrt(n * prob * (1 - prob)) + 1


@pytest.mark.parametrize("p,q", [(0.5, 2.0), (2.0, 0.5), (1.0, 1.0), (0.25, 1.0)])
def test_return_probability_on_a_cycle(p, q):
    """On a long cycle the other neighbour is two hops from the previous node: P(return) = (1/p) / (1/p + 1/q)."""
    rowptr, col = cycle(50)
    nodes = random_walk(rowptr, col, torch.arange(50).repeat(40), 20, p, q, generator=torch.Generator().manual_seed(1))
    back = (nodes[:, 2:] == nodes[:, :-2]).sum().item()
    n = nodes[:, 2:].numel()
    assert _binomial_ok(back, n, (1 / p) / (1 / p + 1 / q))


@pytest.mark.parametrize("p", [0.2, 1.0, 5.0])
def test_return_probability_in_a_complete_graph(p):
    """In K5 every other neighbour is adjacent to the previous node (weight 1, q does not matter):
    P(return) = (1/p) / (1/p + 3)."""
    rowptr, col = complete(5)
    nodes = random_walk(rowptr, col, torch.arange(5).repeat(200), 15, p, 7.0, generator=torch.Generator().manual_seed(2))
    back = (nodes[:, 2:] == nodes[:, :-2]).sum().item()
    assert _binomial_ok(back, nodes[:, 2:].numel(), (1 / p) / (1 / p + 3))


def test_uniform_steps_are_uniform():
    rowptr = torch.tensor([0, 20] + [20] * 20)
    col = torch.arange(1, 21)
    nodes = random_walk(rowptr, col, torch.zeros(8000, dtype=torch.long), 1, generator=torch.Generator().manual_seed(3))
    counts = torch.bincount(nodes[:, 1] - 1, minlength=20).double()
    assert float(((counts - 400) ** 2 / 400).sum()) < 60  # chi-square, df = 19


def test_thread_count_and_generator_state_determine_the_walks():
    rowptr, col = random_csr(2000, 20000, seed=5)
    start = torch.randint(0, 2000, (3000,), generator=torch.Generator().manual_seed(0))
    before = torch.get_num_threads()
    outs = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for p, q in ((1.0, 1.0), (0.5, 2.0)):
                outs.append(random_walk(rowptr, col, start, 10, p, q, generator=torch.Generator().manual_seed(8)))
    finally:
        torch.set_num_threads(before)
    assert torch.equal(outs[0], outs[2]) and torch.equal(outs[1], outs[3])
    assert not torch.equal(random_walk(rowptr, col, start, 10, generator=torch.Generator().manual_seed(9)), outs[0])


def test_empty_and_zero_length(device):
    rowptr, col = random_csr(10, 30, seed=0, device=device)
    nodes, edges = random_walk(rowptr, col, torch.empty(0, dtype=torch.long, device=device), 5, return_edge_indices=True)
    assert nodes.shape == (0, 6) and edges.shape == (0, 5)
    nodes, edges = random_walk(rowptr, col, torch.tensor([3, 4], device=device), 0, 2.0, 0.5, return_edge_indices=True)
    assert nodes.tolist() == [[3], [4]] and edges.shape == (2, 0)
    no_edges = torch.zeros(4, dtype=torch.long, device=device)
    out = random_walk(no_edges, torch.empty(0, dtype=torch.long, device=device), torch.tensor([2], device=device, dtype=torch.int32), 3)
    assert out.tolist() == [[2, 2, 2, 2]]


def test_opcheck_and_compile(device):
    rowptr, col = random_csr(30, 200, seed=1, device=device)
    start = torch.tensor([0, 4, 9], device=device)
    for p, q in ((1.0, 1.0), (0.5, 2.0)):
        torch.library.opcheck(torch.ops.meshgraph.random_walk, (rowptr, col, start, 6, p, q, 3))

    def f(rowptr, col, start):
        return torch.ops.meshgraph.random_walk(rowptr, col, start, 6, 0.5, 2.0, 3)[0] + 1

    assert torch.equal(torch.compile(f, fullgraph=True)(rowptr, col, start), f(rowptr, col, start))


def test_bad_input_names_the_argument():
    rowptr, col = random_csr(10, 30, seed=0)
    start = torch.tensor([0, 3])
    with pytest.raises(ValueError, match="start"):
        random_walk(rowptr, col, torch.tensor([10]), 3)
    with pytest.raises(TypeError, match="start"):
        random_walk(rowptr, col, torch.tensor([1.0]), 3)
    with pytest.raises(ValueError, match="walk_length"):
        random_walk(rowptr, col, start, -1)
    with pytest.raises(TypeError, match="walk_length"):
        random_walk(rowptr, col, start, 2.5)
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="p must"):
            random_walk(rowptr, col, start, 3, p=bad)
        with pytest.raises(ValueError, match="q must"):
            random_walk(rowptr, col, start, 3, q=bad)
    with pytest.raises(TypeError, match="p must"):
        random_walk(rowptr, col, start, 3, p="1")
    with pytest.raises(ValueError, match="rowptr"):
        random_walk(rowptr[:-4], col, start, 3)
    op = torch.ops.meshgraph.random_walk
    with pytest.raises(RuntimeError, match="start must be in"):
        op(rowptr, col, torch.tensor([10]), 3, 1.0, 1.0, 0)
    with pytest.raises(RuntimeError, match="p and q"):
        op(rowptr, col, start, 3, 0.0, 1.0, 0)
    with pytest.raises(RuntimeError, match="walk_length"):
        op(rowptr, col, start, -2, 1.0, 1.0, 0)


def test_kernels_clamp_what_they_do_not_check(device):
    rowptr, col = random_csr(20, 100, seed=1, device=device)
    bad_col = col.clone()
    bad_col[::3] = 500
    op = torch.ops.meshgraph.random_walk
    for p, q in ((1.0, 1.0), (0.5, 2.0)):
        nodes, edges = op(rowptr, bad_col, torch.arange(20, device=device), 8, p, q, 1)
        assert int(nodes.min()) >= 0 and int(nodes.max()) < 20 and int(edges.max()) < 100
    if device.type == "cuda":
        bad_rowptr = torch.tensor([0, 150, -4, 30] + [100] * 17, device=device)
        nodes, edges = op(bad_rowptr, col, torch.tensor([1, 99, -5], device=device), 8, 0.5, 2.0, 1)
        assert int(nodes.max()) < 20 and int(edges.max()) < 100
        with pytest.raises(RuntimeError, match="device"):
            op(rowptr, col, torch.tensor([1]), 3, 1.0, 1.0, 0)
        torch.cuda.synchronize()


def test_inference_mode_gives_the_same_walks():
    rowptr, col = random_csr(50, 300, seed=2)
    start = torch.arange(50)
    expect = random_walk(rowptr, col, start, 5, 0.5, 2.0, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        got = random_walk(rowptr.clone(), col.clone(), start.clone(), 5, 0.5, 2.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(got, expect)
