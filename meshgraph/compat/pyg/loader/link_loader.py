"""`torch_geometric.loader.link_loader` mirror."""

from ....sampling.link_loader import LinkLoader

__all__ = ["LinkLoader"]
