"""Every benchmark runs end to end on tiny sizes (its correctness checks included), so none can rot."""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize("path", sorted(BENCH.glob("bm_*.py")), ids=lambda p: p.stem)
def test_benchmark_runs_quick(path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(["--quick", "--threads", "1"])
    assert "ours" in capsys.readouterr().out
