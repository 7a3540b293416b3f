"""gatv2_edge_score / gatv2_edge_score_backward: kernels vs the reference and the unfused torch expression (with
and without the edge term and the CSRs, all four dtypes, empty graphs, bipartite), gradcheck and gradgradcheck,
opcheck, compile, determinism, bad input (wrapper and raw op)."""

import pytest
import torch
import torch.nn.functional as F

from meshgraph.ops import build_adjacency, gatv2_edge_score
from meshgraph.ops import reference as ref
from meshgraph.ops.gatv2_edge_score import edge_csr

ops = torch.ops.meshgraph


def inputs(V_src=9, V_dst=7, E=40, H=2, C=5, seed=0, dtype=torch.float64, device="cpu", edge=True):
    g = torch.Generator().manual_seed(seed)
    ei = torch.stack([torch.randint(0, max(V_src, 1), (E,), generator=g), torch.randint(0, max(V_dst, 1), (E,), generator=g)])
    make = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64).to(dtype).to(device)  # noqa: E731
    x_l, x_r, att = make(V_src, H, C), make(V_dst, H, C), make(H, C)
    x_e = make(E, H, C) if edge else None
    return x_l, x_r, x_e, att, ei.to(device)


def unfused(x_l, x_r, x_e, att, ei, slope):
    """PyG's GATv2 edge_update expression."""
    z = x_l[ei[0]] + x_r[ei[1]]
    if x_e is not None:
        z = z + x_e
    return (F.leaky_relu(z, slope) * att).sum(-1)


def tol(dtype):
    return {torch.float16: dict(atol=2e-2, rtol=2e-2), torch.bfloat16: dict(atol=1e-1, rtol=5e-2),
            torch.float32: dict(atol=1e-5, rtol=1e-5), torch.float64: dict(atol=1e-12, rtol=1e-12)}[dtype]


@pytest.mark.parametrize("edge", [False, True])
@pytest.mark.parametrize("with_csr", [False, True])
@pytest.mark.parametrize("V_src,V_dst,E,H,C", [(9, 7, 40, 2, 5), (5, 5, 0, 3, 4), (1, 30, 50, 1, 17), (30, 2, 300, 4, 8),
                                               (0, 0, 0, 2, 3), (4, 6, 10, 2, 0)])
def test_kernels_match_reference(device, edge, with_csr, V_src, V_dst, E, H, C):
    x_l, x_r, x_e, att, ei = inputs(V_src, V_dst, E, H, C, seed=V_src + E, device=device, edge=edge)
    src, dst = ei[0], ei[1]
    csr = edge_csr(build_adjacency(ei, V_dst, V_src)) if with_csr else (None,) * 4
    out = ops.gatv2_edge_score(x_l, x_r, x_e, att, src, dst, 0.2, *csr)
    torch.testing.assert_close(out, ref.gatv2_edge_score(x_l, x_r, x_e, att, src, dst, 0.2))
    torch.testing.assert_close(out, unfused(x_l, x_r, x_e, att, ei, 0.2).to(out.dtype).to(out.device))
    g = torch.randn(E, H, dtype=torch.float64, device=device)
    for mask in ([True] * 4, [True, False, True, False], [False, True, False, True]):
        got = ops.gatv2_edge_score_backward(g, x_l, x_r, x_e, att, src, dst, 0.2, *csr, mask)
        want = ref.gatv2_edge_score_backward(g, x_l, x_r, x_e, att, src, dst, 0.2, *csr, mask)
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_all_dtypes_accumulate_in_float32_or_wider(device, dtype):
    x_l, x_r, x_e, att, ei = inputs(20, 20, 150, 2, 64, seed=1, dtype=dtype, device=device)
    leaves = [t.clone().requires_grad_(True) for t in (x_l, x_r, x_e, att)]
    out = gatv2_edge_score(leaves[0], leaves[1], leaves[3], ei, leaves[2], 0.1)
    assert out.dtype == dtype and out.shape == (150, 2)
    exact = [t.detach().double().requires_grad_(True) for t in leaves]
    expect = unfused(exact[0], exact[1], exact[2], exact[3], ei, 0.1)
    torch.testing.assert_close(out.double(), expect, **tol(dtype))
    g = torch.randn(150, 2, dtype=torch.float64, device=device)
    out.backward(g.to(dtype))
    expect.backward(g.to(dtype).double())
    for a, b in zip(leaves, exact):  # 64 channels per head: float32 accumulation keeps half types close
        scale = b.grad.abs().max().item() + 1
        torch.testing.assert_close(a.grad.double() / scale, b.grad / scale, **tol(dtype))


