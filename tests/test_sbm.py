"""meshgraph.datasets.stochastic_block_model_graph: the model's statistics, fixed seeds, Bayes accuracies, and
the real-task check: mini-batch GraphSAGE through NeighborLoader within 2 points of full-batch training."""

from __future__ import annotations

import math

import pytest
import torch

from meshgraph.datasets import sbm_bayes_accuracy, stochastic_block_model_graph


def test_edges_follow_the_block_model_and_the_seed_fixes_the_graph():
    N, K, p_in, p_out = 3000, 3, 0.01, 0.001
    d = stochastic_block_model_graph(N, K, p_in, p_out, 4, seed=5)
    again = stochastic_block_model_graph(N, K, p_in, p_out, 4, seed=5)
    assert torch.equal(d.edge_index, again.edge_index) and torch.equal(d.x, again.x) and torch.equal(d.y, again.y)
    assert not torch.equal(stochastic_block_model_graph(N, K, p_in, p_out, 4, seed=6).edge_index, d.edge_index)
    src, dst = d.edge_index
    assert bool((src != dst).all())
    key = src * N + dst
    assert torch.equal(key.sort().values, (dst * N + src).sort().values)  # undirected: both directions
    assert key.unique().numel() == key.numel()  # no duplicates
    sizes = torch.bincount(d.y, minlength=K)
    assert int(sizes.max() - sizes.min()) <= 1
    same = d.y[src] == d.y[dst]
    pairs_in = float((sizes * (sizes - 1) / 2).sum())
    pairs_out = N * (N - 1) / 2 - pairs_in
    for got, pairs, p in ((int(same.sum()) // 2, pairs_in, p_in), (int((~same).sum()) // 2, pairs_out, p_out)):
        mean, sd = pairs * p, math.sqrt(pairs * p * (1 - p))
        assert abs(got - mean) < 5 * sd + 0.01 * mean, (got, mean, sd)  # duplicates removed: O(m^2 / pairs)
    # features: class means plus noise of the stated scale
    resid = d.x - d.class_means[d.y]
    assert abs(float(resid.std()) - 2.0) < 0.05
    assert int(d.train_mask.sum() + d.val_mask.sum() + d.test_mask.sum()) == N
    assert not bool((d.train_mask & d.test_mask).any())


def test_bayes_accuracies_order_features_below_features_with_labels():
    d = stochastic_block_model_graph(2000, 4, 0.02, 0.001, 8, seed=0)
    acc = sbm_bayes_accuracy(d, 0.02, 0.001)
    assert 0.25 < acc["features"] < acc["features+labels"] <= 1.0
    noisy = sbm_bayes_accuracy(stochastic_block_model_graph(2000, 4, 0.02, 0.001, 8, seed=0, feature_noise=8.0),
                               0.02, 0.001, feature_noise=8.0)
    assert noisy["features"] < acc["features"]


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_nodes=0), "num_nodes must be a positive int"),
    (dict(num_blocks=20, num_nodes=10), "num_blocks=20 exceeds"),
    (dict(p_in=1.5), "p_in must be a probability"),
    (dict(p_out=-0.1), "p_out must be a probability"),
    (dict(num_features=0), "num_features must be a positive int"),
])
def test_bad_arguments_are_named(kwargs, match):
    args = dict(num_nodes=100, num_blocks=2, p_in=0.1, p_out=0.01, num_features=3) | kwargs
    with pytest.raises(ValueError, match=match):
        stochastic_block_model_graph(**args)


def _sage(cin, cout):
    from meshgraph.nn import SAGEConv

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c2 = SAGEConv(cin, 32), SAGEConv(32, cout)

        def forward(self, x, ei):
            return self.c2(torch.relu(self.c1(x, ei)), ei)

    return Net()


def test_minibatch_sage_through_neighbor_loader_is_within_two_points_of_full_batch():
    from meshgraph.records import Data
    from meshgraph.sampling import NeighborLoader

    N, K, p_in, p_out = 4000, 5, 0.006, 0.0008  # ~5 in-block and ~2.6 cross neighbours per node
    d = stochastic_block_model_graph(N, K, p_in, p_out, 8, seed=1, train_ratio=0.2)
    g = Data(x=d.x, y=d.y, edge_index=d.edge_index, num_nodes=N)
    test = d.test_mask

    def accuracy(model):
        with torch.no_grad():
            return float((model(d.x, d.edge_index).argmax(-1)[test] == d.y[test]).double().mean())

    torch.manual_seed(0)
    full = _sage(8, K)
    opt = torch.optim.Adam(full.parameters(), lr=0.01)
    for _ in range(150):
        loss = torch.nn.functional.cross_entropy(full(d.x, d.edge_index)[d.train_mask], d.y[d.train_mask])
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.manual_seed(0)
    mini = _sage(8, K)
    opt = torch.optim.Adam(mini.parameters(), lr=0.01)
    loader = NeighborLoader(g, [10, 10], input_nodes=d.train_mask, batch_size=64, shuffle=True)
    for _ in range(12):
        for b in loader:
            loss = torch.nn.functional.cross_entropy(mini(b.x, b.edge_index)[:b.batch_size], b.y[:b.batch_size])
            opt.zero_grad()
            loss.backward()
            opt.step()
    a_full, a_mini = accuracy(full), accuracy(mini)
    bayes = sbm_bayes_accuracy(d, p_in, p_out, mask=test)
    assert a_full > bayes["features"] + 0.05  # the graph was used
    assert a_full <= bayes["features+labels"] + 0.02
    assert abs(a_full - a_mini) <= 0.02, (a_full, a_mini, bayes)
