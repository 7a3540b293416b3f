"""segment_aggregate / segment_aggregate_backward: kernel vs reference on random groups (unsorted index, ptr
segments, empty groups, empty input, rows listed twice or never), the saved statistics, gradcheck in float64 for
every mode (t and p included), opcheck, bad input, the four float dtypes, results bit-identical across thread
counts, deterministic mode, torch.compile."""

import pytest
import torch

from meshgraph.ops import reference as ref
from meshgraph.ops import segment_aggregate

MODES = ["sum", "mean", "max", "min", "mul", "var", "softmax", "powermean"]
TOL = {torch.float64: 1e-10, torch.float32: 2e-5, torch.float16: 2e-2, torch.bfloat16: 5e-2}


def groups(E, V, seed, device, sorted_=False):
    g = torch.Generator().manual_seed(seed)
    index = torch.randint(0, V, (E,), generator=g)
    if sorted_:
        index = index.sort()[0]
    return index.to(device)


def csr_of(index, V):
    """(rowptr, col) of an index: rows of group v are col[rowptr[v]:rowptr[v+1]] (stable order)."""
    order = torch.argsort(index, stable=True)
    counts = torch.bincount(index, minlength=V)
    rowptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
    return rowptr, order


def params(F, dtype, device, per_channel):
    n = F if per_channel else 1
    t = (torch.rand(n, dtype=torch.float64) * 2 - 0.5).to(dtype).to(device)
    p = (torch.rand(n, dtype=torch.float64) * 2 + 0.5).to(dtype).to(device)
    return t, p


def raw_args(x, rowptr, col, modes, t, p, semi=False, clamp=(1e-4, 100.0)):
    return (x, rowptr, col, modes, t if "softmax" in modes else None, p if "powermean" in modes else None, *clamp, semi)


@pytest.mark.parametrize("E,V", [(0, 4), (1, 1), (40, 7), (300, 50), (200, 400)])
@pytest.mark.parametrize("by", ["index", "ptr"])
@pytest.mark.parametrize("per_channel", [False, True])
def test_kernel_matches_reference_forward_and_backward(device, E, V, by, per_channel):
    F = 5
    x = torch.randn(E, F, dtype=torch.float64, device=device) * 2
    if E > 3:
        x[::7, 1] = 0.0  # zeros for mul
        x[1, 2] = x[2, 2]  # ties for max / min
    index = groups(E, V, E + V, device, sorted_=by == "ptr")
    rowptr, col = csr_of(index, V)
    col = col if by == "index" else None
    t, p = params(F, torch.float64, device, per_channel)
    for semi in (False, True):
        # powermean without clamps needs a positive domain
        _check_against_reference(raw_args(x.abs() + 0.1, rowptr, col, MODES, t, p, semi, (None, None)))
    # signed data with the default clamps (the clamp's gradient mask), mul with zeros
    _check_against_reference(raw_args(x, rowptr, col, MODES, t, p))


def _check_against_reference(args, tol=1e-10):
    """The raw ops' out, stats and gradients equal the reference's (float64)."""
    out, stats = torch.ops.meshgraph.segment_aggregate(*args)
    want_out, want_stats = ref.segment_aggregate(*args)
    torch.testing.assert_close(out, want_out, atol=tol, rtol=tol)
    torch.testing.assert_close(stats, want_stats, atol=tol, rtol=tol)
    g = torch.randn_like(out)
    got = torch.ops.meshgraph.segment_aggregate_backward(g, args[0], out, stats, *args[1:])
    want = ref.segment_aggregate_backward(g, args[0], out, stats, *args[1:])
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, atol=10 * tol, rtol=10 * tol)


def test_wide_rows_many_groups_vector_tails(device):
    # F = 67: the vectorized channel loops' remainders; 3000 groups: many parallel tasks, prefetch across groups
    E, V, F = 20000, 3000, 67
    x = torch.rand(E, F, dtype=torch.float64, device=device) + 0.5
    x[::11, 3] = 0.0
    index = groups(E, V, 21, device)
    rowptr, col = csr_of(index, V)
    t, p = params(F, torch.float64, device, True)
    _check_against_reference(raw_args(x, rowptr, col, MODES, t, p))