@pytest.mark.parametrize("edge", [False, True])
def test_gradcheck_and_gradgradcheck(device, edge):
    x_l, x_r, x_e, att, ei = inputs(6, 5, 25, 2, 3, seed=3, device=device, edge=edge)
    x_l, x_r, att = (t.requires_grad_(True) for t in (x_l, x_r, att))
    args = (x_l, x_r, att) + ((x_e.requires_grad_(True),) if edge else ())

    def f(a, b, w, e=None):
        return gatv2_edge_score(a, b, w, ei, e, 0.3)

    assert torch.autograd.gradcheck(f, args)
    assert torch.autograd.gradgradcheck(f, args)


def test_shared_weights_sum_both_gradients(device):
    x_l, _, x_e, att, ei = inputs(8, 8, 30, 2, 4, seed=4, device=device)
    x = x_l.clone().requires_grad_(True)
    gatv2_edge_score(x, None, att, ei, x_e).sum().backward()
    y = x_l.clone().requires_grad_(True)
    unfused(y, y, x_e, att, ei, 0.2).sum().backward()
    torch.testing.assert_close(x.grad, y.grad)


def test_opcheck(device):
    x_l, x_r, x_e, att, ei = inputs(6, 5, 25, 2, 3, seed=5, device=device)
    csr = edge_csr(build_adjacency(ei, 5, 6))
    leaves = [t.clone().requires_grad_(True) for t in (x_l, x_r, x_e, att)]
    for c in ((None,) * 4, csr):
        torch.library.opcheck(ops.gatv2_edge_score, (leaves[0], leaves[1], leaves[2], leaves[3], ei[0], ei[1], 0.2, *c))
        torch.library.opcheck(ops.gatv2_edge_score, (leaves[0], leaves[1], None, leaves[3], ei[0], ei[1], 0.2, *c))
    g = torch.randn(25, 2, dtype=torch.float64, device=device, requires_grad=True)
    torch.library.opcheck(ops.gatv2_edge_score_backward,
                          (g, leaves[0], leaves[1], leaves[2], leaves[3], ei[0], ei[1], 0.2, *csr, [True, True, True, True]))
    torch.library.opcheck(ops.gatv2_edge_score_backward,
                          (g, leaves[0], leaves[1], None, leaves[3], ei[0], ei[1], 0.2, *csr, [True, False, False, True]))


def test_compile_fullgraph(device):
    x_l, x_r, x_e, att, ei = inputs(6, 6, 25, 2, 3, seed=6, dtype=torch.float32, device=device)
    csr = edge_csr(build_adjacency(ei, 6, 6))
    f = lambda a, b, e, w: ops.gatv2_edge_score(a, b, e, w, ei[0], ei[1], 0.2, *csr) * 2  # noqa: E731
    expect = unfused(x_l, x_r, x_e, att, ei, 0.2) * 2
    torch.testing.assert_close(torch.compile(f, fullgraph=True)(x_l, x_r, x_e, att), expect)
    torch._dynamo.reset()


