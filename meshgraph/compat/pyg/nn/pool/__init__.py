"""`torch_geometric.nn.pool` mirror: global pools (PyG's `(x, batch, size=None)`) and the point-cloud graph
builders and sampling (`knn`, `knn_graph`, `radius`, `radius_graph`, `fps`, torch_cluster's call shapes)."""

from meshgraph.ops.graph_builders import fps, knn, knn_graph, radius, radius_graph

from .glob import global_add_pool, global_max_pool, global_mean_pool

__all__ = ["fps", "global_add_pool", "global_max_pool", "global_mean_pool", "knn", "knn_graph", "radius", "radius_graph"]

# --- pooling (issue 13): meshgraph.nn.pool
from . import connect, select
from .asap import ASAPooling
from .avg_pool import avg_pool, avg_pool_neighbor_x, avg_pool_x
from .edge_pool import EdgePooling
from .graclus import graclus
from .max_pool import max_pool, max_pool_neighbor_x, max_pool_x
from .sag_pool import SAGPooling
from .topk_pool import TopKPooling

__all__ += ["ASAPooling", "EdgePooling", "SAGPooling", "TopKPooling", "avg_pool", "avg_pool_neighbor_x", "avg_pool_x",
            "graclus", "max_pool", "max_pool_neighbor_x", "max_pool_x"]
# --- end pooling
