"""neighbor_sample: kernel vs the pure-Python reference (same counter-based draws, so identical tensors) in every
mode, the device-side algorithm (MESHGRAPH_DEVICE_PATH=1) vs the CPU's, PyG's relabel / ordering rules, uniform and
weighted draws (chi-square), the temporal constraint, no duplicates without replacement, disjoint subtrees,
thread-count invariance, opcheck, bad input."""

import itertools

import pytest
import torch

from meshgraph.ops import neighbor_sample
from _sampling_graphs import random_csr, star

OUT = ("node", "row", "col", "edge", "batch", "num_sampled_nodes", "num_sampled_edges")


def assert_same(out, expected):
    for name, a, b in zip(OUT, out, expected):
        if isinstance(a, list) or isinstance(b, list):
            assert list(a) == list(b), name
        elif b is None or a is None:
            assert a is None and b is None, name
        else:
            assert torch.equal(a, b.to(a.device)), name


MODES = list(itertools.product([False, True], [True, False], [False, True], [False, True]))  # replace, directed, disjoint, weighted


@pytest.mark.parametrize("replace,directed,disjoint,weighted", MODES)
def test_kernel_matches_reference(device, replace, directed, disjoint, weighted):
    rowptr, col = random_csr(60, 400, seed=1, device=device)
    seeds = torch.tensor([3, 7, 3, 59, 0, 12], device=device)  # a duplicate seed and an isolated one
    weight = None
    if weighted:
        weight = torch.rand(400, generator=torch.Generator().manual_seed(2)).to(device)
        weight[::7] = 0  # zero-weight edges are never drawn
    kw = dict(replace=replace, directed=directed, disjoint=disjoint, weight=weight)
    for fanouts in ([3, 2], [5, -1, 1], [0, 4], []):
        out = neighbor_sample(rowptr, col, seeds, fanouts, generator=torch.Generator().manual_seed(5), **kw)
        exp = neighbor_sample(rowptr, col, seeds, fanouts, generator=torch.Generator().manual_seed(5), reference=True, **kw)
        assert_same(out, exp)
        assert out.node.device == rowptr.device
        assert torch.equal(out.node[: len(seeds)], seeds)
        assert sum(out.num_sampled_nodes) == out.node.numel() and sum(out.num_sampled_edges) == out.row.numel()
        assert len(out.num_sampled_edges) == len(fanouts) + (0 if directed else 1)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("time_dtype", [torch.int64, torch.float32])
def test_temporal_matches_reference_and_respects_seed_time(device, weighted, time_dtype):
    rowptr, col = random_csr(80, 700, seed=3, device=device)
    g = torch.Generator().manual_seed(4)
    time = torch.randint(0, 10, (80,), generator=g).to(time_dtype).to(device)
    seeds = torch.tensor([1, 5, 9, 30, 5], device=device)
    seed_time = torch.tensor([3, 9, 0, 5, 6], device=device).to(time_dtype)
    weight = torch.rand(700, generator=g).to(device) if weighted else None
    for replace, directed in itertools.product([False, True], [True, False]):
        kw = dict(replace=replace, directed=directed, disjoint=True, weight=weight, time=time, seed_time=seed_time)
        out = neighbor_sample(rowptr, col, seeds, [4, 3], generator=torch.Generator().manual_seed(8), **kw)
        exp = neighbor_sample(rowptr, col, seeds, [4, 3], generator=torch.Generator().manual_seed(8), reference=True, **kw)
        assert_same(out, exp)
        later = out.node[len(seeds):]
        assert (time[later] <= seed_time[out.batch[len(seeds):]]).all()
    # fan-out -1 takes exactly the eligible neighbours of each seed
    out = neighbor_sample(rowptr, col, seeds, [-1], disjoint=True, time=time, seed_time=seed_time)
    for b, s in enumerate(seeds.tolist()):
        nbrs = col[rowptr[s]:rowptr[s + 1]]
        want = nbrs[time[nbrs] <= seed_time[b]]
        got = out.node[out.col[out.row == b]]
        assert torch.equal(got, want)
    # default seed_time: the seeds' own times
    a = neighbor_sample(rowptr, col, seeds, [3], disjoint=True, time=time, generator=torch.Generator().manual_seed(1))
    b = neighbor_sample(rowptr, col, seeds, [3], disjoint=True, time=time, seed_time=time[seeds],
                        generator=torch.Generator().manual_seed(1))
    assert_same(a, b)


