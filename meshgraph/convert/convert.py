"""Converters: networkx, scipy.sparse, PyG Data/Batch, trimesh, PyTorch3D Meshes/Pointclouds."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import torch

from ..graph import POS, Graph, GraphBatch


def _require(module: str, package: str):
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"this conversion needs the optional package {package!r} (pip install {package})") from e


def _one_graph(g: Graph | GraphBatch, name: str) -> Graph:
    if isinstance(g, GraphBatch):
        if len(g) != 1:
            raise ValueError(f"{name} takes a Graph or a GraphBatch of one graph, got a batch of {len(g)}")
        return g.graphs()[0]
    if not isinstance(g, Graph):
        raise TypeError(f"{name} must be a meshgraph.Graph or GraphBatch, got {type(g).__name__}")
    return g


def _edges_or_empty(g: Graph) -> torch.Tensor:
    return g.edge_index if g.edge_index is not None else torch.zeros((2, 0), dtype=torch.int64)


# ---------------------------------------------------------------------- networkx


def to_networkx(graph: Graph | GraphBatch):
    """A networkx.DiGraph: nodes 0..V-1 with each vertex feature as a node attribute (tensor row), edges with
    each edge feature as an edge attribute. Duplicate edges collapse (a DiGraph holds one edge per pair)."""
    nx = _require("networkx", "networkx")
    g = _one_graph(graph, "graph")
    out = nx.DiGraph()
    out.add_nodes_from(range(g.num_verts))
    for k, v in g.vertex_features.items():
        nx.set_node_attributes(out, {i: v[i] for i in range(g.num_verts)}, k)
    e = _edges_or_empty(g).cpu()
    for j, (u, w) in enumerate(e.t().tolist()):
        out.add_edge(u, w, **{k: v[j] for k, v in g.edge_features.items()})
    if g.faces is not None:
        out.graph["faces"] = g.faces
    return out


def from_networkx(nx_graph, *, pos: str | None = POS) -> Graph:
    """A Graph from a networkx graph. Nodes are renumbered 0..V-1 in iteration order; an undirected graph gives
    both directions of each edge. Node attributes present on every node (tensors, arrays or numbers) become
    vertex features (`pos` names the positions attribute); edge attributes likewise become edge features."""
    nx = _require("networkx", "networkx")
    nodes = list(nx_graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    edges = [(index[u], index[v], d) for u, v, d in nx_graph.edges(data=True)]
    if not nx_graph.is_directed():
        edges = edges + [(v, u, d) for u, v, d in edges if u != v]
    edge_index = torch.tensor([[u for u, _, _ in edges], [v for _, v, _ in edges]], dtype=torch.int64).reshape(2, -1)

    def stack(values):
        """Numeric attribute values -> one tensor; None for anything else (strings, objects)."""
        if not values or not all(isinstance(v, (torch.Tensor, np.ndarray, int, float, bool, np.number)) for v in values):
            return None
        return torch.stack([torch.as_tensor(v) for v in values])

    def collect(dicts):
        keys = sorted(set.intersection(*(set(d) for d in dicts))) if dicts else []
        out = {k: stack([d[k] for d in dicts]) for k in keys}
        return {k: v for k, v in out.items() if v is not None}

    vfeats = collect([nx_graph.nodes[n] for n in nodes])
    efeats = collect([d for _, _, d in edges])
    p = vfeats.pop(pos, None) if pos else None
    faces = nx_graph.graph.get("faces")
    return Graph(
        p.float() if p is not None and not p.is_floating_point() else p,
        faces,
        edge_index,
        num_verts=len(nodes),
        vertex_features=vfeats,
        edge_features=efeats,
    )


# ---------------------------------------------------------------------- scipy.sparse


def to_scipy_sparse(graph: Graph | GraphBatch, edge_weight: str | None = None):
    """The (V, V) adjacency as scipy.sparse.coo_matrix: A[src, dst] = weight (1 without `edge_weight`).
    Duplicate edges stay separate entries (they sum if converted to CSR)."""
    sp = _require("scipy.sparse", "scipy")
    if isinstance(graph, GraphBatch):
        e, n = graph.edge_index, graph.num_verts
        w = graph.edge_packed(edge_weight) if edge_weight else None
    else:
        g = _one_graph(graph, "graph")
        e, n = _edges_or_empty(g), g.num_verts
        w = g.edge_features[edge_weight] if edge_weight else None
    e = e.cpu().numpy()
    data = np.ones(e.shape[1], dtype=np.float32) if w is None else w.detach().cpu().numpy().reshape(-1)
    return sp.coo_matrix((data, (e[0], e[1])), shape=(n, n))


def from_scipy_sparse(matrix, *, edge_weight: str | None = "weight", **graph_kwargs) -> Graph:
    """A Graph from a square scipy sparse adjacency: edges src -> dst for each stored entry (row, col); the values
    become edge feature `edge_weight` (None drops them)."""
    sp = _require("scipy.sparse", "scipy")
    if not sp.issparse(matrix):
        raise TypeError(f"matrix must be a scipy.sparse matrix, got {type(matrix).__name__}")
    if matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square, got shape {matrix.shape}")
    coo = matrix.tocoo()
    edge_index = torch.from_numpy(np.stack([coo.row, coo.col]).astype(np.int64))
    efeats = {edge_weight: torch.from_numpy(np.asarray(coo.data))} if edge_weight else {}
    return Graph(edge_index=edge_index, num_verts=matrix.shape[0], edge_features=efeats, **graph_kwargs)


# ---------------------------------------------------------------------- PyG


def to_pyg(graph: Graph | GraphBatch):
    """A torch_geometric Data (for a Graph) or Batch (for a GraphBatch). Positions go to `pos`, faces to `face`
    (3, F) as PyG stores them, vertex features and edge features to attributes of the same names."""
    pyg_data = _require("torch_geometric.data", "torch-geometric")
    if isinstance(graph, GraphBatch):
        return pyg_data.Batch.from_data_list([to_pyg(g) for g in graph.graphs()])
    g = _one_graph(graph, "graph")
    d = pyg_data.Data(edge_index=_edges_or_empty(g), num_nodes=g.num_verts)
    for k, v in g.vertex_features.items():
        d[k] = v
    for k, v in g.edge_features.items():
        d[k] = v
    d.meshgraph_edge_features = list(g.edge_features)  # disambiguates when num_nodes == num_edges
    if g.faces is not None:
        d.face = g.faces.t().contiguous()
    return d


def from_pyg(data) -> Graph | GraphBatch:
    """A Graph from a torch_geometric Data, a GraphBatch from a Batch. Node-level tensors (first dim num_nodes)
    become vertex features, edge-level tensors (first dim num_edges) edge features; `pos` becomes positions and
    `face` (3, F) faces."""
    pyg_data = _require("torch_geometric.data", "torch-geometric")
    if isinstance(data, pyg_data.Batch):
        return GraphBatch([from_pyg(d) for d in data.to_data_list()])
    if not isinstance(data, pyg_data.Data):
        raise TypeError(f"data must be a torch_geometric Data or Batch, got {type(data).__name__}")
    n = data.num_nodes
    e = data.edge_index if data.edge_index is not None else None
    ne = 0 if e is None else e.shape[1]
    vfeats, efeats = {}, {}
    edge_keys = data.get("meshgraph_edge_features")
    for k in data.keys():
        v = data[k]
        if k in ("edge_index", "face", "pos") or not isinstance(v, torch.Tensor) or v.dim() == 0:
            continue
        is_edge = k in edge_keys if edge_keys is not None else (data.is_edge_attr(k) and ("edge" in k or n != ne))
        if is_edge and v.shape[0] == ne:
            efeats[k] = v
        elif v.shape[0] == n:
            vfeats[k] = v
    faces = data.face.t() if data.get("face") is not None else None
    return Graph(
        data.get("pos"), faces, e, num_verts=n,
        vertex_features=vfeats, edge_features=efeats,
    )


# ---------------------------------------------------------------------- trimesh


def to_trimesh(graph: Graph | GraphBatch):
    """A trimesh.Trimesh (process=False: vertex order kept). Vertex features go to `vertex_attributes`."""
    trimesh = _require("trimesh", "trimesh")
    g = _one_graph(graph, "graph")
    if g.pos is None or g.pos.shape[1] != 3:
        raise ValueError("graph must have 3-D positions to become a trimesh")
    faces = g.faces.cpu().numpy() if g.faces is not None else np.zeros((0, 3), dtype=np.int64)
    m = trimesh.Trimesh(vertices=g.pos.detach().cpu().numpy(), faces=faces, process=False)
    for k, v in g.vertex_features.items():
        if k != POS:
            m.vertex_attributes[k] = v.detach().cpu().numpy()
    return m


def from_trimesh(mesh, *, dtype: torch.dtype = torch.float32) -> Graph:
    """A mesh Graph from a trimesh.Trimesh; its `vertex_attributes` become vertex features."""
    trimesh = _require("trimesh", "trimesh")
    if not isinstance(mesh, trimesh.Trimesh):
        raise TypeError(f"mesh must be a trimesh.Trimesh, got {type(mesh).__name__}")
    feats = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in mesh.vertex_attributes.items()
             if isinstance(v, np.ndarray) and len(v) == len(mesh.vertices)}
    return Graph(
        torch.from_numpy(np.asarray(mesh.vertices)).to(dtype),
        torch.from_numpy(np.asarray(mesh.faces, dtype=np.int64)),
        vertex_features=feats,
    )


# ---------------------------------------------------------------------- PyTorch3D


def to_pytorch3d(batch: GraphBatch, *, features: str | None = None):
    """PyTorch3D Meshes (when every graph has faces) or Pointclouds (when none has), from a GraphBatch.
    `features` names a vertex feature to carry: a TexturesVertex for meshes, `features` for point clouds."""
    structures = _require("pytorch3d.structures", "pytorch3d")
    if isinstance(batch, Graph):
        batch = GraphBatch([batch])
    if not isinstance(batch, GraphBatch):
        raise TypeError(f"batch must be a meshgraph.GraphBatch, got {type(batch).__name__}")
    if not all(batch.has(POS)):
        raise ValueError("every graph needs positions to become PyTorch3D Meshes/Pointclouds")
    meshes = batch.is_mesh()
    feats = batch.list(features) if features else None
    if all(meshes):
        textures = None
        if feats is not None:
            renderer = _require("pytorch3d.renderer", "pytorch3d")
            textures = renderer.TexturesVertex(verts_features=feats)
        return structures.Meshes(verts=batch.pos_list(), faces=batch.faces_list(), textures=textures)
    if not any(meshes):
        return structures.Pointclouds(points=batch.pos_list(), features=feats)
    raise ValueError("a batch mixing meshes and other graphs has no PyTorch3D equivalent; index it first")


def from_pytorch3d(obj: Any, *, features: str = "features") -> GraphBatch:
    """A GraphBatch from PyTorch3D Meshes (vertices, faces and TexturesVertex features if any) or Pointclouds
    (points, normals and features if any); features land under the name `features`, normals under "normal"."""
    from ..structures import _rows as rows  # PyTorch3D keeps an empty item as given, often torch.tensor([])

    if hasattr(obj, "faces_list") and hasattr(obj, "verts_list"):
        verts = [rows(v, 3) for v in obj.verts_list()]
        faces = [rows(f, 3).to(torch.int64) for f in obj.faces_list()]
        tex = getattr(obj, "textures", None)
        vf = tex.verts_features_list() if tex is not None and hasattr(tex, "verts_features_list") else None
        return GraphBatch([
            Graph(v, f, vertex_features={features: vf[i]} if vf is not None else None)
            for i, (v, f) in enumerate(zip(verts, faces))
        ])
    if hasattr(obj, "points_list"):
        pts = [rows(p, 3) for p in obj.points_list()]
        normals = obj.normals_list() if hasattr(obj, "normals_list") else None
        feats = obj.features_list() if hasattr(obj, "features_list") else None
        out = []
        for i, p in enumerate(pts):
            vf = {}
            if normals is not None:
                vf["normal"] = normals[i]
            if feats is not None:
                vf[features] = feats[i]
            out.append(Graph(p, vertex_features=vf))
        return GraphBatch(out)
    raise TypeError(f"obj must be PyTorch3D Meshes or Pointclouds, got {type(obj).__name__}")
