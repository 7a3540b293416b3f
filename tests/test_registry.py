"""Every op registered in torch.ops.meshgraph ships complete: reference, CPU + CUDA kernels, fake kernel,
autograd, a test file and a benchmark that name it. Adding an op without one of these fails here."""

import re
from pathlib import Path

import pytest
import torch
from torch._library.simple_registry import singleton

import meshgraph
from meshgraph.ops.reference import REFERENCES

ROOT = Path(__file__).resolve().parents[1]
# Utility ops take no tensors (memory-pool settings and inspection): no reference, fake kernel or autograd applies.
UTILITY_OPS = {"cpu_pool_free_bytes", "cpu_pool_clear", "cpu_pool_limit_bytes", "cpu_pool_set_limit_mb"}
OPS = sorted(
    n.split("::", 1)[1]
    for n in torch._C._dispatch_get_all_op_names()
    if n.startswith("meshgraph::") and n.split("::", 1)[1] not in UTILITY_OPS
)
# Ops with no gradient by nature (index outputs); everything else must register autograd.
# knn_points_idx: its outputs are neighbour indices (the wrapper recomputes differentiable distances from them).
# ball_query_idx, sample_farthest_points_idx and point_face_distance_idx likewise return indices only.
# graclus: its output is an integer cluster assignment (greedy matching), no gradient exists.
NON_DIFFERENTIABLE: set[str] = {"knn_points_idx", "ball_query_idx", "sample_farthest_points_idx", "point_face_distance_idx",
                                "graclus"}
# neighbor_sample and random_walk (issue 15) return sampled node / edge ids and counts.
NON_DIFFERENTIABLE |= {"neighbor_sample", "random_walk"}


def _impls(pattern: str, key: str) -> set[str]:
    """Ops registered by m.impl inside the TORCH_LIBRARY_IMPL(meshgraph, <key>, m) blocks of the files."""
    found = set()
    head = re.compile(r"TORCH_LIBRARY_IMPL\(\s*meshgraph\s*,\s*" + key + r"\s*,\s*(\w+)\s*\)\s*\{")
    for path in ROOT.glob(pattern):
        text = path.read_text()
        for m in head.finditer(text):
            depth, i = 1, m.end()
            while depth and i < len(text):  # the block's body: up to its matching brace
                depth += {"{": 1, "}": -1}.get(text[i], 0)
                i += 1
            body = text[m.end():i]
            found |= set(re.findall(re.escape(m.group(1)) + r'\.impl\(\s*"([a-z0-9_]+)"', body))
    return found


def test_impl_block_parser_reads_only_the_named_key():
    src = ROOT / "csrc" / "ops" / "gather_scatter" / "gather_scatter_cuda.cu"
    assert "gather_scatter" in _impls(str(src.relative_to(ROOT)), "CUDA")
    assert not _impls(str(src.relative_to(ROOT)), "CPU")


def test_ops_are_registered():
    assert {"packed_to_padded", "padded_to_packed"} <= set(OPS)


@pytest.mark.parametrize("op", OPS)
def test_op_is_complete(op):
    qualname = f"meshgraph::{op}"
    assert op in REFERENCES, f"{op} has no pure-PyTorch reference in meshgraph.ops.reference.REFERENCES"
    assert singleton.find(qualname).fake_impl.kernel is not None, f"{op} has no register_fake kernel"
    assert torch._C._dispatch_has_kernel_for_dispatch_key(qualname, "CPU"), f"{op} has no CPU kernel"
    assert op in _impls("csrc/ops/*/*_cpu.cpp", "CPU"), f"{op} is not registered in a *_cpu.cpp file"
    if meshgraph._extension.has_cuda_kernels():  # CUDA built: the dispatcher is the truth
        assert torch._C._dispatch_has_kernel_for_dispatch_key(qualname, "CUDA"), f"{op} CUDA kernel not built"
    else:  # CPU-only build: the CUDA sources must still register it
        assert op in _impls("csrc/ops/*/*_cuda.cu", "CUDA"), f"{op} has no TORCH_LIBRARY_IMPL(meshgraph, CUDA) in a *_cuda.cu"
    if op not in NON_DIFFERENTIABLE:
        assert torch._C._dispatch_has_kernel_for_dispatch_key(qualname, "Autograd"), f"{op} has no autograd"
    tests = [p for p in (ROOT / "tests" / "ops").glob("test_*.py") if op in p.read_text()]
    assert tests, f"no tests/ops/test_*.py mentions {op}"
    benches = [p for p in (ROOT / "benchmarks").glob("bm_*.py") if op in p.read_text()]
    assert benches, f"no benchmarks/bm_*.py mentions {op}"


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    assert len(blocks) >= 2, "README must start with the install+demo command and the test command"
    assert "python -m meshgraph demo" in blocks[0]
    test_cmd = blocks[1].strip()
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1].strip() == test_cmd, f".ci/run must end with the README's test command {test_cmd!r}"

# --- implicit rendering (issue 16)
# sample_pdf: PyTorch3D's sample_pdf is not differentiable (it raises on inputs that require grad); so is ours.
NON_DIFFERENTIABLE |= {"sample_pdf"}
# --- end implicit rendering
# --- marching_cubes (issue 16)
# marching_cubes: not differentiable in PyTorch3D either; its vertices are returned detached (documented).
NON_DIFFERENTIABLE |= {"marching_cubes"}
# --- end marching_cubes
# --- mesh queries (issue 16)
# ray_mesh_intersect_idx and bvh_closest_face_idx return faces (the wrappers recompute differentiable distances
# and barycentrics from them, like point_face_distance_idx); mesh_bvh returns the tree (a constant of the queries).
NON_DIFFERENTIABLE |= {"ray_mesh_intersect_idx", "bvh_closest_face_idx", "mesh_bvh"}
# --- end mesh queries