@pytest.mark.parametrize("replace,directed,disjoint,weighted", MODES)
def test_device_algorithm_matches_cpu_kernel(monkeypatch, replace, directed, disjoint, weighted):
    """MESHGRAPH_DEVICE_PATH=1: the CUDA kernel's sort-based relabelling (with CPU loops) gives the same tensors."""
    rowptr, col = random_csr(300, 3000, seed=7)
    seeds = torch.tensor([5, 17, 5, 200, 299, 0, 64])
    weight = torch.rand(3000) if weighted else None
    time = torch.randint(0, 5, (300,)) if disjoint else None
    seed_time = torch.tensor([4, 2, 0, 3, 1, 4, 4]) if disjoint else None
    args = (rowptr, col, seeds, [4, 3, -1 if not replace else 2], replace, directed, disjoint, weight, time, seed_time, 123)
    expected = torch.ops.meshgraph.neighbor_sample(*args)
    monkeypatch.setenv("MESHGRAPH_DEVICE_PATH", "1")
    got = torch.ops.meshgraph.neighbor_sample(*args)
    for name, a, b in zip(OUT, got, expected):
        assert torch.equal(a, b), name


def test_pyg_relabel_and_ordering_rules():
    """Seeds first (duplicates kept, mapped to their first slot), new nodes in draw order, hop by hop; rows are the
    frontier node's local id, cols the neighbour's (pyg-lib's neighbor_sample with csc=False)."""
    # 0 -> 1, 2; 1 -> 2, 3; 2 -> 0; 3 -> 4; 4 -> (none)
    rowptr = torch.tensor([0, 2, 4, 5, 6, 6])
    col = torch.tensor([1, 2, 2, 3, 0, 4])
    out = neighbor_sample(rowptr, col, torch.tensor([0, 0]), [-1, -1])
    assert out.node.tolist() == [0, 0, 1, 2, 3]
    assert out.row.tolist() == [0, 0, 1, 1, 2, 2, 3]
    assert out.col.tolist() == [2, 3, 2, 3, 3, 4, 0]
    assert out.edge.tolist() == [0, 1, 0, 1, 2, 3, 4]
    assert out.num_sampled_nodes == [2, 2, 1] and out.num_sampled_edges == [4, 3]
    assert out.batch is None
    d = neighbor_sample(rowptr, col, torch.tensor([0, 2]), [-1, -1], disjoint=True)
    # seed 0: 0 -> 1, 2; then 1 -> 2, 3 and 2 -> 0. seed 2: 2 -> 0; then 0 -> 1, 2(seed).
    assert d.node.tolist() == [0, 2, 1, 2, 0, 3, 1]
    assert d.batch.tolist() == [0, 1, 0, 0, 1, 0, 1]
    assert d.row.tolist() == [0, 0, 1, 2, 2, 3, 4, 4]
    assert d.col.tolist() == [2, 3, 4, 3, 5, 0, 6, 1]
    assert d.num_sampled_nodes == [2, 3, 2] and d.num_sampled_edges == [3, 5]
    # induced: every CSR edge among {0, 1, 2}, by row node, then adjacency order
    ind = neighbor_sample(rowptr, col, torch.tensor([0]), [-1], directed=False)
    assert ind.node.tolist() == [0, 1, 2]
    assert list(zip(ind.row.tolist(), ind.col.tolist(), ind.edge.tolist())) == [(0, 1, 0), (0, 2, 1), (1, 2, 2), (2, 0, 4)]
    assert ind.num_sampled_edges == [2, 2]


