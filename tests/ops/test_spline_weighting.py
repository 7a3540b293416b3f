"""spline_weighting / spline_weighting_backward: the fused spline weighting + sum / mean aggregation against the
reference and the unfused torch expression (E = 0, isolated destinations, bipartite, int32 / int64 columns, with
and without the transposed CSR), every output mask of the backward, all four dtypes, gradcheck and gradgradcheck
(through the basis to pseudo as well), opcheck, compile, determinism (and the grouped grad_weight of the CUDA
path, run on the CPU), bad input (wrapper and raw op)."""

import pytest
import torch

from meshgraph.ops import build_adjacency, spline_aggregate, spline_basis, spline_weighting
from meshgraph.ops import reference as ref
from meshgraph.ops.spline_weighting import aggregate

from _spline_oracle import spline_weighting as oracle_weighting

ops = torch.ops.meshgraph


def graph(V_src=9, V_dst=7, E=40, Cin=5, Cout=6, ks=(5, 4), degree=1, dtype=torch.float64, device="cpu", seed=0):
    g = torch.Generator().manual_seed(seed)
    ei = torch.stack([torch.randint(0, max(V_src, 1), (E,), generator=g),
                      torch.randint(0, max(V_dst, 1), (E,), generator=g)])
    make = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64).to(dtype).to(device)  # noqa: E731
    x, W = make(V_src, Cin), make(int(torch.tensor(ks).prod()), Cin, Cout)
    pseudo = torch.rand(E, len(ks), generator=g, dtype=torch.float64).to(dtype).to(device)
    basis, index = spline_basis(pseudo, list(ks), True, degree)
    return x, W, basis, index, pseudo, ei.to(device)


def csr_args(ei, V_src, V_dst, basis, index, index_dtype=None):
    adj = build_adjacency(ei, V_dst, V_src, index_dtype=index_dtype)
    return adj, basis[adj.edge_id], index[adj.edge_id]


def unfused(x, W, basis, index, ei, V_dst, reduce):
    """PyG's SplineConv propagate: per-edge messages, then scatter sum / mean."""
    msg = oracle_weighting(x[ei[0]], W, basis, index)
    out = torch.zeros(V_dst, W.shape[2], dtype=x.dtype, device=x.device).index_add_(0, ei[1], msg)
    if reduce == "mean":
        out = out / torch.bincount(ei[1], minlength=V_dst).clamp(min=1)[:, None].to(x.dtype)
    return out


def tol(dtype):
    return {torch.float16: dict(atol=2e-2, rtol=2e-2), torch.bfloat16: dict(atol=1e-1, rtol=5e-2),
            torch.float32: dict(atol=1e-5, rtol=1e-5), torch.float64: dict(atol=1e-12, rtol=1e-12)}[dtype]


CASES = [(9, 7, 40, 5, 6), (5, 5, 0, 3, 4), (1, 30, 50, 4, 3), (30, 2, 300, 2, 9), (0, 0, 0, 2, 3), (4, 6, 10, 3, 1),
         (6, 40, 20, 3, 5)]  # the last: most destinations isolated


@pytest.mark.parametrize("reduce", ["sum", "mean"])
@pytest.mark.parametrize("with_t", [False, True])
@pytest.mark.parametrize("V_src,V_dst,E,Cin,Cout", CASES)
def test_kernels_match_reference(device, reduce, with_t, V_src, V_dst, E, Cin, Cout):
    x, W, basis, index, _, ei = graph(V_src, V_dst, E, Cin, Cout, seed=V_src + E, device=device)
    adj, b, i = csr_args(ei, V_src, V_dst, basis, index, torch.int64 if with_t else torch.int32)
    t = (adj.rowptr_t, adj.col_t, adj.eid_t) if with_t else (None, None, None)
    out = ops.spline_weighting(x, W, b, i, adj.rowptr, adj.col, reduce, *t)
    assert out.shape == (V_dst, Cout)
    torch.testing.assert_close(out, ref.spline_weighting(x, W, b, i, adj.rowptr, adj.col, reduce))
    torch.testing.assert_close(out, unfused(x, W, basis, index, ei, V_dst, reduce))
    g = torch.randn(V_dst, Cout, dtype=torch.float64, device=device)
    for mask in ([True] * 3, [True, False, False], [False, True, False], [False, False, True], [False, True, True]):
        got = ops.spline_weighting_backward(g, x, W, b, i, adj.rowptr, adj.col, reduce, adj.rowptr_t, adj.col_t,
                                            adj.eid_t, mask)
        want = ref.spline_weighting_backward(g, x, W, b, i, adj.rowptr, adj.col, reduce, adj.rowptr_t, adj.col_t,
                                             adj.eid_t, mask)
        for a, w, m in zip(got, want, mask):
            assert a.shape == w.shape and (m or a.numel() == 0)
            torch.testing.assert_close(a, w)


