"""Heterogeneous sampling (issue 15): hetero NeighborLoader / LinkNeighborLoader / HGTLoader batches against a
pure-Python reference (BFS per edge type, dict-based relabelling, the neighbor_sample reference kernel for the
same per-frontier draws; PyG itself cannot sample here without pyg-lib / torch-sparse), per-type sizes and counts,
every edge a real edge with its e_id and features, workers giving the num_workers=0 batches, a to_hetero GraphSAGE
trained through the loader reaching full-batch accuracy, and bad input naming the argument."""

import pytest
import torch

from meshgraph.hetero import HeteroGraph
from meshgraph.ops import neighbor_sample
from meshgraph.sampling import HGTLoader, LinkNeighborLoader, NeighborLoader, NeighborSampler
from meshgraph.sampling.hetero_sampler import hetero_sample


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def typed_graph(seed=0, P=60, A=35, E_pp=240, E_ap=150):
    g = torch.Generator().manual_seed(seed)
    d = HeteroGraph()
    d["paper"].x = torch.randn(P, 4, generator=g)
    d["paper"].x[:, 0] = torch.arange(P).float()
    d["paper"].time = torch.randint(0, 10, (P,), generator=g)
    d["author"].x = torch.randn(A, 3, generator=g)
    d["author"].x[:, 0] = torch.arange(A).float()
    d["author"].time = torch.randint(0, 10, (A,), generator=g)
    d["paper", "cites", "paper"].edge_index = torch.randint(0, P, (2, E_pp), generator=g)
    ap = torch.stack([torch.randint(0, A, (E_ap,), generator=g), torch.randint(0, P, (E_ap,), generator=g)])
    d["author", "writes", "paper"].edge_index = ap
    d["author", "writes", "paper"].edge_attr = torch.arange(E_ap).float().view(-1, 1)
    d["paper", "rev_writes", "author"].edge_index = ap.flip(0)
    return d


def reference_sample(data, fan, seed_dict, disjoint=False, generator=None, time_attr=None):
    """PyG's hop order in plain Python: at hop h each edge type samples for its destination nodes added at hop h-1;
    new nodes are appended per type in draw order (keyed by (seed, node) when disjoint)."""
    node_types, edge_types = data.metadata()
    N = {t: data[t].num_nodes for t in node_types}
    csc = {}
    for et in edge_types:
        src, dst = data[et].edge_index.tolist()
        order = sorted(range(len(src)), key=lambda e: dst[e])  # stable by destination
        n = max(N[et[0]], N[et[2]])
        counts = [0] * (n + 1)
        for e in order:
            counts[dst[e] + 1] += 1
        for i in range(n):
            counts[i + 1] += counts[i]
        csc[et] = (torch.tensor(counts), torch.tensor([src[e] for e in order], dtype=torch.long), order)
    temporal = time_attr is not None
    disjoint = disjoint or temporal
    nodes = {t: [] for t in node_types}
    index = {t: {} for t in node_types}
    counts_n = {t: [0] for t in node_types}
    counts_e = {et: [] for et in edge_types}
    rows, cols, eids = ({et: [] for et in edge_types} for _ in range(3))
    frontier = {}
    for t, seeds in seed_dict.items():
        fr = []
        for b, v in enumerate(seeds.tolist()):
            key = (b, v) if disjoint else v
            index[t].setdefault(key, len(nodes[t]))  # every seed slot is a node; repeats map to the first
            nodes[t].append(key)
            fr.append((key, len(nodes[t]) - 1))
        counts_n[t][0] = len(nodes[t])
        frontier[t] = fr
    L = len(next(iter(fan.values())))
    for h in range(L):
        for t in node_types:
            counts_n[t].append(0)
        for et in edge_types:
            s, _, d = et
            k = fan[et][h]
            fr = frontier.get(d, [])
            if k == 0 or not fr:
                counts_e[et].append(0)
                continue
            glob = torch.tensor([key[1] if disjoint else key for key, _ in fr])
            time = st = None
            if temporal:
                tt = data[s][time_attr]
                time = torch.cat([tt, tt.new_zeros(max(N[s], N[d]) - N[s])])
                seed_t = data[next(iter(seed_dict))][time_attr][next(iter(seed_dict.values()))]
                st = seed_t[torch.tensor([key[0] for key, _ in fr])]
            colptr, row, order = csc[et]
            ns = neighbor_sample(colptr, row, glob, [k], disjoint=True, time=time, seed_time=st, generator=generator,
                                 reference=True)
            for slot, c, e in zip(ns.row.tolist(), ns.col.tolist(), ns.edge.tolist()):
                u = int(ns.node[c])
                key = (fr[slot][0][0], u) if disjoint else u
                if key not in index[s]:
                    index[s][key] = len(nodes[s])
                    nodes[s].append(key)
                    counts_n[s][-1] += 1
                rows[et].append(index[s][key])
                cols[et].append(fr[slot][1])  # the frontier slot's own position
                eids[et].append(order[e])
            counts_e[et].append(ns.edge.numel())
        frontier = {t: [(nodes[t][i], i) for i in range(len(nodes[t]) - counts_n[t][-1], len(nodes[t]))]
                    for t in node_types if counts_n[t][-1]}
    out_nodes = {t: [key[1] if disjoint else key for key in nodes[t]] for t in node_types}
    return out_nodes, rows, cols, eids, counts_n, counts_e