def test_induced_edges_are_all_edges_among_sampled_nodes(device):
    rowptr, col = random_csr(120, 900, seed=9, device=device)
    seeds = torch.tensor([2, 40, 77], device=device)
    out = neighbor_sample(rowptr, col, seeds, [3, 2], directed=False, generator=torch.Generator().manual_seed(3))
    nodes = out.node.tolist()
    local = {v: i for i, v in reversed(list(enumerate(nodes)))}
    rp, cl = rowptr.tolist(), col.tolist()
    want = [(i, local[cl[e]], e) for i, v in enumerate(nodes) for e in range(rp[v], rp[v + 1]) if cl[e] in local]
    assert list(zip(out.row.tolist(), out.col.tolist(), out.edge.tolist())) == want
    assert len(set(nodes)) == len(nodes)


def test_no_duplicate_edges_without_replacement_and_fanout_counts(device):
    rowptr, col = random_csr(200, 3000, seed=11, device=device)
    seeds = torch.arange(0, 200, 3, device=device)
    deg = (rowptr[1:] - rowptr[:-1]).tolist()
    for weighted in (False, True):
        w = torch.rand(3000, device=device) + 0.01 if weighted else None
        out = neighbor_sample(rowptr, col, seeds, [6, 4], weight=w, generator=torch.Generator().manual_seed(0))
        first_hop = out.num_sampled_edges[0]
        per_row: dict[int, list[int]] = {}
        for r, e in zip(out.row.tolist(), out.edge.tolist()):
            per_row.setdefault(r, []).append(e)
        for r, es in per_row.items():
            assert len(es) == len(set(es)), "an edge drawn twice without replacement"
            v = out.node[r].item()
            assert all(rowptr[v] <= e < rowptr[v + 1] for e in es)
            assert len(es) == min(6 if r < len(seeds) else 4, deg[v])
        assert first_hop == sum(min(6, deg[s]) for s in seeds.tolist())
        assert torch.equal(out.node[out.col], col[out.edge])  # col is the edge's target
        assert torch.equal(out.node[out.row], torch.searchsorted(rowptr, out.edge, right=True) - 1)
        assert len(set(out.node.tolist())) == out.node.numel()  # not disjoint: every node once


def _chi2(counts, expected):
    return float(((counts - expected) ** 2 / expected).sum())


def test_uniform_draws_are_uniform():
    """A star with 20 leaves sampled from 4000 disjoint copies of the centre: each leaf's count is chi-square
    close to uniform (df = 19: the 1e-6 quantile is about 60), with and without replacement."""
    rowptr, col = star(20)
    seeds = torch.zeros(4000, dtype=torch.long)
    for replace, k in ((True, 1), (False, 1), (False, 5), (True, 3)):
        out = neighbor_sample(rowptr, col, seeds, [k], replace=replace, disjoint=True,
                              generator=torch.Generator().manual_seed(1))
        counts = torch.bincount(col[out.edge] - 1, minlength=20).double()
        assert counts.sum() == 4000 * k
        assert _chi2(counts, torch.full((20,), 4000.0 * k / 20)) < 60


def test_weighted_draws_follow_the_weights():
    rowptr, col = star(10)
    weight = torch.arange(10, dtype=torch.float64)  # leaf 1 has weight 0: never drawn
    seeds = torch.zeros(6000, dtype=torch.long)
    for replace in (True, False):
        out = neighbor_sample(rowptr, col, seeds, [1], replace=replace, disjoint=True, weight=weight,
                              generator=torch.Generator().manual_seed(2))
        counts = torch.bincount(col[out.edge] - 1, minlength=10).double()
        assert counts[0] == 0
        expected = 6000 * weight[1:] / weight.sum()
        assert _chi2(counts[1:], expected) < 55  # df = 8
    # without replacement, 3 of 10: never the zero-weight leaf, never one leaf twice, heavier leaves more often
    out = neighbor_sample(rowptr, col, seeds, [3], disjoint=True, weight=weight, generator=torch.Generator().manual_seed(3))
    picked = col[out.edge] - 1
    assert (picked != 0).all() and out.edge.numel() == 3 * 6000
    counts = torch.bincount(picked, minlength=10)
    assert counts[9] > counts[5] > counts[1]
    # fewer positive weights than the fan-out: only those are drawn
    w2 = torch.zeros(10, dtype=torch.float64)
    w2[[2, 7]] = 1.0
    out = neighbor_sample(rowptr, col, seeds[:50], [5], disjoint=True, weight=w2)
    assert sorted(set((col[out.edge] - 1).tolist())) == [2, 7] and out.edge.numel() == 100


