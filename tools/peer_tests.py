"""Run a peer's own unit tests against meshgraph.compat (the drop-in check of the compat namespaces).

    python tools/peer_tests.py pytorch3d test_knn.py test_graph_conv.py [-- pytest args]
    python tools/peer_tests.py pyg nn/conv/test_gcn_conv.py utils/test_softmax.py [-- pytest args]
    python tools/peer_tests.py pyg --native nn/conv/test_gcn_conv.py    # the peer itself (PyG installed)
    python tools/peer_tests.py pytorch3d --cuda-as-cpu test_cubify.py   # CUDA-only tests run on the CPU

The peer's test tree is exported from its repository (a git directory: `--repo`, default the search tool's
mirror under /work/.mirror) at the release meshgraph targets (PyTorch3D v0.7.9, PyG 2.8.0) into a scratch
folder, and its imports are rewritten to meshgraph's mirror: `pytorch3d.X` -> `meshgraph.compat.pytorch3d.X`;
`torch_geometric.{nn,data,utils}` -> `meshgraph.compat.pyg.{nn,data,utils}` (PyG's own `testing` and `typing`
helpers stay PyG's: they are test scaffolding, not the API under test). PyTorch3D's compiled `_C` module is
replaced by an empty module, so tests that call it directly fail instead of silently using PyTorch3D.

Prints pass / fail / skip / error counts per test file and writes them as JSON (`--json PATH`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

PEERS = {
    "pytorch3d": {
        "repo": "/work/.mirror/facebookresearch+pytorch3d/repo",
        "rev": "v0.7.9",
        "tree": "tests",
        "data": ["docs/tutorials/data"],  # the tests read the tutorials' meshes (get_pytorch3d_dir())
        "rewrites": [
            (r"\bfrom pytorch3d import _C\b", "from meshgraph_peer_stub import _C"),
            (r"\bimport pytorch3d\._C as _C\b", "from meshgraph_peer_stub import _C"),
            (r"\bpytorch3d\b(?=[\.\s])", "meshgraph.compat.pytorch3d"),
        ],
    },
    "pyg": {
        "repo": "/work/.mirror/pyg-team+pytorch_geometric/repo",
        "rev": "2.8.0",
        "tree": "test",
        "rewrites": [
            (r"\btorch_geometric\.(nn|data|utils|loader|sampler|transforms)\b", r"meshgraph.compat.pyg.\1"),
            (r"\bfrom torch_geometric import (nn|data|utils)\b", r"from meshgraph.compat.pyg import \1"),
        ],
    },
}

STUB = '''"""Stand-in for a peer's compiled module: attribute access fails, so no test silently uses the peer."""
import types


class _Missing(types.ModuleType):
    def __getattr__(self, name):
        raise AttributeError(f"the peer's compiled _C.{name} is not available under meshgraph.compat")


_C = _Missing("_C")
'''


def missing_blobs(repo: str, cfg: dict) -> list[str]:
    """`:(exclude)` pathspecs for files of the test tree whose blobs the mirror lacks (partial clones leave out
    large binaries, e.g. PyTorch3D's pulsar reference .pth files); git archive fails on them otherwise."""
    listing = subprocess.run(["git", f"--git-dir={repo}", "ls-tree", "-r", cfg["rev"], cfg["tree"], *cfg.get("data", [])],
                             check=True, capture_output=True, text=True).stdout.splitlines()
    entries = [line.split(None, 3) for line in listing]
    blobs = [(e[2], e[3]) for e in entries if e[1] == "blob"]
    check = subprocess.run(["git", f"--git-dir={repo}", "cat-file", "--batch-check"], check=True,
                           capture_output=True, text=True, input="".join(f"{sha}\n" for sha, _ in blobs),
                           env=dict(os.environ, GIT_NO_LAZY_FETCH="1")).stdout.splitlines()
    return [f":(exclude){path}" for (_, path), line in zip(blobs, check) if line.endswith(" missing")]


MISSING_PLUGIN = '''"""pytest plugin (--stub-missing): a name a test file imports from meshgraph.compat that compat lacks is
bound to a placeholder raising NotImplementedError when used, so the file's other tests still run."""
import builtins
import importlib

_import = builtins.__import__


class _Missing:
    def __init__(self, where):
        self._where = where

    def _fail(self, *args, **kwargs):
        raise NotImplementedError(f"{self._where} is not implemented in meshgraph.compat")

    __call__ = _fail
    __getattr__ = _fail
    __getitem__ = _fail
    __iter__ = _fail


class _MissingType(type):
    def __instancecheck__(cls, obj):
        return False

    def __subclasscheck__(cls, sub):
        return False


def _placeholder(where):
    def fail(*args, **kwargs):
        raise NotImplementedError(f"{where} is not implemented in meshgraph.compat")

    return _MissingType(where.rsplit(".", 1)[-1], (), {"__new__": fail, "_missing": where})


