"""`torch_geometric.loader.hgt_loader` mirror (meshgraph.sampling.hetero_loader)."""

from ....sampling.hetero_loader import HGTLoader

__all__ = ["HGTLoader"]
