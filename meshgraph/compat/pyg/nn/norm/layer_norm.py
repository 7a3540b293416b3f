"""`torch_geometric.nn.norm.layer_norm` mirror."""

from meshgraph.nn.norm import LayerNorm, HeteroLayerNorm

__all__ = ["LayerNorm", "HeteroLayerNorm"]
