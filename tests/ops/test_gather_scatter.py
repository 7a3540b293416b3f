"""gather_scatter / edge_dot / gather_scatter_arg_backward: kernels vs reference and torch_scatter (an independent
oracle), gradients, opcheck, compile, PyTorch3D call shape, bad input."""

import pytest
import torch
import torch_scatter

import meshgraph as mg
from meshgraph.ops import build_adjacency, edge_dot, gather_scatter
from meshgraph.ops import reference as ref

REDUCES = ["sum", "mean", "max", "min"]
TOL = {torch.float64: 1e-12, torch.float32: 1e-5, torch.float16: 2e-2, torch.bfloat16: 5e-2}


def random_graph(V, E, seed=0, self_loops=True, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, max(V, 1), (2, E), generator=g) if V else torch.zeros(2, 0, dtype=torch.int64)
    if not self_loops and E:
        ei = ei[:, ei[0] != ei[1]]
    return ei.to(device)


def oracle(x, ei, w, reduce, V):
    """torch_scatter over the materialized messages (what the kernels avoid)."""
    msg = x[ei[0]] if w is None else x[ei[0]] * w.view(-1, *[1] * (x.dim() - 1))
    return torch_scatter.scatter(msg, ei[1], 0, dim_size=V, reduce=reduce)


GRAPHS = [
    (0, 0),  # empty graph
    (1, 0),  # a single vertex, no edges
    (1, 3),  # a single vertex with self loops
    (30, 0),  # no edges
    (30, 200),  # duplicates, self loops, isolated vertices
    (200, 60),  # mostly isolated vertices
]


@pytest.mark.parametrize("V,E", GRAPHS)
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_torch_scatter_and_reference(device, V, E, reduce, weighted):
    ei = random_graph(V, E, seed=V + E, device=device)
    x = torch.randn(V, 6, dtype=torch.float64, device=device)
    w = torch.rand(ei.shape[1], dtype=torch.float64, device=device) + 0.5 if weighted else None
    out = gather_scatter(x, ei, edge_weight=w, reduce=reduce)
    torch.testing.assert_close(out, oracle(x, ei, w, reduce, V), rtol=1e-12, atol=1e-12)
    adj = build_adjacency(ei, V, index_dtype=torch.int64)
    wc = w[adj.edge_id] if w is not None else None
    k_out, k_arg = torch.ops.meshgraph.gather_scatter(x, adj.rowptr, adj.col, wc, reduce)
    r_out, r_arg = ref.gather_scatter(x, adj.rowptr, adj.col, wc, reduce)
    torch.testing.assert_close(k_out, r_out, rtol=1e-12, atol=1e-12)
    assert torch.equal(k_arg, r_arg)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("index_dtype", [torch.int32, torch.int64])
@pytest.mark.parametrize("reduce", REDUCES)
def test_dtypes_and_index_types(device, dtype, index_dtype, reduce):
    V, E = 40, 300
    ei = random_graph(V, E, seed=1, device=device)
    x = torch.randn(V, 16, device=device)
    w = torch.rand(E, device=device)
    adj = build_adjacency(ei, V, index_dtype=index_dtype)
    assert adj.col.dtype == index_dtype
    out = gather_scatter(x.to(dtype), adj, edge_weight=w.to(dtype), reduce=reduce)
    assert out.dtype == dtype
    # accumulation is float32 even for 16-bit inputs: compare against float64 on the rounded inputs
    expect = oracle(x.to(dtype).double(), ei, w.to(dtype).double(), reduce, V)
    tol = TOL[dtype] * (8 if reduce in ("sum", "mean") else 1)
    torch.testing.assert_close(out.double(), expect, rtol=tol, atol=tol)


def test_trailing_feature_shape_and_strided_input(device):
    V, E = 25, 120
    ei = random_graph(V, E, seed=2, device=device)
    x = torch.randn(V, 3, 4, device=device)
    out = gather_scatter(x, ei)
    assert out.shape == (V, 3, 4)
    torch.testing.assert_close(out, oracle(x, ei, None, "sum", V))
    xt = torch.randn(8, V, device=device).t()  # non-contiguous (V, 8)
    torch.testing.assert_close(gather_scatter(xt, ei, reduce="max"), oracle(xt.contiguous(), ei, None, "max", V))


