"""pytest plugin (`-p peer_force_sampler`, with tools/ on PYTHONPATH): lifts PyG's pyg-lib / METIS gates, so PyG's
loader / sampler tests run against meshgraph.compat's own sampler and METIS (pymetis) instead of being skipped.

PyG skips its sampling tests unless pyg-lib or torch-sparse is installed (`onlyNeighborSampler`,
`withPackage('pyg_lib')`, `withMETIS`, `torch_geometric.typing.WITH_PYG_LIB` / `WITH_WEIGHTED_NEIGHBOR_SAMPLE`
read at import time). meshgraph's loaders need neither, so this plugin, loaded before the test modules are
imported, says that pyg-lib (the sampler's feature set: weighted sampling, hetero, disjoint, temporal by node or
edge time, `WITH_EDGE_TIME_NEIGHBOR_SAMPLE`) and METIS are present. It leaves torch-sparse absent (the tests gated
on it use `SparseTensor`, which meshgraph does not mirror). Nothing of pyg-lib is imported or called: the code
under test is meshgraph.compat (tools/peer_tests.py rewrites `torch_geometric.loader/sampler/data` to it).
"""

from __future__ import annotations

import torch_geometric.testing as _T
import torch_geometric.testing.decorators as _D
import torch_geometric.typing as _TY

_D.WITH_PYG_LIB = True  # onlyNeighborSampler reads the module global
_D.WITH_METIS = True
_identity = lambda func: func  # noqa: E731
_D.withMETIS = _T.withMETIS = _identity
_has_package = _D.has_package


def _has(package: str) -> bool:
    names = [p.split(">")[0].split("=")[0].split("<")[0].strip() for p in package.split("|")]
    if "pyg_lib" in names or "pyg-lib" in names:
        return True
    return _has_package(package)


_D.has_package = _T.has_package = _has
_TY.WITH_PYG_LIB = True
_TY.WITH_METIS = True
_TY.WITH_WEIGHTED_NEIGHBOR_SAMPLE = True
_TY.WITH_EDGE_TIME_NEIGHBOR_SAMPLE = True  # meshgraph samples by edge time too (meshgraph.sampling.temporal)
_TY.WITH_SAMPLED_OP = False
