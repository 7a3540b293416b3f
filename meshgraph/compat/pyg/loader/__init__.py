"""`torch_geometric.loader` mirror: the mini-batch DataLoader (the samplers and neighbour loaders come with issue 15)."""

from ....loader import DataLoader

__all__ = ["DataLoader"]
