"""Import layering (issue 17): every module imports on its own, whatever was imported before it.

Each test process replaces meshgraph/__init__.py by a bare package (only the operator library is loaded), so a
module's own imports must bring in everything it needs: nothing may rely on the order in which the package's
__init__ happens to import its submodules. Also checked: the tensor-level layer (meshgraph/_utils.py,
meshgraph/ops/adjacency.py, meshgraph/ops/reference/) never imports the GraphBatch container at module level.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "meshgraph"

# One process imports torch and loads the operator library into a bare `meshgraph` package once, then forks a child
# per case (up to 4 at a time: the cases are independent); each child starts from that bare package and imports its
# modules in the given order. Prints one line per failure.
FORKER = """
import importlib, os, sys, types
import torch  # noqa: F401  (the expensive import, shared by every child)

pkg = types.ModuleType("meshgraph")
pkg.__path__ = [{path!r}]
sys.modules["meshgraph"] = pkg
importlib.import_module("meshgraph._extension").load()  # the one thing every child has: the operator library
jobs = max(1, min(4, os.cpu_count() or 1))
running = {{}}

def reap():
    pid, status = os.wait()
    names, r = running.pop(pid)
    msg = os.read(r, 4096).decode()
    os.close(r)
    if status:
        print(msg or f"{{names}}: exit status {{status}}")

for names in {cases!r}:
    while len(running) >= jobs:
        reap()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            for name in names:
                importlib.import_module(name)
            code = 0
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            os.write(w, f"{{names[-1]}}: {{type(exc).__name__}}: {{exc}}"[:4000].encode())
            code = 1
        os._exit(code)
    os.close(w)
    running[pid] = (names, r)
while running:
    reap()
"""


def modules() -> list[str]:
    out = []
    for p in sorted(PKG.rglob("*.py")):
        parts = p.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def _failures(cases: list[list[str]]) -> list[str]:
    code = FORKER.format(path=str(PKG), cases=cases)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return [line for line in r.stdout.splitlines() if line.strip()]


def _init_order() -> list[str]:
    """The submodules meshgraph/__init__.py imports, in its order."""
    tree = ast.parse((PKG / "__init__.py").read_text())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                names.append(f"meshgraph.{node.module}")
            else:
                names += [f"meshgraph.{a.name}" for a in node.names]
    return list(dict.fromkeys(names))


def test_every_module_imports_first_and_alone():
    names = modules()
    assert len(names) > 30
    failures = _failures([[name] for name in names])
    assert not failures, "modules that do not import on their own:\n" + "\n".join(failures)


def test_package_imports_with_its_init_order_reversed():
    order = _init_order()
    assert len(order) >= 5, order
    assert not _failures([list(reversed(order))])


def test_a_module_that_cannot_import_alone_is_reported(tmp_path):
    # the check itself can fail: a module missing from the bare package is reported, not skipped
    assert _failures([["meshgraph.no_such_module"]])


TENSOR_LEVEL = ["_utils.py", "ops/adjacency.py", "ops/reference"]


@pytest.mark.parametrize("rel", TENSOR_LEVEL)
def test_tensor_level_modules_do_not_import_the_container(rel):
    paths = [PKG / rel] if rel.endswith(".py") else sorted((PKG / rel).glob("*.py"))
    above = ("meshgraph.graph", "meshgraph.structures", "meshgraph.losses", "meshgraph.nn", "meshgraph.render",
             "meshgraph.compat")
    bad = [f"{path.relative_to(ROOT)} imports {n}" for path in paths
           for n in _package_imports(path, module_level_only=True) if n.startswith(above)]
    assert not bad, bad


def _package_imports(path: Path, package: str | None = None, module_level_only: bool = False) -> list[str]:
    """Every meshgraph module `path` imports, anywhere in the file (function bodies included) or at module level
    only, as dotted names; `package` is the file's package (by default read from its place in the tree)."""
    package = package or ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    tree = ast.parse(path.read_text())
    out = []
    for node in (tree.body if module_level_only else ast.walk(tree)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
                out += [target] if node.module else [f"{target}.{a.name}" for a in node.names]
            elif (node.module or "").startswith("meshgraph"):
                out.append(node.module)
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.startswith("meshgraph")]
    return out


def test_references_import_nothing_else_from_the_package():
    """ops/reference/ is the independent oracle of the kernels: it may import torch, the standard library and its own
    modules, never another part of meshgraph (a shared helper would make a kernel bug and its reference agree)."""
    bad = []
    for path in sorted((PKG / "ops" / "reference").glob("*.py")):
        bad += [f"{path.name} imports {n}" for n in _package_imports(path) if not n.startswith("meshgraph.ops.reference")]
    assert not bad, bad


def test_the_reference_check_sees_imports_in_function_bodies(tmp_path):
    f = tmp_path / "probe.py"
    f.write_text("import torch\n\ndef g():\n    from ...losses import chamfer\n    from . import knn\n    import meshgraph.nn\n")
    found = _package_imports(f, "meshgraph.ops.reference")
    assert found == ["meshgraph.losses", "meshgraph.ops.reference.knn", "meshgraph.nn"]
