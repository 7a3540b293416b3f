"""Run every benchmark (or some) and optionally plot each table.

    python benchmarks/run.py                 # all bm_*.py, full sizes, output to stdout
    python benchmarks/run.py knn chamfer     # only bm_knn.py and bm_chamfer.py
    python benchmarks/run.py --quick --plot  # tiny sizes; write docs/img/<table>.png bar charts
    python benchmarks/run.py --from-logs DIR --plot   # plot saved outputs (DIR/bm_*.txt) without running

Each benchmark prints tables as `title` followed by `  name   <ms> ms   <ratio>x ours` rows (benchmarks/_common.py
report); the plots show those times on a log scale, ours highlighted.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROW = re.compile(r"^\s{2}(\S.*?)\s{2,}([0-9.]+) ms\s+([0-9.]+)x ours$")


def parse(text: str) -> list[tuple[str, list[tuple[str, float]]]]:
    tables, title, rows = [], None, []
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            rows.append((m.group(1).strip(), float(m.group(2))))
            continue
        if rows:
            tables.append((title, rows))
            rows = []
        if line and not line.startswith(" "):
            title = line.strip()
    if rows:
        tables.append((title, rows))
    return tables


def plot(tables, out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for title, rows in tables:
        names = [n for n, _ in rows][::-1]
        times = [t for _, t in rows][::-1]
        fig, ax = plt.subplots(figsize=(7, 0.5 * len(rows) + 1.2))
        colors = ["tab:orange" if n.startswith("meshgraph") else "tab:gray" for n in names]
        ax.barh(names, times, color=colors)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("ms (log scale, lower is better)")
        ax.set_title(title, fontsize=9)
        for y, t in enumerate(times):
            ax.text(t, y, f" {t:.1f}", va="center", fontsize=8)
        fig.tight_layout()
        slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:60]
        path = out_dir / f"{slug}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("names", nargs="*", help="benchmarks to run (bm_<name>.py); default all")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--plot", action="store_true")
    p.add_argument("--from-logs", type=Path, default=None)
    p.add_argument("--out", type=Path, default=HERE.parent / "docs" / "img")
    args = p.parse_args(argv)
    files = sorted(HERE.glob("bm_*.py"))
    if args.names:
        files = [f for f in files if f.stem[3:] in args.names]
    tables = []
    if args.from_logs:
        for log in sorted(args.from_logs.glob("bm_*.txt")):
            tables += parse(log.read_text())
    else:
        for f in files:
            cmd = [sys.executable, str(f)] + (["--quick"] if args.quick else [])
            res = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE)
            sys.stdout.write(res.stdout)
            if res.returncode:
                sys.stderr.write(res.stderr)
                return res.returncode
            tables += parse(res.stdout)
    if args.plot:
        for path in plot(tables, args.out):
            print(f"plot: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
