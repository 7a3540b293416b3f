"""The compiled library: one clear error when it is missing; when present, the file loaded is this checkout's
and every op its C++ declares is registered with a CPU kernel and a fake kernel (and nothing else is)."""

import os
import re
from pathlib import Path

import pytest
import torch
from torch._library.simple_registry import singleton

import meshgraph
from meshgraph import _extension

ROOT = Path(__file__).resolve().parents[1]
# Ops that take and return no tensors (the CPU pool's settings): a catch-all kernel, no fake kernel applies.
UTILITY_OPS = {"cpu_pool_free_bytes", "cpu_pool_clear", "cpu_pool_limit_bytes", "cpu_pool_set_limit_mb"}


def _declared_ops() -> set[str]:
    """Names of the ops declared by m.def inside TORCH_LIBRARY / TORCH_LIBRARY_FRAGMENT(meshgraph, m) in csrc/."""
    names = set()
    head = re.compile(r"TORCH_LIBRARY(?:_FRAGMENT)?\(\s*meshgraph\s*,\s*(\w+)\s*\)\s*\{")
    for path in sorted((ROOT / "csrc").rglob("*")):
        if path.suffix not in (".cpp", ".cu", ".h", ".cuh"):
            continue
        text = path.read_text()
        for m in head.finditer(text):
            depth, i = 1, m.end()
            while depth and i < len(text):
                depth += {"{": 1, "}": -1}.get(text[i], 0)
                i += 1
            names |= set(re.findall(re.escape(m.group(1)) + r'\.def\(\s*"([a-z0-9_]+)\(', text[m.end():i]))
    return names


def test_missing_library_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(_extension, "_C_DIR", str(tmp_path))
    with pytest.raises(_extension.ExtensionNotBuiltError, match="pip install --no-build-isolation"):
        _extension.library_path()


def test_the_loaded_library_is_the_one_beside_the_imported_package():
    path = os.path.realpath(_extension.load())
    package_c = os.path.realpath(os.path.join(os.path.dirname(meshgraph.__file__), "_C"))
    assert os.path.dirname(path) == package_c, f"loaded {path}, not a library of {package_c}"
    assert path in {os.path.realpath(p) for p in torch.ops.loaded_libraries}


def test_declared_ops_are_exactly_the_registered_ones():
    declared = _declared_ops()
    assert {"gather_scatter", "neighbor_softmax", "packed_to_padded"} <= declared  # the parser reads the blocks
    registered = {n.split("::", 1)[1] for n in torch._C._dispatch_get_all_op_names() if n.startswith("meshgraph::")}
    assert declared == registered, (
        f"declared in csrc but not registered: {sorted(declared - registered)}; "
        f"registered but not declared (a stale library?): {sorted(registered - declared)}"
    )


@pytest.mark.parametrize("op", sorted(_declared_ops() - UTILITY_OPS))
def test_declared_op_has_a_cpu_kernel_and_a_fake_kernel(op):
    qualname = f"meshgraph::{op}"
    assert torch._C._dispatch_has_kernel_for_dispatch_key(qualname, "CPU"), f"{op} has no CPU kernel"
    assert singleton.find(qualname).fake_impl.kernel is not None, f"{op} has no register_fake kernel"
    assert torch.Tag.pt2_compliant_tag in getattr(torch.ops.meshgraph, op).default.tags, f"{op} is not pt2-tagged"


@pytest.mark.parametrize("op", sorted(UTILITY_OPS))
def test_utility_ops_run_without_tensors(op):
    schema = getattr(torch.ops.meshgraph, op).default._schema
    assert "Tensor" not in str(schema), f"{op} takes or returns tensors: it needs a fake kernel and a reference"
    assert torch._C._dispatch_has_kernel(f"meshgraph::{op}")


def test_has_cuda_kernels_agrees_with_the_dispatcher():
    cuda = {
        op for op in _declared_ops() - UTILITY_OPS
        if torch._C._dispatch_has_kernel_for_dispatch_key(f"meshgraph::{op}", "CUDA")
    }
    # Either the library was built with CUDA (every op has a CUDA kernel) or without (none has).
    assert cuda == (_declared_ops() - UTILITY_OPS if _extension.has_cuda_kernels() else set())
