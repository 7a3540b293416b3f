"""`torch_geometric.nn.pool.select.topk` mirror."""

from meshgraph.nn.pool import SelectTopK, topk

__all__ = ["SelectTopK", "topk"]