def _fan(data, values):
    return {et: list(values) for et in data.edge_types}


@pytest.mark.parametrize("disjoint", [False, True])
@pytest.mark.parametrize("fanout", [[3, 2], [-1, 1], [2, 0, 2]])
def test_sampler_matches_the_reference(disjoint, fanout):
    data = typed_graph(seed=1)
    sampler = NeighborSampler(data, fanout, disjoint=disjoint)
    seeds = {"paper": torch.tensor([3, 7, 7, 11, 0])}
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    out = sampler._sample(seeds, generator=g1)
    nodes, rows, cols, eids, cn, ce = reference_sample(data, _fan(data, fanout), seeds, disjoint, g2)
    for t in data.node_types:
        assert out.node[t].tolist() == nodes[t]
        assert out.num_sampled_nodes[t] == cn[t]
        assert sum(cn[t]) == out.node[t].numel()
    for et in data.edge_types:
        assert out.row[et].tolist() == rows[et] and out.col[et].tolist() == cols[et]
        assert (sampler.perm[et][out.edge[et]]).tolist() == eids[et]
        assert out.num_sampled_edges[et] == ce[et]
    if disjoint:
        assert set(out.batch) == set(data.node_types)


def test_temporal_sampler_matches_the_reference():
    data = typed_graph(seed=2)
    sampler = NeighborSampler(data, [3, 3], time_attr="time")
    seeds = {"paper": torch.tensor([1, 4, 9])}
    out = sampler._sample(seeds, generator=torch.Generator().manual_seed(1))
    # the sampler sorts each column by time (PyG's temporal CSC): give the reference the same edge order
    for et in data.edge_types:
        perm = sampler.perm[et]
        data[et].edge_index = data[et].edge_index[:, perm]
    nodes, rows, cols, _, cn, _ = reference_sample(data, _fan(data, [3, 3]), seeds, True,
                                                   torch.Generator().manual_seed(1), "time")
    for t in data.node_types:
        assert out.node[t].tolist() == nodes[t]
    for et in data.edge_types:
        assert out.row[et].tolist() == rows[et] and out.col[et].tolist() == cols[et]
        src_t = data[et[0]].time[out.node[et[0]][out.row[et]]]
        seed_t = data["paper"].time[seeds["paper"]][out.batch[et[2]][out.col[et]]]
        assert bool((src_t <= seed_t).all())


def check_hetero_batch(batch, data):
    for t in data.node_types:
        n_id = batch[t].n_id
        assert torch.equal(batch[t].x, data[t].x[n_id])
        assert sum(batch[t].num_sampled_nodes) == n_id.numel()
    for et in data.edge_types:
        ei = batch[et].edge_index
        real = set(map(tuple, data[et].edge_index.t().tolist()))
        glob = torch.stack([batch[et[0]].n_id[ei[0]], batch[et[2]].n_id[ei[1]]])
        assert all(tuple(e) in real for e in glob.t().tolist())
        assert torch.equal(data[et].edge_index[:, batch[et].e_id], glob)
        if "edge_attr" in data[et]:
            assert torch.equal(batch[et].edge_attr, data[et].edge_attr[batch[et].e_id])
        assert sum(batch[et].num_sampled_edges) == ei.size(1)


