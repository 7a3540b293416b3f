"""Record the public names and signatures of the peers' modules that meshgraph.compat mirrors.

    python tools/record_peer_signatures.py            # writes tests/compat/peer_signatures.json

PyTorch3D is read from its source (a git directory at v0.7.9, default the search tool's mirror; PyTorch3D need not
be installed): names are followed through `from .x import y` chains to their `def` / `class`. PyG is read by
`inspect` from the installed torch_geometric (the test extra, 2.8.x). The JSON is the recorded peer signature that
`tests/compat/test_compat_signatures.py` holds every mirrored name to, and from which `tools/gen_migration_docs.py`
writes docs/migration_pytorch3d.md and docs/migration_pyg.md.

Each entry: {"kind": "function" | "class", "params": [[name, kind, default], ...]} for functions (a class adds
"init" and, for modules, "forward"; a NamedTuple/dataclass adds "fields"). kind is inspect's parameter kind name;
default is the literal value (JSON) or {"expr": source} for non-literal defaults, or absent-marker "<required>".
"""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "compat" / "peer_signatures.json"
P3D_REPO = "/work/.mirror/facebookresearch+pytorch3d/repo"
P3D_REV = "v0.7.9"
REQUIRED = "<required>"

# The peer modules mirrored (issue 12, plus what later issues add).
P3D_MODULES = ["common", "structures", "ops", "loss", "renderer", "io", "transforms", "utils"]
PYG_MODULES = ["data", "loader", "nn", "transforms", "utils"]


# ---------------------------------------------------------------------- PyTorch3D, from source


