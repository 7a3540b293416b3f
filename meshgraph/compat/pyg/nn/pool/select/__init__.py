"""`torch_geometric.nn.pool.select` mirror: node-selection operators."""

from .base import Select, SelectOutput
from .topk import SelectTopK

__all__ = ["Select", "SelectOutput", "SelectTopK"]