def _hook(name, globals=None, locals=None, fromlist=(), level=0):
    try:
        module = _import(name, globals, locals, fromlist, level)
    except ModuleNotFoundError as e:  # a missing compat submodule: an empty module of placeholders
        if level != 0 or not name.startswith("meshgraph.compat") or not (e.name or "").startswith("meshgraph.compat"):
            raise
        import sys
        import types

        module = sys.modules.setdefault(name, types.ModuleType(name))
        if not fromlist:
            raise
    if fromlist and level == 0 and name.startswith("meshgraph.compat"):
        for attr in fromlist:
            if attr != "*" and not hasattr(module, attr):
                try:
                    importlib.import_module(f"{name}.{attr}")
                except ImportError:
                    setattr(module, attr, _placeholder(f"{name}.{attr}"))
    return module


builtins.__import__ = _hook
'''


# --cuda-as-cpu: PyTorch3D's CUDA-only tests (get_random_cuda_device(), "cuda:0") run on the CPU instead, to check
# the numbers without a GPU (tests comparing CUDA with CPU then compare the CPU with itself: count them as such).
CUDA_AS_CPU = [
    (r"(?<!def )\bget_random_cuda_device\(\)", '"cpu"'),
    (r"([\"'])cuda(:\d+)?\1", '"cpu"'),
    (r"\btorch\.cuda\.synchronize\(\)", "None"),
]


def export(peer: str, repo: str, dest: Path, native: bool, cuda_as_cpu: bool = False) -> Path:
    cfg = PEERS[peer]
    archive = subprocess.run(
        ["git", f"--git-dir={repo}", "archive", cfg["rev"], cfg["tree"], *cfg.get("data", []), *missing_blobs(repo, cfg)],
        check=True, capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    root = dest / cfg["tree"]
    if not native:
        for path in root.rglob("*.py"):
            if path.name == "conftest.py":  # the peer's fixtures are scaffolding: they stay the peer's
                continue
            text = path.read_text()
            new = text
            for pattern, repl in cfg["rewrites"] + (CUDA_AS_CPU if cuda_as_cpu else []):
                new = re.sub(pattern, repl, new)
            if new != text:
                path.write_text(new)
    (dest / "meshgraph_peer_stub.py").write_text(STUB)
    (dest / "meshgraph_peer_missing.py").write_text(MISSING_PLUGIN)
    return root


def counts(junit: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("classname", "").split(".")
        key = (case.get("file") or "/".join(name[:-1]) or "?").replace(".", "/")
        key = re.sub(r"/py$", ".py", key)
        kids = {c.tag for c in case}
        kind = "failed" if "failure" in kids else "error" if "error" in kids else "skipped" if "skipped" in kids else "passed"
        out.setdefault(key, {"passed": 0, "failed": 0, "error": 0, "skipped": 0})[kind] += 1
    return out


def main() -> int:
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1 :]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("peer", choices=sorted(PEERS))
    ap.add_argument("files", nargs="+", help="test files relative to the peer's test folder")
    ap.add_argument("--repo", help="the peer's git directory")
    ap.add_argument("--native", action="store_true", help="run the peer's tests unmodified (against the peer)")
    ap.add_argument("--json", help="write per-file counts here")
    ap.add_argument("--cuda-as-cpu", action="store_true", help="run the peer's CUDA-only tests on the CPU")
    ap.add_argument("--stub-missing", action="store_true",
                    help="names missing from meshgraph.compat become placeholders that fail when used (instead of "
                         "failing the whole file at import), so a file's other tests still run")
    args = ap.parse_args(argv)
    repo = args.repo or PEERS[args.peer]["repo"]
    with tempfile.TemporaryDirectory(prefix=f"peer-{args.peer}-") as tmp:
        root = export(args.peer, repo, Path(tmp), args.native, args.cuda_as_cpu)
        junit = Path(tmp) / "junit.xml"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([tmp, os.environ.get("PYTHONPATH", "")]))
        plugin = ["-p", "meshgraph_peer_missing"] if args.stub_missing and not args.native else []
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin, f"--junitxml={junit}", "-o", "junit_family=xunit1",
               "--continue-on-collection-errors",
               "--rootdir", tmp, *[str(root / f) for f in args.files], *extra]
        rc = subprocess.run(cmd, cwd=tmp, env=env).returncode
        if not junit.exists():
            return rc or 1
        result = counts(junit)
    total = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for f, c in sorted(result.items()):
        print(f"{f}: " + ", ".join(f"{v} {k}" for k, v in c.items()))
        for k in total:
            total[k] += c[k]
    print("total: " + ", ".join(f"{v} {k}" for k, v in total.items()))
    if args.json:
        Path(args.json).write_text(json.dumps({"files": result, "total": total}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
