"""NeighborLoader / LinkNeighborLoader / trim_to_layer: batches against the graph they come from (every edge is a
real edge with its e_id, features at n_id / e_id, seeds first), the same draws as the neighbor_sample op for the
same generator state, subgraph types, disjoint / temporal / weighted sampling, workers (shared CSC, batches in
shared memory, same coverage), negative sampling (binary and triplet), trimming (a trimmed 3-layer SAGE gives the
untrimmed seeds' outputs), mini-batch training reaching full-batch accuracy, and bad input naming the argument."""

import pytest
import torch

from meshgraph.nn import SAGEConv
from meshgraph.ops import neighbor_sample
from meshgraph.records import Data
from meshgraph.sampling import (
    LinkNeighborLoader,
    NegativeSampling,
    NeighborLoader,
    NeighborSampler,
    NodeSamplerInput,
    TrimToLayer,
    trim_to_layer,
)
from meshgraph.sampling.sampler import to_csc


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensors: one intra-op thread (a loaded host makes two threads ~100x slower on them)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def random_graph(N=120, E=900, seed=0, F=4):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, N, (2, E), generator=g)
    x = torch.randn(N, F, generator=g)
    x[:, 0] = torch.arange(N).float()  # column 0 names the node
    return Data(x=x, edge_index=ei, edge_attr=torch.arange(E).float().view(-1, 1), y=torch.randint(0, 3, (N,), generator=g))


def edge_set(ei):
    return set(map(tuple, ei.t().tolist()))


def check_batch(batch, data, seeds):
    n_id, e_id = batch.n_id, batch.e_id
    assert torch.equal(batch.x, data.x[n_id])
    assert torch.equal(batch.y, data.y[n_id])
    assert torch.equal(batch.edge_attr, data.edge_attr[e_id])
    assert torch.equal(n_id[batch.edge_index], data.edge_index[:, e_id])  # every batch edge is the graph edge e_id
    assert torch.equal(n_id[: batch.batch_size], seeds)  # seeds first, in order
    assert len(set(n_id.tolist())) == n_id.numel()
    assert sum(batch.num_sampled_nodes) == n_id.numel()
    assert sum(batch.num_sampled_edges) == e_id.numel()


def test_batches_are_subgraphs_with_features_at_n_id_and_e_id():
    data = random_graph()
    loader = NeighborLoader(data, [4, 3], batch_size=16, shuffle=True)
    seen = []
    for batch in loader:
        seeds = loader.input_data.node[batch.input_id]
        check_batch(batch, data, seeds)
        assert batch.num_sampled_nodes[0] == batch.batch_size
        seen.append(batch.input_id)
    assert torch.equal(torch.cat(seen).sort().values, torch.arange(data.num_nodes))
    assert len(loader) == (data.num_nodes + 15) // 16


def test_same_draws_as_the_neighbor_sample_op_for_the_same_generator_state():
    data = random_graph(seed=1)
    colptr, row, perm = to_csc(data.edge_index, data.num_nodes)
    seeds = torch.tensor([5, 0, 77, 31, 5])
    loader = NeighborLoader(data, [3, 2, 2], input_nodes=seeds, batch_size=5)
    torch.manual_seed(11)
    batch = loader(torch.arange(5))  # (iterating draws the DataLoader's base seed first)
    torch.manual_seed(11)
    ns = neighbor_sample(colptr, row, seeds, [3, 2, 2])
    assert torch.equal(batch.n_id, ns.node)
    assert torch.equal(batch.edge_index, torch.stack([ns.col, ns.row]))  # PyG's direction: source -> target
    assert torch.equal(batch.e_id, perm[ns.edge])
    assert batch.num_sampled_nodes == ns.num_sampled_nodes and batch.num_sampled_edges == ns.num_sampled_edges


def test_fanout_minus_one_takes_every_in_edge_of_the_seeds():
    data = random_graph(seed=2)
    seeds = torch.tensor([3, 9, 40])
    batch = NeighborLoader(data, [-1], input_nodes=seeds, batch_size=3)(torch.arange(3))
    ei = data.edge_index
    want = sorted(torch.nonzero(torch.isin(ei[1], seeds)).view(-1).tolist())
    assert sorted(batch.e_id.tolist()) == want


