"""The demo runs end to end on a tiny setting and writes its outputs; the CLI parses its flags."""

import pytest

from meshgraph.__main__ import main
from meshgraph.demo import run


def test_demo_runs_and_writes_outputs(tmp_path):
    result = run(steps=5, out=tmp_path, samples=500, progress=False)
    for path in result["paths"].values():
        assert path.exists() and path.stat().st_size > 0
    assert result["chamfer"] > 0
    assert 0 <= result["silhouette_iou"] <= 1
    from meshgraph.render import read_png

    grid = read_png(result["paths"]["render"])
    assert grid.shape == (2 * 192, 3 * 192, 3)  # 2 views x (target, prediction, start)
    assert (grid < 250).any() and (grid == 255).any()  # something drawn on the white background
    from meshgraph.io import load_mesh

    mesh = load_mesh(result["paths"]["mesh"])
    assert mesh.num_verts == 2562 and mesh.faces.shape == (5120, 3)


def test_cli_runs_demo(tmp_path, capsys):
    assert main(["demo", "--steps", "2", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "chamfer distance" in out and str(tmp_path.resolve()) in out
    with pytest.raises(SystemExit):
        main(["demo", "--steps", "-1"])
