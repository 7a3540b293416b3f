"""Examples run on tiny settings (the full runs are documented in docs/)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _example(name):
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        return __import__(name)
    finally:
        sys.path.pop(0)


def test_pointcloud_classification_runs(shared_data):
    r = _example("pointcloud_classification").run(shared_data, steps=3, points=128, batch=4, test=8)
    assert 0.0 <= r["test_accuracy"] <= 1.0 and r["step_ms"] > 0


def test_planetoid_main_runs_one_short_seed(shared_data):
    rows = _example("planetoid").main(["--data", str(shared_data), "--datasets", "cora", "--seeds", "1", "--epochs", "3"])
    assert len(rows) == 2 and all(0 <= r[2] <= 100 for r in rows)