def test_disjoint_subtree_of_slot_zero_is_the_single_seed_sample(device):
    """A node's draws depend on (seed, slot, node) only: slot 0's subtree equals sampling its seed alone."""
    rowptr, col = random_csr(150, 1500, seed=13, device=device)
    alone = neighbor_sample(rowptr, col, torch.tensor([42], device=device), [4, 3], generator=torch.Generator().manual_seed(6))
    both = neighbor_sample(rowptr, col, torch.tensor([42, 42, 7], device=device), [4, 3], disjoint=True,
                           generator=torch.Generator().manual_seed(6))
    mine = both.batch == 0
    assert torch.equal(both.node[mine], alone.node)
    emask = mine[both.row]
    assert torch.equal(both.edge[emask], alone.edge)
    assert (both.batch[both.row] == both.batch[both.col]).all()  # edges stay inside their subtree
    # slot 1 has the same seed but its own draws
    assert not torch.equal(both.edge[both.batch[both.row] == 1], alone.edge)


def test_thread_count_and_generator_state_determine_the_result():
    rowptr, col = random_csr(3000, 40000, seed=17)
    seeds = torch.randint(0, 3000, (400,), generator=torch.Generator().manual_seed(1))
    before = torch.get_num_threads()
    outs = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for kw in (dict(), dict(replace=True), dict(weight=torch.rand(40000, generator=torch.Generator().manual_seed(0))),
                       dict(disjoint=True), dict(directed=False)):
                outs.append(neighbor_sample(rowptr, col, seeds, [10, 5], generator=torch.Generator().manual_seed(9), **kw))
    finally:
        torch.set_num_threads(before)
    for a, b in zip(outs[:5], outs[5:]):
        assert_same(a, b)
    other = neighbor_sample(rowptr, col, seeds, [10, 5], generator=torch.Generator().manual_seed(10))
    assert not torch.equal(other.edge, outs[0].edge)
    torch.manual_seed(3)
    a = neighbor_sample(rowptr, col, seeds, [10, 5])
    torch.manual_seed(3)
    assert_same(neighbor_sample(rowptr, col, seeds, [10, 5]), a)  # generator=None: the default generator


def test_empty_inputs(device):
    rowptr, col = random_csr(10, 30, seed=0, device=device)
    out = neighbor_sample(rowptr, col, torch.empty(0, dtype=torch.long, device=device), [3, 2])
    assert out.node.numel() == 0 and out.row.numel() == 0 and out.num_sampled_nodes == [0, 0, 0]
    assert out.num_sampled_edges == [0, 0]
    no_edges = torch.zeros(6, dtype=torch.long, device=device)
    out = neighbor_sample(no_edges, torch.empty(0, dtype=torch.long, device=device), torch.tensor([1, 4], device=device),
                          [5], directed=False, disjoint=True)
    assert out.node.tolist() == [1, 4] and out.row.numel() == 0 and out.batch.tolist() == [0, 1]
    assert out.num_sampled_edges == [0, 0]
    out = neighbor_sample(rowptr, col, torch.tensor([1], device=device), [])
    assert out.node.tolist() == [1] and out.num_sampled_nodes == [1] and out.num_sampled_edges == []
    out = neighbor_sample(rowptr, col, torch.tensor([1], device=device, dtype=torch.int32), [0, 0])
    assert out.node.tolist() == [1] and out.node.dtype == torch.int64 and out.num_sampled_edges == [0, 0]


def test_opcheck_and_compile(device):
    rowptr, col = random_csr(40, 200, seed=5, device=device)
    seeds = torch.tensor([1, 2, 30], device=device)
    w = torch.rand(200, device=device)
    time = torch.randint(0, 4, (40,), device=device)
    for args in ((rowptr, col, seeds, [3, 2], False, True, False, None, None, None, 7),
                 (rowptr, col, seeds, [2, -1], True, False, True, w, time, time[seeds], 11)):
        torch.library.opcheck(torch.ops.meshgraph.neighbor_sample, args,
                              test_utils=("test_schema", "test_faketensor", "test_autograd_registration"))

    def f(rowptr, col, seeds):
        node, row, c, edge, *_ = torch.ops.meshgraph.neighbor_sample(rowptr, col, seeds, [3, 2], False, True, False,
                                                                    None, None, None, 5)
        return node[row] * 1000 + node[c], edge

    got = torch.compile(f, fullgraph=True, dynamic=True)(rowptr, col, seeds)
    want = f(rowptr, col, seeds)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


