"""`torch_geometric.nn.pool.graclus` mirror: PyG's signature (the visit order comes from the global RNG, as in
PyG); `meshgraph.ops.graclus` also takes a `generator`."""

from meshgraph.ops.graclus import graclus as _graclus

__all__ = ["graclus"]


def graclus(edge_index, weight=None, num_nodes=None):
    return _graclus(edge_index, weight, num_nodes)


graclus.__doc__ = _graclus.__doc__
