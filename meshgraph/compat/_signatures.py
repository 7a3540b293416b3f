"""Compare meshgraph.compat's names with the recorded peer signatures (tests/compat/peer_signatures.json).

Used by tools/gen_migration_docs.py (the docs/migration_*.md tables) and tests/compat/test_compat_signatures.py.
A mirrored function or class matches when its parameters have the peer's names, kinds and order, and each
default the peer gives as a literal is equal here (a default the peer computes, e.g. `_R = torch.eye(3)[None]`,
only has to exist). Classes compare `__init__` and `forward`, and must have every public method of the peer's.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

REQUIRED = "<required>"
PEER_PREFIX = {"pytorch3d": ("pytorch3d.", "meshgraph.compat.pytorch3d."), "pyg": ("torch_geometric.", "meshgraph.compat.pyg.")}


def ours_module(peer: str, peer_module: str) -> str:
    src, dst = PEER_PREFIX[peer]
    return dst + peer_module[len(src):]


def _params(fn) -> list[list[Any]]:
    out = []
    for p in inspect.signature(fn).parameters.values():
        out.append([p.name, p.kind.name, REQUIRED if p.default is inspect.Parameter.empty else p.default])
    return out


def _drop_self(params: list) -> list:
    return params[1:] if params and params[0][0] in ("self", "cls") else params


def compare_params(peer: list, ours: list, what: str) -> list[str]:
    """Differences between a recorded peer parameter list and ours (empty when they match)."""
    problems = []
    names_p, names_o = [p[0] for p in peer], [p[0] for p in ours]
    if names_p != names_o:
        return [f"{what}: parameters {names_o} != peer's {names_p}"]
    for (name, kind_p, dp), (_, kind_o, do) in zip(peer, ours):
        if kind_p != kind_o:
            problems.append(f"{what}: {name} is {kind_o}, peer's is {kind_p}")
        if dp == REQUIRED or do == REQUIRED:
            if (dp == REQUIRED) != (do == REQUIRED):
                problems.append(f"{what}: {name} default {'missing' if do == REQUIRED else repr(do)}, peer's {dp!r}")
            continue
        if isinstance(dp, dict) and set(dp) == {"expr"}:
            continue  # computed default in the peer: presence is what we can check
        if isinstance(do, (tuple, list)) and isinstance(dp, list):
            do = [list(v) if isinstance(v, tuple) else v for v in do]
        if type(dp) is not type(do) and not (isinstance(dp, (int, float)) and isinstance(do, (int, float)) and not isinstance(do, bool) and not isinstance(dp, bool)):
            problems.append(f"{what}: {name} default {do!r}, peer's {dp!r}")
        elif dp != do:
            problems.append(f"{what}: {name} default {do!r}, peer's {dp!r}")
    return problems


def check_name(peer: str, peer_module: str, name: str, entry: dict) -> tuple[str, list[str]]:
    """(status, problems) for one recorded peer name: status is "mirrored", "differs" or "missing"."""
    try:
        mod = importlib.import_module(ours_module(peer, peer_module))
    except ImportError:
        return "missing", []
    if not hasattr(mod, name):
        return "missing", []
    obj = getattr(mod, name)
    kind = entry["kind"]
    problems: list[str] = []
    if kind == "function":
        if not callable(obj) or inspect.isclass(obj):
            return "differs", [f"{name} is a {type(obj).__name__}, the peer's is a function"]
        if "params" in entry:
            problems += compare_params(entry["params"], _params(obj), name)
    elif kind == "class":
        if not inspect.isclass(obj):
            # A factory function standing for the peer's class is a difference, however close.
            return "differs", [f"{name} is not a class here"]
        if "init" in entry and not hasattr(obj, "_fields"):
            problems += compare_params(entry["init"], _drop_self(_params(obj.__init__)), f"{name}.__init__")
        if "fields" in entry and hasattr(obj, "_fields"):
            if list(obj._fields) != [f[0] for f in entry["fields"]]:
                problems.append(f"{name} fields {list(obj._fields)} != peer's {[f[0] for f in entry['fields']]}")
        if "forward" in entry:
            if not hasattr(obj, "forward"):
                problems.append(f"{name} has no forward")
            else:
                problems += compare_params(entry["forward"], _drop_self(_params(obj.forward)), f"{name}.forward")
        missing = [m for m in entry.get("methods", []) if not hasattr(obj, m)]
        if missing:
            problems.append(f"{name} lacks methods {missing}")
    elif kind == "module":
        if not inspect.ismodule(obj):
            problems.append(f"{name} is not a module here")
    return ("differs" if problems else "mirrored"), problems
