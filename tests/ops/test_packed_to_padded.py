"""packed_to_padded / padded_to_packed: kernels vs reference, autograd, opcheck, compile, bad input."""

import pytest
import torch

from meshgraph.ops import packed_to_padded, padded_to_packed
from meshgraph.ops import reference as ref

ALL_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int64, torch.int32, torch.bool, torch.uint8]


def random_sets(counts, trailing=(), dtype=torch.float32, index_dtype=torch.int64, device="cpu", seed=0):
    g = torch.Generator().manual_seed(seed)
    num_rows = sum(counts)
    x = torch.randn((num_rows, *trailing), generator=g, dtype=torch.float64) * 10
    x = x.to(dtype) if dtype != torch.bool else x > 0
    first = torch.tensor([sum(counts[:i]) for i in range(len(counts))], dtype=index_dtype)
    return x.to(device), first.to(device)


CASES = [
    [3, 0, 5, 1],  # an empty set in the middle
    [0, 0],  # only empty sets
    [1],  # a single row
    [7, 2, 0],  # empty last set
    [0, 4],  # empty first set
    [],  # no sets at all
]


@pytest.mark.parametrize("counts", CASES)
@pytest.mark.parametrize("trailing", [(), (3,), (2, 5)])
@pytest.mark.parametrize("index_dtype", [torch.int32, torch.int64])
def test_kernels_match_reference_on_edge_case_batches(device, counts, trailing, index_dtype):
    x, first = random_sets(counts, trailing, index_dtype=index_dtype, device=device)
    max_size = max(counts, default=0) + 2
    padded = packed_to_padded(x, first, max_size)
    torch.testing.assert_close(padded, ref.packed_to_padded(x, first, max_size), rtol=0, atol=0)
    packed = padded_to_packed(padded, first, x.shape[0])
    torch.testing.assert_close(packed, ref.padded_to_packed(padded, first, x.shape[0]), rtol=0, atol=0)
    torch.testing.assert_close(packed, x, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_every_dtype_round_trips_exactly(device, dtype):
    counts = [5, 1, 0, 9, 3]
    x, first = random_sets(counts, (4,), dtype=dtype, device=device, seed=1)
    padded = packed_to_padded(x, first, 9)
    assert padded.dtype == dtype and padded.shape == (5, 9, 4)
    assert torch.equal(padded, ref.packed_to_padded(x, first, 9))
    assert torch.equal(padded_to_packed(padded, first, x.shape[0]), x)


def test_random_batches_match_reference(device):
    g = torch.Generator().manual_seed(5)
    for trial in range(20):
        n = int(torch.randint(0, 9, (1,), generator=g))
        counts = torch.randint(0, 40, (n,), generator=g).tolist()
        x, first = random_sets(counts, (int(torch.randint(1, 6, (1,), generator=g)),), device=device, seed=trial)
        m = max(counts, default=0) + int(torch.randint(0, 3, (1,), generator=g))
        assert torch.equal(packed_to_padded(x, first, m), ref.packed_to_padded(x, first, m))
        p = torch.randn(n, m, x.shape[1], generator=g).to(device)
        assert torch.equal(padded_to_packed(p, first, x.shape[0]), ref.padded_to_packed(p, first, x.shape[0]))


def test_large_rows_split_across_threads_match_reference():
    counts = [3000, 1, 0, 4500, 777]
    x, first = random_sets(counts, (3,), seed=3)
    assert torch.equal(packed_to_padded(x, first, 4500), ref.packed_to_padded(x, first, 4500))
    p = torch.randn(5, 4500, 3)
    assert torch.equal(padded_to_packed(p, first, x.shape[0]), ref.padded_to_packed(p, first, x.shape[0]))


def test_noncontiguous_inputs_are_handled(device):
    x, first = random_sets([4, 2, 3], (6,), device=device)
    xt = x.t().contiguous().t()  # same values, transposed strides
    assert not xt.is_contiguous()
    assert torch.equal(packed_to_padded(xt, first, 4), ref.packed_to_padded(x, first, 4))


def test_gradcheck_float64(device):
    x, first = random_sets([3, 0, 4, 1], (2,), dtype=torch.float64, device=device)
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a: packed_to_padded(a, first, 5), (x,))
    assert torch.autograd.gradgradcheck(lambda a: packed_to_padded(a, first, 5), (x,))
    p = torch.randn(4, 5, 2, dtype=torch.float64, device=device, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: padded_to_packed(a, first, 8), (p,))
    assert torch.autograd.gradgradcheck(lambda a: padded_to_packed(a, first, 8), (p,))


