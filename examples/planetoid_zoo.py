"""Six more Planetoid models, each with its paper's recipe, trained with meshgraph's layers and with PyG's in the
same process (same model code, same initial weights, same seeds, same data): GATv2, APPNP, SGC, ChebNet, GCNII and
a UniMP-style TransformerConv.

    python examples/planetoid_zoo.py --data ../shared/data --seeds 10                     # both libraries, all pairs
    python examples/planetoid_zoo.py --models sgc appnp --libs meshgraph                  # a subset
    python examples/planetoid_zoo.py --models gatv2 --datasets cora --results docs/planetoid_zoo.jsonl   # resumable
    python examples/planetoid_zoo.py --results docs/planetoid_zoo.jsonl --render docs/planetoid.md       # the table
    python examples/planetoid_zoo.py --models chebnet --datasets cora --trace 30          # per-epoch losses, 1 seed

The model code is written once against a layer namespace (`meshgraph.nn` or `torch_geometric.nn`), so the two
columns differ only in the graph layers. Both start from the same weights: the model is built with PyG's layers
under `torch.manual_seed(seed)` and the meshgraph model loads its state dict (strictly: the parameter names and
shapes are PyG's), then the global RNG is reseeded, so the first dropout masks drawn in the model code are equal
too. Before the seeds of a pair run, `check_same_start` compares the two models' outputs on the data.

Recipes (each paper's code; the split is the Planetoid one for all):

- SGC (Wu et al. 2019, Tiiiger/SGC): K = 2, one linear layer on the propagated features, no dropout, Adam lr 0.2,
  weight decay tuned by the authors with hyperopt (SGC-tuning/*.txt: Cora 1.30e-5, CiteSeer 2.35e-5), 100 epochs
  on Cora and 150 on CiteSeer (the README's commands), test accuracy of the final model.
- APPNP (Gasteiger, née Klicpera, et al. 2019, gasteigerjo/ppnp): 2-layer MLP, 64 hidden, dropout 0.5 on the
  inputs of both layers, then K = 10 steps with alpha = 0.1 and dropout 0.5 on the propagation matrix, Adam
  lr 0.01, L2 5e-3 on the first layer's weight only, early stopping with patience 100 on validation accuracy and
  loss (the loss with its L2 term; at most 10,000 epochs), the model of the best (accuracy, then loss) epoch
  ("ranked").
- ChebNet (Defferrard et al. 2016, in Kipf & Welling's comparison, tkipf/gcn): Chebyshev polynomials up to degree
  K = 3 (four terms: PyG's ChebConv K=4), 2 layers, 16 hidden, ReLU, dropout 0.5 on the inputs of both layers,
  Adam lr 0.01, weight decay 5e-4 on the first layer's weights, 200 epochs, stopped once the validation loss (with
  its L2 term) exceeds the mean of the 10 before it; test accuracy of the final model.
- GATv2 (Brody et al. 2022) on GAT's Planetoid recipe (Velickovic et al. 2018, PetarV-/GAT), in PyG's placement
  of dropout: 8 heads x 8 hidden, ELU, 1 output head, dropout 0.6 on the inputs of both layers and on the attention
  coefficients, Adam lr 0.005, weight decay 5e-4, patience 100 (at most 1,000 epochs), GAT's selection (the last
  epoch at which validation accuracy and loss were both at their best so far).
- GCNII (Chen et al. 2020, chennnM/GCNII): Cora 64 layers x 64 hidden, lambda 0.5, dropout 0.6; CiteSeer 32 layers x
  256 hidden, lambda 0.6, dropout 0.7; alpha 0.1, shared weights, dropout before every layer, Adam lr 0.01 with
  weight decay 0.01 on the convolutions and 5e-4 on the two linear layers, at most 1,500 epochs, patience 100 on
  the validation loss, the model of the lowest validation loss.
- UniMP-style TransformerConv (Shi et al. 2021; the paper has no Planetoid recipe: GAT's sizes): input features
  plus an embedding of the training labels; each epoch half the training nodes show their label and the other half
  are predicted (masked label prediction); at evaluation every training label is shown. 2 TransformerConv layers
  (8 heads x 8, beta gating, dropout 0.6 on attention and on the inputs of both layers), Adam lr 0.005, weight
  decay 5e-4, 300 epochs, the epoch of best validation accuracy (ties: lower validation loss).

APPNP and GCNII feed the bag-of-words features to their first (model-code) linear layer as a sparse matrix and
GATv2 to its layer's projections (dropout on the non-zeros: the distribution of dense dropout, since zeros stay
zero), as the APPNP and GCN authors' code does; the outputs are the same as with the dense matrix, only cheaper.
Results land in docs/planetoid.md (`--render`), from the JSON-lines file given to `--results` (one line per run;
a rerun skips the runs already recorded with the same recipe).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from meshgraph.datasets import load_planetoid

DATASET_NAMES = {"cora": "Cora", "citeseer": "CiteSeer"}


class _Namespace:
    """A module's names with some replaced."""

    def __init__(self, base, **replaced):
        self._base, self._replaced = base, replaced

    def __getattr__(self, name):
        return self._replaced[name] if name in self._replaced else getattr(self._base, name)


