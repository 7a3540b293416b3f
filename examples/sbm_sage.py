"""The real task of issue 15: node classification on a stochastic block model graph, GraphSAGE trained full-batch
and mini-batch through NeighborLoader, evaluated on the test mask.

    python examples/sbm_sage.py --nodes 200000                    # the 200k version: full batch and mini-batch
    python examples/sbm_sage.py --nodes 2000000 --full-epochs 0   # the 2M version, mini-batch only

The graph: `meshgraph.datasets.stochastic_block_model_graph(N, 10, p_in=40 / N, p_out=4 / N, 16, seed=0)`
(feature noise 2.0; about 4 in-block and 3.6 cross-block neighbours per node whatever N; 10 % train, 10 % val,
80 % test nodes). docs/scaling.md ("Real task") lists its two Bayes accuracies and what this script measured.
Model: 2-layer GraphSAGE, hidden 32 (meshgraph SAGEConv, ReLU between). Full batch: `--full-epochs` (200) epochs
of Adam (lr 0.01) on the train mask. Mini-batch: `NeighborLoader(g, [10, 10], input_nodes=train_mask,
batch_size=256, shuffle=True)`, `--epochs` (8) epochs of Adam (lr 0.01), the test accuracy after every epoch. Both
are evaluated full-batch on the test mask, and start from the same weights (torch.manual_seed(seed)).
One thread by default (--threads). Prints one JSON line with everything measured (--out also writes it to a file).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from meshgraph.datasets import sbm_bayes_accuracy, stochastic_block_model_graph
from meshgraph.nn import SAGEConv
from meshgraph.records import Data
from meshgraph.sampling import NeighborLoader


class SAGE(torch.nn.Module):
    def __init__(self, cin: int, hidden: int, cout: int):
        super().__init__()
        self.c1, self.c2 = SAGEConv(cin, hidden), SAGEConv(hidden, cout)

    def forward(self, x, edge_index):
        return self.c2(F.relu(self.c1(x, edge_index)), edge_index)


def test_accuracy(model, d) -> float:
    model.eval()
    with torch.no_grad():
        pred = model(d.x, d.edge_index).argmax(-1)
    model.train()
    return float((pred[d.test_mask] == d.y[d.test_mask]).double().mean())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=200_000)
    p.add_argument("--blocks", type=int, default=10)
    p.add_argument("--features", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--full-epochs", type=int, default=200, help="full-batch epochs (0: skip full-batch training)")
    p.add_argument("--epochs", type=int, default=8, help="mini-batch epochs (0: skip)")
    p.add_argument("--fanout", type=int, nargs="+", default=[10, 10])
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="also write the JSON result to this file")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    N, K = args.nodes, args.blocks
    p_in, p_out = 40 / N, 4 / N
    t = time.perf_counter()
    d = stochastic_block_model_graph(N, K, p_in, p_out, args.features, args.seed)
    res = {"nodes": N, "blocks": K, "p_in": p_in, "p_out": p_out, "directed_edges": d.edge_index.size(1),
           "train_nodes": int(d.train_mask.sum()), "test_nodes": int(d.test_mask.sum()),
           "generation_s": round(time.perf_counter() - t, 1), "threads": args.threads}
    bayes = sbm_bayes_accuracy(d, p_in, p_out, mask=d.test_mask)
    res["bayes_features"], res["bayes_features_labels"] = bayes["features"], bayes["features+labels"]
    log(f"graph: {N} nodes, {res['directed_edges']} directed edges ({res['generation_s']} s); Bayes on the test "
        f"mask: features {bayes['features']:.3f}, features + labels {bayes['features+labels']:.3f}")

    if args.full_epochs:
        torch.manual_seed(args.seed)
        model = SAGE(args.features, args.hidden, K)
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
        t = time.perf_counter()
        for e in range(args.full_epochs):
            loss = F.cross_entropy(model(d.x, d.edge_index)[d.train_mask], d.y[d.train_mask])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if (e + 1) % 50 == 0:
                log(f"full batch: epoch {e + 1}, loss {float(loss.detach()):.4f}")
        res["full_batch_s"] = round(time.perf_counter() - t, 1)
        res["full_batch_test_accuracy"] = test_accuracy(model, d)
        log(f"full batch: test accuracy {res['full_batch_test_accuracy']:.4f} ({res['full_batch_s']} s)")

    if args.epochs:
        g = Data(x=d.x, y=d.y, edge_index=d.edge_index, num_nodes=N)
        torch.manual_seed(args.seed)
        model = SAGE(args.features, args.hidden, K)
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
        loader = NeighborLoader(g, args.fanout, input_nodes=d.train_mask, batch_size=args.batch_size, shuffle=True)
        res["batches_per_epoch"] = len(loader)
        acc, t = [], time.perf_counter()
        for e in range(args.epochs):
            for b in loader:
                loss = F.cross_entropy(model(b.x, b.edge_index)[: b.batch_size], b.y[: b.batch_size])
                opt.zero_grad()
                loss.backward()
                opt.step()
            acc.append(test_accuracy(model, d))
            log(f"mini-batch: epoch {e + 1}, test accuracy {acc[-1]:.4f} ({time.perf_counter() - t:.0f} s)")
        res["minibatch_s"] = round(time.perf_counter() - t, 1)  # evaluation after every epoch included
        res["minibatch_test_accuracy"] = acc
    res["peak_rss_mb"] = round(peak_rss_mb())
    print(json.dumps(res), flush=True)
    if args.out is not None:
        args.out.write_text(json.dumps(res) + "\n")
    return res


if __name__ == "__main__":
    main()