def test_rows_listed_twice_or_never_by_col():
    # col may repeat a row (its gradients add up, as the reference's gather) or skip one (gradient 0); CPU only:
    # CUDA assumes each row is listed at most once (the group CSR of an index).
    E, F = 12, 4
    x = torch.rand(E, F, dtype=torch.float64) + 0.5
    t, p = params(F, torch.float64, "cpu", True)
    rowptr = torch.tensor([0, 4, 4, 9])
    col = torch.tensor([3, 0, 7, 3, 1, 7, 2, 11, 5])  # rows 3 and 7 twice, 4, 6, 8, 9, 10 never
    _check_against_reference(raw_args(x, rowptr, col, MODES, t, p))
    col = torch.tensor([3, 0, 7, 1, 2, 11, 5, 9, 10])  # no repeats; rows 4, 6, 8 never
    _check_against_reference(raw_args(x, rowptr, col, MODES, t, p))
    g = torch.ones(3, len(MODES) * F, dtype=torch.float64)
    out, stats = torch.ops.meshgraph.segment_aggregate(*raw_args(x, rowptr, col, MODES, t, p))
    gx = torch.ops.meshgraph.segment_aggregate_backward(g, x, out, stats, *raw_args(x, rowptr, col, MODES, t, p)[1:])[0]
    assert torch.equal(gx[[4, 6, 8]], torch.zeros(3, F, dtype=torch.float64))


@pytest.mark.parametrize("per_channel", [True, False])
def test_results_bit_identical_across_thread_counts(per_channel):
    E, V, F = 40000, 2000, 24  # V * F above ATen's parallel grain: the grad_t / grad_p sums over groups split too
    index = groups(E, V, 23, "cpu")
    rowptr, col = csr_of(index, V)
    x = torch.rand(E, F) + 0.5
    t, p = params(F, torch.float32, "cpu", per_channel)
    args = raw_args(x, rowptr, col, MODES, t, p)
    runs = []
    old = torch.get_num_threads()
    try:
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            out, stats = torch.ops.meshgraph.segment_aggregate(*args)
            g = torch.linspace(-1, 1, out.numel()).reshape(out.shape)
            runs.append((out, stats, *torch.ops.meshgraph.segment_aggregate_backward(g, x, out, stats, *args[1:])))
    finally:
        torch.set_num_threads(old)
    for run in runs[1:]:
        for a, b in zip(runs[0], run):
            assert torch.equal(a, b)


def test_empty_groups_and_empty_input_conventions(device):
    x = torch.randn(0, 3, device=device)
    out = segment_aggregate(x, torch.zeros(0, dtype=torch.long, device=device), dim_size=2,
                            reduce=["sum", "mul", "max", "var", "softmax", "powermean"], t=1.0, p=2.0)
    expect = [0, 1, 0, 0, 0, 0]
    for o, e in zip(out, expect):
        assert o.shape == (2, 3)
        torch.testing.assert_close(o, torch.full_like(o, e))
    assert segment_aggregate(torch.randn(4, 0, device=device), reduce=["mean"])[0].shape == (1, 0)


@pytest.mark.parametrize("mode", MODES)
def test_gradcheck_float64_every_mode(device, mode):
    E, V, F = 25, 6, 3
    index = groups(E, V, 3, device)
    x = (torch.rand(E, F, dtype=torch.float64, device=device) + 0.2).requires_grad_(True)
    if mode == "mul":  # one lone zero and one double zero, away from the finite-difference step
        with torch.no_grad():
            x[index == index[0]] = x[index == index[0]] + 0.5
    kw = {}
    inputs = [x]
    if mode == "softmax":
        kw["t"] = torch.tensor([0.8, -0.3, 1.5], dtype=torch.float64, device=device, requires_grad=True)
        inputs.append(kw["t"])
    if mode == "powermean":
        kw.update(p=torch.tensor([1.7], dtype=torch.float64, device=device, requires_grad=True), clamp_min=1e-4,
                  clamp_max=100.0)
        inputs.append(kw["p"])

    def fn(x, *params):
        extra = dict(kw)
        for name, v in zip([k for k in ("t", "p") if k in kw], params):
            extra[name] = v
        return segment_aggregate(x, index, dim_size=V + 1, reduce=[mode], **extra)[0]

    assert torch.autograd.gradcheck(fn, tuple(inputs))
    assert torch.autograd.gradgradcheck(fn, tuple(inputs))


