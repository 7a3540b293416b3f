"""`torch_geometric.datasets` mirror, for the datasets read from local files: `TUDataset` (meshgraph.datasets.tu).

PyG's other datasets download their files; meshgraph reads local files only and does not mirror them.
"""

from ....datasets.tu import TUDataset

__all__ = ["TUDataset"]
