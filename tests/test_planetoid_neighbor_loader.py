"""Issue 15's real task on Planetoid: GraphSAGE trained on Cora through NeighborLoader (fan-out [10, 10]) reaches
the accuracy of full-batch training with the same recipe and seeds (examples/planetoid_neighbor_loader.py), within
1 point averaged over 3 seeds, and both learn (far above the 1/7 of chance)."""

import statistics
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _example():
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        return __import__("planetoid_neighbor_loader")
    finally:
        sys.path.pop(0)


def test_neighbor_loader_sage_on_cora_is_within_one_point_of_full_batch(shared_data):
    ex = _example()
    data = ex.cora(shared_data / "cora.npz")
    rows = [ex.run(data, seed) for seed in range(3)]
    full = statistics.mean(r["full"] for r in rows)
    mini = statistics.mean(r["mini"] for r in rows)
    assert full > 0.75 and mini > 0.75, rows  # both learned (Cora's GraphSAGE reaches ~0.8)
    assert abs(full - mini) <= 0.01, rows
    # sampled inference agrees with full-graph inference of the same model (fan-out 10 covers most neighbourhoods)
    assert abs(statistics.mean(r["mini_full_graph"] for r in rows) - mini) <= 0.01, rows
