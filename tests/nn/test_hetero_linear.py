"""HeteroLinear / HeteroDictLinear against PyG's with copied weights: outputs and gradients for sorted and unsorted
type vectors, types without rows, 0 rows, bias on/off, lazy in_channels, initializers, state dicts both ways;
bad input names the argument."""

import pytest
import torch

from meshgraph.nn import HeteroDictLinear, HeteroLinear

pyg = pytest.importorskip("torch_geometric.nn")


def _grads(out, w, inputs):
    return torch.autograd.grad((out * w).sum(), inputs, allow_unused=True)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("is_sorted", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_hetero_linear_matches_pyg(bias, is_sorted, dtype):
    mine = HeteroLinear(6, 4, num_types=4, is_sorted=is_sorted, bias=bias).to(dtype)
    theirs = pyg.HeteroLinear(6, 4, num_types=4, is_sorted=is_sorted, bias=bias).to(dtype)
    theirs.load_state_dict(mine.state_dict())
    type_vec = torch.tensor([3, 0, 0, 1, 3, 3, 0, 1, 0, 1])  # type 2 has no rows
    if is_sorted:
        type_vec = type_vec.sort()[0]
    x = torch.randn(10, 6, dtype=dtype, requires_grad=True)
    o1, o2 = mine(x, type_vec), theirs(x, type_vec)
    tol = {"atol": 1e-5, "rtol": 1e-5} if dtype == torch.float32 else {}
    torch.testing.assert_close(o1, o2, **tol)
    w = torch.randn_like(o1)
    g1 = _grads(o1, w, [x, *mine.parameters()])
    for a, b in zip(g1, _grads(o2, w, [x, *theirs.parameters()])):
        torch.testing.assert_close(a, b, **tol)
    assert bool((g1[1][2] == 0).all())  # type 2 has no rows: no gradient for its weight
    assert mine.weight.shape == (4, 6, 4) and (mine.bias is None) == (not bias)
    assert repr(mine) == repr(theirs)


def test_hetero_linear_is_a_linear_per_type():
    lin = HeteroLinear(3, 2, num_types=3).double()
    x = torch.randn(7, 3, dtype=torch.float64)
    t = torch.tensor([2, 1, 2, 0, 0, 1, 2])
    want = torch.stack([x[i] @ lin.weight[t[i]] + lin.bias[t[i]] for i in range(7)])
    torch.testing.assert_close(lin(x, t), want)


def test_hetero_linear_zero_rows_and_single_type():
    lin = HeteroLinear(3, 2, num_types=3)
    assert lin(torch.randn(0, 3), torch.zeros(0, dtype=torch.long)).shape == (0, 2)
    x, t = torch.randn(4, 3), torch.full((4,), 1)
    torch.testing.assert_close(lin(x, t), x @ lin.weight[1] + lin.bias[1])


def test_hetero_linear_lazy_and_state_dict_from_pyg():
    lazy = HeteroLinear(-1, 4, num_types=2)
    out = lazy(torch.randn(5, 7), torch.tensor([0, 1, 1, 0, 1]))
    assert out.shape == (5, 4) and lazy.weight.shape == (2, 7, 4) and lazy.in_channels == 7
    theirs = pyg.HeteroLinear(7, 4, num_types=2)
    mine = HeteroLinear(7, 4, num_types=2)
    mine.load_state_dict(theirs.state_dict())
    x, t = torch.randn(5, 7), torch.tensor([1, 0, 1, 0, 0])
    torch.testing.assert_close(mine(x, t), theirs(x, t))


@pytest.mark.parametrize("init", [None, "glorot", "uniform", "kaiming_uniform"])
def test_hetero_linear_initializers_bound_like_pyg(init):
    torch.manual_seed(0)
    mine = HeteroLinear(50, 40, num_types=3, weight_initializer=init, bias_initializer="zeros")
    torch.manual_seed(0)
    theirs = pyg.HeteroLinear(50, 40, num_types=3, weight_initializer=init, bias_initializer="zeros")
    torch.testing.assert_close(mine.weight, theirs.weight)
    assert bool((mine.bias == 0).all())


def test_hetero_linear_bad_input():
    lin = HeteroLinear(3, 2, num_types=2)
    with pytest.raises(ValueError, match="in_channels"):
        lin(torch.randn(4, 5), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="type_vec"):
        lin(torch.randn(4, 3), torch.tensor([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="type_vec"):
        lin(torch.randn(4, 3), torch.tensor([0, 1, 1]))
    with pytest.raises(TypeError, match="type_vec"):
        lin(torch.randn(4, 3), torch.zeros(4))
    with pytest.raises(ValueError, match="num_types"):
        HeteroLinear(3, 2, num_types=0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        HeteroLinear(3, 2, num_types=2, bais=False)
    with pytest.raises(RuntimeError, match="initializer"):
        HeteroLinear(3, 2, num_types=2, weight_initializer="nope")


@pytest.mark.parametrize("bias", [True, False])
def test_hetero_dict_linear_matches_pyg(bias):
    in_channels = {"author": 3, "paper": 5, "venue": 2}
    mine = HeteroDictLinear(in_channels, 4, bias=bias).double()
    theirs = pyg.HeteroDictLinear(in_channels, 4, bias=bias).double()
    theirs.load_state_dict(mine.state_dict())
    assert list(mine.state_dict()) == list(theirs.state_dict())
    x_dict = {"author": torch.randn(4, 3, dtype=torch.float64), "paper": torch.randn(0, 5, dtype=torch.float64)}
    o1, o2 = mine(x_dict), theirs(x_dict)
    assert o1.keys() == o2.keys() == {"author", "paper"}
    for k in o1:
        torch.testing.assert_close(o1[k], o2[k])
    assert repr(mine) == repr(theirs)


def test_hetero_dict_linear_int_channels_lazy_and_bad_input():
    lin = HeteroDictLinear(-1, 3, types=["a", "b"])
    out = lin({"a": torch.randn(2, 4), "b": torch.randn(3, 6)})
    assert out["a"].shape == (2, 3) and out["b"].shape == (3, 3) and lin.in_channels == {"a": 4, "b": 6}
    assert lin.lins["b"].weight.shape == (3, 6)
    with pytest.raises(ValueError, match="types"):
        HeteroDictLinear(4, 3)
    with pytest.raises(ValueError, match="types"):
        HeteroDictLinear({"a": 4}, 3, types=["b"])
    with pytest.raises(TypeError, match="x_dict"):
        HeteroDictLinear({"a": 4}, 3)(torch.randn(2, 4))


def test_hetero_linears_script():
    lin = HeteroLinear(3, 2, num_types=3)
    x, t = torch.randn(6, 3), torch.tensor([2, 0, 1, 0, 2, 2])
    torch.testing.assert_close(torch.jit.script(lin)(x, t), lin(x, t))
    d = HeteroDictLinear({"a": 3, "b": 2}, 4)
    xd = {"a": x, "b": torch.randn(2, 2)}
    got, want = torch.jit.script(d)(xd), d(xd)
    assert got.keys() == want.keys()
    for k in want:
        torch.testing.assert_close(got[k], want[k])