def test_bad_input_names_the_argument():
    rowptr, col = random_csr(10, 30, seed=0)
    seeds = torch.tensor([0, 3])
    with pytest.raises(ValueError, match=r"num_neighbors\[1\]"):
        neighbor_sample(rowptr, col, seeds, [2, -2])
    with pytest.raises(TypeError, match=r"num_neighbors\[0\]"):
        neighbor_sample(rowptr, col, seeds, [2.0])
    with pytest.raises(TypeError, match="num_neighbors"):
        neighbor_sample(rowptr, col, seeds, 3)
    with pytest.raises(ValueError, match="seeds"):
        neighbor_sample(rowptr, col, torch.tensor([0, 10]), [2])
    with pytest.raises(ValueError, match="seeds"):
        neighbor_sample(rowptr, col, torch.tensor([-1]), [2])
    with pytest.raises(TypeError, match="seeds"):
        neighbor_sample(rowptr, col, torch.tensor([0.0]), [2])
    with pytest.raises(ValueError, match="rowptr"):
        neighbor_sample(rowptr[:-4], col, seeds, [2])  # ends before E
    with pytest.raises(ValueError, match="rowptr"):
        neighbor_sample(torch.empty(0, dtype=torch.long), col, seeds, [2])
    with pytest.raises(ValueError, match="col"):
        neighbor_sample(rowptr, torch.where(col == col[0], 10, col), seeds, [2])
    with pytest.raises(ValueError, match="weight"):
        neighbor_sample(rowptr, col, seeds, [2], weight=-torch.rand(30))
    with pytest.raises(ValueError, match="weight"):
        neighbor_sample(rowptr, col, seeds, [2], weight=torch.full((30,), float("nan")))
    with pytest.raises(ValueError, match="weight"):
        neighbor_sample(rowptr, col, seeds, [2], weight=torch.rand(29))
    with pytest.raises(ValueError, match="disjoint"):
        neighbor_sample(rowptr, col, seeds, [2], time=torch.zeros(10, dtype=torch.long))
    with pytest.raises(ValueError, match="seed_time"):
        neighbor_sample(rowptr, col, seeds, [2], disjoint=True, seed_time=torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="seed_time"):
        neighbor_sample(rowptr, col, seeds, [2], disjoint=True, time=torch.zeros(10), seed_time=torch.zeros(3))
    with pytest.raises(ValueError, match="time"):
        neighbor_sample(rowptr, col, seeds, [2], disjoint=True, time=torch.zeros(9))
    with pytest.raises(TypeError, match="replace"):
        neighbor_sample(rowptr, col, seeds, [2], replace=1)
    with pytest.raises(TypeError, match="generator"):
        neighbor_sample(rowptr, col, seeds, [2], generator=5)


def test_raw_op_checks_its_arguments():
    rowptr, col = random_csr(10, 30, seed=0)
    op = torch.ops.meshgraph.neighbor_sample
    with pytest.raises(RuntimeError, match="seeds must be in"):
        op(rowptr, col, torch.tensor([10]), [2], False, True, False, None, None, None, 0)
    with pytest.raises(RuntimeError, match="num_neighbors"):
        op(rowptr, col, torch.tensor([1]), [-3], False, True, False, None, None, None, 0)
    with pytest.raises(RuntimeError, match="rowptr"):
        op(rowptr.flip(0), col, torch.tensor([1]), [2], False, True, False, None, None, None, 0)
    with pytest.raises(RuntimeError, match="col must be"):
        op(rowptr, col.int(), torch.tensor([1]), [2], False, True, False, None, None, None, 0)
    with pytest.raises(RuntimeError, match="weight"):
        op(rowptr, col, torch.tensor([1]), [2], False, True, False, torch.rand(5), None, None, 0)
    with pytest.raises(RuntimeError, match="disjoint"):
        op(rowptr, col, torch.tensor([1]), [2], False, True, False, None, torch.zeros(10, dtype=torch.long),
           torch.zeros(1, dtype=torch.long), 0)


