"""`torch_geometric.transforms` mirror (PyG 2.8): the graph transforms of meshgraph.transforms.graph, on the
compat Data / Batch records (and PyG's own)."""

from ....transforms.graph import (
    AddLaplacianEigenvectorPE,
    AddRandomWalkPE,
    AddSelfLoops,
    BaseTransform,
    Center,
    Compose,
    ComposeFilters,
    FaceToEdge,
    GCNNorm,
    KNNGraph,
    LinearTransformation,
    NormalizeFeatures,
    NormalizeScale,
    RadiusGraph,
    RandomFlip,
    RandomJitter,
    RandomLinkSplit,
    RandomNodeSplit,
    RandomRotate,
    RemoveIsolatedNodes,
    SamplePoints,
    ToSparseTensor,
    ToUndirected,
)

__all__ = [
    "AddLaplacianEigenvectorPE", "AddRandomWalkPE", "AddSelfLoops", "BaseTransform", "Center", "Compose",
    "ComposeFilters", "FaceToEdge", "GCNNorm", "KNNGraph", "LinearTransformation", "NormalizeFeatures",
    "NormalizeScale", "RadiusGraph", "RandomFlip", "RandomJitter", "RandomLinkSplit", "RandomNodeSplit",
    "RandomRotate", "RemoveIsolatedNodes", "SamplePoints", "ToSparseTensor", "ToUndirected",
]
