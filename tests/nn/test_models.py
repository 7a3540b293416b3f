"""meshgraph.nn.models against PyG's torch_geometric.nn.models with equal weights: GCN / GraphSAGE / GIN / GAT /
EdgeCNN for every jk mode, norms and activations have PyG's state-dict keys, load PyG's state dict, and give its
outputs and gradients (also with edge weights, batch-aware norms, one layer, bipartite-free graphs without edges
and isolated nodes); JumpingKnowledge (cat / max / lstm), the auto-encoders (InnerProductDecoder, GAE recon loss
with given negatives, VGAE kl loss and eval-mode encode, ARGA losses) and LabelPropagation (edge list and
torch.sparse adjacency, masks, soft labels, post_step) match PyG; bad input gets ValueErrors."""

import pytest
import torch

import meshgraph.compat.pyg.nn as compat
import meshgraph.nn.models as ours

pyg = pytest.importorskip("torch_geometric.nn.models")
pyg_nn = pytest.importorskip("torch_geometric.nn")


def graph(N=12, E=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, N, (2, E), generator=g)
    x = torch.randn(N, 8, generator=g)
    w = torch.rand(E, generator=g) + 0.1
    return x, ei, w


def pair(name, *args, **kwargs):
    theirs = getattr(pyg, name)(*args, **kwargs)
    mine = getattr(ours, name)(*args, **kwargs)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    mine.load_state_dict(theirs.state_dict())
    return mine, theirs


def assert_same_grads(mine, theirs, atol=1e-9):  # float64: biases before a batch norm get ~0 (rounding) grads
    for (n1, p1), (n2, p2) in zip(mine.named_parameters(), theirs.named_parameters()):
        assert n1 == n2
        if p2.grad is None:
            assert p1.grad is None or not p1.grad.any(), n1
        else:
            torch.testing.assert_close(p1.grad, p2.grad, atol=atol, rtol=1e-7, msg=n1)


MODELS = ["GCN", "GraphSAGE", "GIN", "GAT", "GATv2", "EdgeCNN", "PNA"]


def model_args(name: str) -> tuple[str, dict]:
    """The PyG class name and its extra kwargs for a MODELS entry."""
    if name == "GAT":
        return "GAT", {"heads": 2}
    if name == "GATv2":
        return "GAT", {"heads": 2, "v2": True}
    if name == "PNA":
        return "PNA", {"aggregators": ["mean", "max", "std"], "scalers": ["identity", "amplification"],
                       "deg": torch.tensor([1, 4, 5, 2])}
    return name, {}


