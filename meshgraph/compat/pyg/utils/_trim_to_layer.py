"""`torch_geometric.utils._trim_to_layer` mirror (SparseTensor inputs are not supported: torch_sparse is not a dependency)."""

from ....sampling.trim import TrimToLayer, trim_adj, trim_feat, trim_to_layer

__all__ = ["TrimToLayer", "trim_adj", "trim_feat", "trim_to_layer"]