@pytest.mark.parametrize("degree,ks", [(1, (5,)), (2, (4, 4)), (3, (3, 4, 5))])
def test_per_edge_weighting_and_aggregate_match_the_unfused_expression(device, degree, ks):
    x, W, basis, index, _, ei = graph(12, 12, 60, 4, 7, ks=ks, degree=degree, seed=degree, device=device)
    torch.testing.assert_close(spline_weighting(x[ei[0]], W, basis, index), oracle_weighting(x[ei[0]], W, basis, index))
    for reduce in ("sum", "mean"):
        torch.testing.assert_close(spline_aggregate(x, ei, W, basis, index, reduce),
                                   unfused(x, W, basis, index, ei, 12, reduce))


def test_isolated_destinations_get_zero(device):
    x, W, basis, index, _, ei = graph(5, 5, 6, 3, 4, seed=1, device=device)
    ei[1] = torch.tensor([0, 0, 1, 1, 2, 2], device=device)  # vertices 3 and 4 receive nothing
    for reduce in ("sum", "mean"):
        out = spline_aggregate(x, ei, W, basis, index, reduce)
        assert torch.equal(out[3:], torch.zeros_like(out[3:]))
        torch.testing.assert_close(out, unfused(x, W, basis, index, ei, 5, reduce))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_all_dtypes_accumulate_in_float32_or_wider(device, dtype):
    x, W, basis, index, _, ei = graph(40, 40, 300, 64, 16, ks=(5, 5), dtype=dtype, seed=2, device=device)
    leaves = [t.clone().requires_grad_(True) for t in (x, W, basis)]
    out = spline_aggregate(leaves[0], ei, leaves[1], leaves[2], index, "mean")
    assert out.dtype == dtype
    exact = [t.detach().double().requires_grad_(True) for t in leaves]
    expect = unfused(exact[0], exact[1], exact[2], index, ei, 40, "mean")
    scale = expect.abs().max().item() + 1
    torch.testing.assert_close(out.double() / scale, expect / scale, **tol(dtype))
    g = torch.randn(40, 16, dtype=torch.float64, device=device)
    out.backward(g.to(dtype))
    expect.backward(g.to(dtype).double())
    for a, b in zip(leaves, exact):  # 64 input channels: float32 accumulation keeps half types close
        scale = b.grad.abs().max().item() + 1
        torch.testing.assert_close(a.grad.double() / scale, b.grad / scale, **tol(dtype))


@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_gradcheck_and_gradgradcheck(device, reduce):
    x, W, basis, index, _, ei = graph(6, 5, 18, 3, 2, ks=(3, 3), degree=2, seed=3, device=device)
    args = tuple(t.requires_grad_(True) for t in (x, W, basis))

    def f(a, w, b):
        return spline_aggregate(a, ei, w, b, index, reduce, num_dst=5)

    assert torch.autograd.gradcheck(f, args)
    assert torch.autograd.gradgradcheck(f, args)


def test_gradcheck_through_the_basis_to_pseudo(device):
    x, W, _, _, pseudo, ei = graph(6, 6, 20, 3, 2, ks=(4, 3), seed=4, device=device)
    pseudo = (pseudo * 0.98 + 0.01).requires_grad_(True)

    def f(p, a, w):
        b, i = spline_basis(p, [4, 3], [True, False], 3)
        return spline_aggregate(a, ei, w, b, i, "mean")

    assert torch.autograd.gradcheck(f, (pseudo, x.requires_grad_(True), W.requires_grad_(True)))


def test_opcheck(device):
    x, W, basis, index, _, ei = graph(6, 5, 25, 3, 4, seed=5, device=device)
    adj, b, i = csr_args(ei, 6, 5, basis, index)
    leaves = [t.clone().requires_grad_(True) for t in (x, W, b)]
    t = (adj.rowptr_t, adj.col_t, adj.eid_t)
    torch.library.opcheck(ops.spline_weighting, (*leaves, i, adj.rowptr, adj.col, "mean", *t))
    torch.library.opcheck(ops.spline_weighting, (*leaves, i, adj.rowptr, adj.col, "sum"))
    g = torch.randn(5, 4, dtype=torch.float64, device=device, requires_grad=True)
    torch.library.opcheck(ops.spline_weighting_backward,
                          (g, *leaves, i, adj.rowptr, adj.col, "mean", *t, [True, True, True]))


def test_compile_fullgraph(device):
    x, W, basis, index, _, ei = graph(8, 8, 30, 3, 4, dtype=torch.float32, seed=6, device=device)
    adj, b, i = csr_args(ei, 8, 8, basis, index)
    f = lambda a, w, bb: aggregate(a, adj, w, bb, i, "mean") * 2  # noqa: E731
    expect = unfused(x, W, basis, index, ei, 8, "mean") * 2
    torch.testing.assert_close(torch.compile(f, fullgraph=True)(x, W, b), expect)
    torch._dynamo.reset()