CONFIGS = [(None, None, "relu"), ("last", "batch_norm", "leaky_relu"), ("cat", "layer_norm", "elu"),
           ("max", "graph_norm", torch.tanh), ("lstm", "batch_norm", torch.nn.ReLU()), (None, "graph_norm", "elu")]


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("jk,norm,act", CONFIGS, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CONFIGS)])
def test_basic_gnn_matches_pyg(name, jk, norm, act):
    x, ei, w = graph()
    x, w = x.double(), w.double()
    cls, extra_kwargs = model_args(name)
    kwargs = {"out_channels": 5, "jk": jk, "norm": norm, "act": act, **extra_kwargs}
    torch.manual_seed(0)
    mine, theirs = pair(cls, 8, 16, 3, **kwargs)
    mine.double(), theirs.double()
    assert str(mine) == str(theirs)
    extra = {"edge_weight": w} if name == "GCN" else {}
    batch = torch.arange(12) // 5
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    out1 = mine(x1, ei, batch=batch, **extra)
    out2 = theirs(x2, ei, batch=batch, **extra)
    torch.testing.assert_close(out1, out2)
    (out1 * torch.arange(5)).sum().backward()
    (out2 * torch.arange(5)).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    assert_same_grads(mine, theirs)
    mine.eval(), theirs.eval()
    torch.testing.assert_close(mine(x, ei, **extra), theirs(x, ei, **extra), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", MODELS)
def test_basic_gnn_dropout_act_kwargs_and_one_layer(name):
    x, ei, _ = graph(seed=1)
    for kwargs in ({"num_layers": 1}, {"num_layers": 1, "jk": "cat"},
                   {"num_layers": 2, "dropout": 0.5, "act": "leaky_relu", "act_kwargs": {"negative_slope": 0.3},
                    "act_first": True, "norm": "batch_norm", "norm_kwargs": {"momentum": 0.2}}):
        cls, extra_kwargs = model_args(name)
        kwargs = dict(kwargs, **extra_kwargs)
        n = kwargs.pop("num_layers")
        torch.manual_seed(0)
        mine, theirs = pair(cls, 8, 6, n, **kwargs)
        torch.manual_seed(5)
        out2 = theirs(x, ei)
        torch.manual_seed(5)
        out1 = mine(x, ei)  # same dropout masks (the global RNG, drawn in the same order) ...
        if cls != "GAT":  # ... except GAT's attention dropout, drawn over meshgraph's own edge layout
            torch.testing.assert_close(out1, out2, atol=1e-5, rtol=1e-4)
        assert out1.shape == out2.shape
        mine.load_state_dict(theirs.state_dict())  # GAT: running norm statistics saw different dropout masks
        mine.eval(), theirs.eval()
        torch.testing.assert_close(mine(x, ei), theirs(x, ei), atol=1e-5, rtol=1e-4)


def test_basic_gnn_on_empty_and_edge_free_graphs():
    for name in MODELS:
        cls, extra_kwargs = model_args(name)
        torch.manual_seed(0)
        mine, theirs = pair(cls, 8, 16, 2, out_channels=3, **extra_kwargs)
        for N, ei in ((5, torch.empty(2, 0, dtype=torch.long)), (0, torch.empty(2, 0, dtype=torch.long)),
                      (6, torch.tensor([[0, 1], [1, 0]]))):  # isolated nodes 2..5
            x = torch.randn(N, 8)
            out = mine(x, ei)
            assert out.shape == (N, 3)
            torch.testing.assert_close(out, theirs(x, ei), atol=1e-5, rtol=1e-4)


def test_basic_gnn_trim_to_layer_matches_untrimmed_seed_outputs():
    # hop-ordered sampled subgraph: 2 seeds, 3 one-hop nodes, 4 two-hop nodes; edges sorted by hop
    ei = torch.tensor([[2, 3, 4, 2, 5, 6, 7, 8],
                       [0, 0, 1, 1, 2, 3, 4, 4]])
    x = torch.randn(9, 8)
    torch.manual_seed(0)
    mine, theirs = pair("GraphSAGE", 8, 16, 2)
    full = mine(x, ei)[:2]
    trimmed = mine(x, ei, num_sampled_nodes_per_hop=[2, 3, 4], num_sampled_edges_per_hop=[4, 4])[:2]
    torch.testing.assert_close(trimmed, full)
    with pytest.raises(ValueError, match="num_sampled_edges_per_hop"):
        mine(x, ei, num_sampled_nodes_per_hop=[2, 3, 4])


def test_basic_gnn_norm_batch_and_gat_heads_and_bad_input():
    x, ei, _ = graph()
    for norm, supports in (("BatchNorm", False), ("GraphNorm", True), ("InstanceNorm", True), ("LayerNorm", True)):
        assert ours.GraphSAGE(8, 16, 2, norm=norm).supports_norm_batch == supports
    with pytest.raises(ValueError, match="divisible by the number of heads"):
        ours.GAT(8, 15, 2, heads=2)
    with pytest.raises(ValueError, match="jk"):
        ours.GCN(8, 16, 2, jk="sum")
    with pytest.raises(ValueError, match="num_layers"):
        ours.GCN(8, 16, 0)
    with pytest.raises(NotImplementedError):
        ours.BasicGNN(8, 16, 2)


def test_compat_models_namespace():
    for name in ("GCN", "GraphSAGE", "GIN", "GAT", "EdgeCNN", "PNA", "JumpingKnowledge", "GAE", "VGAE", "ARGA", "ARGVA",
                 "InnerProductDecoder", "LabelPropagation", "HeteroJumpingKnowledge"):
        assert getattr(compat.models, name) is getattr(ours, name)
        assert getattr(compat, name) is getattr(ours, name)
    from meshgraph.compat.pyg.nn.models import autoencoder, basic_gnn, jumping_knowledge, label_prop

    assert basic_gnn.GCN is ours.GCN and jumping_knowledge.JumpingKnowledge is ours.JumpingKnowledge
    assert autoencoder.GAE is ours.GAE and label_prop.LabelPropagation is ours.LabelPropagation


@pytest.mark.parametrize("mode", ["cat", "max", "lstm"])
def test_jumping_knowledge_matches_pyg(mode):
    torch.manual_seed(0)
    theirs = pyg.JumpingKnowledge(mode, 6, 3)
    mine = ours.JumpingKnowledge(mode, 6, 3)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    mine.load_state_dict(theirs.state_dict())
    assert repr(mine) == repr(theirs)
    xs1 = [torch.randn(7, 6, requires_grad=True) for _ in range(3)]
    xs2 = [t.detach().clone().requires_grad_() for t in xs1]
    out1, out2 = mine(xs1), theirs(xs2)
    torch.testing.assert_close(out1, out2)
    out1.sum().backward(), out2.sum().backward()
    for a, b in zip(xs1, xs2):
        torch.testing.assert_close(a.grad, b.grad)
    with pytest.raises(ValueError, match="mode"):
        ours.JumpingKnowledge("sum")
    with pytest.raises(ValueError, match="channels"):
        ours.JumpingKnowledge("lstm")


def test_hetero_jumping_knowledge():
    jk = ours.HeteroJumpingKnowledge(["a", "b"], "max")
    xs = {"a": [torch.randn(3, 2), torch.randn(3, 2)], "b": [torch.randn(4, 2)]}
    out = jk(xs)
    assert torch.equal(out["a"], torch.maximum(*xs["a"])) and torch.equal(out["b"], xs["b"][0])


def test_autoencoders_match_pyg():
    x, ei, _ = graph()
    z = torch.randn(12, 4)
    dec1, dec2 = ours.InnerProductDecoder(), pyg.InnerProductDecoder()
    for sig in (True, False):
        torch.testing.assert_close(dec1(z, ei, sigmoid=sig), dec2(z, ei, sigmoid=sig))
        torch.testing.assert_close(dec1.forward_all(z, sigmoid=sig), dec2.forward_all(z, sigmoid=sig))
    torch.manual_seed(0)
    enc1 = pyg_nn.GCNConv(8, 4)
    gae2 = pyg.GAE(enc1)
    import meshgraph.nn as mnn

    gae1 = ours.GAE(mnn.GCNConv(8, 4))  # construction resets the encoder, as PyG's
    gae1.load_state_dict(gae2.state_dict())
    assert list(gae1.state_dict()) == list(gae2.state_dict())
    z1, z2 = gae1.encode(x, ei), gae2.encode(x, ei)
    torch.testing.assert_close(z1, z2, atol=1e-5, rtol=1e-4)
    neg = torch.tensor([[0, 1, 2], [5, 6, 7]])
    torch.testing.assert_close(gae1.recon_loss(z1, ei, neg), gae2.recon_loss(z2, ei, neg), atol=1e-5, rtol=1e-4)
    import random

    random.seed(4)
    l1 = gae1.recon_loss(z1, ei)  # negatives from negative_sampling: Python's random, as PyG
    random.seed(4)
    torch.testing.assert_close(l1, gae2.recon_loss(z2, ei), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(gae1.decode(z1, ei), gae2.decode(z2, ei), atol=1e-5, rtol=1e-4)


class _VEncoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.mu = torch.nn.Linear(8, 4)
        self.logstd = torch.nn.Linear(8, 4)

    def forward(self, x):
        return self.mu(x), self.logstd(x) * 20  # large: exercises the MAX_LOGSTD clamp


def test_vgae_and_arga_match_pyg():
    x = torch.randn(10, 8)
    torch.manual_seed(0)
    enc = _VEncoder()
    v1, v2 = ours.VGAE(enc), pyg.VGAE(enc)
    torch.manual_seed(3)
    z1 = v1.encode(x)
    torch.manual_seed(3)
    z2 = v2.encode(x)
    torch.testing.assert_close(z1, z2)
    torch.testing.assert_close(v1.kl_loss(), v2.kl_loss())
    mu, logstd = torch.randn(10, 4), torch.randn(10, 4) * 20
    torch.testing.assert_close(v1.kl_loss(mu, logstd), v2.kl_loss(mu, logstd))
    v1.eval()
    assert torch.equal(v1.encode(x), enc(x)[0])

    disc = torch.nn.Linear(4, 1)
    a1, a2 = ours.ARGA(torch.nn.Linear(8, 4), disc), pyg.ARGA(torch.nn.Linear(8, 4), disc)
    z = torch.randn(10, 4)
    torch.testing.assert_close(a1.reg_loss(z), a2.reg_loss(z))
    torch.manual_seed(1)
    d1 = a1.discriminator_loss(z)
    torch.manual_seed(1)
    torch.testing.assert_close(d1, a2.discriminator_loss(z))
    av, av2 = ours.ARGVA(enc, disc), pyg.ARGVA(enc, disc)  # both reset the shared encoder: encode afterwards
    torch.manual_seed(2)
    zv = av.encode(x)
    torch.manual_seed(2)
    torch.testing.assert_close(zv, av2.encode(x))
    assert av.__mu__ is av.VGAE.__mu__


@pytest.mark.parametrize("case", ["labels", "mask", "soft", "weights", "sparse", "post_step", "no_edges"])
def test_label_propagation_matches_pyg(case):
    N = 20
    g = torch.Generator().manual_seed(2)
    ei = torch.randint(0, N, (2, 70), generator=g)
    y = torch.randint(0, 4, (N,), generator=g)
    mask = torch.rand(N, generator=g) < 0.5
    kwargs, adj = {}, ei
    if case == "mask":
        kwargs["mask"] = mask
    elif case == "soft":
        y = torch.rand(N, 4, generator=g)
        kwargs["mask"] = mask
    elif case == "weights":
        kwargs["edge_weight"] = torch.rand(70, generator=g)
    elif case == "sparse":
        adj = torch.sparse_coo_tensor(ei.flip(0), torch.ones(70), (N, N)).coalesce()
    elif case == "post_step":
        kwargs["post_step"] = lambda t: t.softmax(dim=-1)
    elif case == "no_edges":
        adj = torch.empty(2, 0, dtype=torch.long)
    mine, theirs = ours.LabelPropagation(3, 0.9), pyg.LabelPropagation(3, 0.9)
    assert repr(mine) == repr(theirs)
    out = mine(y, adj, **kwargs)
    ref = theirs(y, adj, **kwargs)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-4)


def test_node2vec_walk_windows_loss_and_embeddings():
    """Node2Vec's positive windows follow edges, the negatives start at the batch nodes, the loss is the skip-gram
    formula, and training separates two disconnected cliques in embedding space."""
    from meshgraph.compat.pyg.nn import Node2Vec

    a = torch.combinations(torch.arange(6), 2).t()
    clique = torch.cat([a, a.flip(0)], 1)
    ei = torch.cat([clique, clique + 6], 1)  # two 6-cliques, no edge between them
    edges = set(map(tuple, ei.t().tolist()))
    torch.manual_seed(0)
    model = Node2Vec(ei, embedding_dim=8, walk_length=5, context_size=3, walks_per_node=2, p=0.5, q=2.0,
                     num_negative_samples=2)
    assert list(model.state_dict()) == ["embedding.weight"] and str(model) == "Node2Vec(12, 8)"
    batch = torch.tensor([0, 7, 3])
    pos, neg = model.sample(batch)
    windows = 1 + 4 + 1 - 3
    assert pos.shape == (3 * 2 * windows, 3) and neg.shape == (3 * 2 * 2 * windows, 3)
    assert all((u, v) in edges for w in pos.tolist() for u, v in zip(w[:-1], w[1:]))
    assert torch.equal(neg[: 3 * 2 * 2, 0], batch.repeat(4))
    emb = model.embedding.weight

    def part(rw, positive):
        s = (emb[rw[:, :1]] * emb[rw[:, 1:]]).sum(-1).reshape(-1)
        prob = torch.sigmoid(s) if positive else 1 - torch.sigmoid(s)
        return -torch.log(prob + 1e-15).mean()

    torch.testing.assert_close(model.loss(pos, neg), part(pos, True) + part(neg, False))
    with pytest.raises(ValueError, match="context_size"):
        Node2Vec(ei, 8, walk_length=2, context_size=3)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    first = None
    for _ in range(30):
        for pos_rw, neg_rw in model.loader(batch_size=6, shuffle=True):
            opt.zero_grad()
            loss = model.loss(pos_rw, neg_rw)
            loss.backward()
            opt.step()
            first = loss.item() if first is None else first
    assert loss.item() < first
    z = torch.nn.functional.normalize(model().detach(), dim=1)
    cos = z @ z.t()
    same = torch.block_diag(torch.ones(6, 6), torch.ones(6, 6)).bool()
    assert cos[same].mean() > cos[~same].mean() + 0.3