def test_fanouts_bound_the_in_degree_per_hop():
    data = random_graph(N=60, E=1500, seed=3)
    batch = NeighborLoader(data, [5, 2], batch_size=8)(torch.arange(8))
    E1 = batch.num_sampled_edges[0]
    tgt1 = batch.edge_index[1, :E1]
    assert (tgt1 < 8).all() and torch.bincount(tgt1).max() <= 5
    tgt2 = batch.edge_index[1, E1:]
    assert (tgt2 >= 8).all() and torch.bincount(tgt2).max() <= 2


def test_subgraph_types_induced_and_bidirectional():
    data = random_graph(seed=4)
    batch = NeighborLoader(data, [3, 3], subgraph_type="induced", batch_size=10)(torch.arange(10))
    nodes = set(batch.n_id.tolist())
    ei = data.edge_index
    inside = [(int(a), int(b)) for a, b in ei.t() if int(a) in nodes and int(b) in nodes]
    got = list(map(tuple, batch.n_id[batch.edge_index].t().tolist()))
    assert sorted(got) == sorted(inside)  # all edges among the sampled nodes, duplicates included
    assert torch.equal(batch.n_id[batch.edge_index], ei[:, batch.e_id])

    bi = NeighborLoader(data, [3, 3], subgraph_type="bidirectional", batch_size=10)(torch.arange(10))
    s = edge_set(bi.edge_index)
    assert all((b, a) in s for a, b in s)
    assert "num_sampled_nodes" not in bi  # per-hop counts do not survive symmetrisation (PyG)


def test_disjoint_batch_vector_names_each_seeds_subtree():
    data = random_graph(seed=5)
    batch = NeighborLoader(data, [3, 2], disjoint=True, batch_size=6)(torch.arange(6))
    assert torch.equal(batch.batch[:6], torch.arange(6))
    # every edge stays within one seed's tree
    assert torch.equal(batch.batch[batch.edge_index[0]], batch.batch[batch.edge_index[1]])


def test_temporal_sampling_never_reaches_later_nodes():
    data = random_graph(seed=6)
    data.time = torch.randint(0, 10, (data.num_nodes,), generator=torch.Generator().manual_seed(1))
    loader = NeighborLoader(data, [4, 4], time_attr="time", batch_size=10)
    for batch in loader:
        seed_time = data.time[batch.n_id[: batch.batch_size]]
        assert (batch.time <= seed_time[batch.batch]).all()
    seeds = torch.arange(5)
    loader = NeighborLoader(data, [4], time_attr="time", input_nodes=seeds, input_time=torch.zeros(5, dtype=torch.long),
                            batch_size=5)
    batch = next(iter(loader))
    assert (batch.time[5:] <= 0).all()
    with pytest.raises(ValueError, match="input_time"):
        NeighborLoader(data, [2], input_time=torch.zeros(data.num_nodes))


def test_weighted_sampling_never_draws_zero_weight_edges():
    data = random_graph(N=60, E=1500, seed=7)
    w = torch.rand(data.num_edges)
    w[::2] = 0
    data.edge_weight = w
    batch = NeighborLoader(data, [3], weight_attr="edge_weight", batch_size=30)(torch.arange(30))
    # a node with at most fan-out neighbours keeps them all (PyG); above it, draws follow the weights
    deg = torch.bincount(data.edge_index[1], minlength=60)
    big = deg[batch.n_id[batch.edge_index[1]]] > 3
    assert big.sum() > 30 and (data.edge_weight[batch.e_id[big]] > 0).all()


def _record_worker(batch):
    info = torch.utils.data.get_worker_info()
    batch.worker = -1 if info is None else info.id
    batch.csc_shared = info.dataset is not None and bool(_LOADER[0].node_sampler.colptr.is_shared())
    return batch


_LOADER = []


