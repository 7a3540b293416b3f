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

MultiAggregation's min / max gradients: at E = 4M some (group, channel) extremes are attained by two rows (x is
float32 rand + 0.5: values on a 2^-24 grid near the minima, 2^-23 near the maxima, so about E F / 2^24 ~ 15 tied
minima and E F / 2^23 ~ 30 tied maxima are expected among the 12.8M group-channels; an estimate, not counted here).
PyG (torch's scatter_reduce amax / amin on CPU) splits such a gradient evenly between the tied rows, ours gives it
to the first (the documented contract; torch_scatter gives it to its one arg row), so those entries differ by half
the gradient: they are compared by their group sums (check_extreme_grads), every other entry elementwise. --quick
(16k group-channel values) has no ties, which is why only the full size failed.
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


def tied_extremes(x, index, V, extremes):
    """(V, F) True where one of the reductions in `extremes` ("max" / "min") is attained by two or more rows."""
    tied = torch.zeros(V, x.shape[1], dtype=torch.bool)
    for r in extremes:
        val = x.new_zeros(V, x.shape[1]).scatter_reduce(0, index[:, None].expand_as(x), x, "a" + r, include_self=False)
        hits = x.new_zeros(V, x.shape[1]).index_add_(0, index, (x == val[index]).to(x.dtype))
        tied |= hits > 1
    return tied


def check_extreme_grads(name, g1, g2, x, index, V, extremes, gmask=None, vmask=None):
    """Input gradients agree, tie-aware for max / min: where the extreme of a (group, channel) is attained by
    several rows, PyG (torch's scatter_reduce amax / amin) splits its gradient evenly among them and torch_scatter
    gives it to its arg row, while ours gives it to the first row in row order (the documented contract; it
    matches PyG's own MaxAggregation on ties only by chance). Those entries are compared by their group sums, all
    others elementwise. gmask (E, F) / vmask (V, F): the entries compared at all (std's step, see the docstring)."""
    atol = rtol = 1e-4
    if extremes:
        tied = tied_extremes(x, index, V, extremes)
        sums = [torch.zeros(V, x.shape[1]).index_add_(0, index, g) for g in (g1, g2)]
        keep = tied if vmask is None else tied & vmask
        torch.testing.assert_close(sums[0][keep], sums[1][keep], atol=atol, rtol=rtol,
                                   msg=f"{name}: input gradients of tied max / min entries differ in their group sums")
        clear = ~tied[index]
        gmask = clear if gmask is None else gmask & clear
    if gmask is not None:
        g1, g2 = g1[gmask], g2[gmask]
    torch.testing.assert_close(g1, g2, atol=atol, rtol=rtol, msg=f"{name}: input gradients differ")


def check(name, o1, g1, o2, g2, mask=None, gmask=None, params=(), ties=None):
    """Outputs, input gradients and parameter gradients of both libraries agree (std: away from its step; mask /
    gmask select the compared output / gradient entries; ties = (x, index, V, vmask): the input gradients of
    max / min compared tie-aware, check_extreme_grads)."""
    atol = rtol = 1e-4
    if mask is not None:
        o1, o2 = o1[mask], o2[mask]
    torch.testing.assert_close(o1, o2, atol=atol, rtol=rtol, msg=f"{name}: outputs differ")
    if ties is not None:
        x, index, V, vmask = ties
        check_extreme_grads(name, g1, g2, x, index, V, ["min", "max"], gmask, vmask)
    else:
        if gmask is not None:
            g1, g2 = g1[gmask], g2[gmask]
        torch.testing.assert_close(g1, g2, atol=atol, rtol=rtol, msg=f"{name}: input gradients differ")
    for a, b in params:
        torch.testing.assert_close(a, b, atol=1e-3, rtol=1e-3, msg=f"{name}: parameter gradients differ")


def setup(argv):
    """(args, E, V, F, rows, index, PyG's aggr module or None): the flags and workload bm_aggr and
    bm_segment_aggregate share."""
    args = bench_args(argv, E=(int, 4_000_000), V=(int, 200_000), F=(int, 64))
    E, V, F = (2_000, 100, 8) if args.quick else (args.E, args.V, args.F)
    x0, index = workload(E, V, F)
    print(f"E={E:,} V={V:,} F={F} (unsorted index)")
    try:
        import torch_geometric.nn.aggr as pyg
    except ImportError:
        pyg = None
    return args, E, V, F, x0, index, pyg


def main(argv=None):
    args, E, V, F, x0, index, pyg = setup(argv)
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
            mask = gmask = clear = None
            if name in ("std", "multi"):  # rows whose group's std sits at the step: their gradient is skipped too
                clear = _std_mask(xin, index, V)
                gmask = clear[index]
                mask = clear if name == "std" else torch.cat([torch.ones_like(o1[:, :3 * F], dtype=torch.bool), clear], 1)
            ties = (xin, index, V, clear) if name == "multi" else None  # min / max: ties at full size
            check(name, o1, g1, o2, g2, mask, gmask, list(zip(p1, p2)), ties)
            del o1, g1, o2, g2
            rows.append((f"PyG {cls}", timeit(lambda: step(theirs), repeat=3, warmup=1)))
        report(f"{name} fwd+bwd", rows, f"meshgraph {cls}")


if __name__ == "__main__":
    main()