def test_graphbatch_input_uses_cached_adjacency(device):
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    b = mg.GraphBatch([mg.Graph(torch.randn(4, 3), faces), mg.Graph(num_verts=3, edge_index=torch.tensor([[0, 1], [1, 2]]))]).to(device)
    x = torch.randn(b.num_verts, 5, device=device)
    out = gather_scatter(x, b)
    torch.testing.assert_close(out, oracle(x, b.edge_index, None, "sum", b.num_verts))
    assert b.adjacency() is b.adjacency()
    both = gather_scatter(x, b, directed=False)
    rev = b.edge_index.flip(0)
    torch.testing.assert_close(both, out + oracle(x, rev, None, "sum", b.num_verts))


def test_pytorch3d_call_shape(device):
    # pytorch3d.ops.gather_scatter(input, edges, directed): output[e0] += input[e1]; undirected also output[e1] += input[e0]
    edges = torch.tensor([[0, 1], [1, 2], [0, 2], [3, 0]], device=device)
    x = torch.randn(4, 3, device=device)
    expect_directed = torch.zeros_like(x)
    expect_undirected = torch.zeros_like(x)
    for a, b in edges.tolist():
        expect_directed[a] += x[b]
        expect_undirected[a] += x[b]
        expect_undirected[b] += x[a]
    torch.testing.assert_close(gather_scatter(x, edges, directed=True), expect_directed)
    torch.testing.assert_close(gather_scatter(x, edges, directed=False), expect_undirected)
    torch.testing.assert_close(gather_scatter(x, edges), expect_undirected)  # PyTorch3D's default
    torch.testing.assert_close(gather_scatter(x, edges, True), expect_directed)  # PyTorch3D's positional `directed`
    torch.testing.assert_close(gather_scatter(x, edges, False), expect_undirected)
    two = torch.tensor([[0, 1], [2, 0]], device=device)  # (2, 2): PyG layout unless directed is given
    torch.testing.assert_close(gather_scatter(x[:3], two), oracle(x[:3], two, None, "sum", 3))
    e3d = torch.zeros(3, 3, device=device)
    e3d[0] += x[1, :3] * 0 + x[:3][1]
    e3d[2] += x[:3][0]
    torch.testing.assert_close(gather_scatter(x[:3], two, directed=True), e3d)


@pytest.mark.parametrize("reduce", REDUCES)
def test_gradcheck_float64(device, reduce):
    V, E = 12, 50
    ei = random_graph(V, E, seed=3, device=device)
    x = torch.randn(V, 4, dtype=torch.float64, device=device, requires_grad=True)
    w = (torch.rand(E, dtype=torch.float64, device=device) + 0.5).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: gather_scatter(a, ei, edge_weight=b, reduce=reduce), (x, w))
    assert torch.autograd.gradcheck(lambda a: gather_scatter(a, ei, reduce=reduce), (x,))
    if reduce in ("sum", "mean"):
        assert torch.autograd.gradgradcheck(lambda a, b: gather_scatter(a, ei, edge_weight=b, reduce=reduce), (x, w))


@pytest.mark.parametrize("reduce", REDUCES)
def test_backward_matches_reference_and_oracle(device, reduce):
    V, E = 30, 160
    ei = random_graph(V, E, seed=4, device=device)
    x0 = torch.randn(V, 5, dtype=torch.float64, device=device)
    w0 = torch.rand(E, dtype=torch.float64, device=device) + 0.5
    g = torch.randn(V, 5, dtype=torch.float64, device=device)
    x1, w1 = x0.clone().requires_grad_(True), w0.clone().requires_grad_(True)
    x2, w2 = x0.clone().requires_grad_(True), w0.clone().requires_grad_(True)
    (gather_scatter(x1, ei, edge_weight=w1, reduce=reduce) * g).sum().backward()
    (oracle(x2, ei, w2, reduce, V) * g).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    torch.testing.assert_close(w1.grad, w2.grad)


