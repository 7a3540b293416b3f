"""ClusterData / ClusterLoader (METIS through pymetis: parts cover the graph, beat a random split on cut edges,
parts and batches are exactly the induced subgraphs, the disk cache is reused and a truncated / foreign / differently
configured cache is refused naming the file), the GraphSAINT samplers (induced subgraphs of the drawn nodes,
norms) and ImbalancedSampler (balanced draws)."""

import pytest
import torch

from meshgraph.records import Data
from meshgraph.sampling import (
    ClusterData,
    ClusterLoader,
    GraphSAINTEdgeSampler,
    GraphSAINTNodeSampler,
    GraphSAINTRandomWalkSampler,
    ImbalancedSampler,
)
from meshgraph.sampling import cluster as cluster_mod


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def community_graph(k=4, n=40, p_in=0.2, p_out=0.01, seed=0):
    g = torch.Generator().manual_seed(seed)
    c = torch.arange(k).repeat_interleave(n)
    prob = torch.where(c[:, None] == c[None, :], p_in, p_out)
    adj = torch.rand(k * n, k * n, generator=g) < prob
    adj = (adj | adj.t()) & ~torch.eye(k * n, dtype=torch.bool)
    perm = torch.randperm(k * n, generator=g)  # hide the communities from the node order
    adj = adj[perm][:, perm]
    ei = adj.nonzero().t()
    N = k * n
    return Data(x=torch.arange(N).float().view(-1, 1), edge_index=ei, edge_attr=torch.arange(ei.size(1)).float(),
                y=c[perm])


def global_edges(part_data, node_ids):
    return set(map(tuple, node_ids[part_data.edge_index].t().tolist()))


def induced(data, nodes):
    s = set(nodes.tolist())
    return {(a, b) for a, b in data.edge_index.t().tolist() if a in s and b in s}


@pytest.mark.parametrize("sparse_format", ["csr", "csc"])
def test_parts_are_induced_subgraphs_and_metis_beats_random(sparse_format):
    data = community_graph()
    cd = ClusterData(data, num_parts=4, log=False, sparse_format=sparse_format)
    p = cd.partition
    assert len(cd) == 4 and p.partptr[-1] == data.num_nodes
    assert torch.equal(p.node_perm.sort().values, torch.arange(data.num_nodes))
    part_of = torch.empty(data.num_nodes, dtype=torch.long)
    for i in range(4):
        part_of[p.node_perm[p.partptr[i]:p.partptr[i + 1]]] = i
    ei = data.edge_index
    cut = (part_of[ei[0]] != part_of[ei[1]]).sum()
    rand = torch.randint(0, 4, (data.num_nodes,), generator=torch.Generator().manual_seed(0))
    assert cut < 0.5 * (rand[ei[0]] != rand[ei[1]]).sum()
    for i in range(4):
        part = cd[i]
        nodes = p.node_perm[p.partptr[i]:p.partptr[i + 1]]
        assert torch.equal(part.x.view(-1).long(), nodes)  # node features follow the renumbering
        assert global_edges(part, nodes) == induced(data, nodes)
        assert torch.equal(data.edge_index[:, part.edge_attr.long()], nodes[part.edge_index])
        assert part.num_nodes == nodes.numel()


def test_keep_inter_cluster_edges_keeps_every_out_edge():
    data = community_graph(seed=1)
    cd = ClusterData(data, num_parts=3, log=False, keep_inter_cluster_edges=True)
    p = cd.partition
    total = 0
    for i in range(3):
        part = cd[i]
        s, e = int(p.partptr[i]), int(p.partptr[i + 1])
        assert (part.edge_index[0] < e - s).all()  # rows local, columns global (new ids)
        total += part.edge_index.size(1)
        assert part.edge_attr.numel() == part.edge_index.size(1)
    assert total == data.num_edges


def test_cluster_loader_batches_are_induced_on_the_union():
    data = community_graph(seed=2)
    cd = ClusterData(data, num_parts=6, log=False)
    loader = ClusterLoader(cd, batch_size=2, shuffle=True)
    seen = []
    for batch in loader:
        nodes = batch.x.view(-1).long()
        seen.append(nodes)
        assert global_edges(batch, nodes) == induced(data, nodes)
        assert torch.equal(data.edge_index[:, batch.edge_attr.long()], nodes[batch.edge_index])
    assert torch.equal(torch.cat(seen).sort().values, torch.arange(data.num_nodes))
    assert len(loader) == 3
    with pytest.raises(TypeError, match="cluster_data"):
        ClusterLoader(data)


