import pytest
import torch

from meshgraph.datasets import load_planetoid


@pytest.mark.parametrize("name,n,f,e,classes", [("cora", 2708, 1433, 10556, 7), ("citeseer", 3327, 3703, 9104, 6)])
def test_planetoid_npz_loads_the_standard_split(shared_data, name, n, f, e, classes):
    b = load_planetoid(shared_data / f"{name}.npz")
    assert len(b) == 1 and b.num_verts == n and b.num_edges == e
    x = b.packed("x")
    assert x.shape == (n, f)
    nonzero = x.sum(1) > 0
    torch.testing.assert_close(x.sum(1)[nonzero], torch.ones(int(nonzero.sum())))  # row-normalized
    y = b.packed("y")
    assert int(y.max()) == classes - 1
    assert int(b.packed("train_mask").sum()) == 20 * classes
    assert int(b.packed("val_mask").sum()) == 500
    test, unlabeled = b.packed("test_mask"), b.packed("unlabeled")
    assert not (test & unlabeled).any() and int(test.sum()) <= 1000
    assert not (b.packed("train_mask") & test).any()
    if name == "citeseer":
        assert int(unlabeled.sum()) == 15


def test_planetoid_bad_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_planetoid(tmp_path / "nope.npz")
    import numpy as np

    np.savez(tmp_path / "bad.npz", y=np.zeros(3))
    with pytest.raises(ValueError, match="missing keys"):
        load_planetoid(tmp_path / "bad.npz")