def _pyg_appnp_fixed(base):
    """PyG 2.8's APPNP with its edge dropout drawn afresh from the normalized weights at every step (PyG applies
    it to the previous step's already-dropped weights, so an edge survives k steps with probability (1 - p)^k,
    scaled by 1 / (1 - p)^k: pyg-team/pytorch_geometric#10783). Dense edge_index inputs only."""
    from torch_geometric.nn.conv.gcn_conv import gcn_norm

    class APPNP(base.APPNP):
        def forward(self, x, edge_index, edge_weight=None):
            if self.normalize:
                edge_index, edge_weight = gcn_norm(edge_index, edge_weight, x.size(self.node_dim), False,
                                                   self.add_self_loops, self.flow, dtype=x.dtype)
            h = x
            for _ in range(self.K):
                w = F.dropout(edge_weight, p=self.dropout) if self.dropout > 0 and self.training else edge_weight
                x = self.propagate(edge_index, x=x, edge_weight=w)
                x = x * (1 - self.alpha)
                x = x + self.alpha * h
            return x

    return APPNP


LIBS = ("meshgraph", "pyg", "pyg-fixed")  # pyg-fixed: PyG with the APPNP fix above


def layers(lib: str):
    if lib == "meshgraph":
        return importlib.import_module("meshgraph.nn")
    base = importlib.import_module("torch_geometric.nn")
    return base if lib == "pyg" else _Namespace(base, APPNP=_pyg_appnp_fixed(base))


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """F.dropout; for sparse COO features, dropout of the stored values (zeros stay zero either way)."""
    if not x.is_sparse:
        return F.dropout(x, p, training)
    if not training or p == 0.0:
        return x
    return torch.sparse_coo_tensor(x.indices(), F.dropout(x.values(), p, True), x.shape, is_coalesced=True,
                                   check_invariants=False)


