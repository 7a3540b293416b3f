"""meshgraph.compat holds the peers' recorded signatures (tests/compat/peer_signatures.json) and its docs list them.

The JSON is recorded from PyTorch3D v0.7.9's source and the installed PyG 2.8 (tools/record_peer_signatures.py);
these tests need neither peer.
"""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from meshgraph.compat._signatures import check_name, compare_params, ours_module
from meshgraph.compat.exceptions import KNOWN_DIFFERENCES

ROOT = Path(__file__).resolve().parents[2]
SIGS = json.loads((ROOT / "tests" / "compat" / "peer_signatures.json").read_text())


def recorded():
    for peer, modules in SIGS.items():
        for module, names in modules.items():
            if not module.startswith("_"):
                yield peer, module, names


def test_every_mirrored_name_has_the_recorded_peer_signature():
    bad, mirrored = [], 0
    for peer, module, names in recorded():
        for name, entry in names.items():
            status, problems = check_name(peer, module, name, entry)
            mirrored += status != "missing"
            if status == "differs" and f"{module}.{name}" not in KNOWN_DIFFERENCES:
                bad += [f"{module}.{name}: {p}" for p in problems]
    assert not bad, "compat names that differ from the recorded peer signature:\n" + "\n".join(bad)
    assert mirrored > 0


def test_known_differences_are_still_differences():
    stale = []
    for peer, module, names in recorded():
        for name, entry in names.items():
            key = f"{module}.{name}"
            if key in KNOWN_DIFFERENCES and check_name(peer, module, name, entry)[0] != "differs":
                stale.append(key)
    assert not stale, f"listed in KNOWN_DIFFERENCES but they match (or are gone): {stale}"


@pytest.mark.parametrize("peer,module", [(p, m) for p, m, _ in recorded()])
def test_compat_module_exports_only_peer_names(peer, module):
    try:
        mod = importlib.import_module(ours_module(peer, module))
    except ImportError:
        pytest.fail(f"{ours_module(peer, module)} (the mirror of {module}) does not import")
    exported = getattr(mod, "__all__", None)
    assert exported is not None, f"{mod.__name__} must define __all__"
    names = SIGS[peer][module]
    extra = [n for n in exported if n not in names]
    assert not extra, f"{mod.__name__} exports names {module} does not have: {extra}"
    absent = [n for n in exported if not hasattr(mod, n)]
    assert not absent, f"{mod.__name__}.__all__ lists names it lacks: {absent}"


def test_the_signature_check_catches_differences():
    peer = [["x", "POSITIONAL_OR_KEYWORD", "<required>"], ["k", "POSITIONAL_OR_KEYWORD", 1]]
    assert compare_params(peer, [["x", "POSITIONAL_OR_KEYWORD", "<required>"], ["k", "POSITIONAL_OR_KEYWORD", 1]], "f") == []
    assert compare_params(peer, [["x", "POSITIONAL_OR_KEYWORD", "<required>"], ["k", "POSITIONAL_OR_KEYWORD", 2]], "f")
    assert compare_params(peer, [["x", "POSITIONAL_OR_KEYWORD", "<required>"], ["k", "KEYWORD_ONLY", 1]], "f")
    assert compare_params(peer, [["k", "POSITIONAL_OR_KEYWORD", 1], ["x", "POSITIONAL_OR_KEYWORD", "<required>"]], "f")
    assert compare_params(peer, [["x", "POSITIONAL_OR_KEYWORD", "<required>"], ["k", "POSITIONAL_OR_KEYWORD", True]], "f")


def test_migration_docs_are_generated_from_the_current_code():
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_migration_docs.py"), "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
