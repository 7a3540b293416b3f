"""A stochastic block model graph with noisy class features, generated from a fixed seed without dense matrices."""

from __future__ import annotations

import math

import numpy as np
import torch

from ..records import Data


def _members(rng, lo_block_start, sizes, blocks, order):
    """A uniform member of each drawn block (global node ids)."""
    u = np.floor(rng.random(blocks.size) * sizes[blocks]).astype(np.int64)
    return order[lo_block_start[blocks] + u]


def stochastic_block_model_graph(num_nodes: int, num_blocks: int, p_in: float, p_out: float, num_features: int,
                                 seed: int = 0, *, feature_noise: float = 2.0, train_ratio: float = 0.1,
                                 val_ratio: float = 0.1) -> Data:
    """An undirected SBM node-classification graph: the label is the block.

    Nodes get blocks round-robin over a random permutation (sizes differ by at most one). Every unordered pair in
    one block is an edge with probability `p_in`, every pair across blocks with `p_out`, drawn as
    Binomial(#pairs, p) edge counts and then uniform pairs (duplicates removed, so the counts are those of the
    model up to O(m^2 / #pairs)); nothing of size N^2 or N x K x N is built, so 2,000,000 nodes and 40M edges
    take seconds and a few GB. Features: x = mu[y] + feature_noise * N(0, I), with class means mu ~ N(0, I) of
    `num_features` dimensions (a noisy class signal). Random train / val / test masks (train_ratio, val_ratio,
    the rest test).

    How well can one do? `sbm_bayes_accuracy` evaluates two Bayes classifiers that know the model (mu, the noise,
    p_in, p_out) on the generated graph: from the features alone, and from the features plus the TRUE labels of all
    other nodes (then the node's own log-likelihood is exact: a Gaussian term plus, per class c, d_c log(p_in /
    p_out) + (n_c - d_c) log((1 - p_in) / (1 - p_out)) with d_c its neighbours in c); the second is an upper bound
    for any classifier that sees the graph but not the other labels ("Bayes-optimal-ish"). Measured on the test
    nodes, seed 0, feature_noise 2.0, 16 features, 10 blocks (about 4 in-block and 3.6 cross-block neighbours):

        N           p_in   p_out  edges (directed)  features alone  features + labels  generation
        200,000     2e-4   2e-5   1.52M             0.589           0.943              ~5 s
        2,000,000   2e-5   2e-6   15.2M             0.639           0.950              ~26 s CPU, 2.0 GB peak RSS

    A GNN that sees two hops should land between the two; docs/scaling.md ("Real task") lists what GraphSAGE
    reaches full-batch and through NeighborLoader.
    """
    for name, v in (("num_nodes", num_nodes), ("num_blocks", num_blocks), ("num_features", num_features)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    if num_blocks > num_nodes:
        raise ValueError(f"num_blocks={num_blocks} exceeds num_nodes={num_nodes}")
    for name, p in (("p_in", p_in), ("p_out", p_out)):
        if not (isinstance(p, (int, float)) and 0.0 <= p <= 1.0):
            raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")
    if not (feature_noise >= 0 and 0 <= train_ratio and 0 <= val_ratio and train_ratio + val_ratio <= 1):
        raise ValueError("feature_noise must be >= 0 and train_ratio + val_ratio within [0, 1]")
    rng = np.random.default_rng(seed)
    N, K = num_nodes, num_blocks
    y = (rng.permutation(N) % K).astype(np.int64)
    order = np.argsort(y, kind="stable")
    sizes = np.bincount(y, minlength=K).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pairs = []
    within = sizes * (sizes - 1) // 2
    if within.sum() > 0 and p_in > 0:
        m = int(rng.binomial(int(within.sum()), p_in))
        blk = rng.choice(K, size=m, p=within / within.sum())
        a, b = _members(rng, start, sizes, blk, order), _members(rng, start, sizes, blk, order)
        while (bad := a == b).any():
            b[bad] = _members(rng, start, sizes, blk[bad], order)
        pairs.append((a, b))
    cross = (N * N - int((sizes * sizes).sum())) // 2
    if cross > 0 and p_out > 0:
        m = int(rng.binomial(cross, p_out))
        a, b = rng.integers(0, N, m), rng.integers(0, N, m)
        while (bad := y[a] == y[b]).any():
            b[bad] = rng.integers(0, N, int(bad.sum()))
        pairs.append((a, b))
    if pairs:
        a = np.concatenate([p[0] for p in pairs])
        b = np.concatenate([p[1] for p in pairs])
        key = np.unique(np.minimum(a, b) * N + np.maximum(a, b))
        lo, hi = key // N, key % N
        edge_index = torch.from_numpy(np.stack([np.concatenate([lo, hi]), np.concatenate([hi, lo])]))
    else:
        edge_index = torch.empty(2, 0, dtype=torch.long)
    mu = rng.standard_normal((K, num_features)).astype(np.float32)
    x = mu[y] + np.float32(feature_noise) * rng.standard_normal((N, num_features), dtype=np.float32)
    split = rng.random(N)
    data = Data(x=torch.from_numpy(x), y=torch.from_numpy(y), edge_index=edge_index, num_nodes=N)
    data.train_mask = torch.from_numpy(split < train_ratio)
    data.val_mask = torch.from_numpy((split >= train_ratio) & (split < train_ratio + val_ratio))
    data.test_mask = torch.from_numpy(split >= train_ratio + val_ratio)
    data.class_means = torch.from_numpy(mu)  # graph-level: the model's mu (what the Bayes classifiers use)
    return data


def sbm_bayes_accuracy(data: Data, p_in: float, p_out: float, feature_noise: float = 2.0,
                       mask: torch.Tensor | None = None) -> dict[str, float]:
    """Accuracy of the two Bayes classifiers of `stochastic_block_model_graph`'s docstring on `data` (at `mask`,
    default all nodes): {'features': from x alone, 'features+labels': from x and the true labels of all other
    nodes (an upper bound for graph learners)}. O(N K + E)."""
    x, y, mu = data.x.double(), data.y, data.class_means.double()
    N, K = y.numel(), mu.size(0)
    gauss = -torch.cdist(x, mu).pow(2) / (2 * max(feature_noise, 1e-12) ** 2)
    src, dst = data.edge_index
    d = torch.zeros(N * K, dtype=torch.float64).index_add_(0, dst * K + y[src], torch.ones(src.numel(),
                                                                                        dtype=torch.float64))
    d = d.view(N, K)
    n = torch.bincount(y, minlength=K).double().expand(N, K) - torch.nn.functional.one_hot(y, K).double()
    lin = math.log(p_in / p_out) if p_in > 0 and p_out > 0 else 0.0
    lno = math.log((1 - p_in) / (1 - p_out)) if p_in < 1 and p_out < 1 else 0.0
    post = gauss + d * lin + (n - d) * lno
    m = torch.ones(N, dtype=torch.bool) if mask is None else mask
    acc = lambda s: float((s.argmax(1)[m] == y[m]).double().mean())  # noqa: E731
    return {"features": acc(gauss), "features+labels": acc(post)}


__all__ = ["sbm_bayes_accuracy", "stochastic_block_model_graph"]
