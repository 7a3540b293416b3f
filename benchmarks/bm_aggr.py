"""Aggregation modules (meshgraph.nn.aggr) vs PyG's torch_geometric.nn.aggr in the same run: var, std, softmax
(learnable t), powermean (learnable p), multi ([mean, max, std], cat), median, quantile, Set2Set and
AttentionalAggregation, forward + backward on (E, F) messages grouped by a destination index (sorted, as
MessagePassing gives them after a CSR sort).

Workload: E rows over V groups with heavy-tailed sizes (fixed seed); default E = 1,000,000, V = 50,000, F = 64
(--quick: E = 2,000, V = 100, F = 8). Results (outputs and input gradients) are checked against PyG's before timing.
"""

from __future__ import annotations

import torch

from meshgraph.nn import aggr as ours

from _common import bench_args, report, timeit

def cases(F: int) -> dict:
    """name -> (class name, in both libraries; constructor kwargs) for F input channels."""
    return {
        "var": ("VarAggregation", {}),
        "std": ("StdAggregation", {}),
        "softmax": ("SoftmaxAggregation", {"learn": True}),
        "powermean": ("PowerMeanAggregation", {"learn": True}),
        "multi": ("MultiAggregation", {"aggrs": ["mean", "max", "std"]}),
        "median": ("MedianAggregation", {}),
        "quantile": ("QuantileAggregation", {"q": [0.25, 0.75]}),
        "set2set": ("Set2Set", {"in_channels": F, "processing_steps": 3}),
        "attentional": ("AttentionalAggregation", {"gate_nn": torch.nn.Linear(F, 1), "nn": torch.nn.Linear(F, F)}),
    }


def workload(E: int, V: int, F: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    weights = (torch.rand(V, generator=g) + 0.05) ** -1.5  # heavy-tailed group sizes
    index = torch.multinomial(weights, E, replacement=True, generator=g).sort()[0]
    x = torch.rand(E, F, generator=g) + 0.1  # positive: powermean's domain
    return x, index


def main(argv=None):
    args = bench_args(argv, E=(int, 1_000_000), V=(int, 50_000), F=(int, 64))
    E, V, F = (2_000, 100, 8) if args.quick else (args.E, args.V, args.F)
    x0, index = workload(E, V, F)
    print(f"E={E:,} V={V:,} F={F}")
    try:
        import torch_geometric.nn.aggr as pyg
    except ImportError:
        pyg = None
    for name, (cls, kw) in cases(F).items():
        mine = getattr(ours, cls)(**kw)
        g_out = None

        def step(module):
            x = x0.detach().requires_grad_(True)
            out = module(x, index, dim_size=V)
            out.backward(g_out)
            return out, x.grad

        out, grad = mine(x0, index, dim_size=V), None
        g_out = torch.randn_like(out)
        rows = [(f"meshgraph {cls}", timeit(lambda: step(mine), repeat=3, warmup=1))]
        if pyg is not None:
            theirs = getattr(pyg, cls)(**kw)
            theirs.load_state_dict(mine.state_dict())
            (o1, g1), (o2, g2) = step(mine), step(theirs)
            torch.testing.assert_close(o1, o2, atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(g1, g2, atol=1e-4, rtol=1e-4)
            rows.append((f"PyG {cls}", timeit(lambda: step(theirs), repeat=3, warmup=1)))
        report(f"{name} fwd+bwd", rows, f"meshgraph {cls}")


if __name__ == "__main__":
    main()
