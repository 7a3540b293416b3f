"""compat.pyg.loader.DataLoader: PyG's batching of records, in the torch DataLoader (workers included)."""

import torch
import torch_geometric

from meshgraph.compat.pyg.data import Batch, Data
from meshgraph.compat.pyg.loader import DataLoader


def _dataset(n=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        v = 3 + i % 4
        out.append(Data(x=torch.randn(v, 5, generator=g), edge_index=torch.randint(0, v, (2, 2 * v), generator=g),
                        y=torch.tensor([i % 3]), pos=torch.rand(v, 3, generator=g)))
    return out


def test_batches_match_pyg_loader_on_the_same_records():
    ours = _dataset()
    theirs = [torch_geometric.data.Data(**{k: d[k] for k in d.keys()}) for d in ours]
    got = list(DataLoader(ours, batch_size=4))
    want = list(torch_geometric.loader.DataLoader(theirs, batch_size=4))
    assert len(got) == len(want) == 3
    for a, b in zip(got, want):
        assert isinstance(a, Batch) and a.num_graphs == b.num_graphs
        for key in ("x", "edge_index", "y", "pos", "batch", "ptr"):
            assert torch.equal(a[key], b[key]), key


def test_shuffle_follow_batch_and_workers():
    data = _dataset(8)
    seen = []
    for batch in DataLoader(data, batch_size=3, shuffle=True, follow_batch=["pos"], num_workers=2):
        assert torch.equal(batch.pos_batch, batch.batch)
        seen.append(int(batch.num_graphs))
    assert sorted(seen) == [2, 3, 3]
    assert sorted(int(b.y.sum()) for b in DataLoader(data, batch_size=8, shuffle=True)) == [sum(i % 3 for i in range(8))]


def test_plain_items_collate_like_pyg():
    items = [(torch.ones(2) * i, 1.5, "a", {"k": i}) for i in range(3)]
    out = next(iter(DataLoader(items, batch_size=3)))
    want = next(iter(torch_geometric.loader.DataLoader(items, batch_size=3)))
    assert out[0].shape == (3, 2) and torch.equal(out[0], want[0]) and torch.equal(out[1], want[1])
    assert out[2] == want[2] and torch.equal(out[3]["k"], want[3]["k"])