def test_max_ties_send_gradient_to_first_edge_in_csr_order(device):
    # vertex 0 receives the same value from vertices 1 and 2: the gradient goes to one of them, deterministically
    x = torch.tensor([[0.0], [5.0], [5.0]], device=device, requires_grad=True)
    ei = torch.tensor([[2, 1], [0, 0]], device=device)  # edge order: 2 -> 0 first
    for _ in range(3):
        x.grad = None
        gather_scatter(x, ei, reduce="max").sum().backward()
        assert x.grad[:, 0].tolist() == [0.0, 0.0, 1.0]


def test_arg_backward_kernel_matches_reference(device):
    V, E = 20, 90
    ei = random_graph(V, E, seed=5, device=device)
    adj = build_adjacency(ei, V)
    x = torch.randn(V, 3, dtype=torch.float64, device=device)
    w = torch.rand(E, dtype=torch.float64, device=device)
    _, arg = torch.ops.meshgraph.gather_scatter(x, adj.rowptr, adj.col, w, "max")
    g = torch.randn(V, 3, dtype=torch.float64, device=device)
    args = (g, x, arg, adj.rowptr_t, adj.col_t, adj.eid_t, w, True)
    for k, r in zip(torch.ops.meshgraph.gather_scatter_arg_backward(*args), ref.gather_scatter_arg_backward(*args)):
        torch.testing.assert_close(k, r)


def test_expanded_grad_out_is_read_through_strides(device):
    ei = random_graph(30, 100, seed=6, device=device)
    x = torch.randn(30, 8, device=device, requires_grad=True)
    gather_scatter(x, ei).sum().backward()  # grad_out is an expanded scalar
    expect = torch.bincount(ei[0], minlength=30).float()[:, None].expand(30, 8)
    torch.testing.assert_close(x.grad, expect)


def test_edge_dot_matches_reference_and_gradcheck(device):
    V, E = 15, 70
    ei = random_graph(V, E, seed=7, device=device)
    a = torch.randn(V, 6, dtype=torch.float64, device=device, requires_grad=True)
    b = torch.randn(V, 6, dtype=torch.float64, device=device, requires_grad=True)
    out = edge_dot(a, b, ei)
    torch.testing.assert_close(out, (a[ei[1]] * b[ei[0]]).sum(1))
    adj = build_adjacency(ei, V)
    torch.testing.assert_close(torch.ops.meshgraph.edge_dot(a, b, adj.rowptr, adj.col), ref.edge_dot(a, b, adj.rowptr, adj.col))
    assert torch.autograd.gradcheck(lambda p, q: edge_dot(p, q, ei), (a, b))
    assert torch.autograd.gradgradcheck(lambda p, q: edge_dot(p, q, ei), (a, b))
    und = edge_dot(a, b, ei, directed=False)
    torch.testing.assert_close(und, torch.cat([(a[ei[1]] * b[ei[0]]).sum(1), (a[ei[0]] * b[ei[1]]).sum(1)]))


@pytest.mark.parametrize("reduce", REDUCES)
def test_opcheck(device, reduce):
    V, E = 10, 40
    ei = random_graph(V, E, seed=8, device=device)
    adj = build_adjacency(ei, V)
    x = torch.randn(V, 3, dtype=torch.float64, device=device, requires_grad=True)
    w = torch.rand(E, dtype=torch.float64, device=device, requires_grad=True)
    torch.library.opcheck(torch.ops.meshgraph.gather_scatter, (x, adj.rowptr, adj.col, w, reduce, adj.rowptr_t, adj.col_t, adj.eid_t))
    torch.library.opcheck(torch.ops.meshgraph.gather_scatter, (x, adj.rowptr, adj.col, None, reduce))
    if reduce == "sum":
        torch.library.opcheck(torch.ops.meshgraph.edge_dot, (x, x.detach().clone().requires_grad_(True), adj.rowptr, adj.col))
        _, arg = torch.ops.meshgraph.gather_scatter(x.detach(), adj.rowptr, adj.col, w.detach(), "max")
        torch.library.opcheck(
            torch.ops.meshgraph.gather_scatter_arg_backward,
            (torch.randn(V, 3, dtype=torch.float64, device=device), x.detach(), arg, adj.rowptr_t, adj.col_t, adj.eid_t, w.detach(), True),
        )


