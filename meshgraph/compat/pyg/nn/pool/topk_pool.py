"""`torch_geometric.nn.pool.topk_pool` mirror."""

from meshgraph.nn.pool import TopKPooling

__all__ = ["TopKPooling"]
