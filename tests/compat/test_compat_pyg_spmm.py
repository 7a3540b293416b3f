"""compat.pyg.utils.spmm against PyG's spmm on torch.sparse inputs (and torch.sparse.mm), gradients included."""

import warnings

import pytest
import torch
import torch_geometric.utils as pyg_utils

from meshgraph.compat.pyg.utils import spmm


def _sparse(n=30, m=20, nnz=120, seed=0):
    g = torch.Generator().manual_seed(seed)
    idx = torch.stack([torch.randint(0, n, (nnz,), generator=g), torch.randint(0, m, (nnz,), generator=g)])
    return torch.sparse_coo_tensor(idx, torch.rand(nnz, generator=g, dtype=torch.float64), (n, m)).coalesce()


@pytest.mark.parametrize("reduce", ["sum", "add", "mean", "min", "max"])
@pytest.mark.parametrize("layout", ["coo", "csr", "csc"])
def test_matches_pyg_spmm(reduce, layout):
    a = _sparse()
    x = torch.randn(20, 5, dtype=torch.float64)
    src = {"coo": a, "csr": a.to_sparse_csr(), "csc": a.to_sparse_csc()}[layout]
    expect = pyg_utils.spmm(a.to_sparse_csr(), x, reduce)
    if layout == "csr":  # read as it is: no warning
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = spmm(src, x, reduce)
    else:  # PyG warns that each call converts COO / CSC to CSR
        with pytest.warns(UserWarning, match="Converting sparse tensor to CSR format"):
            out = spmm(src, x, reduce)
    torch.testing.assert_close(out, expect)


def test_gradients_and_errors():
    a = _sparse(8, 6, 20, seed=1).to_sparse_csr()
    x = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: spmm(a, t, "mean"), (x,))
    torch.testing.assert_close(spmm(a, x), torch.sparse.mm(a.to_sparse_coo(), x))
    with pytest.raises(ValueError, match="reduce"):
        spmm(a, x, "prod")
    with pytest.raises(ValueError, match="src"):
        spmm(a.to_dense(), x)
    with pytest.raises(ValueError, match="rows"):
        spmm(a, x[:4])


@pytest.mark.parametrize("reduce", ["sum", "mean", "min", "max"])
def test_edge_index_subclass_input_matches_its_csr(reduce):
    from torch_geometric import EdgeIndex

    src = EdgeIndex([[0, 1, 1, 2], [1, 0, 2, 1]], sparse_size=(4, 3), sort_order="row")
    other = torch.rand(3, 4)  # float32: PyG's to_sparse_csr() values are float32
    out = spmm(src, other, reduce)
    assert out.shape == (4, 4)
    torch.testing.assert_close(out, pyg_utils.spmm(src.to_sparse_csr(), other, reduce))