def test_backward_is_deterministic_and_the_grouped_weight_gradient_agrees(device, monkeypatch):
    """Fixed summation orders: the same bits run to run. MESHGRAPH_DEVICE_PATH=1 runs the CUDA side's grad_weight
    (pairs grouped by weight slice, summed in slices) on the CPU: it agrees with the row-chunked one."""
    x, W, basis, index, _, ei = graph(200, 200, 3000, 8, 16, ks=(5, 5), dtype=torch.float32, seed=7, device=device)
    adj, b, i = csr_args(ei, 200, 200, basis, index)
    g = torch.randn(200, 16, device=device)
    args = (g, x, W, b, i, adj.rowptr, adj.col, "mean", adj.rowptr_t, adj.col_t, adj.eid_t, [True] * 3)
    first, second = ops.spline_weighting_backward(*args), ops.spline_weighting_backward(*args)
    for s, t in zip(first, second):
        assert torch.equal(s, t)
    monkeypatch.setenv("MESHGRAPH_DEVICE_PATH", "1")
    grouped = ops.spline_weighting_backward(*args)
    torch.testing.assert_close(grouped[1], first[1], atol=1e-4, rtol=1e-5)
    assert torch.equal(grouped[1], ops.spline_weighting_backward(*args)[1])


def test_wrapper_rejects_bad_input():
    x, W, basis, index, _, ei = graph(6, 6, 25, 3, 4, seed=8)
    with pytest.raises(ValueError, match="reduce must be one of"):
        spline_aggregate(x, ei, W, basis, index, "max")
    with pytest.raises(ValueError, match=r"weight must have shape \(K, 3, out_channels\)"):
        spline_aggregate(x, ei, W[:, :2], basis, index)
    with pytest.raises(ValueError, match="basis must have one row per edge"):
        spline_aggregate(x, ei, W, basis[:3], index)
    with pytest.raises(ValueError, match="weight_index must have shape"):
        spline_aggregate(x, ei, W, basis, index[:, :1])
    with pytest.raises(TypeError, match="basis must have the dtype of x"):
        spline_aggregate(x, ei, W, basis.float(), index)
    with pytest.raises(TypeError, match="weight_index must have dtype"):
        spline_aggregate(x, ei, W, basis, index.int())
    bad = index.clone()
    bad[0, 0] = W.shape[0]
    with pytest.raises(ValueError, match="weight_index holds 20, outside"):
        spline_aggregate(x, ei, W, basis, bad)
    with pytest.raises(ValueError, match="outside the valid range"):
        spline_aggregate(x, ei + 10, W, basis, index)
    with pytest.raises(ValueError, match="x must be 2-D"):
        spline_weighting(x[0], W, basis, index)


def test_raw_op_rejects_bad_input():
    x, W, basis, index, _, ei = graph(6, 5, 25, 3, 4, seed=9)
    adj, b, i = csr_args(ei, 6, 5, basis, index)
    rp, col = adj.rowptr, adj.col

    def raises(match, *args, fn=ops.spline_weighting):
        with pytest.raises(RuntimeError, match=match):
            fn(*args)

    raises("x must be float16", x.long(), W, b, i, rp, col, "sum")
    raises("weight must be 3-D", x, W[0], b, i, rp, col, "sum")
    raises("weight must have shape", x, W[:, :1], b, i, rp, col, "sum")
    raises("same dtype", x, W.float(), b, i, rp, col, "sum")
    raises("basis must have shape", x, W, b[:4], i, rp, col, "sum")
    raises("weight_index must have shape", x, W, b, i[:, :1], rp, col, "sum")
    raises("weight_index must be Long", x, W, b, i.int(), rp, col, "sum")
    raises(r"weight_index must hold indices in \[0, 20\)", x, W, b, i + 20, rp, col, "sum")
    raises("reduce must be sum or mean", x, W, b, i, rp, col, "max")
    short = rp.clone()
    short[-1] = 24
    raises(r"rowptr\[-1\] must equal", x, W, b, i, short, col, "sum")
    g = torch.randn(5, 4, dtype=torch.float64)
    t = (adj.rowptr_t, adj.col_t, adj.eid_t)
    raises("grad_out must have shape", g[:, :2], x, W, b, i, rp, col, "sum", *t, [True] * 3,
           fn=ops.spline_weighting_backward)
    raises("rowptr_t must have V_src", g, x, W, b, i, rp, col, "sum", rp, adj.col_t, adj.eid_t, [True] * 3,
           fn=ops.spline_weighting_backward)
    raises("eid_t must have shape", g, x, W, b, i, rp, col, "sum", adj.rowptr_t, adj.col_t, adj.eid_t[:3], [True] * 3,
           fn=ops.spline_weighting_backward)


def test_malformed_structure_is_skipped_not_read():
    """Out-of-range columns / edge ids in a raw call are skipped (memory safety; CUDA relies on it)."""
    x, W, basis, index, _, ei = graph(6, 5, 25, 3, 4, seed=10)
    adj, b, i = csr_args(ei, 6, 5, basis, index, torch.int64)
    col, eid_t = adj.col.clone(), adj.eid_t.clone()
    col[0], eid_t[0] = 10**9, -5
    out = ops.spline_weighting(x, W, b, i, adj.rowptr, col, "sum")
    assert torch.isfinite(out).all()
    g = torch.randn(5, 4, dtype=torch.float64)
    got = ops.spline_weighting_backward(g, x, W, b, i, adj.rowptr, col, "sum", adj.rowptr_t, adj.col_t, eid_t,
                                        [True] * 3)
    assert all(torch.isfinite(t).all() for t in got)
