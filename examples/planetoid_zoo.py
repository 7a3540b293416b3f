"""Six more Planetoid models, each with its paper's recipe, trained with meshgraph's layers and with PyG's in the
same process (same code, same seeds, same splits): GATv2, APPNP, SGC, ChebNet, GCNII and a UniMP-style
TransformerConv.

    python examples/planetoid_zoo.py --data ../shared/data --seeds 10            # both libraries
    python examples/planetoid_zoo.py --models sgc appnp --libs meshgraph         # a subset

The model code is written once against a layer namespace (`meshgraph.nn` or `torch_geometric.nn`), so the two
columns differ only in the layers. Every run reports the test accuracy at the epoch of best validation accuracy
(ties: lower validation loss), the rule of examples/planetoid.py's GCN. Recipes (dataset-specific values as in the
papers / PyG's examples):

- GATv2 (Brody et al. 2022): GAT's recipe with GATv2Conv: 8 heads x 8 hidden, ELU, 1 output head, dropout 0.6 on
  inputs, attention and hidden features, Adam lr 0.005, weight decay 5e-4, 500 epochs.
- APPNP (Klicpera et al. 2019): 2-layer MLP (64 hidden, dropout 0.5) then K = 10 propagation steps with
  alpha = 0.1 and dropout 0.5 on the propagation matrix, Adam lr 0.01, weight decay 5e-3 on the first layer, 500
  epochs.
- SGC (Wu et al. 2019): K = 2, one linear layer, Adam lr 0.2, weight decay 5e-5 (Cora) / 1e-4 (CiteSeer) as tuned
  in the paper's code, 100 epochs.
- ChebNet (Defferrard et al. 2016, with Kipf & Welling's setting): 2 ChebConv layers, K = 3, 16 hidden,
  dropout 0.5, Adam lr 0.01, weight decay 5e-4, 200 epochs.
- GCNII (Chen et al. 2020): Cora 64 layers x 64 hidden, lambda 0.5, dropout 0.6; CiteSeer 32 layers x 256 hidden,
  lambda 0.6, dropout 0.7; alpha 0.1, Adam lr 0.01 with weight decay 0.01 on the convolutions and 5e-4 on the
  linear layers, 1000 epochs.
- UniMP-style TransformerConv (Shi et al. 2021): input features plus an embedding of the training labels; each
  epoch half the training nodes show their label and the other half are predicted (masked label prediction); at
  evaluation every training label is shown. 2 TransformerConv layers (8 heads x 8, beta gating, dropout 0.6 on
  attention), Adam lr 0.005, weight decay 5e-4, 300 epochs.

Results land in docs/planetoid.md.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from meshgraph.datasets import load_planetoid


def layers(lib: str):
    return importlib.import_module("meshgraph.nn" if lib == "meshgraph" else "torch_geometric.nn")


class GATv2(nn.Module):
    recipe = dict(lr=0.005, wd=5e-4, epochs=500)

    def __init__(self, L, f, c, dataset):
        super().__init__()
        self.c1 = L.GATv2Conv(f, 8, heads=8, dropout=0.6)
        self.c2 = L.GATv2Conv(64, c, heads=1, concat=False, dropout=0.6)

    def forward(self, x, ei, y=None, train=None):
        x = F.dropout(x, 0.6, self.training)
        x = F.elu(self.c1(x, ei))
        return self.c2(F.dropout(x, 0.6, self.training), ei)


class APPNPNet(nn.Module):
    recipe = dict(lr=0.01, wd=5e-3, epochs=500)

    def __init__(self, L, f, c, dataset):
        super().__init__()
        self.l1, self.l2 = nn.Linear(f, 64), nn.Linear(64, c)
        self.prop = L.APPNP(K=10, alpha=0.1, dropout=0.5)

    def param_groups(self, wd):  # the paper's L2 penalty is on the first layer's weights only
        return [dict(params=self.l1.parameters(), weight_decay=wd),
                dict(params=[*self.l2.parameters(), *self.prop.parameters()], weight_decay=0.0)]

    def forward(self, x, ei, y=None, train=None):
        x = F.relu(self.l1(F.dropout(x, 0.5, self.training)))
        x = self.l2(F.dropout(x, 0.5, self.training))
        return self.prop(x, ei)


class SGC(nn.Module):
    recipe = dict(lr=0.2, wd={"cora": 5e-5, "citeseer": 1e-4}, epochs=100)

    def __init__(self, L, f, c, dataset):
        super().__init__()
        self.conv = L.SGConv(f, c, K=2, cached=True)

    def forward(self, x, ei, y=None, train=None):
        return self.conv(x, ei)


class ChebNet(nn.Module):
    recipe = dict(lr=0.01, wd=5e-4, epochs=200)

    def __init__(self, L, f, c, dataset):
        super().__init__()
        self.c1, self.c2 = L.ChebConv(f, 16, K=3), L.ChebConv(16, c, K=3)

    def forward(self, x, ei, y=None, train=None):
        x = F.relu(self.c1(F.dropout(x, 0.5, self.training), ei))
        return self.c2(F.dropout(x, 0.5, self.training), ei)


class GCNII(nn.Module):
    SETTINGS = {"cora": (64, 64, 0.5, 0.6), "citeseer": (32, 256, 0.6, 0.7)}  # layers, hidden, lambda, dropout
    recipe = dict(lr=0.01, wd=None, epochs=1000)

    def __init__(self, L, f, c, dataset):
        super().__init__()
        n, h, theta, self.p = self.SETTINGS[dataset]
        self.lins = nn.ModuleList([nn.Linear(f, h), nn.Linear(h, c)])
        self.convs = nn.ModuleList([L.GCN2Conv(h, alpha=0.1, theta=theta, layer=i + 1, cached=True) for i in range(n)])

    def param_groups(self, wd):
        return [dict(params=self.convs.parameters(), weight_decay=0.01), dict(params=self.lins.parameters(), weight_decay=5e-4)]

    def forward(self, x, ei, y=None, train=None):
        x = x0 = F.relu(self.lins[0](F.dropout(x, self.p, self.training)))
        for conv in self.convs:
            x = F.relu(conv(F.dropout(x, self.p, self.training), x0, ei))
        return self.lins[1](F.dropout(x, self.p, self.training))


class UniMP(nn.Module):
    recipe = dict(lr=0.005, wd=5e-4, epochs=300)

    def __init__(self, L, f, c, dataset):
        super().__init__()
        self.classes = c
        self.label_emb = nn.Embedding(c + 1, f)  # index c: "label not shown"
        self.c1 = L.TransformerConv(f, 8, heads=8, dropout=0.6, beta=True)
        self.c2 = L.TransformerConv(64, c, heads=1, concat=False, dropout=0.6, beta=True)

    def forward(self, x, ei, y=None, shown=None):
        lab = torch.full((x.shape[0],), self.classes, dtype=torch.long)
        if shown is not None:
            lab[shown] = y[shown]
        x = F.dropout(x, 0.6, self.training) + self.label_emb(lab)
        x = F.elu(self.c1(x, ei))
        return self.c2(F.dropout(x, 0.6, self.training), ei)


MODELS = {"gatv2": GATv2, "appnp": APPNPNet, "sgc": SGC, "chebnet": ChebNet, "gcnii": GCNII, "unimp": UniMP}


def run_one(model_name: str, lib: str, g, dataset: str, seed: int) -> tuple[float, float]:
    """(test accuracy in %, median ms per training step) of one seeded run."""
    torch.manual_seed(seed)
    x, y = g.packed("x"), g.packed("y")
    ei = g.edge_index  # a plain (2, E) tensor: the same argument for both libraries
    masks = {k: g.packed(f"{k}_mask") for k in ("train", "val", "test")}
    train_idx = masks["train"].nonzero().view(-1)
    cls = MODELS[model_name]
    model = cls(layers(lib), x.shape[1], int(y.max()) + 1, dataset)
    wd = cls.recipe["wd"]
    wd = wd[dataset] if isinstance(wd, dict) else wd
    groups = model.param_groups(wd) if hasattr(model, "param_groups") else [dict(params=model.parameters(), weight_decay=wd)]
    opt = torch.optim.Adam(groups, lr=cls.recipe["lr"])
    gen = torch.Generator().manual_seed(seed)
    best = (-1.0, float("inf"), 0.0)
    times = []
    for _ in range(cls.recipe["epochs"]):
        t0 = time.perf_counter()
        model.train()
        opt.zero_grad()
        if model_name == "unimp":
            perm = train_idx[torch.randperm(train_idx.numel(), generator=gen)]
            shown, target = perm[: perm.numel() // 2], perm[perm.numel() // 2 :]
            out = model(x, ei, y, shown)
        else:
            target = train_idx
            out = model(x, ei)
        F.cross_entropy(out[target], y[target]).backward()
        opt.step()
        times.append(time.perf_counter() - t0)
        model.eval()
        with torch.no_grad():
            out = model(x, ei, y, train_idx) if model_name == "unimp" else model(x, ei)
            pred = out.argmax(1)
            acc = {k: float((pred[m] == y[m]).float().mean()) for k, m in masks.items()}
            val_loss = float(F.cross_entropy(out[masks["val"]], y[masks["val"]]))
        if acc["val"] > best[0] or (acc["val"] == best[0] and val_loss < best[1]):
            best = (acc["val"], val_loss, acc["test"])
    return 100 * best[2], 1000 * statistics.median(times)


def main(argv=None) -> list[tuple]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--datasets", nargs="+", default=["cora", "citeseer"])
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument("--libs", nargs="+", default=["meshgraph", "pyg"])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--epochs", type=int, default=None, help="override every recipe's epoch count (smoke runs)")
    args = p.parse_args(argv)
    if args.epochs is not None:
        for cls in MODELS.values():
            cls.recipe = dict(cls.recipe, epochs=args.epochs)
    rows = []
    for dataset in args.datasets:
        g = load_planetoid(Path(args.data) / f"{dataset}.npz")
        for name in args.models:
            for lib in args.libs:
                accs, ms = zip(*(run_one(name, lib, g, dataset, s) for s in range(args.seeds)))
                sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
                rows.append((dataset, name, lib, statistics.mean(accs), sd, statistics.median(ms)))
                print(f"{dataset:9s} {name:8s} {lib:9s} {rows[-1][3]:5.1f} +- {sd:.1f} %  {rows[-1][5]:7.1f} ms/step", flush=True)
    return rows


if __name__ == "__main__":
    main()
