"""Temporal neighbour sampling (issue 15): temporal_strategy='last' and edge-level times in NeighborLoader /
LinkNeighborLoader, homogeneous and heterogeneous, against a brute-force reference written from pyg-lib's rules:
seed b's subtree only takes edges whose time (the edge's, or its source node's) is <= b's seed time; 'last' takes
the k latest of them (ties: the later edge id), 'uniform' k distinct ones uniformly (all when k < 0)."""

from collections import Counter, defaultdict

import pytest
import torch

from meshgraph.compat.pyg.data import Data, HeteroData
from meshgraph.compat.pyg.loader import LinkNeighborLoader, NeighborLoader
from meshgraph.sampling.temporal import temporal_hop


def random_graph(n=30, e=160, seed=0, float_time=False):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=g)
    edge_time = torch.randint(0, 12, (e,), generator=g)
    node_time = torch.randint(0, 12, (n,), generator=g)
    if float_time:
        edge_time, node_time = edge_time.double() / 3, node_time.double() / 3
    return ei, edge_time, node_time


def eligible(ei, v, ts, edge_time=None, node_time=None):
    """The edges into v usable by a subtree with seed time ts, in PyG's CSC order (by time, then edge id)."""
    def tm(e):
        return edge_time[e].item() if edge_time is not None else node_time[ei[0, e]].item()

    cands = [e for e in (ei[1] == v).nonzero().view(-1).tolist() if tm(e) <= ts]
    return sorted(cands, key=lambda e: (tm(e), e))


def reference(ei, seeds, seed_times, fanouts, strategy, edge_time=None, node_time=None):
    """Multiset of (hop, slot, src, dst, edge id) that 'last' (or any strategy with k = -1) must give exactly."""
    out = Counter()
    for b, (s, ts) in enumerate(zip(seeds, seed_times)):
        seen, frontier = {s}, [s]
        for hop, k in enumerate(fanouts):
            new = []
            for v in frontier:
                cands = eligible(ei, v, ts, edge_time, node_time)
                picks = [] if k == 0 else cands if k < 0 else cands[-k:] if strategy == "last" else None
                assert picks is not None
                for e in picks:
                    u = int(ei[0, e])
                    out[(hop, b, u, v, e)] += 1
                    if u not in seen:
                        seen.add(u)
                        new.append(u)
            frontier = new
    return out


def sampled(batch, slot_offset=0):
    """The batch's edges as the same (hop, slot, src, dst, edge id) tuples (slot = seed position in the loader)."""
    n_id, slots = batch.n_id, batch.batch
    ei, e_id, es = batch.edge_index, batch.e_id, batch
    hops = torch.repeat_interleave(torch.arange(len(es.num_sampled_edges)), torch.tensor(es.num_sampled_edges))
    return Counter((int(hops[i]), int(slots[ei[1, i]]) + slot_offset, int(n_id[ei[0, i]]), int(n_id[ei[1, i]]),
                    int(e_id[i])) for i in range(ei.size(1)))


def loader_edges(loader, batch_size):
    out = Counter()
    for i, batch in enumerate(loader):
        out += sampled(batch, i * batch_size)
    return out


@pytest.mark.parametrize("level", ["edge", "node"])
@pytest.mark.parametrize("strategy,fanouts", [("last", [2, 3]), ("last", [1, 1, 1]), ("uniform", [-1, -1]),
                                              ("last", [-1, 2])])
def test_homogeneous_temporal_sampling_equals_brute_force(level, strategy, fanouts):
    ei, edge_time, node_time = random_graph(float_time=level == "node")
    n = 30
    kw = dict(edge_time=edge_time) if level == "edge" else dict(t=node_time)
    data = Data(edge_index=ei, num_nodes=n, **kw)
    seeds = torch.arange(n)
    seed_time = torch.randint(0, 12, (n,), generator=torch.Generator().manual_seed(1))
    loader = NeighborLoader(data, num_neighbors=fanouts, input_nodes=seeds, input_time=seed_time,
                            time_attr="edge_time" if level == "edge" else "t", temporal_strategy=strategy,
                            batch_size=7)
    got = loader_edges(loader, 7)
    expected = reference(ei, seeds.tolist(), seed_time.tolist(), fanouts, strategy,
                         edge_time=edge_time if level == "edge" else None,
                         node_time=node_time if level == "node" else None)
    assert got == expected
    assert sum(expected.values()) > 50  # the check covers many edges
    for batch in loader:  # edge features follow the sampled edges, in edge-id order
        if level == "edge":
            assert torch.equal(batch.edge_time, edge_time[batch.e_id])


