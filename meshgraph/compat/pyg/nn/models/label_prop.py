"""`torch_geometric.nn.models.label_prop` mirror."""

from meshgraph.nn.models import LabelPropagation

__all__ = ["LabelPropagation"]