@pytest.mark.parametrize("persistent", [False, True])
def test_workers_share_the_csc_and_cover_every_seed(persistent):
    data = random_graph(N=200, seed=8)
    loader = NeighborLoader(data, [3, 2], batch_size=25, num_workers=2, persistent_workers=persistent,
                            transform=_record_worker, pin_memory=persistent)  # (pinning is a no-op without CUDA)
    _LOADER[:] = [loader]
    assert loader.node_sampler.colptr.is_shared() and loader.node_sampler.row.is_shared()
    for _ in range(2 if persistent else 1):
        ids, workers = [], set()
        for batch in loader:
            check_batch(batch, data, loader.input_data.node[batch.input_id])
            assert batch.csc_shared
            assert batch.x.is_shared() or batch.x.is_pinned()  # gathered straight into shared memory
            ids.append(batch.input_id)
            workers.add(batch.worker)
        assert torch.equal(torch.cat(ids).sort().values, torch.arange(200))
        assert workers == {0, 1}


def test_filter_in_main_process_gives_the_same_batch():
    data = random_graph(seed=9)
    kw = dict(num_neighbors=[3, 2], batch_size=10)
    torch.manual_seed(3)
    a = next(iter(NeighborLoader(data, filter_per_worker=True, **kw)))
    torch.manual_seed(3)
    b = next(iter(NeighborLoader(data, filter_per_worker=False, **kw)))
    assert torch.equal(a.n_id, b.n_id) and torch.equal(a.edge_index, b.edge_index) and torch.equal(a.x, b.x)


def test_sampler_records_and_custom_sampler():
    data = random_graph(seed=10)
    sampler = NeighborSampler(data, [2, 2])
    out = sampler.sample_from_nodes(NodeSamplerInput(None, torch.tensor([1, 2, 3])))
    assert torch.equal(out.node[:3], torch.tensor([1, 2, 3]))
    assert torch.equal(out.global_row, data.edge_index[0, sampler.edge_permutation[out.edge]])
    loader = NeighborLoader(data, [9], neighbor_sampler=sampler, batch_size=4)  # num_neighbors ignored, as PyG
    assert loader(torch.arange(4)).num_sampled_nodes.__len__() == 3


def test_link_loader_binary_negatives():
    data = random_graph(seed=11)
    eli = data.edge_index[:, :40]
    label = torch.randint(0, 2, (40,))
    loader = LinkNeighborLoader(data, [3, 2], edge_label_index=eli, edge_label=label, neg_sampling_ratio=2.0,
                                batch_size=10)
    for batch in loader:
        pos = eli[:, batch.input_id]
        gl = batch.n_id[batch.edge_label_index]
        assert batch.edge_label_index.size(1) == 30
        assert torch.equal(gl[:, :10], pos)
        assert torch.equal(batch.edge_label[:10], label[batch.input_id] + 1)  # shifted: 0 marks negatives
        assert (batch.edge_label[10:] == 0).all()
        assert torch.equal(batch.x, data.x[batch.n_id])
        assert torch.equal(batch.n_id[batch.edge_index], data.edge_index[:, batch.e_id])


def test_link_loader_triplet_negatives():
    data = random_graph(seed=12)
    loader = LinkNeighborLoader(data, [2], neg_sampling=NegativeSampling("triplet", 3), batch_size=8)
    batch = next(iter(loader))
    pos = data.edge_index[:, batch.input_id]
    assert torch.equal(batch.n_id[batch.src_index], pos[0])
    assert torch.equal(batch.n_id[batch.dst_pos_index], pos[1])
    assert batch.dst_neg_index.shape == (8, 3)
    assert "edge_label_index" not in batch
    with pytest.raises(ValueError, match="edge_label"):
        LinkNeighborLoader(data, [2], edge_label=torch.ones(data.num_edges), neg_sampling="triplet")


def test_link_loader_disjoint_and_without_negatives():
    data = random_graph(seed=13)
    batch = next(iter(LinkNeighborLoader(data, [2, 2], disjoint=True, batch_size=6)))
    assert torch.equal(batch.n_id[batch.edge_label_index], data.edge_index[:, batch.input_id])
    assert batch.batch.max() < 6
    assert torch.equal(batch.edge_label_index, torch.arange(12).view(2, 6))


def sage_stack(in_ch, hidden, layers, seed=0):
    torch.manual_seed(seed)
    return torch.nn.ModuleList([SAGEConv(in_ch if i == 0 else hidden, hidden) for i in range(layers)])


