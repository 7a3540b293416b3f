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


def test_run_py_parses_tables_and_plots(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    text = "env line\n\nW1 sum fwd+bwd, F=64\n  meshgraph gather_scatter    33.2 ms     1.00x ours\n  torch index_add_ (E x F gather)   631.1 ms    19.03x ours\n"
    tables = mod.parse(text)
    assert tables == [("W1 sum fwd+bwd, F=64", [("meshgraph gather_scatter", 33.2), ("torch index_add_ (E x F gather)", 631.1)])]
    paths = mod.plot(tables, tmp_path)
    assert len(paths) == 1 and paths[0].stat().st_size > 0