def test_backward_matches_reference_backward(device):
    x, first = random_sets([2, 5, 0, 3], (3,), device=device)
    x1 = x.clone().requires_grad_(True)
    x2 = x.clone().requires_grad_(True)
    w = torch.randn(4, 6, 3, device=device)
    (packed_to_padded(x1, first, 6) * w).sum().backward()
    (ref.packed_to_padded(x2, first, 6) * w).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)


def test_expanded_grad_output_is_handled(device):
    x, first = random_sets([2, 3], (4,), device=device)
    x.requires_grad_(True)
    packed_to_padded(x, first, 3).sum().backward()  # the incoming gradient is an expanded scalar
    assert torch.equal(x.grad, torch.ones_like(x))


@pytest.mark.parametrize("index_dtype", [torch.int32, torch.int64])
def test_opcheck(device, index_dtype):
    x, first = random_sets([3, 0, 4, 1], (2,), dtype=torch.float64, index_dtype=index_dtype, device=device)
    torch.library.opcheck(torch.ops.meshgraph.packed_to_padded, (x.requires_grad_(True), first, 5))
    p = torch.randn(4, 5, 2, dtype=torch.float64, device=device, requires_grad=True)
    torch.library.opcheck(torch.ops.meshgraph.padded_to_packed, (p, first, 8))
    torch.library.opcheck(torch.ops.meshgraph.packed_to_padded, (x.detach().float(), first, 4))


def test_compile_fullgraph_matches_eager(device):
    x, first = random_sets([3, 0, 4, 1], (2,), device=device)

    def f(a):
        padded = packed_to_padded(a, first, 4)
        return padded_to_packed(padded.relu() * 2, first, a.shape[0])

    expect = ref.padded_to_packed(ref.packed_to_padded(x, first, 4).relu() * 2, first, x.shape[0])
    compiled = torch.compile(f, fullgraph=True, dynamic=False)
    torch.testing.assert_close(compiled(x), expect)
    torch.testing.assert_close(f(x), expect)
    torch._dynamo.reset()


def test_bad_inputs_raise_clear_errors():
    x, first = random_sets([3, 2], (2,))
    with pytest.raises(TypeError, match="inputs"):
        packed_to_padded(x.numpy(), first, 3)
    with pytest.raises(TypeError, match="first_idxs"):
        packed_to_padded(x, first.float(), 3)
    with pytest.raises(ValueError, match="first_idxs"):
        packed_to_padded(x, first[None], 3)
    with pytest.raises(ValueError, match="max_size"):
        packed_to_padded(x, first, -1)
    with pytest.raises(TypeError, match="max_size"):
        packed_to_padded(x, first, 2.5)
    with pytest.raises(ValueError, match="max_size"):
        packed_to_padded(x, first, 2)  # a set of 3 rows does not fit
    with pytest.raises(ValueError, match="first_idxs"):
        packed_to_padded(x, torch.tensor([3, 0]), 5)  # decreasing
    with pytest.raises(ValueError, match="first_idxs"):
        packed_to_padded(x, torch.tensor([0, 9]), 5)  # past the end
    with pytest.raises(ValueError, match="first_idxs"):
        packed_to_padded(x, torch.tensor([-1, 2]), 5)
    with pytest.raises(ValueError, match="inputs"):
        packed_to_padded(torch.tensor(1.0), first, 3)
    p = torch.zeros(2, 3, 2)
    with pytest.raises(ValueError, match="first_idxs"):
        padded_to_packed(p, torch.tensor([0]), 5)
    with pytest.raises(ValueError, match="num_inputs"):
        padded_to_packed(p, first, -2)
    with pytest.raises(ValueError, match="max_size"):
        padded_to_packed(p, first, 9)  # the last set would have 6 rows > 3
    with pytest.raises(ValueError, match="inputs"):
        padded_to_packed(torch.zeros(3), first, 3)


def test_raw_kernels_reject_inconsistent_offsets_on_cpu():
    # The op itself (no wrapper validation) rejects unsorted / out-of-range offsets on CPU; CUDA kernels clamp them
    # instead (wrong-but-safe, never out of bounds: tests/test_raw_op_checks.py).
    x = torch.arange(10.0)[:, None]
    with pytest.raises(RuntimeError, match="first_idxs"):
        torch.ops.meshgraph.packed_to_padded(x, torch.tensor([8, -5, 100]), 4)
    with pytest.raises(RuntimeError, match="first_idxs"):
        torch.ops.meshgraph.padded_to_packed(torch.ones(3, 2, 1), torch.tensor([5, 1, 200]), 10)
