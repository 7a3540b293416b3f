"""`torch_geometric.nn.aggr.utils` mirror: the set-transformer blocks."""

from meshgraph.nn.aggr import (InducedSetAttentionBlock, MultiheadAttentionBlock, PoolingByMultiheadAttention,
                               SetAttentionBlock)

__all__ = ["MultiheadAttentionBlock", "SetAttentionBlock", "InducedSetAttentionBlock", "PoolingByMultiheadAttention"]