@pytest.mark.parametrize("level", ["edge", "node"])
def test_uniform_temporal_sampling_draws_eligible_distinct_edges_uniformly(level):
    ei, edge_time, node_time = random_graph(seed=3)
    n = 30
    kw = dict(edge_time=edge_time) if level == "edge" else dict(t=node_time)
    data = Data(edge_index=ei, num_nodes=n, **kw)
    seeds = torch.arange(n)
    seed_time = torch.full((n,), 8)
    loader = NeighborLoader(data, num_neighbors=[2], input_nodes=seeds, input_time=seed_time,
                            time_attr="edge_time" if level == "edge" else "t", batch_size=n)
    times = dict(edge_time=edge_time if level == "edge" else None, node_time=node_time if level == "node" else None)
    counts, rounds = Counter(), 600
    torch.manual_seed(0)
    for _ in range(rounds):
        for (hop, b, u, v, e), c in sampled(next(iter(loader))).items():
            assert c == 1 and v == b  # one hop: the seed's own in-edges, each at most once
            counts[e] += 1
    for v in range(n):
        cands = eligible(ei, v, 8, **times)
        for e in cands:  # every eligible edge drawn with probability min(2, m) / m
            p = min(2, len(cands)) / len(cands)
            assert abs(counts[e] / rounds - p) < 0.1, (v, e, counts[e], p)
        assert all(counts[e] == 0 for e in (ei[1] == v).nonzero().view(-1).tolist() if e not in cands)


def test_temporal_sampling_is_reproducible_from_the_generator_state():
    ei, edge_time, _ = random_graph()
    data = Data(edge_index=ei, num_nodes=30, edge_time=edge_time)
    kw = dict(num_neighbors=[3, 2], input_time=torch.full((30,), 9), time_attr="edge_time", batch_size=10)
    runs = []
    for _ in range(2):
        torch.manual_seed(4)
        runs.append([(b.n_id, b.e_id) for b in NeighborLoader(data, **kw)])
    for (n1, e1), (n2, e2) in zip(*runs):
        assert torch.equal(n1, n2) and torch.equal(e1, e2)


def hetero_graph(seed=0):
    g = torch.Generator().manual_seed(seed)
    data = HeteroData()
    data["p"].num_nodes, data["a"].num_nodes = 12, 9
    pp = torch.randint(0, 12, (2, 50), generator=g)
    ap = torch.stack([torch.randint(0, 9, (40,), generator=g), torch.randint(0, 12, (40,), generator=g)])
    data["p", "cites", "p"].edge_index = pp
    data["a", "writes", "p"].edge_index = ap
    data["p", "rev_writes", "a"].edge_index = ap.flip(0)
    return data, g


