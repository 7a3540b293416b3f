"""Rerun the peers' own test suites against meshgraph.compat and rewrite docs/peer_test_results.json.

    PYTHONPATH=tools python tools/peer_results.py [pytorch3d] [pyg] [--native]

Runs `tools/peer_tests.py` on the files recorded in docs/peer_test_results.json (PyTorch3D with `--cuda-as-cpu`,
PyG with `--stub-missing`; both with the `peer_absent` plugin, so a test that needs a name meshgraph does not mirror
yet is reported as skipped). Every failure gets a reason: the one recorded for the same test before, else the first
matching rule below, else "UNEXPLAINED: <the exception's first line>" — and then the tool exits 1, so a new failure
cannot slip into the docs unnamed. `--native` also reruns PyG's tests against PyG itself (the comparison column).
Afterwards run `python tools/gen_migration_docs.py` to refresh the per-file tables in docs/migration_*.md.

PyG's sampling tests (the files under test/loader/, test/sampler/, and the FeatureStore / GraphStore / HeteroData
files that sample) are run with one more plugin, `-p peer_force_sampler` (tools/peer_force_sampler.py): PyG skips
them unless pyg-lib / torch-sparse / METIS are installed, and the plugin lifts those gates (pyg-lib's feature set and
METIS and edge-level time, not torch-sparse's SparseTensor) so they run against meshgraph's own sampler; also
utils/test_trim_to_layer.py and nn/conv/test_spline_conv.py, which PyG gates on pyg-lib too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "peer_test_results.json"
TOOLS = ROOT / "tools"

FLAGS = {"pytorch3d": ["--cuda-as-cpu"], "pyg": ["--stub-missing"]}
# (peer, regex on "test id<TAB>first line", reason) for failures not seen before
RULES = [
    (None, r"torch\.jit|TorchScript|jit\.script|jit_", "TorchScript (torch.jit.script), which torch deprecates: a named "
     "exception of issue 12"),
    ("pytorch3d", r"\.cuda\(|torch\.cuda|CUDA", "calls .cuda() / torch.cuda directly (no GPU here)"),
    ("pyg", r"test_(feature_store\.py::test_feature_store(_override)?|graph_store\.py::test_graph_store_conversion)\t",
     "mixes PyG's own scaffolding (torch_geometric.testing.MyFeatureStore / MyGraphStore subclass PyG's FeatureStore / "
     "GraphStore and cast with PyG's CastMixin) with meshgraph.compat's TensorAttr / AttrView / EdgeAttr, which "
     "PyG's cast and isinstance checks do not recognise as theirs"),
    ("pyg", r"HEATConv", "HEATConv: issue 15 asks for HEATConv or RGATConv; meshgraph has RGATConv"),
    ("pyg", r"SparseTensor|torch_sparse", "torch-sparse's SparseTensor, which meshgraph does not mirror (the "
     "peer_force_sampler plugin leaves torch-sparse absent)"),
    (None, r"[Tt]extures?|TexturesAtlas|TexturesUV", "texture classes / texture atlas (issue 14)"),
    ("pytorch3d", r"::test_to\t.*unexpectedly identical", "checks that .to('cuda') returns a new object; with "
     "--cuda-as-cpu it is a no-op move, which returns self as PyTorch3D does"),
    ("pytorch3d", r"test_render_meshes\.py::TestRenderMeshes::test_join_(atlas|uvs|verts)\t.*Not close",
     "its reference image was rendered from random textures drawn with torch.rand on cuda:0 after a seed; "
     "--cuda-as-cpu draws them on the CPU, whose numbers differ (in test_join_uvs the joined render does equal the "
     "per-mesh renders first)"),
    ("pytorch3d", r"test_rasterize_rectangle_images\.py::TestRasterizeRectangleImages(Meshes|Pointclouds)::test_gpu\t"
     r".*Not close", "a CUDA-only test (run on the CPU kernels by --cuda-as-cpu) that compares a square and a "
     "non-square render of the same region up to 600 x 1110 pixels, bary to atol 2e-7: the longer axis's pixel "
     "centres come from PyTorch3D's own non-square NDC formula (which meshgraph uses too), whose float32 rounding "
     "differs from the square formula's by an ulp; ours then differ by 3.0e-7 (bary) / 4e-5 relative (point dists). "
     "The same file's CPU comparison (test_cpu) passes"),
    ("pyg", r"test_sampler_base\.py::test_homogeneous_(merge|collate)", "SamplerOutput.merge_with / "
     "SamplerOutput.collate (PyG 2.8's merging of several sampler outputs) are not mirrored yet (issue 15)"),
    ("pyg", r"test_sampler_base\.py::test_(homogeneous|heterogeneous)_num_neighbors", "NumNeighbors: PyG 2.8's "
     "repr and its hetero values keyed by 'src__rel__dst' strings; meshgraph's keeps edge-type tuples and its own "
     "repr (not mirrored yet, issue 15)"),
    ("pyg", r"test_arma_conv\.py::test_arma_conv\t.*DID NOT RAISE", "expects ARMAConv to raise on a torch.sparse "
     "adjacency (PyG cannot multiply one with its stacked features); meshgraph gives the edge_index result"),
]


# PyG test files that need tools/peer_force_sampler.py (their tests are gated on pyg-lib / METIS)
FORCE_SAMPLER = re.compile(r"^(test/)?(loader/|sampler/|data/test_(hetero_data|feature_store|graph_store)\.py"
                           r"|utils/test_trim_to_layer\.py|nn/conv/test_spline_conv\.py)")


def _split(line: str) -> tuple[str, str]:
    """'`id`: reason' -> (id, reason)."""
    m = re.match(r"`([^`]+)`: (.*)", line)
    return (m.group(1), m.group(2)) if m else (line, "")


def run(peer: str, files: list[str], native: bool) -> tuple[dict, list[tuple[str, str]]]:
    """(per-file counts, [(test id, first line of the failure)]): the FORCE_SAMPLER files of PyG in a run of their
    own with tools/peer_force_sampler.py, the others without it."""
    forced = [f for f in files if peer == "pyg" and FORCE_SAMPLER.match(f)]
    rest = [f for f in files if f not in forced]
    counts, fails = {}, []
    for group, force in ((rest, False), (forced, True)):
        if group:
            c, f = _run(peer, group, native, force)
            counts.update(c)
            fails += f
    return counts, fails


def _run(peer: str, files: list[str], native: bool, force: bool) -> tuple[dict, list[tuple[str, str]]]:
    """(per-file counts, [(test id, first line of the failure)]) of one pytest run."""
    tree = "tests/" if peer == "pytorch3d" else "test/"
    rel = [f[len(tree):] if f.startswith(tree) else f for f in files]
    with tempfile.TemporaryDirectory() as tmp:
        report, out = Path(tmp) / "failures.tsv", Path(tmp) / "counts.json"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TOOLS), str(ROOT), os.environ.get("PYTHONPATH", "")]),
                   PEER_ABSENT_REPORT=str(report))
        flags = [] if native else FLAGS[peer]
        extra = ["-q"] if native else ["-q", "-p", "peer_absent"]
        if not native and force:
            extra += ["-p", "peer_force_sampler"]
        cmd = [sys.executable, str(TOOLS / "peer_tests.py"), peer, *rel, *flags, *(["--native"] if native else []),
               "--json", str(out), "--", *extra]
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        counts = json.loads(out.read_text())["files"] if out.exists() else {}
        fails = []
        if report.exists():
            for line in report.read_text().splitlines():
                tid, _, msg = line.partition("\t")
                fails.append((tid, msg))
    return counts, fails


def reason_for(peer: str, tid: str, msg: str, known: dict[str, str]) -> str:
    if tid in known and not known[tid].startswith("UNEXPLAINED"):
        return known[tid]
    for p, pattern, reason in RULES:
        if (p is None or p == peer) and re.search(pattern, f"{tid}\t{msg}"):
            return reason
    return f"UNEXPLAINED: {msg}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("peers", nargs="*", default=["pytorch3d", "pyg"])
    ap.add_argument("--native", action="store_true", help="also rerun PyG's tests against PyG itself")
    args = ap.parse_args(argv)
    data = json.loads(RESULTS.read_text())
    bad = 0
    for peer in args.peers:
        entry = data[peer]
        files = sorted(entry["files"])
        known = dict(_split(f) for f in entry["failures"])
        counts, fails = run(peer, files, native=False)
        missing = [f for f in files if f not in counts]
        if missing:
            print(f"{peer}: no result for {missing} (the run broke)", file=sys.stderr)
            return 1
        entry["files"] = {f: counts[f] for f in files}
        entry["failures"] = [f"`{tid}`: {reason_for(peer, tid, msg, known)}" for tid, msg in fails]
        unexplained = [f for f in entry["failures"] if "UNEXPLAINED" in f]
        bad += len(unexplained)
        if peer == "pyg" and args.native:
            native, _ = run(peer, files, native=True)
            entry["native"] = {f: native[f] for f in files if f in native}
        passed = sum(c["passed"] for c in counts.values())
        failed = sum(c["failed"] + c["error"] for c in counts.values())
        line = f"{peer}: {passed} passed, {failed} failed ({passed / max(passed + failed, 1):.1%})"
        if peer == "pyg" and entry.get("native"):
            nat = sum(c["passed"] for c in entry["native"].values())
            jit = sum("TorchScript" in f for f in entry["failures"])
            line += f"; PyG itself {nat}: {passed / nat:.1%}, {passed / (nat - jit):.1%} without its {jit} TorchScript tests"
        print(line)
        for f in unexplained:
            print("  " + f)
    RESULTS.write_text(json.dumps(data, indent=1) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