def run(convs, x, edge_index, nodes=None, edges=None, trim=False):
    for i, conv in enumerate(convs):
        if trim:
            x, edge_index, _ = trim_to_layer(i, nodes, edges, x, edge_index)
        x = conv(x, edge_index).relu() if i < len(convs) - 1 else conv(x, edge_index)
    return x


def test_trim_to_layer_keeps_the_seed_outputs_and_does_less_work():
    data = random_graph(N=300, E=3000, seed=14)
    batch = NeighborLoader(data, [6, 4, 3], batch_size=20)(torch.arange(20))
    convs = sage_stack(4, 8, 3)
    full = run(convs, batch.x, batch.edge_index)[:20]
    trimmed = run(convs, batch.x, batch.edge_index, batch.num_sampled_nodes, batch.num_sampled_edges, trim=True)
    assert trimmed.shape[0] < batch.x.shape[0]
    torch.testing.assert_close(trimmed[:20], full)
    # the sizes per layer: layer l sees the first L - l + 1 hops' nodes and the first L - l hops' edges
    counts = batch.num_sampled_nodes, batch.num_sampled_edges
    x, ei, _ = trim_to_layer(1, *counts, batch.x, batch.edge_index)  # layers trim what the previous one left
    x, ei, _ = trim_to_layer(2, *counts, x, ei)
    assert x.shape[0] == sum(batch.num_sampled_nodes[:2]) and ei.shape[1] == batch.num_sampled_edges[0]
    assert x.data_ptr() == batch.x.data_ptr()  # a view, not a copy
    m = TrimToLayer()
    assert m(1, None, None, batch.x, batch.edge_index)[0] is batch.x
    with pytest.raises(ValueError, match="num_sampled_edges_per_hop"):
        m(1, batch.num_sampled_nodes, None, batch.x, batch.edge_index)
    with pytest.raises(ValueError, match="hops"):
        trim_to_layer(4, batch.num_sampled_nodes[:2], batch.num_sampled_edges, batch.x, batch.edge_index)


def test_sage_accepts_a_bipartite_pair_on_a_block():
    data = random_graph(seed=15)
    batch = NeighborLoader(data, [5], batch_size=10)(torch.arange(10))
    conv = SAGEConv((4, 4), 6)
    n_dst = batch.batch_size
    out = conv((batch.x, batch.x[:n_dst]), batch.edge_index, size=(batch.x.size(0), n_dst))
    assert out.shape == (n_dst, 6)
    torch.testing.assert_close(out, conv(batch.x, batch.edge_index)[:n_dst])