def test_backward_is_deterministic_and_csr_independent(device):
    """The CSR passes sum in a fixed order: the same bits run to run; given or built CSRs agree."""
    x_l, x_r, x_e, att, ei = inputs(40, 40, 600, 4, 16, seed=7, dtype=torch.float32, device=device)
    csr = edge_csr(build_adjacency(ei, 40, 40))
    g = torch.randn(600, 4, device=device)
    a = ops.gatv2_edge_score_backward(g, x_l, x_r, x_e, att, ei[0], ei[1], 0.2, *csr, [True] * 4)
    b = ops.gatv2_edge_score_backward(g, x_l, x_r, x_e, att, ei[0], ei[1], 0.2, *csr, [True] * 4)
    for s, t in zip(a, b):
        assert torch.equal(s, t)
    prev = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:  # without CSRs: built by a sort (CUDA: instead of the atomic kernel)
        c = ops.gatv2_edge_score_backward(g, x_l, x_r, x_e, att, ei[0], ei[1], 0.2, None, None, None, None, [True] * 4)
    finally:
        torch.use_deterministic_algorithms(prev)
    for s, t in zip(a, c):
        torch.testing.assert_close(s, t)


def test_wrapper_rejects_bad_input():
    x_l, x_r, x_e, att, ei = inputs(6, 5, 25, 2, 3, seed=8)
    with pytest.raises(ValueError, match="x_l must be 3-D"):
        gatv2_edge_score(x_l[0], x_r, att, ei)
    with pytest.raises(ValueError, match="x_r must have the heads and channels"):
        gatv2_edge_score(x_l, x_r[:, :, :2], att, ei)
    with pytest.raises(ValueError, match="att must have shape"):
        gatv2_edge_score(x_l, x_r, att[:1], ei)
    with pytest.raises(TypeError, match="att must have the dtype"):
        gatv2_edge_score(x_l, x_r, att.float(), ei)
    with pytest.raises(ValueError, match="x_e must have shape"):
        gatv2_edge_score(x_l, x_r, att, ei, x_e[:3])
    with pytest.raises(ValueError, match="edge_index"):
        gatv2_edge_score(x_l, x_r, att, ei[:1])
    bad = ei.clone()
    bad[1, 0] = 5  # only 5 destinations
    with pytest.raises(ValueError, match="outside the valid range"):
        gatv2_edge_score(x_l, x_r, att, bad)
    with pytest.raises(ValueError, match="adjacency must have 25 edges"):
        gatv2_edge_score(x_l, x_r, att, ei, adjacency=build_adjacency(ei[:, :5], 5, 6))
    with pytest.raises(TypeError, match="negative_slope"):
        gatv2_edge_score(x_l, x_r, att, ei, negative_slope="0.2")


def test_raw_op_rejects_bad_input():
    x_l, x_r, x_e, att, ei = inputs(6, 5, 25, 2, 3, seed=9)
    src, dst = ei[0], ei[1]
    csr = edge_csr(build_adjacency(ei, 5, 6))
    f = ops.gatv2_edge_score

    def raises(match, *args):
        with pytest.raises(RuntimeError, match=match):
            f(*args)

    raises("x_l must be float16", x_l.long(), x_r, x_e, att, src, dst, 0.2)
    raises("x_l must be 3-D", x_l[0], x_r, x_e, att, src, dst, 0.2)
    raises("same dtype", x_l, x_r.float(), x_e, att, src, dst, 0.2)
    raises("heads and channels", x_l, x_r[:, :1], x_e, att, src, dst, 0.2)
    raises("att must have shape", x_l, x_r, x_e, att[:1], src, dst, 0.2)
    raises("src must be int64", x_l, x_r, x_e, att, src.int(), dst, 0.2)
    raises("same length", x_l, x_r, x_e, att, src, dst[:3], 0.2)
    raises("x_e", x_l, x_r, x_e[:3], att, src, dst, 0.2)
    raises(r"dst must hold indices in \[0, 5\)", x_l, x_r, x_e, att, src, dst + 1, 0.2)
    raises(r"src must hold indices", x_l, x_r, x_e, att, src - 1, dst, 0.2)
    raises("given together", x_l, x_r, x_e, att, src, dst, 0.2, csr[0], csr[1], None, None)
    raises("dst_ptr must have V_dst", x_l, x_r, x_e, att, src, dst, 0.2, csr[2], csr[1], csr[2], csr[3])
    short = csr[0].clone()
    short[-1] = 24
    raises(r"dst_ptr\[-1\] must equal", x_l, x_r, x_e, att, src, dst, 0.2, short, *csr[1:])
    raises("src_perm must have shape", x_l, x_r, x_e, att, src, dst, 0.2, *csr[:3], csr[3][:4])
    g = torch.randn(25, 2, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="grad must have shape"):
        ops.gatv2_edge_score_backward(g[:, :1], x_l, x_r, x_e, att, src, dst, 0.2, *csr, [True] * 4)
    with pytest.raises(RuntimeError, match="same dtype"):
        ops.gatv2_edge_score_backward(g.float(), x_l, x_r, x_e, att, src, dst, 0.2, *csr, [True] * 4)