@pytest.mark.parametrize("strategy", ["last", "uniform"])
def test_hetero_edge_level_temporal_sampling_equals_brute_force(strategy):
    """Per edge type: an edge-time type is filtered by time (and 'last' takes the latest); a type without edge
    times is not filtered (pyg-lib's rule), checked with k = -1 there."""
    data, g = hetero_graph()
    for et in [("p", "cites", "p"), ("a", "writes", "p")]:
        data[et].t = torch.randint(0, 10, (data[et].num_edges,), generator=g)
    fan = {("p", "cites", "p"): [2, 1] if strategy == "last" else [-1, -1], ("a", "writes", "p"): [1, 2],
           ("p", "rev_writes", "a"): [-1, -1]}
    if strategy == "uniform":
        fan[("a", "writes", "p")] = [-1, -1]
    seed_time = torch.randint(0, 10, (12,), generator=g)
    loader = NeighborLoader(data, num_neighbors=fan, input_nodes="p", input_time=seed_time, time_attr="t",
                            temporal_strategy=strategy, batch_size=12)
    batch = next(iter(loader))
    # brute force over the typed graph, disjoint per seed
    expected = Counter()
    for b in range(12):
        ts = int(seed_time[b])
        seen = {("p", b)}
        frontier = {"p": [b], "a": []}
        for hop in range(2):
            new = {"p": [], "a": []}
            for et in [("p", "cites", "p"), ("a", "writes", "p"), ("p", "rev_writes", "a")]:
                ei = data[et].edge_index
                t = data[et].t if "t" in data[et] else None
                k = fan[et][hop]
                for v in frontier[et[2]]:
                    if t is None:
                        cands = (ei[1] == v).nonzero().view(-1).tolist()
                    else:
                        cands = eligible(ei, v, ts, edge_time=t)
                    picks = cands if k < 0 else cands[-k:] if strategy == "last" else None
                    for e in picks:
                        u = int(ei[0, e])
                        expected[(et, hop, b, u, v, e)] += 1
                        if (et[0], u) not in seen:
                            seen.add((et[0], u))
                            new[et[0]].append(u)
            frontier = new
    got = Counter()
    for et in [("p", "cites", "p"), ("a", "writes", "p"), ("p", "rev_writes", "a")]:
        es, s_src, s_dst = batch[et], batch[et[0]], batch[et[2]]
        hops = torch.repeat_interleave(torch.arange(len(es.num_sampled_edges)), torch.tensor(es.num_sampled_edges))
        for i in range(es.edge_index.size(1)):
            r, c = es.edge_index[:, i].tolist()
            assert int(s_src.batch[r]) == int(s_dst.batch[c])  # both ends in one subtree
            got[(et, int(hops[i]), int(s_dst.batch[c]), int(s_src.n_id[r]), int(s_dst.n_id[c]), int(es.e_id[i]))] += 1
        if "t" in data[et]:
            assert torch.equal(es.t, data[et].t[es.e_id])
    assert got == expected
    assert sum(expected.values()) > 40


def test_hetero_last_strategy_with_node_times_equals_brute_force():
    data, g = hetero_graph(1)
    data["p"].t = torch.randint(0, 10, (12,), generator=g)
    data["a"].t = torch.randint(0, 10, (9,), generator=g)
    fan = {et: [2, 1] for et in data.edge_types}
    loader = NeighborLoader(data, num_neighbors=fan, input_nodes="p", time_attr="t", temporal_strategy="last",
                            batch_size=12)
    batch = next(iter(loader))
    seed_time = data["p"].t
    expected = Counter()
    for b in range(12):
        ts = int(seed_time[b])
        seen, frontier = {("p", b)}, {"p": [b], "a": []}
        for hop in range(2):
            new = {"p": [], "a": []}
            for et in data.edge_types:
                ei = data[et].edge_index
                for v in frontier[et[2]]:
                    for e in eligible(ei, v, ts, node_time=data[et[0]].t)[-fan[et][hop]:]:
                        u = int(ei[0, e])
                        expected[(et, b, u, v, e)] += 1
                        if (et[0], u) not in seen:
                            seen.add((et[0], u))
                            new[et[0]].append(u)
            frontier = new
    got = Counter()
    for et in data.edge_types:
        es, s_src, s_dst = batch[et], batch[et[0]], batch[et[2]]
        for i in range(es.edge_index.size(1)):
            r, c = es.edge_index[:, i].tolist()
            got[(et, int(s_dst.batch[c]), int(s_src.n_id[r]), int(s_dst.n_id[c]), int(es.e_id[i]))] += 1
    assert got == expected and sum(expected.values()) > 20