def linear(lin: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """lin(x) for dense or sparse COO x."""
    return lin(x) if not x.is_sparse else torch.sparse.mm(x, lin.weight.t()) + lin.bias


# ---------------------------------------------------------------------- models
# recipe: lr, weight decay (param_groups when it is not uniform), epochs (the most), selection rule, patience.


class SGC(nn.Module):
    published = {"cora": "81.0 +- 0.0 %", "citeseer": "71.9 +- 0.1 %"}
    source = "Wu et al. 2019"

    @staticmethod
    def recipe(dataset):
        wd = {"cora": 1.3026973714043257e-05, "citeseer": 2.3545587233182368e-05}[dataset]  # SGC-tuning/*.txt
        return dict(lr=0.2, wd=wd, epochs={"cora": 100, "citeseer": 150}[dataset], select="final")

    def __init__(self, L, f, c, dataset):
        super().__init__()
        self.conv = L.SGConv(f, c, K=2, cached=True)

    def forward(self, x, ei, y=None, shown=None):
        return self.conv(x, ei)


class APPNPNet(nn.Module):
    published = {"cora": "(85.1 +- 0.3 % on Cora-ML, own splits)", "citeseer": "(75.7 +- 0.3 %, own splits)"}
    source = "Gasteiger et al. 2019"
    sparse_input = True

    @staticmethod
    def recipe(dataset):
        return dict(lr=0.01, wd=5e-3, epochs=10000, select="ranked", patience=100, l2_in_val_loss=True)

    def __init__(self, L, f, c, dataset):
        super().__init__()
        self.l1, self.l2 = nn.Linear(f, 64), nn.Linear(64, c)
        self.prop = L.APPNP(K=10, alpha=0.1, dropout=0.5)

    def param_groups(self, wd):  # the paper's L2 penalty is on the first layer's weight only
        return [dict(params=[self.l1.weight], weight_decay=wd),
                dict(params=[self.l1.bias, *self.l2.parameters(), *self.prop.parameters()], weight_decay=0.0)]

    def forward(self, x, ei, y=None, shown=None):
        x = F.relu(linear(self.l1, dropout(x, 0.5, self.training)))
        x = self.l2(F.dropout(x, 0.5, self.training))
        return self.prop(x, ei)


class ChebNet(nn.Module):
    published = {"cora": "79.5 %", "citeseer": "69.8 %"}  # Kipf & Welling 2017, Table 3, Chebyshev K = 3
    source = "Kipf & Welling 2017"

    @staticmethod
    def recipe(dataset):
        return dict(lr=0.01, wd=5e-4, epochs=200, select="kipf", window=10, l2_in_val_loss=True)

    def __init__(self, L, f, c, dataset):
        super().__init__()
        # Kipf & Welling's K = 3 is the polynomial degree: T_0..T_3, four terms; PyG's K counts the terms
        self.c1, self.c2 = L.ChebConv(f, 16, K=4), L.ChebConv(16, c, K=4)

    def param_groups(self, wd):  # weight decay on the first layer's weights only, as in the GCN authors' code
        return [dict(params=self.c1.lins.parameters(), weight_decay=wd),
                dict(params=[self.c1.bias, *self.c2.parameters()], weight_decay=0.0)]

    def forward(self, x, ei, y=None, shown=None):
        x = F.relu(self.c1(F.dropout(x, 0.5, self.training), ei))
        return self.c2(F.dropout(x, 0.5, self.training), ei)


class GATv2(nn.Module):
    published = {"cora": None, "citeseer": None}
    source = "Brody et al. 2022"
    sparse_input = True

    @staticmethod
    def recipe(dataset):
        return dict(lr=0.005, wd=5e-4, epochs=1000, select="gat", patience=100)

    def __init__(self, L, f, c, dataset):
        super().__init__()
        self.c1 = L.GATv2Conv(f, 8, heads=8, dropout=0.6)
        self.c2 = L.GATv2Conv(64, c, heads=1, concat=False, dropout=0.6)

    def forward(self, x, ei, y=None, shown=None):
        x = F.elu(self.c1(dropout(x, 0.6, self.training), ei))
        return self.c2(F.dropout(x, 0.6, self.training), ei)


class GCNII(nn.Module):
    published = {"cora": "85.5 +- 0.5 %", "citeseer": "73.4 +- 0.6 %"}
    source = "Chen et al. 2020"
    sparse_input = True
    SETTINGS = {"cora": (64, 64, 0.5, 0.6), "citeseer": (32, 256, 0.6, 0.7)}  # layers, hidden, lambda, dropout

    @staticmethod
    def recipe(dataset):
        return dict(lr=0.01, wd=(0.01, 5e-4), epochs=1500, select="loss", patience=100)

    def __init__(self, L, f, c, dataset):
        super().__init__()
        n, h, theta, self.p = self.SETTINGS[dataset]
        self.lins = nn.ModuleList([nn.Linear(f, h), nn.Linear(h, c)])
        self.convs = nn.ModuleList([L.GCN2Conv(h, alpha=0.1, theta=theta, layer=i + 1, cached=True) for i in range(n)])

    def param_groups(self, wd):
        return [dict(params=self.convs.parameters(), weight_decay=wd[0]), dict(params=self.lins.parameters(), weight_decay=wd[1])]

    def forward(self, x, ei, y=None, shown=None):
        x = x0 = F.relu(linear(self.lins[0], dropout(x, self.p, self.training)))
        for conv in self.convs:
            x = F.relu(conv(F.dropout(x, self.p, self.training), x0, ei))
        return self.lins[1](F.dropout(x, self.p, self.training))


class UniMP(nn.Module):
    published = {"cora": None, "citeseer": None}
    source = "Shi et al. 2021"
    masked_labels = True

    @staticmethod
    def recipe(dataset):
        return dict(lr=0.005, wd=5e-4, epochs=300, select="acc")

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


MODELS = {"sgc": SGC, "appnp": APPNPNet, "chebnet": ChebNet, "gatv2": GATv2, "unimp": UniMP, "gcnii": GCNII}
TITLES = {"sgc": "SGC", "appnp": "APPNP", "chebnet": "ChebNet", "gatv2": "GATv2", "unimp": "TransformerConv (UniMP)",
          "gcnii": "GCNII"}


# ---------------------------------------------------------------------- model selection (each paper's rule)


class Selector:
    """Fed (val acc, val loss, test acc) each epoch by `update`, which returns True when the recipe stops training;
    `test` is then the reported test accuracy (of the kept epoch, `epoch`)."""

    def __init__(self, rule: str, patience: int | None = None, window: int | None = None):
        self.rule, self.patience, self.window = rule, patience, window
        self.test, self.epoch, self.bad, self.losses = 0.0, -1, 0, []
        self.acc_best, self.loss_best = -math.inf, math.inf  # running bests (patience)
        self.acc_kept, self.loss_kept = -math.inf, math.inf  # values of the kept epoch

    def update(self, epoch: int, acc: float, loss: float, test: float) -> bool:
        r = self.rule
        if r == "final":
            self._keep(epoch, acc, loss, test)
            return False
        if r == "kipf":  # tkipf/gcn: train, evaluate, break once val loss > mean of the `window` before it
            self._keep(epoch, acc, loss, test)
            self.losses.append(loss)
            return epoch > self.window and loss > statistics.mean(self.losses[-(self.window + 1):-1])
        if r == "acc":  # best val acc, ties: lower val loss
            if acc > self.acc_kept or (acc == self.acc_kept and loss < self.loss_kept):
                self._keep(epoch, acc, loss, test)
            return False
        if r == "loss":  # chennnM/GCNII: lowest val loss, patience on it
            if loss < self.loss_kept:
                self._keep(epoch, acc, loss, test)
                self.bad = 0
            else:
                self.bad += 1
            return self.bad >= self.patience
        if r == "gat":  # PetarV-/GAT: keep when both at their running best; patience resets if either improves
            if acc >= self.acc_best or loss <= self.loss_best:
                if acc >= self.acc_best and loss <= self.loss_best:
                    self._keep(epoch, acc, loss, test)
                self.acc_best, self.loss_best = max(acc, self.acc_best), min(loss, self.loss_best)
                self.bad = 0
            else:
                self.bad += 1
            return self.bad >= self.patience
        if r == "ranked":  # gasteigerjo/ppnp EarlyStopping(ACCURACY, LOSS, remember=RANKED)
            if acc >= self.acc_best or loss <= self.loss_best:
                self.acc_best, self.loss_best = max(acc, self.acc_best), min(loss, self.loss_best)
                self.bad = 0
                if acc > self.acc_kept or (acc == self.acc_kept and loss < self.loss_kept):
                    self._keep(epoch, acc, loss, test)
            else:
                self.bad += 1
            return self.bad >= self.patience
        raise ValueError(f"unknown selection rule {r!r}")

    def _keep(self, epoch, acc, loss, test):
        self.epoch, self.acc_kept, self.loss_kept, self.test = epoch, acc, loss, test


# ---------------------------------------------------------------------- one run


class Data:
    def __init__(self, path: Path):
        g = load_planetoid(path)
        self.x, self.y = g.packed("x"), g.packed("y")
        self.x_sparse = self.x.to_sparse().coalesce()
        self.ei = g.edge_index  # a plain (2, E) tensor: the same argument for both libraries
        self.masks = {k: g.packed(f"{k}_mask") for k in ("train", "val", "test")}
        self.train_idx = self.masks["train"].nonzero().view(-1)
        self.features, self.classes = self.x.shape[1], int(self.y.max()) + 1

    def input(self, cls) -> torch.Tensor:
        return self.x_sparse if getattr(cls, "sparse_input", False) else self.x


def build(name: str, lib: str, data: Data, dataset: str, seed: int) -> nn.Module:
    """The model with `lib`'s layers and the initial weights PyG's layers get under this seed."""
    cls = MODELS[name]
    torch.manual_seed(seed)
    try:
        ref = cls(layers("pyg"), data.features, data.classes, dataset)
    except ImportError:  # no PyG: meshgraph's own initialization
        ref = None
    if lib == "pyg":
        return ref
    torch.manual_seed(seed)
    model = cls(layers(lib), data.features, data.classes, dataset)
    if ref is not None:
        model.load_state_dict(ref.state_dict(), strict=True)
    return model


def evaluate(model, name, data, x):
    model.eval()
    with torch.no_grad():
        out = model(x, data.ei, data.y, data.train_idx) if getattr(MODELS[name], "masked_labels", False) else model(x, data.ei)
        pred = out.argmax(1)
        acc = {k: float((pred[m] == data.y[m]).float().mean()) for k, m in data.masks.items()}
        val_loss = float(F.cross_entropy(out[data.masks["val"]], data.y[data.masks["val"]]))
    return acc, val_loss, out


def run_one(name: str, lib: str, data: Data, dataset: str, seed: int, epochs: int | None = None,
            trace: list | None = None, dtype: torch.dtype = torch.float32) -> dict:
    """One seeded run: test accuracy (%) by the recipe's selection rule, epochs run, median ms per training step,
    wall seconds. `trace` (a list) receives (train loss, val loss, val acc) per epoch."""
    t_start = time.perf_counter()
    cls = MODELS[name]
    rec = cls.recipe(dataset)
    model = build(name, lib, data, dataset, seed).to(dtype)
    groups = model.param_groups(rec["wd"]) if hasattr(model, "param_groups") else [dict(params=model.parameters(), weight_decay=rec["wd"])]
    opt = torch.optim.Adam(groups, lr=rec["lr"])
    torch.manual_seed(seed)  # both libraries start training from the same RNG state
    gen = torch.Generator().manual_seed(seed)
    sel = Selector(rec["select"], rec.get("patience"), rec.get("window"))
    x, y = data.input(cls).to(dtype), data.y
    times = []
    n_epochs = rec["epochs"] if epochs is None else epochs
    epoch = 0
    for epoch in range(n_epochs):
        t0 = time.perf_counter()
        model.train()
        opt.zero_grad()
        if getattr(cls, "masked_labels", False):
            perm = data.train_idx[torch.randperm(data.train_idx.numel(), generator=gen)]
            shown, target = perm[: perm.numel() // 2], perm[perm.numel() // 2:]
            out = model(x, data.ei, y, shown)
        else:
            target = data.train_idx
            out = model(x, data.ei)
        loss = F.cross_entropy(out[target], y[target])
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
        acc, val_loss, _ = evaluate(model, name, data, x)
        if rec.get("l2_in_val_loss"):  # the paper code's stopping loss includes its L2 term (wd / 2 * |w|^2)
            with torch.no_grad():
                val_loss += sum(g["weight_decay"] / 2 * float(sum(p.pow(2).sum() for p in g["params"]))
                                for g in opt.param_groups if g["weight_decay"])
        if trace is not None:
            trace.append((loss.item(), val_loss, acc["val"]))
        if sel.update(epoch, acc["val"], val_loss, acc["test"]):
            break
    return dict(test=100 * sel.test, val=100 * sel.acc_kept, epoch=sel.epoch + 1, epochs_run=epoch + 1,
                step_ms=1000 * statistics.median(times), run_s=time.perf_counter() - t_start)


def check_same_start(name: str, data: Data, dataset: str, seed: int = 0, tol: float = 1e-4) -> float:
    """Largest |meshgraph - PyG| of the two freshly built models' outputs (eval mode, equal weights); raises when
    above `tol` relative to the outputs' scale. Models without dropout inside their layers (SGC, ChebNet, GCNII)
    are also compared in training mode, after reseeding (same dropout masks in the model code)."""
    cls = MODELS[name]
    x = data.input(cls)
    outs = {}
    for lib in ("meshgraph", "pyg"):
        model = build(name, lib, data, dataset, seed)
        outs[lib] = [evaluate(model, name, data, x)[2]]
        if name in ("sgc", "chebnet", "gcnii"):
            model.train()
            torch.manual_seed(seed)
            with torch.no_grad():
                outs[lib].append(model(x, data.ei))
    worst = 0.0
    for a, b in zip(outs["meshgraph"], outs["pyg"]):
        scale = float(b.abs().max()) or 1.0
        worst = max(worst, float((a - b).abs().max()) / scale)
    if worst > tol:
        raise RuntimeError(f"{name} on {dataset}: meshgraph and PyG models differ at the start (relative {worst:.2e})")
    return worst


# ---------------------------------------------------------------------- results file and docs table


def fingerprint(name: str, dataset: str) -> str:
    """Identifies the recipe a recorded run used; runs of another recipe are not resumed or rendered."""
    return json.dumps(MODELS[name].recipe(dataset), sort_keys=True)


def load_results(path: Path | None) -> list[dict]:
    if path is None or not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["model"] in MODELS and r["recipe"] == fingerprint(r["model"], r["dataset"])]


def _mean_sd(v):
    return statistics.mean(v), (statistics.stdev(v) if len(v) > 1 else 0.0)


def _pair_row(results: list[dict], name: str, dataset: str, peer: str, seeds: int) -> str | None:
    """One table row: meshgraph against `peer` on the seeds both have."""
    by = {lib: [r for r in results if r["model"] == name and r["dataset"] == dataset and r["lib"] == lib]
          for lib in ("meshgraph", peer)}
    common = set(r["seed"] for r in by["meshgraph"]) & set(r["seed"] for r in by[peer])
    if not common:
        return None
    by = {lib: [r for r in rs if r["seed"] in common] for lib, rs in by.items()}
    acc = {lib: _mean_sd([r["test"] for r in rs]) for lib, rs in by.items()}
    ms = {lib: statistics.median(r["step_ms"] for r in rs) for lib, rs in by.items()}
    ep = {lib: statistics.mean(r["epochs_run"] for r in rs) for lib, rs in by.items()}
    wall = sum(r["run_s"] for rs in by.values() for r in rs)  # both columns
    n, pub = len(common), MODELS[name].published[dataset]
    title = TITLES[name] + (" (PyG with #10783 fixed)" if peer == "pyg-fixed" else "")
    note = f" ({n} seeds)" if n >= seeds else f" (**{n} of {seeds} seeds**)"
    m, p = acc["meshgraph"], acc[peer]
    return (f"| {DATASET_NAMES[dataset]} | {title} | {m[0]:.1f} +- {m[1]:.1f} %{note} | {p[0]:.1f} +- {p[1]:.1f} % | "
            f"{m[0] - p[0]:+.1f} | {pub or '-'} | {ms['meshgraph']:.1f} / {ms[peer]:.1f} ms | "
            f"{ep['meshgraph']:.0f} / {ep[peer]:.0f} | {wall / 60:.1f} min |")


def render_table(results: list[dict], seeds: int) -> str:
    head = ("| dataset | model | meshgraph | PyG | meshgraph - PyG | published | median step, meshgraph / PyG | "
            "epochs run (mean) | wall time of the pair |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
    rows = [_pair_row(results, name, dataset, peer, seeds)
            for name in MODELS for dataset in DATASET_NAMES for peer in ("pyg", "pyg-fixed")]
    return head + "\n".join(r for r in rows if r is not None) + "\n"


BEGIN, END = "<!-- planetoid_zoo table: begin (python examples/planetoid_zoo.py --render) -->", "<!-- planetoid_zoo table: end -->"


def render(results_path: Path, doc: Path, seeds: int) -> str:
    table = render_table(load_results(results_path), seeds)
    text = doc.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{doc}: no {BEGIN!r} ... {END!r} block to fill")
    pre, rest = text.split(BEGIN, 1)
    post = rest.split(END, 1)[1]
    doc.write_text(pre + BEGIN + "\n" + table + END + post)
    return table


# ---------------------------------------------------------------------- main


def main(argv=None) -> list[tuple]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--datasets", nargs="+", default=list(DATASET_NAMES), choices=list(DATASET_NAMES))
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--libs", nargs="+", default=["meshgraph", "pyg"], choices=list(LIBS))
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--epochs", type=int, default=None, help="override every recipe's epoch count (smoke runs)")
    p.add_argument("--results", type=Path, default=None, help="JSON-lines file: append each run, skip recorded ones")
    p.add_argument("--render", type=Path, default=None, help="write the results' table into this Markdown file")
    p.add_argument("--trace", type=int, default=None, metavar="N", help="print N epochs of seed 0's losses, both libs")
    p.add_argument("--double", action="store_true", help="with --trace: train in float64")
    p.add_argument("--no-dropout", action="store_true", help="with --trace: every dropout off (the two libraries' "
                   "losses must then agree to rounding; with dropout, masks drawn inside the layers differ)")
    args = p.parse_args(argv)
    if args.render is not None:
        print(render(args.results, args.render, args.seeds))
        return []
    if args.results is not None and args.epochs is not None:
        p.error("--epochs (a smoke run) does not go into a --results file")
    data = {d: Data(Path(args.data) / f"{d}.npz") for d in args.datasets}
    if args.trace is not None:
        if args.no_dropout:
            F.dropout = lambda x, p=0.5, training=True, inplace=False: x  # the layers of both look it up per call
        for name in args.models:
            for d in args.datasets:
                tr = {lib: [] for lib in args.libs}
                for lib in args.libs:
                    run_one(name, lib, data[d], d, 0, epochs=args.trace, trace=tr[lib],
                            dtype=torch.float64 if args.double else torch.float32)
                print(f"{d} {name}: epoch, train loss / val loss / val acc for " + " | ".join(args.libs))
                for e, rows in enumerate(zip(*tr.values())):
                    print(f"{e:4d} " + " | ".join(f"{a:.5f} {b:.5f} {c:.3f}" for a, b, c in rows))
                if len(tr) == 2:
                    a, b = tr.values()
                    worst = max(abs(u[0] - v[0]) / max(abs(v[0]), 1e-12) for u, v in zip(a, b))
                    print(f"{d} {name}: largest relative difference of the training losses {worst:.1e}", flush=True)
        return []
    done = {(r["model"], r["dataset"], r["lib"], r["seed"]): r for r in load_results(args.results)}
    rows = []
    for name in args.models:
        for d in args.datasets:
            t_pair = time.perf_counter()
            if "meshgraph" in args.libs and "pyg" in args.libs:
                print(f"{d:9s} {name:8s} same start: relative difference {check_same_start(name, data[d], d):.1e}", flush=True)
            res = {lib: [] for lib in args.libs}
            for seed in range(args.seeds):
                for lib in args.libs:  # seeds interleaved: a cut-off run leaves both columns with the same seeds
                    key = (name, d, lib, seed)
                    r = done.get(key)
                    if r is None:
                        r = run_one(name, lib, data[d], d, seed, args.epochs)
                        r = dict(model=name, dataset=d, lib=lib, seed=seed, recipe=fingerprint(name, d), **r)
                        if args.results is not None:
                            with args.results.open("a") as f:
                                f.write(json.dumps(r) + "\n")
                        print(f"  {lib:9s} seed {seed}: test {r['test']:.1f} %  epochs {r['epochs_run']}  "
                              f"{r['step_ms']:.1f} ms/step  {r['run_s']:.1f} s", flush=True)
                    res[lib].append(r)
            for lib in args.libs:
                accs = [r["test"] for r in res[lib]]
                m, sd = _mean_sd(accs)
                rows.append((d, name, lib, m, sd, statistics.median(r["step_ms"] for r in res[lib])))
                print(f"{d:9s} {name:8s} {lib:9s} {m:5.1f} +- {sd:.1f} %  {rows[-1][5]:7.1f} ms/step", flush=True)
            print(f"{d:9s} {name:8s} pair done in {time.perf_counter() - t_pair:.0f} s", flush=True)
    return rows


if __name__ == "__main__":
    main()