def test_mul_gradient_with_zeros_matches_torch_prod(device):
    x = torch.tensor([[2.0, 0.0], [3.0, 0.0], [0.0, 5.0], [4.0, 0.0]], dtype=torch.float64, device=device,
                     requires_grad=True)
    index = torch.tensor([0, 0, 0, 1], device=device)
    out = segment_aggregate(x, index, dim_size=2, reduce=["mul"])[0]
    out.backward(torch.ones_like(out))
    x2 = x.detach().clone().requires_grad_(True)
    expect = x2.new_ones(2, 2).scatter_reduce(0, index[:, None].expand(4, 2), x2, "prod", include_self=True)
    expect.backward(torch.ones_like(expect))
    torch.testing.assert_close(out, expect)
    torch.testing.assert_close(x.grad, x2.grad)


def test_semi_grad_gradients(device):
    E, V, F = 30, 5, 4
    index = groups(E, V, 5, device)
    x = torch.randn(E, F, dtype=torch.float64, device=device, requires_grad=True)
    var = segment_aggregate(x, index, dim_size=V, reduce=["var"], semi_grad=True)[0]
    (gx,) = torch.autograd.grad(var.sum(), x)
    mean = torch.zeros(V, F, dtype=torch.float64, device=device).index_add(0, index, x.detach())
    n = torch.bincount(index, minlength=V).clamp(min=1)[:, None]
    torch.testing.assert_close(gx, (-2 * (mean / n) / n)[index])  # PyG: no gradient through mean(x^2)
    sm = segment_aggregate(x, index, dim_size=V, reduce=["softmax"], t=2.0, semi_grad=True)[0]
    (gx,) = torch.autograd.grad(sm.sum(), x)
    a = torch.exp(2 * x.detach())
    torch.testing.assert_close(gx, a / torch.zeros_like(mean).index_add(0, index, a)[index])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_four_float_dtypes_accumulate_wide(device, dtype):
    E, V, F = 400, 9, 6
    index = groups(E, V, 7, device)
    x64 = torch.rand(E, F, dtype=torch.float64, device=device) + 0.5
    x = x64.to(dtype)
    t, p = params(F, dtype, device, True)
    out = segment_aggregate(x, index, dim_size=V, reduce=["mean", "max", "var", "softmax", "powermean"], t=t, p=p,
                            clamp_min=1e-4, clamp_max=100.0)
    want = ref.segment_aggregate(x.double(), *csr_of(index, V), ["mean", "max", "var", "softmax", "powermean"],
                                 t.double(), p.double(), 1e-4, 100.0)[0]
    got = torch.cat(out, dim=1)
    assert got.dtype == dtype
    torch.testing.assert_close(got.double(), want, atol=TOL[dtype], rtol=TOL[dtype])
    xg = x.clone().requires_grad_(True)
    tg = t.clone().requires_grad_(True)
    o = segment_aggregate(xg, index, dim_size=V, reduce=["var", "softmax"], t=tg)
    torch.autograd.grad(sum(v.float().sum() for v in o), (xg, tg))  # runs in every dtype


def test_deterministic_mode_repeats_bit_for_bit(device):
    E, V, F = 3000, 40, 16
    index = groups(E, V, 9, device)
    x = torch.randn(E, F, device=device, requires_grad=True)
    t = torch.full((F,), 0.5, device=device, requires_grad=True)
    with _deterministic():
        runs = []
        for _ in range(2):
            out = torch.cat(segment_aggregate(x, index, dim_size=V, reduce=["mean", "var", "softmax"], t=t), 1)
            gx, gt = torch.autograd.grad(out.sum(), (x, t))
            runs.append((out, gx, gt))
    for a, b in zip(*runs):
        assert torch.equal(a, b)


class _deterministic:
    def __enter__(self):
        self.old = torch.are_deterministic_algorithms_enabled()
        torch.use_deterministic_algorithms(True)

    def __exit__(self, *exc):
        torch.use_deterministic_algorithms(self.old)


def test_opcheck(device):
    E, V, F = 30, 6, 3
    index = groups(E, V, 11, device)
    rowptr, col = csr_of(index, V)
    x = (torch.rand(E, F, dtype=torch.float64, device=device) + 0.1).requires_grad_(True)
    t = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64, device=device, requires_grad=True)
    p = torch.tensor([1.5], dtype=torch.float64, device=device, requires_grad=True)
    for c in (col, None):
        args = (x, rowptr, c, MODES, t, p, 1e-4, 100.0, False)
        torch.library.opcheck(torch.ops.meshgraph.segment_aggregate, args)
        out, stats = torch.ops.meshgraph.segment_aggregate(*args)
        bargs = (torch.randn_like(out), x.detach(), out.detach(), stats, rowptr, c, MODES, t.detach(), p.detach(), 1e-4,
                 100.0, True)
        torch.library.opcheck(torch.ops.meshgraph.segment_aggregate_backward, bargs)


