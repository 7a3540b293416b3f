"""`torch_geometric.loader.neighbor_loader` mirror."""

from ....sampling.neighbor_loader import NeighborLoader

__all__ = ["NeighborLoader"]
