"""`torch_geometric.loader.dataloader` mirror."""

from ....loader import Collater, DataLoader

__all__ = ["Collater", "DataLoader"]