class P3DSource:
    def __init__(self, repo: str, rev: str) -> None:
        self.repo, self.rev = repo, rev
        self._files = set(
            subprocess.run(
                ["git", f"--git-dir={repo}", "ls-tree", "-r", "--name-only", rev, "pytorch3d"],
                check=True, capture_output=True, text=True,
            ).stdout.split()
        )
        self._trees: dict[str, ast.Module] = {}

    def path(self, module: str) -> str | None:
        base = module.replace(".", "/")
        for cand in (base + "/__init__.py", base + ".py"):
            if cand in self._files:
                return cand
        return None

    def tree(self, module: str) -> ast.Module | None:
        if module not in self._trees:
            path = self.path(module)
            if path is None:
                return None
            src = subprocess.run(
                ["git", f"--git-dir={self.repo}", "show", f"{self.rev}:{path}"], check=True, capture_output=True, text=True
            ).stdout
            self._trees[module] = ast.parse(src)
        return self._trees[module]

    def is_package(self, module: str) -> bool:
        return (self.path(module) or "").endswith("__init__.py")

    def _absolute(self, module: str, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        parts = module.split(".")
        if not self.is_package(module):
            parts = parts[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        return ".".join(parts + ([node.module] if node.module else []))

    @staticmethod
    def _body(nodes):
        for node in nodes:
            yield node
            if isinstance(node, (ast.If, ast.Try)):
                yield from P3DSource._body(node.body)
                yield from P3DSource._body(getattr(node, "orelse", []))
                for h in getattr(node, "handlers", []):
                    yield from P3DSource._body(h.body)

    def public_names(self, module: str) -> list[str]:
        names = []
        for node in self._body(self.tree(module).body):
            if isinstance(node, ast.ImportFrom):
                for a in node.names:
                    if a.name != "*":
                        names.append(a.asname or a.name)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.append(node.name)
            elif isinstance(node, ast.Assign):
                names.extend(t.id for t in node.targets if isinstance(t, ast.Name))
        return sorted({n for n in names if not n.startswith("_") and n not in ("annotations",)})

    def find(self, module: str, name: str, depth: int = 0):
        """(module, ast node) defining `name` as seen from `module`, following re-exports."""
        tree = self.tree(module)
        if tree is None or depth > 20:
            return None
        for node in self._body(tree.body):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
                return module, node
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                if isinstance(node.value, ast.Name):
                    return self.find(module, node.value.id, depth + 1)
                return module, node
            if isinstance(node, ast.ImportFrom):
                for a in node.names:
                    if (a.asname or a.name) == name:
                        src = self._absolute(module, node)
                        if self.tree(f"{src}.{a.name}") is not None and self.find(src, a.name, depth + 1) is None:
                            return f"{src}.{a.name}", None  # a submodule
                        return self.find(src, a.name, depth + 1)
        return None


def _default(node: ast.expr | None, _source: str = ""):
    if node is None:
        return REQUIRED
    try:
        value = ast.literal_eval(node)
        json.dumps(value)
        return value
    except (ValueError, TypeError, SyntaxError):
        return {"expr": ast.unparse(node)}


def _ast_params(fn: ast.FunctionDef, drop_self: bool) -> list:
    a = fn.args
    out = []
    pos = list(a.posonlyargs) + list(a.args)
    defaults = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
    src = ""
    for i, (arg, d) in enumerate(zip(pos, defaults)):
        kind = "POSITIONAL_ONLY" if i < len(a.posonlyargs) else "POSITIONAL_OR_KEYWORD"
        out.append([arg.arg, kind, _default(d, src)])
    if a.vararg:
        out.append([a.vararg.arg, "VAR_POSITIONAL", REQUIRED])
    for arg, d in zip(a.kwonlyargs, a.kw_defaults):
        out.append([arg.arg, "KEYWORD_ONLY", _default(d, src)])
    if a.kwarg:
        out.append([a.kwarg.arg, "VAR_KEYWORD", REQUIRED])
    if drop_self and out and out[0][0] in ("self", "cls"):
        out = out[1:]
    return out


def _class_entry(src: P3DSource, module: str, node: ast.ClassDef, depth: int = 0) -> dict:
    entry: dict = {"kind": "class"}
    base_names = [ast.unparse(b) for b in node.bases]
    methods = {n.name: n for n in node.body if isinstance(n, ast.FunctionDef)}
    decorators = [ast.unparse(d) for d in node.decorator_list]
    fields = []
    for n in node.body:
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name):
            fields.append([n.target.id, "POSITIONAL_OR_KEYWORD", _default(n.value, "")])
    if any("NamedTuple" in b for b in base_names) or any("dataclass" in d for d in decorators):
        entry["fields"] = fields
        if "__init__" not in methods:
            entry["init"] = fields
    if "__init__" in methods:
        entry["init"] = _ast_params(methods["__init__"], True)
    elif "init" not in entry and depth < 5:
        for b in node.bases:
            found = src.find(module, ast.unparse(b).split(".")[-1])
            if found and isinstance(found[1], ast.ClassDef):
                parent = _class_entry(src, found[0], found[1], depth + 1)
                if "init" in parent:
                    entry["init"] = parent["init"]
                    break
    if "forward" in methods:
        entry["forward"] = _ast_params(methods["forward"], True)
    entry["methods"] = sorted(m for m in methods if not m.startswith("_"))
    return entry


def record_pytorch3d(repo: str = P3D_REPO, rev: str = P3D_REV) -> dict:
    src = P3DSource(repo, rev)
    out = {}
    for mod in P3D_MODULES:
        full = f"pytorch3d.{mod}"
        names = {}
        for name in src.public_names(full):
            found = src.find(full, name)
            if found is None:
                continue
            where, node = found
            if node is None:
                names[name] = {"kind": "module"}
            elif isinstance(node, ast.FunctionDef):
                names[name] = {"kind": "function", "params": _ast_params(node, False)}
            elif isinstance(node, ast.ClassDef):
                names[name] = _class_entry(src, where, node)
            else:
                names[name] = {"kind": "value"}
            names[name]["defined_in"] = where
        out[full] = names
    return out


# ---------------------------------------------------------------------- PyG, from the installed package


def _json_default(value):
    if value is inspect.Parameter.empty:
        return REQUIRED
    try:
        json.dumps(value)
        if isinstance(value, float) and value != value:
            raise TypeError
        return value
    except (TypeError, ValueError):
        return {"expr": repr(value)}


def live_params(fn, drop_self: bool = False) -> list:
    sig = inspect.signature(fn)
    params = [[p.name, p.kind.name, _json_default(p.default)] for p in sig.parameters.values()]
    if drop_self and params and params[0][0] in ("self", "cls"):
        params = params[1:]
    return params


def live_entry(obj) -> dict:
    if inspect.isclass(obj):
        entry: dict = {"kind": "class"}
        try:
            entry["init"] = live_params(obj.__init__, True)
        except (TypeError, ValueError):
            pass
        if "forward" in vars(obj) or any("forward" in vars(b) for b in obj.__mro__[1:-1] if b.__module__.split(".")[0] != "torch"):
            try:
                entry["forward"] = live_params(obj.forward, True)
            except (TypeError, ValueError):
                pass
        if hasattr(obj, "_fields"):
            entry["fields"] = [[f, "POSITIONAL_OR_KEYWORD", REQUIRED] for f in obj._fields]
        entry["methods"] = sorted(m for m in vars(obj) if not m.startswith("_") and callable(vars(obj)[m]))
        return entry
    if inspect.ismodule(obj):
        return {"kind": "module"}
    if callable(obj):
        try:
            return {"kind": "function", "params": live_params(obj)}
        except (TypeError, ValueError):
            return {"kind": "function"}
    return {"kind": "value"}


def record_pyg() -> dict:
    import importlib

    import torch_geometric

    out = {"_version": torch_geometric.__version__}
    for mod in PYG_MODULES:
        m = importlib.import_module(f"torch_geometric.{mod}")
        # torch_geometric.nn's __all__ lists only its own module's names: take every public non-module attribute
        names = set(getattr(m, "__all__", [])) | {
            n for n in dir(m) if not n.startswith("_") and not inspect.ismodule(getattr(m, n))
        }
        entries = {}
        for name in sorted(set(names)):
            obj = getattr(m, name, None)
            if obj is None or (inspect.ismodule(obj) and not obj.__name__.startswith("torch_geometric")):
                continue
            entries[name] = live_entry(obj)
            entries[name]["defined_in"] = getattr(obj, "__module__", None) or m.__name__
        out[f"torch_geometric.{mod}"] = entries
    return out


def main() -> int:
    data = {"pytorch3d": record_pytorch3d(), "pyg": record_pyg()}
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    n = sum(len(v) for peer in data.values() for k, v in peer.items() if not k.startswith("_"))
    print(f"wrote {OUT.relative_to(ROOT)}: {n} names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