def test_kernels_clamp_what_they_do_not_check(device):
    """col values are never checked by the raw op (one pass over E per call): out-of-range ones are clamped into
    [0, N) on both backends. On CUDA, seeds and rowptr are clamped too (no device sync)."""
    rowptr, col = random_csr(20, 100, seed=1, device=device)
    bad_col = col.clone()
    bad_col[::5] = 1000
    bad_col[1::5] = -7
    op = torch.ops.meshgraph.neighbor_sample
    for directed in (True, False):
        node, *_ = op(rowptr, bad_col, torch.tensor([0, 3], device=device), [4, -1], False, directed, False, None, None,
                      None, 1)
        assert int(node.min()) >= 0 and int(node.max()) < 20
    if device.type == "cuda":
        bad_rowptr = torch.tensor([0, 150, -4, 30] + [100] * 17, device=device)
        node, row, c, edge, *_ = op(bad_rowptr, col, torch.tensor([1, 99, -5], device=device), [3, -1], True, False,
                                    True, torch.rand(100, device=device), None, None, 2)
        assert int(node.max()) < 20 and (edge.numel() == 0 or int(edge.max()) < 100)
        with pytest.raises(RuntimeError, match="device"):
            op(rowptr, col.cpu(), torch.tensor([1], device=device), [2], False, True, False, None, None, None, 0)
        with pytest.raises(RuntimeError, match="device"):
            op(rowptr, col, torch.tensor([1]), [2], False, True, False, None, None, None, 0)
        with pytest.raises(RuntimeError, match="device"):
            op(rowptr, col, torch.tensor([1], device=device), [2], False, True, False, torch.rand(100), None, None, 0)
        torch.cuda.synchronize()


def test_inference_mode_and_no_grad_give_the_same_sample():
    rowptr, col = random_csr(50, 300, seed=2)
    seeds = torch.tensor([1, 4, 9])
    expect = neighbor_sample(rowptr, col, seeds, [3, 2], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert_same(neighbor_sample(rowptr, col, seeds, [3, 2], generator=torch.Generator().manual_seed(0)), expect)
    with torch.inference_mode():
        inf = (rowptr.clone(), col.clone(), seeds.clone())
        assert_same(neighbor_sample(*inf, [3, 2], generator=torch.Generator().manual_seed(0)), expect)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_weights_of_every_float_dtype_match_reference(device, dtype):
    rowptr, col = random_csr(40, 300, seed=21, device=device)
    w = torch.rand(300, generator=torch.Generator().manual_seed(1)).to(dtype).to(device)
    seeds = torch.tensor([0, 5, 11], device=device)
    for replace in (False, True):
        kw = dict(replace=replace, weight=w, generator=torch.Generator().manual_seed(2))
        out = neighbor_sample(rowptr, col, seeds, [4, 3], **kw)
        kw["generator"] = torch.Generator().manual_seed(2)
        assert_same(out, neighbor_sample(rowptr, col, seeds, [4, 3], reference=True, **kw))


def test_device_algorithm_on_empty_inputs(monkeypatch):
    rowptr, col = random_csr(10, 30, seed=0)
    none = torch.empty(0, dtype=torch.long)
    cases = [(rowptr, col, none, [3, 2]), (rowptr, col, torch.tensor([1, 1]), []),
             (torch.zeros(5, dtype=torch.long), none, torch.tensor([2, 0]), [2, -1])]
    for directed, disjoint in itertools.product([True, False], [False, True]):
        for rp, cl, sd, fan in cases:
            args = (rp, cl, sd, fan, False, directed, disjoint, None, None, None, 4)
            expected = torch.ops.meshgraph.neighbor_sample(*args)
            monkeypatch.setenv("MESHGRAPH_DEVICE_PATH", "1")
            got = torch.ops.meshgraph.neighbor_sample(*args)
            monkeypatch.delenv("MESHGRAPH_DEVICE_PATH")
            for name, a, b in zip(OUT, got, expected):
                assert torch.equal(a, b), name
