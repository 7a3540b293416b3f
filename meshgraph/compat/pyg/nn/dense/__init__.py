"""`torch_geometric.nn.dense` mirror (the Linear layer)."""

from .linear import Linear

__all__ = ["Linear"]

# --- pooling (issue 13): meshgraph.nn.dense
from .dense_gcn_conv import DenseGCNConv
from .dense_gin_conv import DenseGINConv
from .dense_graph_conv import DenseGraphConv
from .dense_sage_conv import DenseSAGEConv
from .diff_pool import dense_diff_pool
from .dmon_pool import DMoNPooling
from .mincut_pool import dense_mincut_pool

__all__ += ["DMoNPooling", "DenseGCNConv", "DenseGINConv", "DenseGraphConv", "DenseSAGEConv", "dense_diff_pool",
            "dense_mincut_pool"]
# --- end pooling
# --- hetero linear (issue 15)
from .linear import HeteroDictLinear, HeteroLinear

__all__ += ["HeteroDictLinear", "HeteroLinear"]
# --- end hetero linear