def test_neighbor_loader_batches():
    data = typed_graph(seed=3)
    num_neighbors = {("paper", "cites", "paper"): [4, 2], "author__writes__paper": [3, 1],
                     ("paper", "rev_writes", "author"): [2, 2]}
    loader = NeighborLoader(data, num_neighbors, input_nodes=("paper", torch.arange(0, 60, 2)), batch_size=8)
    seen = []
    for batch in loader:
        check_hetero_batch(batch, data)
        bs = batch["paper"].batch_size
        assert torch.equal(batch["paper"].n_id[:bs], torch.arange(0, 60, 2)[batch["paper"].input_id])
        # fan-out respected per destination node and hop 1
        et = ("paper", "cites", "paper")
        col = batch[et].edge_index[1, :batch[et].num_sampled_edges[0]]
        assert int(torch.bincount(col).max()) <= 4
        seen.append(batch["paper"].input_id)
    assert torch.equal(torch.cat(seen).sort().values, torch.arange(30))


def test_link_loader_batches():
    data = typed_graph(seed=4)
    et = ("author", "writes", "paper")
    loader = LinkNeighborLoader(data, [2, 2], edge_label_index=(et, None), batch_size=16, neg_sampling_ratio=1.0)
    real = set(map(tuple, data[et].edge_index.t().tolist()))
    for batch in loader:
        check_hetero_batch(batch, data)
        eli, lab = batch[et].edge_label_index, batch[et].edge_label
        glob = torch.stack([batch["author"].n_id[eli[0]], batch["paper"].n_id[eli[1]]])
        pos = glob[:, lab == 1]
        assert all(tuple(e) in real for e in pos.t().tolist())
        assert int((lab == 0).sum()) == int((lab == 1).sum())
    trip = LinkNeighborLoader(data, [2], edge_label_index=(et, None), batch_size=10,
                              neg_sampling=dict(mode="triplet", amount=3))
    b = next(iter(trip))
    assert b["author"].src_index.shape == (10,) and b["paper"].dst_neg_index.shape == (10, 3)


def test_bidirectional_and_induced():
    data = typed_graph(seed=5)
    bi = next(iter(NeighborLoader(data, [2, 2], input_nodes="paper", batch_size=6,
                                  subgraph_type="bidirectional")))
    et, rev = ("author", "writes", "paper"), ("paper", "rev_writes", "author")
    assert torch.equal(bi[et].edge_index.flip(0).sort(1).values, bi[rev].edge_index.sort(1).values) or \
        set(map(tuple, bi[et].edge_index.t().tolist())) == set(map(tuple, bi[rev].edge_index.flip(0).t().tolist()))
    ind = next(iter(NeighborLoader(data, [2, 2], input_nodes="paper", batch_size=6, subgraph_type="induced")))
    for e in data.edge_types:
        ids = {t: set(ind[t].n_id.tolist()) for t in data.node_types}
        want = sum(1 for s, d in data[e].edge_index.t().tolist() if s in ids[e[0]] and d in ids[e[2]])
        assert ind[e].edge_index.size(1) == want
        assert torch.equal(data[e].edge_index[:, ind[e].e_id],
                           torch.stack([ind[e[0]].n_id[ind[e].edge_index[0]], ind[e[2]].n_id[ind[e].edge_index[1]]]))


def test_hgt_loader():
    data = typed_graph(seed=6)
    loader = HGTLoader(data, num_samples={"paper": [5, 3], "author": [4, 4]}, input_nodes=("paper", None),
                       batch_size=7)
    for batch in loader:
        bs = batch["paper"].batch_size
        assert torch.equal(batch["paper"].n_id[:bs], batch["paper"].input_id)
        assert batch["paper"].n_id.numel() <= bs + 8 and batch["author"].n_id.numel() <= 8
        for t in data.node_types:
            assert batch[t].n_id.unique().numel() == batch[t].n_id.numel()
        for et in data.edge_types:  # induced: every edge among the drawn nodes
            ids = {t: set(batch[t].n_id.tolist()) for t in data.node_types}
            want = sum(1 for s, d in data[et].edge_index.t().tolist() if s in ids[et[0]] and d in ids[et[2]])
            assert batch[et].edge_index.size(1) == want


def _same(a, b, data):
    for t in data.node_types:
        assert torch.equal(a[t].n_id, b[t].n_id)
    for et in data.edge_types:
        assert torch.equal(a[et].edge_index, b[et].edge_index)


