"""segment_aggregate (the fused multi-reduction op: segment_aggregate forward, segment_aggregate_backward kernel)
per reduction, forward + backward, against PyG's corresponding aggregation module and torch_scatter's scatter where
it has the reduction (sum / mean / max / min / mul; softmax as scatter_softmax, multiply, scatter sum), in the same
run. A floor row per table: meshgraph's gather_scatter sum over the same group CSR (meshgraph.ops.scatter), the
memory-bound pass every reduction must make.

Workload: bm_aggr's, E rows over V groups with heavy-tailed sizes, unsorted index (its group CSR cached on the
index tensor, as in a training loop over a fixed graph); default E = 4,000,000, V = 200,000, F = 64 (--quick:
E = 2,000, V = 100, F = 8). Outputs, input gradients and parameter gradients are checked against PyG's before
timing; max / min gradients tie-aware (bm_aggr.check_extreme_grads: PyG splits a tied extreme's gradient, we give
it to the first row). powermean: ours adds PyG's outer clamp and 1 / p power to the op's inner mean, so both
compute the same thing.
"""

from __future__ import annotations

import torch

from meshgraph.ops import scatter, segment_aggregate

from _common import report, timeit
from bm_aggr import check_extreme_grads, setup

MULTI = ("mean", "min", "max", "var")


def cases(F: int) -> dict:
    """reduction -> (PyG class, its kwargs, the op's keyword arguments)."""
    return {
        "sum": ("SumAggregation", {}, {}),
        "mean": ("MeanAggregation", {}, {}),
        "max": ("MaxAggregation", {}, {}),
        "min": ("MinAggregation", {}, {}),
        "mul": ("MulAggregation", {}, {}),
        "var": ("VarAggregation", {}, {}),
        "softmax": ("SoftmaxAggregation", {"learn": True, "channels": F}, {"t": True}),
        "powermean": ("PowerMeanAggregation", {"p": 1.5, "learn": True}, {"p": True, "clamp_min": 1e-4,
                                                                         "clamp_max": 100.0}),
        "multi": ("MultiAggregation", {"aggrs": list(MULTI)}, {}),
    }


def main(argv=None):
    _, E, V, F, x0, index, pyg = setup(argv)
    try:
        import torch_scatter
        from torch_scatter.composite import scatter_softmax
    except ImportError:
        torch_scatter = None

    for name, (cls, pyg_kw, op_kw) in cases(F).items():
        xin = x0.clamp(max=1.02) if name == "mul" else x0  # products of many rows stay finite
        reduce = list(MULTI) if name == "multi" else [name]
        t = torch.full((F,), 1.0, requires_grad=True) if "t" in op_kw else None
        p = torch.full((1,), 1.5, requires_grad=True) if "p" in op_kw else None
        kw = {k: v for k, v in op_kw.items() if k not in ("t", "p")}
        params = [v for v in (t, p) if v is not None]

        def ours(x):
            outs = segment_aggregate(x, index, dim_size=V, reduce=reduce, t=t, p=p, **kw)
            if name == "powermean":  # PyG's outer clamp and 1 / p power
                return outs[0].clamp(min=kw["clamp_min"], max=kw["clamp_max"]).pow(1.0 / p)
            return torch.cat(outs, dim=1)

        def step(fn, weights=()):
            for w in weights:
                w.grad = None
            x = xin.detach().requires_grad_(True)
            out = fn(x)
            out.backward(g_out)
            return out, x.grad, [w.grad for w in weights]

        with torch.no_grad():
            g_out = torch.randn_like(ours(xin))
        rows = [(f"meshgraph segment_aggregate {name}", timeit(lambda: step(ours, params), repeat=3, warmup=1))]
        def floor(x):  # the same rows through the same CSR, summed (output widened to the gradient's shape)
            return scatter(x, index, V, "sum").repeat(1, len(reduce))

        rows.append(("floor: meshgraph scatter sum (same CSR)", timeit(lambda: step(floor), repeat=3, warmup=1)))
        o1, g1, p1 = step(ours, params)
        extremes = [r for r in reduce if r in ("max", "min")]
        if pyg is not None:
            module = getattr(pyg, cls)(**pyg_kw)
            (o2, g2, p2) = step(lambda x: module(x, index, dim_size=V), list(module.parameters()))
            torch.testing.assert_close(o1, o2, atol=1e-4, rtol=1e-4, msg=f"{name}: outputs differ from PyG")
            check_extreme_grads(name, g1, g2, xin, index, V, extremes)
            for a, b in zip(p1, p2):
                torch.testing.assert_close(a, b.reshape(a.shape), atol=1e-3, rtol=1e-3,
                                           msg=f"{name}: parameter gradients differ from PyG")
            del o2, g2
            rows.append((f"PyG {cls}", timeit(lambda: step(lambda x: module(x, index, dim_size=V),
                                                           list(module.parameters())), repeat=3, warmup=1)))
        if torch_scatter is not None and name in ("sum", "mean", "max", "min", "mul", "softmax"):
            if name == "softmax":
                def peer(x):
                    return torch_scatter.scatter(scatter_softmax(x * t, index, dim=0, dim_size=V) * x, index, 0,
                                                 dim_size=V, reduce="sum")
            else:
                def peer(x):
                    return torch_scatter.scatter(x, index, 0, dim_size=V, reduce=name)
            o3, g3, p3 = step(peer, params)
            torch.testing.assert_close(o1, o3, atol=1e-4, rtol=1e-4, msg=f"{name}: outputs differ from torch_scatter")
            check_extreme_grads(name, g1, g3, xin, index, V, extremes)
            for a, b in zip(p1, p3):
                torch.testing.assert_close(a, b, atol=1e-3, rtol=1e-3, msg=f"{name}: parameter gradients differ")
            del o3, g3
            rows.append((f"torch_scatter {name}", timeit(lambda: step(peer, params), repeat=3, warmup=1)))
        del o1, g1
        report(f"segment_aggregate {name} fwd+bwd", rows, f"meshgraph segment_aggregate {name}")


if __name__ == "__main__":
    main()