def test_cache_is_reused_and_bad_caches_are_refused_naming_the_file(tmp_path, monkeypatch):
    data = community_graph(seed=3)
    cd = ClusterData(data, num_parts=3, save_dir=str(tmp_path), log=False)
    path = tmp_path / "part_3" / "metis.pt"
    assert path.exists()

    def no_metis(*a, **k):
        raise AssertionError("METIS ran although a valid cache exists")

    monkeypatch.setattr(cluster_mod, "metis", no_metis)
    again = ClusterData(data, num_parts=3, save_dir=str(tmp_path), log=False)
    assert torch.equal(again.partition.node_perm, cd.partition.node_perm)
    # another graph with the same sizes
    other = community_graph(seed=4)
    with pytest.raises(ValueError, match=r"metis\.pt.*another graph"):
        ClusterData(other, num_parts=3, save_dir=str(tmp_path), log=False)
    # other settings stored under the same file name
    with pytest.raises(ValueError, match=r"metis\.pt.*computed with"):
        ClusterData(data, num_parts=3, save_dir=str(tmp_path), log=False, sparse_format="csc")
    # a truncated file
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"metis\.pt.*truncated"):
        ClusterData(data, num_parts=3, save_dir=str(tmp_path), log=False)
    # a file that is not a partition
    torch.save({"hello": 1}, path)
    with pytest.raises(ValueError, match=r"metis\.pt.*not written by"):
        ClusterData(data, num_parts=3, save_dir=str(tmp_path), log=False)


def test_cluster_bad_input():
    data = community_graph(seed=5)
    with pytest.raises(ValueError, match="num_parts"):
        ClusterData(data, num_parts=0, log=False)
    with pytest.raises(ValueError, match="num_parts"):
        ClusterData(data, num_parts=10**6, log=False)
    with pytest.raises(ValueError, match="sparse_format"):
        ClusterData(data, num_parts=2, log=False, sparse_format="coo")
    with pytest.raises(ValueError, match="edge_index"):
        ClusterData(Data(x=torch.ones(3, 1)), num_parts=2, log=False)
    rec = ClusterData(data, num_parts=3, recursive=True, log=False)
    assert rec.partition.partptr[-1] == data.num_nodes and (rec.partition.partptr.diff() > 0).all()
    one = ClusterData(data, num_parts=1, log=False)
    assert one[0].edge_index.size(1) == data.num_edges


@pytest.mark.parametrize("cls,kw", [(GraphSAINTNodeSampler, {}), (GraphSAINTEdgeSampler, {}),
                                    (GraphSAINTRandomWalkSampler, {"walk_length": 2})])
def test_graph_saint_batches_are_induced_subgraphs_with_norms(cls, kw, tmp_path):
    data = community_graph(seed=6)
    loader = cls(data, batch_size=10, num_steps=3, sample_coverage=5, save_dir=str(tmp_path), log=False, **kw)
    assert len(loader) == 3
    for batch in loader:
        nodes = batch.x.view(-1).long()
        assert torch.equal(nodes, nodes.unique())
        assert global_edges(batch, nodes) == induced(data, nodes)
        assert torch.equal(data.edge_index[:, batch.edge_attr.long()], nodes[batch.edge_index])
        assert batch.node_norm.numel() == batch.num_nodes and batch.edge_norm.numel() == batch.num_edges
        assert (batch.node_norm > 0).all()
    assert any(p.suffix == ".pt" for p in tmp_path.iterdir())
    cached = cls(data, batch_size=10, num_steps=3, sample_coverage=5, save_dir=str(tmp_path), log=False, **kw)
    assert torch.equal(cached.node_norm, loader.node_norm)


def test_random_walk_sampler_nodes_are_walks():
    data = community_graph(seed=7)
    loader = GraphSAINTRandomWalkSampler(data, batch_size=3, walk_length=4, log=False)
    nodes = loader._sample_nodes(3).view(3, 5)
    adj = set(map(tuple, data.edge_index.t().tolist()))
    for walk in nodes.tolist():
        for a, b in zip(walk, walk[1:]):
            assert (a, b) in adj or a == b


def test_imbalanced_sampler_balances_classes():
    y = torch.cat([torch.zeros(900, dtype=torch.long), torch.ones(100, dtype=torch.long)])
    data = Data(x=torch.randn(1000, 1), y=y, edge_index=torch.empty(2, 0, dtype=torch.long))
    torch.manual_seed(0)
    drawn = y[torch.tensor(list(ImbalancedSampler(data)))]
    assert abs(drawn.float().mean().item() - 0.5) < 0.06
    drawn = y[torch.tensor(list(ImbalancedSampler(y, num_samples=4000)))]
    assert abs(drawn.float().mean().item() - 0.5) < 0.04
    graphs = [Data(x=torch.ones(1, 1), y=torch.tensor([int(i < 10)])) for i in range(100)]
    idx = torch.tensor(list(ImbalancedSampler(graphs, num_samples=2000)))
    assert abs((idx < 10).float().mean().item() - 0.5) < 0.05
    with pytest.raises(ValueError, match="integer class labels"):
        ImbalancedSampler(torch.rand(10))
    with pytest.raises(ValueError, match="one label per node"):
        ImbalancedSampler(Data(x=torch.ones(5, 1), y=torch.zeros(3, dtype=torch.long)))