def test_compile_fullgraph_small_case(device):
    E, V, F = 50, 8, 4
    index = groups(E, V, 13, device)
    x = torch.rand(E, F, device=device) + 0.1
    t = torch.full((F,), 0.7, device=device)

    def f(x, t):
        mean, std, sm = segment_aggregate(x, index, dim_size=V, reduce=["mean", "var", "softmax"], t=t)
        return mean + std.sqrt() + sm

    expect = ref.segment_aggregate(x, *csr_of(index, V), ["mean", "var", "softmax"], t)[0]
    expect = expect[:, :F] + expect[:, F:2 * F].sqrt() + expect[:, 2 * F:]
    torch.testing.assert_close(torch.compile(f, fullgraph=True)(x, t), expect)
    torch._dynamo.reset()


def test_trailing_feature_shapes_and_single_group(device):
    x = torch.randn(12, 2, 3, device=device)
    mean, mx = segment_aggregate(x, reduce=["mean", "max"])
    torch.testing.assert_close(mean, x.mean(0, keepdim=True))
    torch.testing.assert_close(mx, x.max(0, keepdim=True)[0])


def test_bad_inputs():
    x = torch.randn(10, 3)
    index = torch.zeros(10, dtype=torch.long)
    with pytest.raises(ValueError, match="reduce"):
        segment_aggregate(x, index, reduce=["median"])
    with pytest.raises(TypeError, match="reduce"):
        segment_aggregate(x, index, reduce="mean")
    with pytest.raises(ValueError, match="t is required"):
        segment_aggregate(x, index, reduce=["softmax"])
    with pytest.raises(ValueError, match="p is required"):
        segment_aggregate(x, index, reduce=["mean"], p=2.0)
    with pytest.raises(ValueError, match="t must have 1 or 3"):
        segment_aggregate(x, index, reduce=["softmax"], t=torch.ones(2))
    with pytest.raises(TypeError, match="x"):
        segment_aggregate(torch.ones(10, 3, dtype=torch.long), index)
    with pytest.raises(ValueError, match="index"):
        segment_aggregate(x, index[:5])
    with pytest.raises(ValueError, match="index"):
        segment_aggregate(x, index, dim_size=0)  # index 0 outside dim_size
    with pytest.raises(ValueError, match="ptr"):
        segment_aggregate(x, ptr=torch.tensor([0, 4, 9]))


def test_raw_op_checks_and_skipped_columns():
    x = torch.randn(6, 2)
    rowptr = torch.tensor([0, 3, 6])
    op = torch.ops.meshgraph.segment_aggregate
    with pytest.raises(RuntimeError, match="rowptr"):
        op(x, torch.tensor([0, 3, 5]), None, ["sum"])
    with pytest.raises(RuntimeError, match="reduce"):
        op(x, rowptr, None, ["median"])
    with pytest.raises(RuntimeError, match="softmax"):
        op(x, rowptr, None, ["softmax", "softmax"], torch.ones(1))
    with pytest.raises(RuntimeError, match="t"):
        op(x, rowptr, None, ["softmax"], torch.ones(3))
    with pytest.raises(RuntimeError, match="col"):
        op(x, rowptr, torch.arange(6, dtype=torch.int32), ["sum"])
    backward = torch.ops.meshgraph.segment_aggregate_backward
    with pytest.raises(RuntimeError, match="grad"):
        backward(torch.ones(2, 3), x, torch.ones(2, 2), torch.ones(2, 0), rowptr, None, ["sum"])
    with pytest.raises(RuntimeError, match="stats"):  # var saves one block of F columns
        backward(torch.ones(2, 2), x, torch.ones(2, 2), torch.ones(2, 0), rowptr, None, ["var"])
    with pytest.raises(RuntimeError, match="stats"):
        backward(torch.ones(2, 2), x, torch.ones(2, 2), torch.ones(2, 2, dtype=torch.float64), rowptr, None, ["var"])
    # columns outside [0, E) are skipped, never read
    out, _ = op(x, rowptr, torch.tensor([0, 1, 99, 3, -4, 5]), ["sum"])
    torch.testing.assert_close(out, torch.stack([x[0] + x[1], x[3] + x[5]]))
