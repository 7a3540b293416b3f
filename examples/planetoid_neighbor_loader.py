"""GraphSAGE on Cora: neighbour-sampled mini-batches through NeighborLoader against full-batch training.

    python examples/planetoid_neighbor_loader.py --data ../shared/data --seeds 10

One recipe for both (issue 15: "Planetoid through NeighborLoader matches full-batch accuracy, +-1 point"): a 2-layer
GraphSAGE (mean aggregation, 32 hidden, ReLU, dropout 0.5), Adam lr 0.01, weight decay 5e-4, 50 epochs, the
model of the last epoch. Full batch: one step per epoch on the whole graph, the loss over the 140 training nodes.
Mini-batch: NeighborLoader over the training nodes (fan-out [10, 10], batch size 140: one step per epoch as well),
the loss over each batch's seeds. Both models are then evaluated on the 1,000 test nodes, the mini-batch one through
NeighborLoader too (the same fan-out: sampled inference), and also on the full graph.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch
import torch.nn.functional as F

from meshgraph.datasets import load_planetoid
from meshgraph.nn import SAGEConv
from meshgraph.records import Data
from meshgraph.sampling import NeighborLoader


class SAGE(torch.nn.Module):
    def __init__(self, in_dim: int, hidden: int, classes: int, dropout: float = 0.5):
        super().__init__()
        self.conv1 = SAGEConv(in_dim, hidden)
        self.conv2 = SAGEConv(hidden, classes)
        self.dropout = dropout

    def forward(self, x, edge_index):
        x = F.dropout(x, self.dropout, self.training)
        x = F.relu(self.conv1(x, edge_index))
        x = F.dropout(x, self.dropout, self.training)
        return self.conv2(x, edge_index)


def cora(path: Path) -> Data:
    g = load_planetoid(path)
    return Data(x=g.packed("x"), y=g.packed("y"), edge_index=g.edge_index,
                train_mask=g.packed("train_mask"), test_mask=g.packed("test_mask"))


def run(data: Data, seed: int, epochs: int = 50, fanout=(10, 10), batch_size: int = 140, hidden: int = 32) -> dict:
    """Test accuracies of one seed: full-batch training, mini-batch training (sampled and full-graph inference)."""
    classes = int(data.y.max()) + 1
    train, test = data.train_mask, data.test_mask

    def make():
        torch.manual_seed(seed)
        model = SAGE(data.x.size(1), hidden, classes)
        return model, torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)

    def full_graph_accuracy(model):
        model.eval()
        with torch.no_grad():
            pred = model(data.x, data.edge_index).argmax(-1)
        return float((pred[test] == data.y[test]).float().mean())

    full, opt = make()
    for _ in range(epochs):
        full.train()
        opt.zero_grad()
        F.cross_entropy(full(data.x, data.edge_index)[train], data.y[train]).backward()
        opt.step()

    mini, opt = make()
    loader = NeighborLoader(data, list(fanout), input_nodes=train, batch_size=batch_size, shuffle=True)
    for _ in range(epochs):
        mini.train()
        for b in loader:
            opt.zero_grad()
            out = mini(b.x, b.edge_index)[:b.batch_size]
            F.cross_entropy(out, b.y[:b.batch_size]).backward()
            opt.step()
    mini.eval()
    correct = 0
    with torch.no_grad():
        for b in NeighborLoader(data, list(fanout), input_nodes=test, batch_size=500):
            correct += int((mini(b.x, b.edge_index)[:b.batch_size].argmax(-1) == b.y[:b.batch_size]).sum())
    return dict(full=full_graph_accuracy(full), mini=correct / int(test.sum()), mini_full_graph=full_graph_accuracy(mini))


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = cora(args.data / "cora.npz")
    rows = []
    for s in range(args.seeds):
        rows.append(r := run(data, s, args.epochs))
        print(f"seed {s}: full-batch {100 * r['full']:.1f}  NeighborLoader {100 * r['mini']:.1f} "
              f"(full-graph inference {100 * r['mini_full_graph']:.1f})", flush=True)
    for key in ("full", "mini", "mini_full_graph"):
        v = [100 * r[key] for r in rows]
        sd = statistics.stdev(v) if len(v) > 1 else 0.0
        print(f"{key}: {statistics.mean(v):.2f} +- {sd:.2f}")
    return rows


if __name__ == "__main__":
    main()