def sbm(n_per=150, k=3, p_in=0.08, p_out=0.005, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(k).repeat_interleave(n_per)
    N = y.numel()
    prob = torch.where(y[:, None] == y[None, :], p_in, p_out)
    adj = torch.rand(N, N, generator=g) < prob
    adj = adj | adj.t()
    adj.fill_diagonal_(False)
    ei = adj.nonzero().t()
    x = torch.randn(N, 8, generator=g) + 0.3 * torch.nn.functional.one_hot(y, 8).float()
    return Data(x=x, edge_index=ei, y=y)


def train(data, loader=None, epochs=40):
    torch.manual_seed(0)
    convs = sage_stack(8, 16, 2)
    head = torch.nn.Linear(16, 3)
    opt = torch.optim.Adam(list(convs.parameters()) + list(head.parameters()), lr=0.02)
    train_mask = torch.arange(data.num_nodes) % 2 == 0
    for _ in range(epochs):
        batches = loader if loader is not None else [None]
        for batch in batches:
            opt.zero_grad()
            if batch is None:
                out = head(run(convs, data.x, data.edge_index).relu())[train_mask]
                y = data.y[train_mask]
            else:
                out = head(run(convs, batch.x, batch.edge_index, batch.num_sampled_nodes, batch.num_sampled_edges,
                               trim=True).relu())[: batch.batch_size]
                y = batch.y[: batch.batch_size]
            torch.nn.functional.cross_entropy(out, y).backward()
            opt.step()
    with torch.no_grad():
        pred = head(run(convs, data.x, data.edge_index).relu()).argmax(-1)
    return (pred[~train_mask] == data.y[~train_mask]).float().mean().item()


def test_mini_batch_training_reaches_full_batch_accuracy():
    data = sbm()
    full = train(data)
    mini = train(data, NeighborLoader(data, [10, 5], input_nodes=torch.arange(data.num_nodes) % 2 == 0,
                                      batch_size=64, shuffle=True), epochs=20)
    assert full > 0.8
    assert mini >= full - 0.05


def test_bad_input_names_the_argument():
    data = random_graph(seed=16)
    with pytest.raises(ValueError, match=r"num_neighbors\[1\]"):
        NeighborLoader(data, [3, -2])
    with pytest.raises(TypeError, match="num_neighbors"):
        NeighborLoader(data, 3)
    with pytest.raises(ValueError, match="num_neighbors.*homogeneous"):  # per-type fan-outs: hetero graphs only
        NeighborLoader(data, {("a", "to", "b"): [2]})
    with pytest.raises(IndexError, match="input_nodes"):
        NeighborLoader(data, [2], input_nodes=torch.tensor([0, data.num_nodes]))
    with pytest.raises(IndexError, match="input_nodes"):
        NeighborLoader(data, [2], input_nodes=torch.tensor([-1]))
    with pytest.raises(ValueError, match="input_nodes.*node type 'paper'"):
        NeighborLoader(data, [2], input_nodes=("paper", torch.tensor([0])))
    with pytest.raises(ValueError, match="boolean mask"):
        NeighborLoader(data, [2], input_nodes=torch.ones(3, dtype=torch.bool))
    with pytest.raises(TypeError, match="input_nodes"):
        NeighborLoader(data, [2], input_nodes=torch.tensor([0.5]))
    with pytest.raises(ValueError, match="time_attr"):
        NeighborLoader(data, [2], time_attr="missing")
    with pytest.raises(ValueError, match="weight_attr"):
        NeighborLoader(data, [2], weight_attr="y")
    with pytest.raises(ValueError, match="subgraph"):
        NeighborLoader(data, [2], subgraph_type="sideways")
    with pytest.raises(IndexError, match=r"edge_label_index\[1\]"):
        next(iter(LinkNeighborLoader(data, [2], edge_label_index=torch.tensor([[0], [10**6]]))))
    with pytest.raises(ValueError, match="edge_label_index"):
        LinkNeighborLoader(data, [2], edge_label_index=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="edge_label "):
        LinkNeighborLoader(data, [2], edge_label=torch.ones(3))
    # heterogeneous graphs: tests/test_hetero_loaders.py


def test_empty_graph_and_empty_fanouts():
    data = Data(x=torch.randn(10, 2), num_nodes=10)
    batch = next(iter(NeighborLoader(data, [3, 3], batch_size=4)))
    assert batch.num_sampled_edges == [0, 0] and batch.n_id.tolist() == [0, 1, 2, 3]
    assert torch.equal(batch.x, data.x[:4])
    batch = next(iter(NeighborLoader(random_graph(), [], batch_size=4)))
    assert batch.n_id.numel() == 4 and batch.edge_index.shape[1] == 0


def test_spawned_workers_give_the_num_workers_0_batches():
    """Workers started with 'spawn' (a fresh interpreter: the loader, its shared-memory CSC and meshgraph's library
    are re-created from the pickle) give the batches of num_workers=0, random fan-outs and shuffling included."""
    data = random_graph(N=60, seed=21)
    kw = dict(num_neighbors=[3, 2], batch_size=15, shuffle=True)
    torch.manual_seed(5)
    single = list(NeighborLoader(data, **kw))
    torch.manual_seed(5)
    spawned = list(NeighborLoader(data, num_workers=2, multiprocessing_context="spawn", **kw))
    assert len(single) == len(spawned) == 4
    for a, b in zip(single, spawned):
        for key in ("n_id", "e_id", "edge_index", "x", "input_id"):
            assert torch.equal(a[key], b[key]), key
    torch.manual_seed(6)
    other = list(NeighborLoader(data, **kw))
    assert any(a.n_id.numel() != b.n_id.numel() or not torch.equal(a.n_id, b.n_id) for a, b in zip(single, other))
