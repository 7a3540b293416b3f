"""`torch_geometric.loader.node_loader` mirror."""

from ....sampling.neighbor_loader import NodeLoader

__all__ = ["NodeLoader"]