@pytest.mark.parametrize("hetero", [False, True])
def test_link_neighbor_loader_with_edge_times_keeps_each_subtree_before_its_link(hetero):
    ei, edge_time, _ = random_graph(seed=5)
    if hetero:
        data = HeteroData()
        data["v"].num_nodes = 30
        data["v", "to", "v"].edge_index, data["v", "to", "v"].edge_time = ei, edge_time
        label = (("v", "to", "v"), ei[:, :40])
    else:
        data = Data(edge_index=ei, edge_time=edge_time, num_nodes=30)
        label = ei[:, :40]
    loader = LinkNeighborLoader(data, num_neighbors=[-1, 2], edge_label_index=label, edge_label_time=edge_time[:40],
                                time_attr="edge_time", temporal_strategy="last", batch_size=8, neg_sampling_ratio=1.0)
    n_checked = 0
    for batch in loader:
        store = batch["v", "to", "v"] if hetero else batch
        nodes = batch["v"] if hetero else batch
        link_time = store.edge_label_time if not hetero else batch["v", "to", "v"].edge_label_time
        seed_t = nodes.seed_time if "seed_time" in nodes else None
        slot_time = torch.cat([link_time, link_time])  # src seeds then dst seeds, one subtree each
        if seed_t is not None:
            assert torch.equal(seed_t, slot_time) or seed_t.numel() == slot_time.numel()
        owner = nodes.batch[store.edge_index[1]]
        assert bool((store.edge_time <= slot_time[owner]).all())
        assert torch.equal(store.edge_time, edge_time[store.e_id])
        n_checked += store.edge_time.numel()
    assert n_checked > 50


def test_temporal_hop_edge_cases_and_bad_input():
    colptr = torch.tensor([0, 3, 3, 5])
    row = torch.tensor([1, 2, 0, 0, 1])
    t = torch.tensor([1, 2, 3, 1, 9])
    slot, edge = temporal_hop(colptr, row, torch.tensor([0, 1, 2]), torch.tensor([2, 5, 5]), 1, False, "last",
                              edge_time=t)
    assert slot.tolist() == [0, 2] and edge.tolist() == [1, 3]  # node 1 has no edges; node 2 only edge 3 is early
    slot, edge = temporal_hop(colptr, row, torch.tensor([0]), torch.tensor([0]), 2, False, "last", edge_time=t)
    assert slot.numel() == 0 and edge.numel() == 0  # nothing before the seed time
    slot, edge = temporal_hop(colptr, row, torch.tensor([0, 0]), torch.tensor([9, 9]), 5, True, "last", edge_time=t)
    assert slot.tolist() == [0] * 5 + [1] * 5  # with replacement: k draws among the window
    slot, edge = temporal_hop(colptr, row, torch.empty(0, dtype=torch.long), None, 3, False, "uniform")
    assert slot.numel() == 0
    ei, edge_time, node_time = random_graph()
    with pytest.raises(ValueError, match="input_time"):
        next(iter(NeighborLoader(Data(edge_index=ei, num_nodes=30, edge_time=edge_time), num_neighbors=[2],
                                 time_attr="edge_time", batch_size=4)))
    with pytest.raises(ValueError, match="temporal_strategy"):
        NeighborLoader(Data(edge_index=ei, num_nodes=30, t=node_time), num_neighbors=[2], time_attr="t",
                       temporal_strategy="first")
    with pytest.raises(NotImplementedError, match="weight_attr"):
        NeighborLoader(Data(edge_index=ei, num_nodes=30, edge_time=edge_time, w=torch.rand(ei.size(1))),
                       num_neighbors=[2], time_attr="edge_time", weight_attr="w")
    data, _ = hetero_graph()
    data["p", "cites", "p"].t = torch.arange(3)
    with pytest.raises(ValueError, match="one time per edge"):
        NeighborLoader(data, num_neighbors=[2], input_nodes="p", time_attr="t", input_time=torch.zeros(12))


@pytest.mark.parametrize("subgraph_type", ["induced"])
def test_induced_temporal_sampling_keeps_every_edge_among_a_subtrees_nodes(subgraph_type):
    ei, edge_time, _ = random_graph(seed=7)
    data = Data(edge_index=ei, num_nodes=30, edge_time=edge_time)
    loader = NeighborLoader(data, num_neighbors=[2, 2], input_time=torch.full((30,), 6), time_attr="edge_time",
                            temporal_strategy="last", subgraph_type=subgraph_type, batch_size=5)
    for batch in loader:
        groups = defaultdict(set)
        for i, (g, b) in enumerate(zip(batch.n_id.tolist(), batch.batch.tolist())):
            groups[b].add(g)
        expected = Counter()
        for b, nodes in groups.items():
            for e in range(ei.size(1)):
                if int(ei[0, e]) in nodes and int(ei[1, e]) in nodes:
                    expected[(b, e)] += 1
        got = Counter((int(batch.batch[batch.edge_index[1, i]]), int(batch.e_id[i]))
                      for i in range(batch.edge_index.size(1)))
        assert got == expected
