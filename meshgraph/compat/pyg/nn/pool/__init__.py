"""`torch_geometric.nn.pool` mirror: global pools (PyG's `(x, batch, size=None)`) and the point-cloud graph
builders and sampling (`knn`, `knn_graph`, `radius`, `radius_graph`, `fps`, torch_cluster's call shapes)."""

from meshgraph.ops.graph_builders import fps, knn, knn_graph, radius, radius_graph

from .glob import global_add_pool, global_max_pool, global_mean_pool

__all__ = ["fps", "global_add_pool", "global_max_pool", "global_mean_pool", "knn", "knn_graph", "radius", "radius_graph"]
