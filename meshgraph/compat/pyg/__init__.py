"""`torch_geometric` mirror: `from torch_geometric.X import Y` becomes `from meshgraph.compat.pyg.X import Y`."""

__version__ = "2.8.0"
