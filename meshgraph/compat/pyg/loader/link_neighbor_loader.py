"""`torch_geometric.loader.link_neighbor_loader` mirror."""

from ....sampling.link_loader import LinkNeighborLoader

__all__ = ["LinkNeighborLoader"]