def test_workers_give_the_same_batches():
    data = typed_graph(seed=7)
    kw = dict(num_neighbors=[3, 2], input_nodes="paper", batch_size=12, shuffle=True)
    torch.manual_seed(11)
    single = list(NeighborLoader(data, **kw))
    torch.manual_seed(11)
    multi = list(NeighborLoader(data, num_workers=2, **kw))
    assert len(single) == len(multi) == 5
    for a, b in zip(single, multi):
        _same(a, b, data)
    torch.manual_seed(11)
    again = list(NeighborLoader(data, **kw))
    for a, b in zip(single, again):
        _same(a, b, data)
    torch.manual_seed(12)
    other = list(NeighborLoader(data, **kw))
    assert any(not torch.equal(a["paper"].n_id, b["paper"].n_id) for a, b in zip(single, other))


def typed_sbm(P=900, A=450, C=3, seed=0):
    """A typed stochastic block model: papers cite papers of their class (p_in >> p_out), authors of a class
    write its papers; paper features are a weak class signal under noise, author features pure noise."""
    g = torch.Generator().manual_seed(seed)
    yp = torch.randint(0, C, (P,), generator=g)
    ya = torch.randint(0, C, (A,), generator=g)
    src = torch.randint(0, P, (P * 12,), generator=g)
    dst = torch.randint(0, P, (P * 12,), generator=g)
    keep = (yp[src] == yp[dst]) | (torch.rand(src.numel(), generator=g) < 0.15)
    cites = torch.stack([src[keep], dst[keep]])
    a = torch.randint(0, A, (P * 6,), generator=g)
    p = torch.randint(0, P, (P * 6,), generator=g)
    keep = (ya[a] == yp[p]) | (torch.rand(a.numel(), generator=g) < 0.1)
    writes = torch.stack([a[keep], p[keep]])
    d = HeteroGraph()
    d["paper"].x = torch.nn.functional.one_hot(yp, 8).float() * 0.6 + torch.randn(P, 8, generator=g)
    d["paper"].y = yp
    d["author"].x = torch.randn(A, 8, generator=g)
    d["paper", "cites", "paper"].edge_index = cites
    d["author", "writes", "paper"].edge_index = writes
    d["paper", "rev_writes", "author"].edge_index = writes.flip(0)
    perm = torch.randperm(P, generator=g)
    d["paper"].train_mask = torch.zeros(P, dtype=torch.bool)
    d["paper"].train_mask[perm[:P // 2]] = True
    d["paper"].test_mask = ~d["paper"].train_mask
    return d


def test_hetero_sage_through_the_loader_reaches_full_batch_accuracy():
    from meshgraph.nn import SAGEConv, to_hetero

    class GNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = SAGEConv((-1, -1), 32)
            self.conv2 = SAGEConv((-1, -1), 3)

        def forward(self, x, edge_index):
            return self.conv2(self.conv1(x, edge_index).relu(), edge_index)

    data = typed_sbm()

    def make():
        torch.manual_seed(0)
        model = to_hetero(GNN(), data.metadata(), aggr="sum")
        with torch.no_grad():
            model(data.x_dict, data.edge_index_dict)  # lazy shapes
        return model, torch.optim.Adam(model.parameters(), lr=0.01)

    def accuracy(model):
        with torch.no_grad():
            pred = model(data.x_dict, data.edge_index_dict)["paper"].argmax(-1)
        m = data["paper"].test_mask
        return float((pred[m] == data["paper"].y[m]).float().mean())

    full, opt = make()
    for _ in range(60):
        opt.zero_grad()
        out = full(data.x_dict, data.edge_index_dict)["paper"]
        m = data["paper"].train_mask
        torch.nn.functional.cross_entropy(out[m], data["paper"].y[m]).backward()
        opt.step()
    acc_full = accuracy(full)

    mini, opt = make()
    loader = NeighborLoader(data, [10, 10], input_nodes=("paper", data["paper"].train_mask), batch_size=64,
                            shuffle=True)
    for _ in range(12):
        for batch in loader:
            opt.zero_grad()
            out = mini(batch.x_dict, batch.edge_index_dict)["paper"][:batch["paper"].batch_size]
            torch.nn.functional.cross_entropy(out, batch["paper"].y[:batch["paper"].batch_size]).backward()
            opt.step()
    acc_mini = accuracy(mini)
    assert acc_full > 0.6, acc_full  # far above chance (1/3): the graph carries the labels
    assert acc_mini >= acc_full - 0.04, (acc_mini, acc_full)


def test_bad_input_names_the_argument():
    data = typed_graph(seed=8)
    with pytest.raises(ValueError, match="input_nodes"):
        NeighborLoader(data, [2], input_nodes=("venue", None))
    with pytest.raises(ValueError, match="input_nodes"):
        NeighborLoader(data, [2], input_nodes=None)
    with pytest.raises(ValueError, match="num_neighbors"):
        NeighborLoader(data, {("paper", "likes", "paper"): [2]}, input_nodes="paper")
    with pytest.raises(ValueError, match="num_neighbors"):
        NeighborLoader(data, {et: [2] * (1 + i) for i, et in enumerate(data.edge_types)}, input_nodes="paper")
    with pytest.raises(ValueError, match="num_neighbors"):
        NeighborLoader(data, {("paper", "cites", "paper"): [2]}, input_nodes="paper")  # the others are missing
    with pytest.raises(ValueError, match=r"num_neighbors\[.*-2"):
        NeighborLoader(data, [2, -2], input_nodes="paper")
    with pytest.raises(ValueError, match="edge_label_index"):
        LinkNeighborLoader(data, [2], edge_label_index=(("paper", "to", "venue"), None))
    with pytest.raises(IndexError, match="input_nodes"):
        NeighborLoader(data, [2], input_nodes=("paper", torch.tensor([0, 99])))
    bad = typed_graph(seed=8)
    bad["author", "writes", "paper"].edge_index = torch.tensor([[0, 50], [0, 1]])  # author 50 of 35
    with pytest.raises(ValueError, match="mismatched metadata"):
        NeighborLoader(bad, [2], input_nodes="paper")
    with pytest.raises(ValueError, match="num_samples"):
        HGTLoader(data, num_samples={"venue": [2]}, input_nodes="paper")
    with pytest.raises(ValueError, match="input_nodes"):
        hetero_sample(NeighborSampler(data, [1]).hetero_graph, {et: [1] for et in data.edge_types},
                      {"venue": torch.tensor([0])})


def test_hetero_trim_to_layer_keeps_the_seed_outputs_and_checks_its_dicts():
    """A 2-layer HeteroConv GraphSAGE on a hetero NeighborLoader batch, trimmed before each layer with the
    batch's num_sampled_nodes_dict / num_sampled_edges_dict (PyG's dict form), gives the untrimmed seed outputs
    while computing fewer rows; missing or short counts are a ValueError naming the dict and the type."""
    from meshgraph.nn import HeteroConv, SAGEConv
    from meshgraph.sampling import trim_to_layer

    data = typed_graph(seed=3)
    batch = next(iter(NeighborLoader(data, num_neighbors=[3, 2], input_nodes="paper", batch_size=6)))
    torch.manual_seed(0)
    dims = {"paper": 4, "author": 3}
    layers = [HeteroConv({et: SAGEConv((dims[et[0]], dims[et[2]]), 5) for et in data.edge_types}),
              HeteroConv({et: SAGEConv((5, 5), 5) for et in data.edge_types})]
    nodes, edges = batch.num_sampled_nodes_dict, batch.num_sampled_edges_dict
    ew = {et: torch.rand(batch[et].num_edges) for et in data.edge_types}

    def run(trim):
        x, ei, w = batch.x_dict, batch.edge_index_dict, ew
        rows = 0
        for i, conv in enumerate(layers):
            if trim:
                x, ei, w = trim_to_layer(i, nodes, edges, x, ei, w)
            rows += sum(v.size(0) for v in x.values())
            x = {k: v.relu() for k, v in conv(x, ei).items()}
        return x["paper"][:6], rows, w

    full, full_rows, _ = run(False)
    trimmed, trimmed_rows, w = run(True)
    torch.testing.assert_close(trimmed, full)
    assert trimmed_rows < full_rows
    for et in data.edge_types:  # edge features trimmed with their edges (the last hop's dropped at layer 1)
        assert torch.equal(w[et], ew[et][:ew[et].numel() - edges[et][-1]])
    x, ei = batch.x_dict, batch.edge_index_dict
    with pytest.raises(ValueError, match="num_sampled_nodes_per_hop has no entry for node type 'author'"):
        trim_to_layer(1, {"paper": nodes["paper"]}, edges, x, ei)
    with pytest.raises(ValueError, match="num_sampled_edges_per_hop"):
        trim_to_layer(1, nodes, {k: v for k, v in list(edges.items())[:1]}, x, ei)
    with pytest.raises(ValueError, match="needs at least 3 hops"):
        trim_to_layer(3, nodes, edges, x, ei)
    with pytest.raises(TypeError, match="edge_attr"):
        trim_to_layer(1, nodes, edges, x, ei, torch.zeros(3))