def test_malformed_csr_entries_are_skipped_not_read():
    """CSR entries naming edges outside [0, E) are skipped (memory safety of raw calls)."""
    x_l, x_r, x_e, att, ei = inputs(6, 5, 25, 2, 3, seed=10)
    dp, dq, sp, sq = edge_csr(build_adjacency(ei, 5, 6))
    dq, sq = dq.clone(), sq.clone()
    dq[0], sq[0] = 10**9, -5
    g = torch.randn(25, 2, dtype=torch.float64)
    out = ops.gatv2_edge_score_backward(g, x_l, x_r, x_e, att, ei[0], ei[1], 0.2, dp, dq, sp, sq, [True] * 4)
    assert all(torch.isfinite(t).all() for t in out)


@pytest.mark.parametrize("edge", [False, True])
@pytest.mark.parametrize("C", [3, 8, 19, 64])
def test_float32_kernels_match_reference(device, edge, C):
    """float32 runs the CPU's vectorized loops (8 channels per step, then a tail): against the float64 reference of
    the same float32 inputs, forward and every backward output, with and without CSRs."""
    x_l, x_r, x_e, att, ei = inputs(30, 25, 400, 3, C, seed=C, device=device, edge=edge)
    f32 = [None if t is None else t.float() for t in (x_l, x_r, x_e, att)]
    exact = [None if t is None else t.double() for t in f32]
    src, dst = ei[0], ei[1]
    g = torch.randn(400, 3, device=device)
    for csr in ((None,) * 4, edge_csr(build_adjacency(ei, 25, 30))):
        out = ops.gatv2_edge_score(*f32[:3], f32[3], src, dst, -0.3, *csr)
        assert out.dtype == torch.float32
        torch.testing.assert_close(out.double(), ref.gatv2_edge_score(*exact[:3], exact[3], src, dst, -0.3),
                                   rtol=1e-5, atol=1e-5)
        got = ops.gatv2_edge_score_backward(g, *f32[:3], f32[3], src, dst, -0.3, *csr, [True] * 4)
        want = ref.gatv2_edge_score_backward(g.double(), *exact[:3], exact[3], src, dst, -0.3, *csr, [True] * 4)
        for a, b in zip(got, want):
            torch.testing.assert_close(a.double(), b, rtol=1e-5, atol=1e-5)


def test_backward_bits_do_not_depend_on_the_thread_count():
    """The CPU passes split rows into ranges fixed by the row pointers (a skewed graph: one vertex receives a third
    of the edges), so grad_att's range partial sums add in the same order with 1 or 2 threads."""
    x_l, x_r, x_e, att, ei = inputs(300, 300, 20000, 4, 16, seed=11, dtype=torch.float32)
    ei[1, ::3] = 7
    csr = edge_csr(build_adjacency(ei, 300, 300))
    g = torch.randn(20000, 4)
    prev = torch.get_num_threads()
    outs = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            outs.append(ops.gatv2_edge_score_backward(g, x_l, x_r, x_e, att, ei[0], ei[1], 0.2, *csr, [True] * 4))
    finally:
        torch.set_num_threads(prev)
    for a, b in zip(*outs):
        assert torch.equal(a, b)
