"""Aggregation modules (meshgraph.nn.aggr) vs PyG's torch_geometric.nn.aggr in the same run, forward + backward on
(E, F) messages grouped by a destination index.

var / std / softmax (learnable t) / powermean (learnable p) / mul / multi ([mean, min, max, std]: PNA's set) run on
meshgraph's fused `segment_aggregate` op (torch.ops.meshgraph.segment_aggregate: every reduction from one pass
over the rows, kernel backward, no (E, F) temporary); median, quantile, Set2Set and AttentionalAggregation are
timed as well. The index is unsorted (messages in edge order), so the group CSR is built once and cached on the
index tensor, as in a training loop over a fixed graph.

Workload: E rows over V groups with heavy-tailed sizes (fixed seed); default E = 4,000,000, V = 200,000, F = 64
(--quick: E = 2,000, V = 100, F = 8). Results (outputs, input gradients and parameter gradients) are checked
against PyG's before timing.

StdAggregation's check (the reported "threshold discrepancy"): PyG's variance is mean(x^2) - mean^2 in the input
dtype, whose cancellation error is ~1e-7 * mean(x^2) in float32; ours is Welford's update (accurate to ~1e-7 of
the variance itself). Where the variance is small next to mean^2 (two rows of nearly equal values around 1) the
two differ by a few 1e-3 relative, and so do sqrt(var) and its gradient 1 / (2 std); at var ~ 1e-5 PyG's std
also steps by sqrt(1e-5) ~ 3.2e-3 (values at or below it set to 0), so a rounding difference on either side of
the step changes the output by 3.2e-3 and the gradient from 0 to 1 / (2 std). Both are PyG's rounding, not a
difference of definition: the std check compares the (group, channel) entries where PyG's float32 variance is
well conditioned (var > 1e-3 * mean(x^2), and not within 1e-9 of 1e-5), and the gradients of their rows.
"""

from __future__ import annotations

import torch

from meshgraph.nn import aggr as ours

from _common import bench_args, report, timeit

FUSED_OPS = ("segment_aggregate", "segment_aggregate_backward")  # what var / std / softmax / ... run on (fwd, bwd)


def cases(F: int, quick: bool) -> dict:
    """name -> (class name, in both libraries; constructor kwargs) for F input channels."""
    out = {
        "var": ("VarAggregation", {}),
        "std": ("StdAggregation", {}),
        "softmax": ("SoftmaxAggregation", {"learn": True, "channels": F}),
        "powermean": ("PowerMeanAggregation", {"learn": True}),
        "mul": ("MulAggregation", {}),
        "multi": ("MultiAggregation", {"aggrs": ["mean", "min", "max", "std"]}),
    }
    if quick:  # the sort-based and attention ones: smoke-tested only at the small size
        out.update({
            "median": ("MedianAggregation", {}),
            "quantile": ("QuantileAggregation", {"q": [0.25, 0.75]}),
            "set2set": ("Set2Set", {"in_channels": F, "processing_steps": 3}),
            "attentional": ("AttentionalAggregation", {"gate_nn": torch.nn.Linear(F, 1), "nn": torch.nn.Linear(F, F)}),
        })
    return out


def workload(E: int, V: int, F: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    weights = (torch.rand(V, generator=g) + 0.05) ** -1.5  # heavy-tailed group sizes
    index = torch.multinomial(weights, E, replacement=True, generator=g)  # unsorted: edge order
    x = torch.rand(E, F, generator=g) + 0.5  # positive (powermean's domain), near 1 (mul stays finite)
    return x, index


def _std_mask(x, index, V):
    """True where PyG's float32 variance is well conditioned and clear of std's 1e-5 step (see the docstring)."""
    import torch_geometric.nn.aggr as pyg

    var = pyg.VarAggregation()(x, index, dim_size=V)
    mean2 = pyg.MeanAggregation()(x * x, index, dim_size=V)
    return (var > 1e-3 * mean2) & ((var - 1e-5).abs() > 1e-9)


def check(name, o1, g1, o2, g2, mask=None, gmask=None, params=()):
    """Outputs, input gradients and parameter gradients of both libraries agree (std: away from its step; mask /
    gmask select the compared output / gradient entries)."""
    atol = rtol = 1e-4
    if mask is not None:
        o1, o2, g1, g2 = o1[mask], o2[mask], g1[gmask], g2[gmask]
    torch.testing.assert_close(o1, o2, atol=atol, rtol=rtol, msg=f"{name}: outputs differ")
    torch.testing.assert_close(g1, g2, atol=atol, rtol=rtol, msg=f"{name}: input gradients differ")
    for a, b in params:
        torch.testing.assert_close(a, b, atol=1e-3, rtol=1e-3, msg=f"{name}: parameter gradients differ")


def main(argv=None):
    args = bench_args(argv, E=(int, 4_000_000), V=(int, 200_000), F=(int, 64))
    E, V, F = (2_000, 100, 8) if args.quick else (args.E, args.V, args.F)
    x0, index = workload(E, V, F)
    print(f"E={E:,} V={V:,} F={F} (unsorted index)")
    try:
        import torch_geometric.nn.aggr as pyg
    except ImportError:
        pyg = None
    for name, (cls, kw) in cases(F, args.quick).items():
        mine = getattr(ours, cls)(**kw)
        g_out = None
        xin = x0.clamp(max=1.02) if name == "mul" else x0  # products of many rows stay finite

        def step(module):
            module.zero_grad(set_to_none=True)
            x = xin.detach().requires_grad_(True)
            out = module(x, index, dim_size=V)
            out.backward(g_out)
            return out, x.grad, [p.grad for p in module.parameters()]

        with torch.no_grad():
            g_out = torch.randn_like(mine(xin, index, dim_size=V))
        rows = [(f"meshgraph {cls}", timeit(lambda: step(mine), repeat=3, warmup=1))]
        if pyg is not None:
            theirs = getattr(pyg, cls)(**kw)
            theirs.load_state_dict(mine.state_dict())
            (o1, g1, p1), (o2, g2, p2) = step(mine), step(theirs)
            mask = gmask = None
            if name in ("std", "multi"):  # rows whose group's std sits at the step: their gradient is skipped too
                clear = _std_mask(xin, index, V)
                gmask = clear[index]
                mask = clear if name == "std" else torch.cat([torch.ones_like(o1[:, :3 * F], dtype=torch.bool), clear], 1)
            check(name, o1, g1, o2, g2, mask, gmask, list(zip(p1, p2)))
            del o1, g1, o2, g2
            rows.append((f"PyG {cls}", timeit(lambda: step(theirs), repeat=3, warmup=1)))
        report(f"{name} fwd+bwd", rows, f"meshgraph {cls}")


if __name__ == "__main__":
    main()