def test_compile_fullgraph_matches_eager(device):
    b = mg.GraphBatch([mg.Graph(torch.randn(6, 3), torch.tensor([[0, 1, 2], [2, 3, 4], [3, 4, 5]]))]).to(device)
    x = torch.randn(6, 8, device=device)
    w = torch.rand(b.num_edges, device=device)

    def f(feat, batch, weight):
        h = gather_scatter(feat, batch, edge_weight=weight, reduce="mean").relu()
        return gather_scatter(h, batch, reduce="max") + edge_dot(h, feat, batch).sum()

    ei, V = b.edge_index, b.num_verts
    h = oracle(x, ei, w, "mean", V).relu()
    expect = oracle(h, ei, None, "max", V) + (h[ei[1]] * x[ei[0]]).sum()  # torch_scatter, not our kernels
    compiled = torch.compile(f, fullgraph=True)
    torch.testing.assert_close(compiled(x, b, w), expect)
    torch.testing.assert_close(f(x, b, w), expect)
    torch._dynamo.reset()


def test_bad_inputs_raise_clear_errors():
    ei = torch.tensor([[0, 1], [1, 2]])
    x = torch.randn(3, 4)
    with pytest.raises(TypeError, match="x"):
        gather_scatter(x.long(), ei)
    with pytest.raises(ValueError, match="reduce"):
        gather_scatter(x, ei, reduce="prod")
    with pytest.raises(ValueError, match="edge_index"):
        gather_scatter(x, torch.tensor([[0, 1], [1, 3]]))  # vertex 3 does not exist
    with pytest.raises(ValueError, match="edge_index"):
        gather_scatter(x, torch.tensor([[0, -1], [1, 2]]))
    with pytest.raises(TypeError, match="edges"):
        gather_scatter(x, ei.float())
    with pytest.raises(ValueError, match="edges"):
        gather_scatter(x, torch.zeros(3, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match="edge_weight"):
        gather_scatter(x, ei, edge_weight=torch.ones(3))
    with pytest.raises(TypeError, match="edge_weight"):
        gather_scatter(x, ei, edge_weight=torch.ones(2, dtype=torch.float64))
    with pytest.raises(TypeError, match="graph"):
        gather_scatter(x, [[0, 1], [1, 2]])
    with pytest.raises(TypeError, match="directed"):
        gather_scatter(x, ei, directed="yes")
    b = mg.GraphBatch([mg.Graph(num_verts=5)])
    with pytest.raises(ValueError, match="rows"):
        gather_scatter(x, b)
    with pytest.raises(ValueError, match="shape"):
        edge_dot(x, x[:, :2], ei)


def test_raw_kernels_skip_out_of_range_columns():
    x = torch.randn(3, 2)
    rowptr = torch.tensor([0, 2, 3])
    col = torch.tensor([1, 99, -4])
    out, _ = torch.ops.meshgraph.gather_scatter(x, rowptr, col, None, "sum")
    torch.testing.assert_close(out, torch.stack([x[1], torch.zeros(2)]))
    bad_rowptr = torch.tensor([5, -3, 100])  # rejected on CPU (CUDA clamps it: tests/test_raw_op_checks.py)
    with pytest.raises(RuntimeError, match="rowptr"):
        torch.ops.meshgraph.gather_scatter(x, bad_rowptr, col, None, "max")
    assert torch.ops.meshgraph.edge_dot(x[:2], x, rowptr, col).shape == (3,)


def test_raw_ops_check_the_transposed_csr_they_carry_for_backward(device):
    # rowptr_t / col_t / eid_t are read by the backward's kernels and index ops: the forward ops check their
    # devices, dtypes and shapes (the Python wrappers always pass consistent ones).
    V, E = 6, 20
    ei = random_graph(V, E, seed=12, device=device)
    adj = build_adjacency(ei, V)
    x = torch.randn(V, 3, device=device, requires_grad=True)
    gs, ed = torch.ops.meshgraph.gather_scatter, torch.ops.meshgraph.edge_dot
    out, _ = gs(x, adj.rowptr, adj.col, None, "sum", adj.rowptr_t, adj.col_t, adj.eid_t)
    torch.testing.assert_close(out, oracle(x, ei, None, "sum", V))
    bad = {
        "rowptr_t must have shape": (adj.rowptr_t[:-1], adj.col_t, adj.eid_t),
        "rowptr_t must be int64": (adj.rowptr_t.int(), adj.col_t, adj.eid_t),
        "col_t must have shape": (adj.rowptr_t, adj.col_t[:-1], adj.eid_t),
        "col_t must be int32 or int64": (adj.rowptr_t, adj.col_t.float(), adj.eid_t),
        "eid_t must have shape": (adj.rowptr_t, adj.col_t, adj.eid_t[:, None]),
        "eid_t must be int64": (adj.rowptr_t, adj.col_t, adj.eid_t.int()),
    }
    for match, t in bad.items():
        with pytest.raises(RuntimeError, match=match):
            gs(x, adj.rowptr, adj.col, None, "sum", *t)
        with pytest.raises(RuntimeError, match=match):
            ed(x, x, adj.rowptr, adj.col, 1, *t)


@pytest.mark.parametrize("reduce", REDUCES)
def test_multi_head_weights_match_per_head_oracle(device, reduce):
    V, E, H, C = 20, 120, 3, 4
    ei = random_graph(V, E, seed=9, device=device)
    x = torch.randn(V, H, C, dtype=torch.float64, device=device, requires_grad=True)
    w = (torch.rand(E, H, dtype=torch.float64, device=device) + 0.5).requires_grad_(True)
    out = gather_scatter(x, ei, edge_weight=w, reduce=reduce)
    assert out.shape == (V, H, C)
    expect = torch.stack([oracle(x[:, h], ei, w[:, h], reduce, V) for h in range(H)], dim=1)
    torch.testing.assert_close(out, expect)
    assert torch.autograd.gradcheck(lambda a, b: gather_scatter(a, ei, edge_weight=b, reduce=reduce), (x, w))
    adj = build_adjacency(ei, V)
    k = torch.ops.meshgraph.gather_scatter(x.detach().reshape(V, -1), adj.rowptr, adj.col, w.detach()[adj.edge_id], reduce)
    r = ref.gather_scatter(x.detach().reshape(V, -1), adj.rowptr, adj.col, w.detach()[adj.edge_id], reduce)
    torch.testing.assert_close(k[0], r[0])
    assert torch.equal(k[1], r[1])
    if reduce == "max":
        g = torch.randn(V, H * C, dtype=torch.float64, device=device)
        args = (g, x.detach().reshape(V, -1), k[1], adj.rowptr_t, adj.col_t, adj.eid_t, w.detach()[adj.edge_id], True)
        for kk, rr in zip(torch.ops.meshgraph.gather_scatter_arg_backward(*args), ref.gather_scatter_arg_backward(*args)):
            torch.testing.assert_close(kk, rr)
        torch.library.opcheck(torch.ops.meshgraph.gather_scatter_arg_backward, args)
    torch.library.opcheck(torch.ops.meshgraph.gather_scatter, (x.reshape(V, -1), adj.rowptr, adj.col, w[adj.edge_id], reduce))


def test_edge_dot_per_head(device):
    V, E, H, C = 15, 60, 2, 3
    ei = random_graph(V, E, seed=10, device=device)
    a = torch.randn(V, H, C, dtype=torch.float64, device=device, requires_grad=True)
    b = torch.randn(V, H, C, dtype=torch.float64, device=device, requires_grad=True)
    out = edge_dot(a, b, ei)
    torch.testing.assert_close(out, (a[ei[1]] * b[ei[0]]).sum(2))
    assert torch.autograd.gradcheck(lambda p, q: edge_dot(p, q, ei), (a, b))
    adj = build_adjacency(ei, V)
    torch.library.opcheck(torch.ops.meshgraph.edge_dot, (a.reshape(V, -1), b.reshape(V, -1), adj.rowptr, adj.col, H))
    torch.testing.assert_close(
        torch.ops.meshgraph.edge_dot(a.reshape(V, -1), b.reshape(V, -1), adj.rowptr, adj.col, H),
        ref.edge_dot(a.reshape(V, -1), b.reshape(V, -1), adj.rowptr, adj.col, H),
    )


@pytest.mark.parametrize("env, limit", [(None, 0), ("0", 0), ("junk", 0), ("64", 64 << 20)])
def test_cpu_pool_is_off_unless_opted_in_by_environment(env, limit):
    # A fresh process: MESHGRAPH_CPU_POOL_MB is read at first use; unset (the default), 0 or junk mean off, and
    # then a large freed output leaves nothing behind in the pool (it was torch.empty's).
    import os
    import subprocess
    import sys

    code = (
        "import torch, meshgraph\n"
        "from meshgraph.ops import gather_scatter\n"
        "from meshgraph.ops.memory import cpu_pool_enabled, cpu_pool_free_bytes, cpu_pool_limit\n"
        "ei = torch.stack([torch.arange(5000), torch.arange(5000).roll(1)])\n"
        "out = gather_scatter(torch.randn(5000, 64), ei)\n"
        "del out\n"
        "print(cpu_pool_limit(), int(cpu_pool_enabled()), cpu_pool_free_bytes())\n"
    )
    environ = {k: v for k, v in os.environ.items() if k != "MESHGRAPH_CPU_POOL_MB"}
    if env is not None:
        environ["MESHGRAPH_CPU_POOL_MB"] = env
    res = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    got_limit, enabled, free = map(int, res.stdout.split())
    assert (got_limit, enabled) == (limit, int(limit > 0))
    assert (free > 0) == (limit > 0)  # 1.2 MiB freed output: kept only by an enabled pool


def test_cpu_pool_opt_in_reuses_blocks_and_turning_it_off_returns_them():
    from meshgraph.ops.memory import (
        cpu_pool_enabled,
        cpu_pool_free_bytes,
        cpu_pool_limit,
        empty_cpu_pool,
        set_cpu_pool_limit,
    )

    V, F = 5000, 64  # 1.2 MiB output, above the pool's 1 MiB threshold
    ei = random_graph(V, 20000, seed=11)
    x = torch.randn(V, F)
    adj = build_adjacency(ei, V)
    expect = ref.gather_scatter(x, adj.rowptr, adj.col, None, "sum")[0]
    previous = cpu_pool_limit() >> 20
    try:
        set_cpu_pool_limit(0)  # off: a large freed output is not kept
        assert not cpu_pool_enabled()
        off = gather_scatter(x, ei)
        torch.testing.assert_close(off, expect)
        del off
        assert cpu_pool_free_bytes() == 0

        set_cpu_pool_limit(64)  # opt in: a freed output's block is handed to the next output of its size
        assert cpu_pool_enabled() and cpu_pool_limit() == 64 << 20
        first = gather_scatter(x, ei)
        ptr = first.data_ptr()
        del first
        assert cpu_pool_free_bytes() >= V * F * 4
        again = gather_scatter(x, ei)
        assert again.data_ptr() == ptr
        torch.testing.assert_close(again, expect)
        kept = gather_scatter(x, ei)  # `again` still alive: a different block
        assert kept.data_ptr() != again.data_ptr()
        again += 1  # pooled tensors behave like any tensor
        torch.testing.assert_close(again, expect + 1)
        del kept
        assert cpu_pool_free_bytes() >= V * F * 4

        set_cpu_pool_limit(0)  # off at run time: free blocks go back; a live pooled tensor still frees correctly
        assert cpu_pool_free_bytes() == 0 and not cpu_pool_enabled()
        torch.testing.assert_close(again, expect + 1)
        del again
        assert cpu_pool_free_bytes() == 0
        with pytest.raises(ValueError, match="mb"):
            set_cpu_pool_limit(-1)
        with pytest.raises(TypeError, match="mb"):
            set_cpu_pool_limit(1.5)
    finally:
        set_cpu_pool_limit(previous)
        empty_cpu_pool()


# ---------------------------------------------------------------------- the adjacency cached on the edge tensor


def _cache_entries(t):
    from meshgraph.ops.adjacency import _CACHE_ATTR

    store = t.__dict__.get(_CACHE_ATTR)
    return {} if store is None else store[1]


def test_edge_tensor_carries_its_adjacency_and_validates_once(monkeypatch):
    from meshgraph.ops import adjacency as adjacency_module

    ei = random_graph(50, 300, seed=3)
    x = torch.randn(50, 4, dtype=torch.float64)
    builds, checks = [], []
    real_build, real_check = adjacency_module.build_adjacency, adjacency_module.check_index_range
    monkeypatch.setattr(adjacency_module, "build_adjacency", lambda *a, **k: builds.append(1) or real_build(*a, **k))
    monkeypatch.setattr(adjacency_module, "check_index_range", lambda *a, **k: checks.append(1) or real_check(*a, **k))
    first = gather_scatter(x, ei)
    for _ in range(3):
        torch.testing.assert_close(gather_scatter(x, ei), first)
    assert len(builds) == 1 and len(checks) == 2  # one build, both rows validated once
    torch.testing.assert_close(first, oracle(x, ei, None, "sum", 50))
    gather_scatter(x, ei, False)  # another setting: its own entry
    assert len(builds) == 2 and len(_cache_entries(ei)) == 2
    ei[0, :10] = 0  # an in-place change drops the entries: the next call rebuilds and revalidates
    torch.testing.assert_close(gather_scatter(x, ei), oracle(x, ei, None, "sum", 50))
    assert len(builds) == 3 and len(checks) == 6
    ei[1, 0] = 50  # out of range after an in-place change: caught
    with pytest.raises(ValueError, match="edge_index"):
        gather_scatter(x, ei)


def test_edge_cache_under_inference_mode_no_grad_and_threads():
    import threading

    ei = random_graph(40, 200, seed=4)
    x = torch.randn(40, 3, dtype=torch.float64, requires_grad=True)
    expect = oracle(x.detach(), ei, None, "mean", 40)
    with torch.inference_mode():
        torch.testing.assert_close(gather_scatter(x, ei, reduce="mean"), expect)
        inf_ei = ei.clone()  # an inference tensor: never cached (its in-place changes are not versioned)
        torch.testing.assert_close(gather_scatter(x, inf_ei, reduce="mean"), expect)
        assert not _cache_entries(inf_ei)
        inf_ei[1, :] = 0
        torch.testing.assert_close(gather_scatter(x, inf_ei, reduce="mean"), oracle(x.detach(), inf_ei, None, "mean", 40))
    # the entry built inside inference mode holds normal tensors: autograd outside it can save them
    out = gather_scatter(x, ei, reduce="mean")
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    with torch.no_grad():
        torch.testing.assert_close(gather_scatter(x, ei, reduce="mean"), expect)
    results, errors = [], []

    def work(seed):
        try:
            e = random_graph(40, 150, seed=seed)
            for _ in range(20):
                results.append(torch.allclose(gather_scatter(x.detach(), e), oracle(x.detach(), e, None, "sum", 40)))
                results.append(torch.allclose(gather_scatter(x.detach(), ei), oracle(x.detach(), ei, None, "sum", 40)))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 160 and all(results)


def test_edge_tensor_with_cache_still_saves_loads_and_copies(tmp_path):
    import copy
    import pickle

    ei = random_graph(20, 60, seed=5)
    x = torch.randn(20, 2)
    out = gather_scatter(x, ei)
    assert _cache_entries(ei)
    torch.save(ei, tmp_path / "ei.pt")
    loaded = torch.load(tmp_path / "ei.pt", weights_only=True)
    assert torch.equal(loaded, ei)
    torch.testing.assert_close(gather_scatter(x, loaded), out)
    for other in (copy.deepcopy(ei), pickle.loads(pickle.dumps(ei))):
        torch.testing.assert_close(gather_scatter(x, other), out)


def test_graph_argument_duck_typed_on_edge_index():
    class Record:  # what PyG's Data looks like to an op
        def __init__(self, edge_index):
            self.edge_index = edge_index

    ei = random_graph(25, 80, seed=6)
    x = torch.randn(25, 3)
    torch.testing.assert_close(gather_scatter(x, Record(ei)), gather_scatter(x, ei))
    with pytest.raises(TypeError, match="graph must be"):
        gather_scatter(x, object())
