"""TU-format reader: generated datasets read back, compared with PyG's own reader on the same files."""

import numpy as np
import pytest
import torch

from meshgraph.datasets import TUDataset, read_tu_data, write_tu_data
from meshgraph.records import Data


def _random_graphs(num_graphs, gen, node_attr=0, edge_attr=0, float_y=False):
    graphs, node_labels, edge_labels = [], [], []
    for g in range(num_graphs):
        n = int(torch.randint(1, 9, (1,), generator=gen))
        e = int(torch.randint(0, 3 * n + 1, (1,), generator=gen))
        ei = torch.randint(0, n, (2, e), generator=gen)  # duplicates and self loops on purpose
        d = Data(edge_index=ei, num_nodes=n)
        if node_attr:
            d.x = torch.randn(n, node_attr, generator=gen)
        if edge_attr:
            d.edge_attr = torch.randn(e, edge_attr, generator=gen)
        d.y = torch.randn(1, 2, generator=gen) if float_y else torch.tensor([int(torch.randint(3, 7, (1,), generator=gen))])
        graphs.append(d)
        node_labels.append(torch.randint(2, 5, (n, 2), generator=gen))
        edge_labels.append(torch.randint(0, 3, (e,), generator=gen))
    return graphs, node_labels, edge_labels


@pytest.mark.parametrize("node_attr,edge_attr,float_y", [(0, 0, False), (3, 2, False), (1, 0, True)])
def test_read_matches_pyg_reader(tmp_path, node_attr, edge_attr, float_y):
    from torch_geometric.io import read_tu_data as pyg_read

    gen = torch.Generator().manual_seed(node_attr * 10 + edge_attr)
    graphs, nl, el = _random_graphs(12, gen, node_attr, edge_attr, float_y)
    write_tu_data(tmp_path, "TOY", graphs, node_labels=nl, edge_labels=el)
    ours, sizes = read_tu_data(tmp_path, "TOY")
    data, slices, pyg_sizes = pyg_read(str(tmp_path), "TOY")
    assert sizes == pyg_sizes
    assert len(ours) == len(slices["edge_index"]) - 1 == 12
    for g, d in enumerate(ours):
        e0, e1 = slices["edge_index"][g], slices["edge_index"][g + 1]
        n0, n1 = slices["x"][g], slices["x"][g + 1]
        assert torch.equal(d.edge_index, data.edge_index[:, e0:e1])
        torch.testing.assert_close(d.x, data.x[n0:n1])
        torch.testing.assert_close(d.edge_attr, data.edge_attr[e0:e1])
        y0, y1 = slices["y"][g], slices["y"][g + 1]
        torch.testing.assert_close(d.y, data.y[y0:y1])


def test_dataset_strips_attributes_as_pyg_and_indexes(tmp_path):
    gen = torch.Generator().manual_seed(3)
    graphs, nl, el = _random_graphs(10, gen, node_attr=2, edge_attr=3)
    write_tu_data(tmp_path / "TOY" / "raw", "TOY", graphs, node_labels=nl, edge_labels=el)
    full = TUDataset(str(tmp_path), "TOY", use_node_attr=True, use_edge_attr=True)
    labels_only = TUDataset(str(tmp_path), "TOY")
    assert len(full) == 10 and full.num_node_attributes == 2 and full.num_edge_attributes == 3
    assert full.num_node_features == 2 + full.num_node_labels
    assert labels_only.num_node_features == full.num_node_labels
    assert labels_only.num_edge_features == full.num_edge_labels
    torch.testing.assert_close(labels_only[4].x, full[4].x[:, 2:])
    torch.testing.assert_close(full[4].x[:, :2], graphs[4].x)
    ys = sorted({int(g.y) for g in graphs})
    assert full.num_classes == len(ys) and int(full[4].y) == ys.index(int(graphs[4].y))
    sub = full[torch.tensor([7, 2])]
    assert len(sub) == 2 and torch.equal(sub[1].edge_index, full[2].edge_index)
    assert len(full[::3]) == 4
    shuffled, perm = full.shuffle(return_perm=True, generator=torch.Generator().manual_seed(0))
    assert torch.equal(shuffled[0].x, full[int(perm[0])].x)
    seen = TUDataset(str(tmp_path), "TOY", transform=lambda d: Data(x=d.x * 0, edge_index=d.edge_index))
    assert float(seen[0].x.abs().sum()) == 0


def test_dataset_batches_through_the_loader(tmp_path):
    from meshgraph.loader import DataLoader

    gen = torch.Generator().manual_seed(5)
    graphs, nl, el = _random_graphs(9, gen)
    write_tu_data(tmp_path / "T", "T", graphs, node_labels=nl)
    ds = TUDataset(str(tmp_path), "T")
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch.num_graphs == 4 and batch.y.shape == (4,)
    assert batch.x.shape[0] == sum(ds[i].num_nodes for i in range(4))


def test_errors_name_the_file_and_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="X_A.txt"):
        TUDataset(str(tmp_path), "X")
    (tmp_path / "X").mkdir()
    (tmp_path / "X" / "X_A.txt").write_text("1, 2\n2, oops\n")
    (tmp_path / "X" / "X_graph_indicator.txt").write_text("1\n1\n")
    with pytest.raises(ValueError, match=r"X_A.txt:2"):
        TUDataset(str(tmp_path), "X")
    (tmp_path / "X" / "X_A.txt").write_text("1, 2\n2, 3\n")
    with pytest.raises(ValueError, match="node ids must lie in 1..2"):
        TUDataset(str(tmp_path), "X")
    (tmp_path / "X" / "X_A.txt").write_text("1, 2\n")
    (tmp_path / "X" / "X_graph_labels.txt").write_text("0\n1\n")
    with pytest.raises(ValueError, match="X_graph_labels.txt: 2 lines, expected one per graph"):
        TUDataset(str(tmp_path), "X")
    with pytest.raises(TypeError, match="name"):
        TUDataset(str(tmp_path), "")


def test_graph_without_edges_and_isolated_nodes(tmp_path):
    graphs = [Data(edge_index=torch.zeros(2, 0, dtype=torch.long), num_nodes=3, y=torch.tensor([0])),
              Data(edge_index=torch.tensor([[0, 0], [0, 1]]), num_nodes=4, y=torch.tensor([1]))]
    write_tu_data(tmp_path, "E", graphs)
    out, _ = read_tu_data(tmp_path, "E")
    assert out[0].num_nodes == 3 and out[0].edge_index.shape == (2, 0)
    assert out[1].num_nodes == 4 and out[1].edge_index.tolist() == [[0], [1]]  # the self loop is gone
    assert np.array_equal([int(d.y) for d in out], [0, 1])


def test_compat_signature_is_pygs():
    import inspect

    from torch_geometric.datasets import TUDataset as PygTU

    from meshgraph.compat.pyg.datasets import TUDataset as CompatTU

    ours, theirs = inspect.signature(CompatTU.__init__), inspect.signature(PygTU.__init__)
    assert [(p.name, p.default) for p in ours.parameters.values()] == [(p.name, p.default) for p in theirs.parameters.values()]
