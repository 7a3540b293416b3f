"""Graph and GraphBatch: one container for meshes, point clouds and abstract graphs.

A `Graph` is one graph: optional vertex positions, optional triangle faces, optional explicit directed edges and
any number of named vertex and edge features. A `GraphBatch` packs many graphs (of different sizes and kinds)
into one object with the list / padded / packed views PyTorch3D users know and the `edge_index` / batch vector
PyG users know.

Storage is packed and canonical: one (sum_V, *F) tensor per vertex feature (positions are the vertex feature
"pos"), one (sum_E, *F) tensor per edge feature, faces (sum_F, 3) and edge_index (2, sum_E) with vertex offsets
applied. Per-graph counts are Python ints, so every size is known without reading device data (no syncs, static
shapes under torch.compile). Every other view is computed on first use and cached.

Edges of a graph: its explicit `edge_index` when given (directed, as given); otherwise, for a mesh, both
directions of every unique undirected edge of its faces; otherwise none. Edge features align with these edges.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import torch
import torch.utils._pytree as pytree

from ._utils import (
    check_index_range,
    check_index_tensor,
    check_positive_int,
    check_tensor,
    count_per_index,
    index_from_counts,
    offsets_from_counts,
)
from .ops.adjacency import Adjacency, build_adjacency
from .ops.laplacian import cot_laplacian as cot_laplacian_matrix
from .ops.laplacian import laplacian as laplacian_matrix
from .ops.packed_to_padded import packed_to_padded, padded_to_packed

POS = "pos"
NORMALS = "normal"  # point / vertex normals (Pointclouds normals, Meshes verts_normals=)
FEATURES = "features"  # point features (Pointclouds features)


class CSR(NamedTuple):
    """Compressed rows of the edge list.

    For `by="dst"`: row v holds the in-edges of v; `col[rowptr[v]:rowptr[v+1]]` are their sources and
    `perm[k]` is the position in `edge_index` of the k-th CSR entry (so `edge_attr[perm]` lines up with `col`).
    For `by="src"` the roles of source and destination swap.
    """

    rowptr: torch.Tensor  # (V + 1,) int64
    col: torch.Tensor  # (E,) int32 or int64
    perm: torch.Tensor  # (E,) int64


def _as_tensor(value: Any, name: str) -> torch.Tensor | None:
    if value is None or isinstance(value, torch.Tensor):
        return value
    try:
        import numpy as np

        if isinstance(value, np.ndarray):
            return torch.from_numpy(value)
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(value).__name__}")


_EDGE_KEY = 1 << 31  # edges_from_faces keys: vertex indices below 2^31 (2 billion vertices)


def edges_from_faces(faces: torch.Tensor, loops: bool = False) -> torch.Tensor:
    """(F, 3) triangles -> (E, 2) unique undirected edges (u <= v), sorted.

    loops=False drops the (i, i) edges of faces that repeat a vertex (what message passing wants); loops=True
    keeps them, as PyTorch3D's `Meshes.edges_packed` does.
    """
    if faces.numel() == 0:
        return faces.new_zeros((0, 2), dtype=torch.int64)
    f = faces.to(torch.int64)
    e = torch.cat([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]], dim=0)
    e = torch.sort(e, dim=1).values
    if not loops:
        e = e[e[:, 0] != e[:, 1]]  # degenerate faces contribute no self-loop edges
    # unique rows through one int64 key per edge (u * 2^31 + v sorts as (u, v)): a 1-D sort, ~100x faster than
    # torch.unique(dim=0) (the cow's 8,784 edges: 200 ms -> 1.5 ms); a fixed multiplier, so no max() (no device sync)
    key = torch.unique(e[:, 0] * _EDGE_KEY + e[:, 1])
    return torch.stack([key.div(_EDGE_KEY, rounding_mode="floor"), key.remainder(_EDGE_KEY)], 1)


def _both_directions(undirected: torch.Tensor) -> torch.Tensor:
    """(E, 2) undirected edges -> (2, 2E) edge_index holding u->v and v->u."""
    return torch.cat([undirected.t(), undirected.flip(1).t()], dim=1).contiguous()


class Graph:
    """One graph: a mesh, a point cloud or an abstract graph.

    Args:
        pos: (V, D) float vertex positions, or None for an abstract graph.
        faces: (F, 3) int32/int64 triangles indexing vertices, or None.
        edge_index: (2, E) int32/int64 directed edges (source row 0, destination row 1), or None. When None and
            faces are given, the edges are both directions of every unique undirected edge of the faces.
        num_verts: V; needed only when neither pos nor a vertex feature gives it.
        vertex_features: name -> (V, *F) tensor, any dtype and width.
        edge_features: name -> (E, *F) tensor aligned with the edges described above.
    """

    __slots__ = ("num_verts", "faces", "edge_index", "vertex_features", "edge_features", "edges_from_faces")

    def __init__(
        self,
        pos: torch.Tensor | None = None,
        faces: torch.Tensor | None = None,
        edge_index: torch.Tensor | None = None,
        *,
        num_verts: int | None = None,
        vertex_features: Mapping[str, torch.Tensor] | None = None,
        edge_features: Mapping[str, torch.Tensor] | None = None,
    ) -> None:
        pos = _as_tensor(pos, "pos")
        faces = _as_tensor(faces, "faces")
        edge_index = _as_tensor(edge_index, "edge_index")
        vfeats = {k: _as_tensor(v, f"vertex_features[{k!r}]") for k, v in (vertex_features or {}).items()}
        efeats = {k: _as_tensor(v, f"edge_features[{k!r}]") for k, v in (edge_features or {}).items()}
        if POS in vfeats:
            raise ValueError(f"vertex_features may not use the name {POS!r}: pass positions as pos=")
        if pos is not None:
            check_tensor(pos, "pos", dim=2, dtypes=(torch.float16, torch.bfloat16, torch.float32, torch.float64))
            vfeats = {POS: pos, **vfeats}

        # Number of vertices: from pos, a vertex feature, or num_verts; all must agree.
        sizes = {k: int(v.shape[0]) for k, v in vfeats.items() if check_tensor(v, f"vertex_features[{k!r}]", min_dim=1) is not None}
        if num_verts is not None:
            if isinstance(num_verts, bool) or not isinstance(num_verts, int):
                raise TypeError(f"num_verts must be an int, got {type(num_verts).__name__}")
            if num_verts < 0:
                raise ValueError(f"num_verts must be non-negative, got {num_verts}")
        elif sizes:
            num_verts = next(iter(sizes.values()))
        else:
            raise ValueError("a Graph needs pos, a vertex feature or num_verts to know its number of vertices")
        for k, n in sizes.items():
            if n != num_verts:
                what = "pos" if k == POS else f"vertex_features[{k!r}]"
                raise ValueError(f"{what} has {n} rows but the graph has {num_verts} vertices")

        if faces is not None:
            check_index_tensor(faces, "faces", dim=2)
            if faces.shape[1] != 3:
                raise ValueError(f"faces must have shape (F, 3), got {tuple(faces.shape)}")
            check_index_range(faces, "faces", num_verts, once=True)
            faces = faces.to(torch.int64)
        from_faces = edge_index is None and faces is not None
        if edge_index is not None:
            check_index_tensor(edge_index, "edge_index", dim=2)
            if edge_index.shape[0] != 2:
                raise ValueError(f"edge_index must have shape (2, E), got {tuple(edge_index.shape)}")
            check_index_range(edge_index, "edge_index", num_verts, once=True)
            edge_index = edge_index.to(torch.int64)
        elif faces is not None:
            edge_index = _both_directions(edges_from_faces(faces))
        num_edges = 0 if edge_index is None else int(edge_index.shape[1])
        for k, v in efeats.items():
            check_tensor(v, f"edge_features[{k!r}]", min_dim=1)
            if v.shape[0] != num_edges:
                raise ValueError(f"edge_features[{k!r}] has {v.shape[0]} rows but the graph has {num_edges} edges")

        devices = {t.device for t in [faces, edge_index, *vfeats.values(), *efeats.values()] if t is not None}
        if len(devices) > 1:
            raise ValueError(f"all tensors of a Graph must share a device, got {sorted(map(str, devices))}")

        self.num_verts = num_verts
        self.faces = faces
        self.edge_index = edge_index
        self.vertex_features = vfeats
        self.edge_features = efeats
        self.edges_from_faces = from_faces

    @property
    def pos(self) -> torch.Tensor | None:
        return self.vertex_features.get(POS)

    def __repr__(self) -> str:
        parts = [f"num_verts={self.num_verts}"]
        if self.faces is not None:
            parts.append(f"num_faces={self.faces.shape[0]}")
        if self.edge_index is not None:
            parts.append(f"num_edges={self.edge_index.shape[1]}")
        feats = [f"{k}{list(v.shape[1:])}" for k, v in self.vertex_features.items()]
        if feats:
            parts.append("vertex_features=" + ", ".join(feats))
        if self.edge_features:
            parts.append("edge_features=" + ", ".join(f"{k}{list(v.shape[1:])}" for k, v in self.edge_features.items()))
        return f"Graph({', '.join(parts)})"


class GraphBatch:
    """A batch of graphs (meshes, point clouds, abstract graphs), stored packed; views are lazy and cached.

    Build it from a list of `Graph` objects (`GraphBatch([g1, g2])`), or with `GraphBatch.collate` (usable as a
    DataLoader `collate_fn`). Views:

    - packed: `packed(name)` (sum_V, *F); `pos_packed()` / `verts_packed()`; `faces_packed()` (sum_F, 3) and
      `edge_index` (2, sum_E) with vertex offsets applied; `edge_packed(name)` (sum_E, *F).
    - padded: `padded(name)` (N, V_max, *F) with `num_verts_per_graph` as lengths; `faces_padded()` (pad -1).
    - list: `list(name)`, `faces_list()`, `edge_index_list()` (per-graph, local indices).
    - batch bookkeeping: `num_verts_per_graph`, `verts_ptr` (N + 1 offsets), `graph_index` (batch vector),
      `num_faces_per_graph`, `num_edges_per_graph`, `edges_ptr`.
    - `csr(by="dst")`: the CSR (rowptr, col, perm) kernels use, built once.

    A vertex or edge feature present in some graphs only is stored with zeros for the others; `has(name)` says
    which graphs carry it.
    """

    def __init__(self, graphs: Sequence[Graph] = ()) -> None:
        graphs = list(graphs)
        for i, g in enumerate(graphs):
            if not isinstance(g, Graph):
                raise TypeError(f"graphs[{i}] must be a meshgraph.Graph, got {type(g).__name__}")
        devices = {t.device for g in graphs for t in _graph_tensors(g)}
        if len(devices) > 1:
            raise ValueError(f"all graphs of a batch must share a device, got {sorted(map(str, devices))}")
        device = devices.pop() if devices else torch.device("cpu")

        num_verts = tuple(g.num_verts for g in graphs)
        num_faces = tuple(0 if g.faces is None else int(g.faces.shape[0]) for g in graphs)
        num_edges = tuple(0 if g.edge_index is None else int(g.edge_index.shape[1]) for g in graphs)
        vptr = [0]
        for n in num_verts:
            vptr.append(vptr[-1] + n)

        faces = [g.faces + vptr[i] for i, g in enumerate(graphs) if g.faces is not None]
        edges = [g.edge_index + vptr[i] for i, g in enumerate(graphs) if g.edge_index is not None]
        faces_packed = torch.cat(faces) if faces else torch.zeros((0, 3), dtype=torch.int64, device=device)
        edge_index = torch.cat(edges, dim=1) if edges else torch.zeros((2, 0), dtype=torch.int64, device=device)

        vfeats, vpresent = _pack_features([g.vertex_features for g in graphs], num_verts, "vertex", device)
        efeats, epresent = _pack_features([g.edge_features for g in graphs], num_edges, "edge", device)
        self._set(
            num_verts, num_faces, num_edges, faces_packed, edge_index, vfeats, vpresent, efeats, epresent,
            tuple(g.edges_from_faces for g in graphs),
        )

    @classmethod
    def from_packed(
        cls,
        num_verts: Sequence[int],
        *,
        edge_index: torch.Tensor | None = None,
        num_edges: Sequence[int] | None = None,
        faces: torch.Tensor | None = None,
        num_faces: Sequence[int] | None = None,
        vertex_features: Mapping[str, torch.Tensor] | None = None,
        edge_features: Mapping[str, torch.Tensor] | None = None,
    ) -> GraphBatch:
        """A batch over already-packed tensors, with no copy and no per-graph list (PyG-style records use it).

        num_verts / num_edges / num_faces: per-graph counts (Python ints); edge_index (2, sum_E) and faces
        (sum_F, 3) int64 index packed vertices (offsets applied); vertex_features name -> (sum_V, *F), edge_features
        name -> (sum_E, *F), each present in every graph. Shapes and counts are checked; index values are not read
        (the tensors' producer vouches for them, as a collate step does).
        """
        num_verts = [int(n) for n in num_verts]
        n = len(num_verts)
        V = sum(num_verts)
        device = next((t.device for t in (edge_index, faces, *(vertex_features or {}).values()) if t is not None),
                      torch.device("cpu"))
        if edge_index is None:
            edge_index = torch.zeros((2, 0), dtype=torch.int64, device=device)
        check_index_tensor(edge_index, "edge_index", shape=(2, None))
        num_edges = [0] * n if num_edges is None and edge_index.shape[1] == 0 else num_edges
        if num_edges is None:
            raise ValueError("num_edges (per-graph edge counts) is required when edge_index has edges")
        if faces is None:
            faces = torch.zeros((0, 3), dtype=torch.int64, device=device)
        check_index_tensor(faces, "faces", shape=(None, 3))
        num_faces = [0] * n if num_faces is None and faces.shape[0] == 0 else num_faces
        if num_faces is None:
            raise ValueError("num_faces (per-graph face counts) is required when faces are given")
        for name, counts, total in (("num_edges", num_edges, edge_index.shape[1]), ("num_faces", num_faces, faces.shape[0])):
            if len(counts) != n or sum(counts) != total:
                raise ValueError(f"{name} must have {n} counts summing to {total}, got {list(counts)}")
        vfeats, efeats = dict(vertex_features or {}), dict(edge_features or {})
        for kind, feats, rows in (("vertex", vfeats, V), ("edge", efeats, edge_index.shape[1])):
            for k, v in feats.items():
                check_tensor(v, f"{kind}_features[{k!r}]", min_dim=1)
                if v.shape[0] != rows:
                    raise ValueError(f"{kind}_features[{k!r}] has {v.shape[0]} rows, expected {rows}")
        out = cls.__new__(cls)
        out._set(
            num_verts, [int(c) for c in num_faces], [int(c) for c in num_edges], faces.long(), edge_index.long(),
            vfeats, {k: (True,) * n for k in vfeats}, efeats, {k: (True,) * n for k in efeats}, (False,) * n,
        )
        return out

    def _set(self, num_verts, num_faces, num_edges, faces, edge_index, vfeats, vpresent, efeats, epresent, from_faces):
        self._num_verts = tuple(num_verts)
        self._num_faces = tuple(num_faces)
        self._num_edges = tuple(num_edges)
        self._faces = faces
        self._edge_index = edge_index
        self._vfeats = dict(vfeats)
        self._vpresent = dict(vpresent)
        self._efeats = dict(efeats)
        self._epresent = dict(epresent)
        self._edges_from_faces = tuple(from_faces)
        self._cache: dict[tuple, Any] = {}

    def _set_meshes_packed(
        self,
        num_verts: Sequence[int],
        num_faces: Sequence[int],
        vfeats: Mapping[str, torch.Tensor],
        faces: torch.Tensor,
    ) -> None:
        """Fill the storage of a batch of meshes (or clouds: no faces) from packed tensors, without a Graph list.

        vfeats: name -> (sum_V, *F), present in every graph; faces: (sum_F, 3) int64 with vertex offsets applied;
        counts are Python ints. Edges are both directions of each graph's unique undirected face edges, in the
        order `Graph` gives them. Callers validate (this is the fast path of Meshes / Pointclouds).
        """
        num_verts, num_faces = tuple(num_verts), tuple(num_faces)
        n = len(num_verts)
        device = faces.device
        und = edges_from_faces(faces)
        if und.shape[0]:
            owner = index_from_counts(torch.tensor(num_verts, device=device), sum(num_verts))[und[:, 0]]
            per_graph = count_per_index(owner, n).tolist()
            # group the u->v and v->u halves by graph: graph i holds [its u->v edges, its v->u edges]
            order = torch.argsort(torch.cat([owner, owner]), stable=True)
            edge_index = torch.cat([und, und.flip(1)])[order].t().contiguous()
        else:
            per_graph = [0] * n
            edge_index = torch.zeros((2, 0), dtype=torch.int64, device=device)
        self._set(
            num_verts, num_faces, tuple(2 * c for c in per_graph), faces, edge_index, vfeats,
            {k: (True,) * n for k in vfeats}, {}, {}, (True,) * n if faces.shape[0] else (False,) * n,
        )

    def _extra_context(self) -> tuple:
        """Plain (non-tensor) state a subclass carries through pytree flattening, `to`, `clone`, indexing."""
        return ()

    def _restore_extra(self, extra: tuple) -> None:
        """Inverse of `_extra_context` on a freshly unflattened object."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        # Subclasses (Meshes, Pointclouds) are pytree nodes of their own type, so tree_map / compile keep the class.
        pytree.register_pytree_node(
            cls,
            _flatten,
            _unflatten_as(cls),
            serialized_type_name=f"{cls.__module__}.{cls.__qualname__}",
            flatten_with_keys_fn=_flatten_with_keys,
        )

    # ------------------------------------------------------------------ construction
    @classmethod
    def collate(cls, items: Iterable[Graph | GraphBatch]) -> GraphBatch:
        """Concatenate graphs and batches into one batch; use as `DataLoader(..., collate_fn=GraphBatch.collate)`."""
        graphs: list[Graph] = []
        for i, item in enumerate(items):
            if isinstance(item, GraphBatch):
                graphs.extend(item.graphs())
            elif isinstance(item, Graph):
                graphs.append(item)
            else:
                raise TypeError(f"items[{i}] must be a Graph or GraphBatch, got {type(item).__name__}")
        return cls(graphs)

    @classmethod
    def from_pointclouds(cls, points: Sequence[torch.Tensor], **vertex_features: Sequence[torch.Tensor]) -> GraphBatch:
        """Point clouds (a list of (P_i, D) tensors) with optional per-point features given as lists."""
        return cls([
            Graph(p, vertex_features={k: v[i] for k, v in vertex_features.items()}) for i, p in enumerate(points)
        ])

    @classmethod
    def knn_from_pointclouds(cls, points: Sequence[torch.Tensor], k: int, loop: bool = False, **vertex_features) -> GraphBatch:
        """Point clouds as k-nearest-neighbour graphs: edges neighbour -> point, k per point (exact knn)."""
        from .ops.graph_builders import knn_graph

        clouds = cls.from_pointclouds(points, **vertex_features)
        edges = knn_graph(clouds.pos_packed(), k, clouds.graph_index, loop=loop) if clouds.num_verts else None
        return clouds._with_edges(edges)

    @classmethod
    def radius_from_pointclouds(cls, points: Sequence[torch.Tensor], r: float, max_num_neighbors: int = 32,
                                loop: bool = False, **vertex_features) -> GraphBatch:
        """Point clouds as radius graphs: edges between points closer than r (at most max_num_neighbors each)."""
        from .ops.graph_builders import radius_graph

        clouds = cls.from_pointclouds(points, **vertex_features)
        edges = radius_graph(clouds.pos_packed(), r, clouds.graph_index, loop=loop, max_num_neighbors=max_num_neighbors) if clouds.num_verts else None
        return clouds._with_edges(edges)

    def _with_edges(self, edge_index: torch.Tensor | None) -> GraphBatch:
        """A batch with the same vertices and the given packed (2, E) edges (no edge features)."""
        if edge_index is None:
            return self
        graphs = self.graphs()
        owner = self.graph_index[edge_index[1]] if edge_index.numel() else edge_index.new_zeros(0)
        ptr = _ptr(self._num_verts)
        for i, g in enumerate(graphs):
            g.edge_index = edge_index[:, owner == i] - ptr[i]
            g.edge_features = {}
            g.edges_from_faces = False
        return GraphBatch(graphs)

    @classmethod
    def from_meshes(cls, verts: Sequence[torch.Tensor], faces: Sequence[torch.Tensor], **vertex_features) -> GraphBatch:
        """Meshes from lists of (V_i, 3) vertices and (F_i, 3) faces, with optional per-vertex features as lists."""
        if len(verts) != len(faces):
            raise ValueError(f"verts and faces must have the same length, got {len(verts)} and {len(faces)}")
        return cls([
            Graph(v, f, vertex_features={k: x[i] for k, x in vertex_features.items()})
            for i, (v, f) in enumerate(zip(verts, faces))
        ])

    # ------------------------------------------------------------------ sizes
    def __len__(self) -> int:
        return len(self._num_verts)

    @property
    def num_graphs(self) -> int:
        return len(self._num_verts)

    @property
    def device(self) -> torch.device:
        return self._edge_index.device

    @property
    def num_verts(self) -> int:
        """Total number of vertices, sum_V."""
        return sum(self._num_verts)

    @property
    def num_edges(self) -> int:
        return sum(self._num_edges)

    @property
    def num_faces(self) -> int:
        return sum(self._num_faces)

    @property
    def max_verts(self) -> int:
        return max(self._num_verts, default=0)

    def sizes(self, which: str = "verts") -> tuple[int, ...]:
        """Per-graph counts of "verts", "faces" or "edges" as Python ints, kept on the host: shapes and loops
        built from them never read device memory (no sync), unlike `num_*_per_graph` tensors."""
        if which not in ("verts", "faces", "edges"):
            raise ValueError(f"which must be 'verts', 'faces' or 'edges', got {which!r}")
        return {"verts": self._num_verts, "faces": self._num_faces, "edges": self._num_edges}[which]

    def _cached(self, key: tuple, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def _counts(self, which: str) -> torch.Tensor:
        counts = {"verts": self._num_verts, "faces": self._num_faces, "edges": self._num_edges}[which]
        return self._cached((f"num_{which}", None), lambda: torch.tensor(counts, dtype=torch.int64, device=self.device))

    @property
    def num_verts_per_graph(self) -> torch.Tensor:
        """(N,) int64 vertex count of each graph (the lengths of the padded view)."""
        return self._counts("verts")

    @property
    def num_faces_per_graph(self) -> torch.Tensor:
        return self._counts("faces")

    @property
    def num_edges_per_graph(self) -> torch.Tensor:
        return self._counts("edges")

    @property
    def verts_ptr(self) -> torch.Tensor:
        """(N + 1,) int64 offsets: graph i owns packed vertices verts_ptr[i]:verts_ptr[i+1]."""
        return self._cached(("verts_ptr", None), lambda: offsets_from_counts(self.num_verts_per_graph))

    @property
    def faces_ptr(self) -> torch.Tensor:
        return self._cached(("faces_ptr", None), lambda: offsets_from_counts(self.num_faces_per_graph))

    @property
    def edges_ptr(self) -> torch.Tensor:
        return self._cached(("edges_ptr", None), lambda: offsets_from_counts(self.num_edges_per_graph))

    @property
    def first_idxs(self) -> torch.Tensor:
        """(N,) first packed vertex of each graph (PyTorch3D's mesh_to_verts_packed_first_idx)."""
        return self.verts_ptr[:-1]

    @property
    def graph_index(self) -> torch.Tensor:
        """(sum_V,) int64 graph of each packed vertex (PyG's batch vector)."""
        return self._cached(
            ("graph_index", None),
            lambda: index_from_counts(self.num_verts_per_graph, self.num_verts),
        )

    @property
    def edge_graph_index(self) -> torch.Tensor:
        """(sum_E,) int64 graph of each packed edge."""
        return self._cached(
            ("edge_graph_index", None),
            lambda: index_from_counts(self.num_edges_per_graph, self.num_edges),
        )

    # ------------------------------------------------------------------ features
    @property
    def vertex_feature_names(self) -> list[str]:
        return list(self._vfeats)

    @property
    def edge_feature_names(self) -> list[str]:
        return list(self._efeats)

    def has(self, name: str) -> tuple[bool, ...]:
        """Which graphs carry vertex (or edge) feature `name`."""
        if name in self._vpresent:
            return self._vpresent[name]
        if name in self._epresent:
            return self._epresent[name]
        return (False,) * len(self)

    def _vfeat(self, name: str) -> torch.Tensor:
        if name not in self._vfeats:
            raise KeyError(f"no vertex feature {name!r}; this batch has {self.vertex_feature_names}")
        return self._vfeats[name]

    def packed(self, name: str = POS) -> torch.Tensor:
        """(sum_V, *F) vertex feature `name` of all graphs, packed."""
        return self._vfeat(name)

    def list(self, name: str = POS) -> list[torch.Tensor]:
        """Vertex feature `name` as a list of (V_i, *F) tensors (views of the packed tensor)."""
        x = self._vfeat(name)
        return self._cached(("list", name), lambda: list(torch.split(x, list(self._num_verts))))

    def padded(self, name: str = POS) -> torch.Tensor:
        """(N, V_max, *F) vertex feature `name`, zero past each graph's `num_verts_per_graph`."""
        x = self._vfeat(name)
        return self._cached(("padded", name), lambda: packed_to_padded(x, self.first_idxs, self.max_verts))

    def edge_packed(self, name: str) -> torch.Tensor:
        """(sum_E, *F) edge feature `name`, aligned with `edge_index`."""
        if name not in self._efeats:
            raise KeyError(f"no edge feature {name!r}; this batch has {self.edge_feature_names}")
        return self._efeats[name]

    def edge_list(self, name: str) -> list[torch.Tensor]:
        return list(torch.split(self.edge_packed(name), list(self._num_edges)))

    @property
    def pos(self) -> torch.Tensor | None:
        """(sum_V, D) packed positions, or None when no graph has positions."""
        return self._vfeats.get(POS)

    def pos_packed(self) -> torch.Tensor:
        return self.packed(POS)

    def pos_padded(self) -> torch.Tensor:
        return self.padded(POS)

    def pos_list(self) -> list[torch.Tensor]:
        return self.list(POS)

    # PyTorch3D vocabulary.
    verts_packed = pos_packed
    verts_padded = pos_padded
    verts_list = pos_list

    def update_features(self, name: str, packed: torch.Tensor) -> GraphBatch:
        """Replace (or add) vertex feature `name` by a (sum_V, *F) packed tensor; views stay consistent.

        Returns self. A new feature is marked present in every graph.
        """
        check_tensor(packed, name, min_dim=1)
        if packed.shape[0] != self.num_verts:
            raise ValueError(f"{name} must have {self.num_verts} rows (one per packed vertex), got {packed.shape[0]}")
        if packed.device != self.device:
            raise ValueError(f"{name} is on {packed.device} but the batch is on {self.device}")
        if name == POS and not packed.dtype.is_floating_point:
            raise TypeError(f"pos must be floating point, got {packed.dtype}")
        self._vfeats[name] = packed
        self._vpresent.setdefault(name, (True,) * len(self))
        self._invalidate(name)
        return self

    def update_edge_features(self, name: str, packed: torch.Tensor) -> GraphBatch:
        """Replace (or add) edge feature `name` by a (sum_E, *F) tensor aligned with `edge_index`. Returns self."""
        check_tensor(packed, name, min_dim=1)
        if packed.shape[0] != self.num_edges:
            raise ValueError(f"{name} must have {self.num_edges} rows (one per packed edge), got {packed.shape[0]}")
        if packed.device != self.device:
            raise ValueError(f"{name} is on {packed.device} but the batch is on {self.device}")
        self._efeats[name] = packed
        self._epresent.setdefault(name, (True,) * len(self))
        self._invalidate(name)
        return self

    def _invalidate(self, name: str) -> None:
        for key in [k for k in self._cache if k[1] == name]:
            del self._cache[key]

    # ------------------------------------------------------------------ topology
    @property
    def edge_index(self) -> torch.Tensor:
        """(2, sum_E) int64 directed edges (row 0 source, row 1 destination), vertex offsets applied."""
        return self._edge_index

    def edge_index_list(self) -> list[torch.Tensor]:
        """Per-graph (2, E_i) edges with local vertex indices."""
        return self._cached(("edge_index_list", None), lambda: [
            e - int(off) for e, off in zip(torch.split(self._edge_index, list(self._num_edges), dim=1), _ptr(self._num_verts))
        ])

    def faces_packed(self) -> torch.Tensor:
        """(sum_F, 3) int64 faces indexing packed vertices."""
        return self._faces

    def faces_list(self) -> list[torch.Tensor]:
        """Per-graph (F_i, 3) faces with local vertex indices."""
        return self._cached(("faces_list", None), lambda: [
            f - int(off) for f, off in zip(torch.split(self._faces, list(self._num_faces)), _ptr(self._num_verts))
        ])

    def faces_padded(self) -> torch.Tensor:
        """(N, F_max, 3) local faces, padded with -1 (PyTorch3D's convention)."""
        def build():
            local = self._faces - torch.repeat_interleave(self.first_idxs, self.num_faces_per_graph, output_size=self.num_faces)[:, None]
            padded = packed_to_padded(local + 1, self.faces_ptr[:-1], max(self._num_faces, default=0))
            return padded - 1
        return self._cached(("faces_padded", None), build)

    def is_mesh(self) -> tuple[bool, ...]:
        """Which graphs have faces."""
        return tuple(n > 0 for n in self._num_faces)

    def csr(self, by: str = "dst", index_dtype: torch.dtype = torch.int64) -> CSR:
        """The edge list as CSR rows by destination (`by="dst"`, what fused kernels use) or by source.

        Built once per (by, index_dtype) and cached. `index_dtype=torch.int32` halves the column bytes (allowed
        while sum_V < 2^31).
        """
        if by not in ("dst", "src"):
            raise ValueError(f"by must be 'dst' or 'src', got {by!r}")
        if index_dtype not in (torch.int32, torch.int64):
            raise TypeError(f"index_dtype must be torch.int32 or torch.int64, got {index_dtype}")
        if index_dtype == torch.int32 and self.num_verts >= 2**31:
            raise ValueError(f"index_dtype int32 cannot index {self.num_verts} vertices")

        def build():
            row, col = (self._edge_index[1], self._edge_index[0]) if by == "dst" else self._edge_index
            perm = torch.argsort(row, stable=True)
            counts = count_per_index(row, self.num_verts)
            return CSR(offsets_from_counts(counts), col[perm].to(index_dtype).contiguous(), perm)

        return self._cached(("csr", None, by, index_dtype), build)

    def adjacency(self, directed: bool = True, index_dtype: torch.dtype | None = None, self_loops: bool = False) -> Adjacency:
        """CSR by destination and its transpose, as the fused kernels (gather_scatter, edge_dot ...) use them.

        directed=False also uses every edge in reverse; self_loops=True appends a loop per vertex (ids after the
        edges). Built once per setting and cached; index_dtype None picks int32 when the vertex count allows.
        """
        return self._cached(
            ("adjacency", None, directed, index_dtype, self_loops),
            lambda: build_adjacency(
                self._edge_index, self.num_verts, directed=directed, index_dtype=index_dtype, self_loops=self_loops
            ),
        )

    def message_adjacency(self) -> Adjacency:
        """Adjacency from edges to their destination vertices: reduces (E, F) per-edge messages (cached)."""
        def build():
            E = self.num_edges
            pairs = torch.stack([torch.arange(E, device=self.device), self._edge_index[1]])
            return build_adjacency(pairs, self.num_verts, num_src=E)
        return self._cached(("message_adjacency", None), build)

    # ------------------------------------------------------------------ mesh helpers
    def _face_verts(self) -> torch.Tensor:
        pos = self.pos
        if pos is None or pos.shape[1] != 3:
            raise ValueError("mesh helpers need 3-D vertex positions (pos of shape (V, 3))")
        return pos[self._faces]  # (F, 3 corners, 3)

    def face_normals(self, normalize: bool = True) -> torch.Tensor:
        """(sum_F, 3) face normals (right-handed winding); unnormalized they have length 2 * area."""
        fv = self._face_verts()
        n = torch.linalg.cross(fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 0], dim=1)
        return torch.nn.functional.normalize(n, dim=1, eps=1e-12) if normalize else n

    def face_areas(self) -> torch.Tensor:
        """(sum_F,) triangle areas."""
        return self.face_normals(normalize=False).norm(dim=1) / 2

    def vertex_normals(self) -> torch.Tensor:
        """(sum_V, 3) area-weighted vertex normals, unit length (zero for vertices in no face)."""
        n = self.face_normals(normalize=False)
        acc = torch.zeros_like(self.pos).index_add_(0, self._faces.reshape(-1), n.repeat_interleave(3, dim=0))
        return torch.nn.functional.normalize(acc, dim=1, eps=1e-12)

    def laplacian(self) -> torch.Tensor:
        """Uniform Laplacian as a sparse (sum_V, sum_V) COO tensor (PyTorch3D's `laplacian`), cached.

        L[i, j] = 1 / deg(i) for each undirected edge (i, j) of `edges_packed()`, L[i, i] = -1.
        """
        # ops.laplacian reads only the vertex count, dtype and device of its verts argument
        verts = self.pos if self.pos is not None else torch.empty((self.num_verts, 0), device=self.device)
        return self._cached(("laplacian", None, verts.dtype), lambda: laplacian_matrix(verts, self.edges_packed()))

    def cot_laplacian(self, eps: float = 1e-12) -> tuple[torch.Tensor, torch.Tensor]:
        """Cotangent Laplacian (PyTorch3D's `cot_laplacian` semantics), differentiable w.r.t. positions.

        Returns:
            L: sparse (sum_V, sum_V), L[i, j] = cot(a_ij) + cot(b_ij) over the angles opposite edge (i, j)
                (one term on a boundary edge); no diagonal.
            inv_areas: (sum_V, 1) inverse of the summed area of the faces around each vertex (0 where that is 0).
        """
        pos = self.pos
        if pos is None or pos.shape[1] != 3:
            raise ValueError("mesh helpers need 3-D vertex positions (pos of shape (V, 3))")
        return cot_laplacian_matrix(pos, self._faces, eps)

    # ------------------------------------------------------------------ PyTorch3D vocabulary
    # The methods PyTorch3D code calls on Meshes / Pointclouds, with PyTorch3D's semantics, on every batch
    # (`meshgraph.structures.Meshes` / `Pointclouds` add the constructors and what is structure-specific).
    # Point normals and features are the vertex features NORMALS and FEATURES; geometry caches are keyed on POS,
    # so replacing the positions (update_features, offset_verts_, scale_verts_) invalidates them.

    def num_verts_per_mesh(self) -> torch.Tensor:
        """(N,) int64 vertices per graph."""
        return self.num_verts_per_graph

    num_points_per_cloud = num_verts_per_mesh

    def num_faces_per_mesh(self) -> torch.Tensor:
        """(N,) int64 faces per graph."""
        return self.num_faces_per_graph

    def mesh_to_verts_packed_first_idx(self) -> torch.Tensor:
        """(N,) int64 first packed vertex of each graph."""
        return self.first_idxs

    cloud_to_packed_first_idx = mesh_to_verts_packed_first_idx

    def mesh_to_faces_packed_first_idx(self) -> torch.Tensor:
        """(N,) int64 first packed face of each graph."""
        return self.faces_ptr[:-1]

    def verts_packed_to_mesh_idx(self) -> torch.Tensor:
        """(sum_V,) int64 graph of each packed vertex."""
        return self.graph_index

    packed_to_cloud_idx = verts_packed_to_mesh_idx

    def faces_packed_to_mesh_idx(self) -> torch.Tensor:
        """(sum_F,) int64 graph of each packed face."""
        return self._cached(
            ("face_graph_index", None),
            lambda: index_from_counts(self.num_faces_per_graph, self.num_faces),
        )

    def verts_padded_to_packed_idx(self) -> torch.Tensor:
        """(sum_V,) int64: packed vertex i is row x[i] of `verts_padded().reshape(-1, D)`."""
        def build():
            gi = self.graph_index
            local = torch.arange(self.num_verts, device=self.device) - self.first_idxs[gi]
            return gi * self.max_verts + local
        return self._cached(("padded_to_packed_idx", None), build)

    padded_to_packed_idx = verts_padded_to_packed_idx

    def _undirected_edges(self) -> tuple[torch.Tensor, ...]:
        """(edges (E_u, 2), edge -> graph, edges per graph (int32), first edge per graph, faces -> edges (sum_F, 3)).

        A mesh's edges are its faces' sides, unique, (u, v) with u <= v and sorted (PyTorch3D keeps the (i, i)
        sides of faces that repeat a vertex); graphs without faces contribute their `edge_index` edges, undirected
        and without loops. Column k of faces -> edges is the side opposite corner k (PyTorch3D's order).
        """
        def build():
            f = self._faces
            sides = torch.cat([f[:, [1, 2]], f[:, [2, 0]], f[:, [0, 1]]]).sort(dim=1).values
            parts = [sides]
            if self.num_edges and any(n == 0 for n in self._num_faces):
                not_mesh = torch.tensor([n == 0 for n in self._num_faces], dtype=torch.bool, device=self.device)
                e = torch.sort(self._edge_index[:, not_mesh[self.edge_graph_index]].t(), dim=1).values
                parts.append(e[e[:, 0] != e[:, 1]])
            e = torch.cat(parts) if len(parts) > 1 else sides
            V = max(self.num_verts, 1)
            keys, inverse = torch.unique(e[:, 0] * V + e[:, 1], return_inverse=True)
            edges = torch.stack([keys // V, keys % V], dim=1)
            owner = self.graph_index[edges[:, 0]]
            per_graph = count_per_index(owner, len(self))
            first = offsets_from_counts(per_graph)[:-1]
            faces_to_edges = inverse[: sides.shape[0]].reshape(3, -1).t()
            return edges, owner, per_graph.to(torch.int32), first, faces_to_edges
        return self._cached(("undirected_edges", None), build)

    def edges_packed(self) -> torch.Tensor:
        """(E_u, 2) int64 unique undirected edges over packed vertices, sorted (PyTorch3D's `edges_packed`):
        the sides of each mesh's faces, and the `edge_index` edges of graphs without faces."""
        return self._undirected_edges()[0]

    def edges_packed_to_mesh_idx(self) -> torch.Tensor:
        """(E_u,) int64 graph of each edge of `edges_packed()`."""
        return self._undirected_edges()[1]

    def num_edges_per_mesh(self) -> torch.Tensor:
        """(N,) int32 undirected edges per graph (the rows of `edges_packed()`; not `num_edges_per_graph`)."""
        return self._undirected_edges()[2]

    def mesh_to_edges_packed_first_idx(self) -> torch.Tensor:
        """(N,) int64 first row of each graph in `edges_packed()`."""
        return self._undirected_edges()[3]

    def faces_packed_to_edges_packed(self) -> torch.Tensor:
        """(sum_F, 3) int64 rows of `edges_packed()` that are each face's sides (column k: opposite corner k)."""
        return self._undirected_edges()[4]

    points_packed = pos_packed
    points_padded = pos_padded
    points_list = pos_list

    def _optional(self, name: str, view: str):
        if name not in self._vfeats:
            return None
        return {"packed": self.packed, "padded": self.padded, "list": self.list}[view](name)

    def normals_packed(self) -> torch.Tensor | None:
        """(sum_V, 3) point normals (vertex feature NORMALS), or None when there are none."""
        return self._optional(NORMALS, "packed")

    def normals_padded(self) -> torch.Tensor | None:
        return self._optional(NORMALS, "padded")

    def normals_list(self) -> list[torch.Tensor] | None:
        return self._optional(NORMALS, "list")

    def features_packed(self) -> torch.Tensor | None:
        """(sum_V, C) point features (vertex feature FEATURES), or None when there are none."""
        return self._optional(FEATURES, "packed")

    def features_padded(self) -> torch.Tensor | None:
        return self._optional(FEATURES, "padded")

    def features_list(self) -> list[torch.Tensor] | None:
        return self._optional(FEATURES, "list")

    @property
    def valid(self) -> torch.Tensor:
        """(N,) bool: which graphs have vertices (Meshes: vertices and faces)."""
        return self._cached(("valid", None), lambda: torch.tensor(
            [v > 0 for v in self._num_verts], dtype=torch.bool, device=self.device))

    @property
    def equisized(self) -> bool:
        """True when every graph has the same numbers of vertices and of faces (False for an empty batch)."""
        return len(self) > 0 and len(set(self._num_verts)) == 1 and len(set(self._num_faces)) == 1

    def isempty(self) -> bool:
        """True when the batch has no graph or no valid one (see `valid`)."""
        return len(self) == 0 or not bool(self.valid.any())

    # geometry, PyTorch3D's conventions: face normal (v1 - v0) x (v2 - v0), unit length with norms clamped at 1e-6
    def _face_cross(self) -> torch.Tensor:
        def build():
            fv = self._face_verts()
            return torch.linalg.cross(fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 0], dim=1)
        return self._cached(("face_cross", POS), build)

    def faces_areas_packed(self) -> torch.Tensor:
        """(sum_F,) triangle areas."""
        return self._cached(("faces_areas", POS), lambda: self._face_cross().norm(dim=1) / 2)

    def faces_normals_packed(self) -> torch.Tensor:
        """(sum_F, 3) unit face normals (v1 - v0) x (v2 - v0) / max(|.|, 1e-6)."""
        def build():
            n = self._face_cross()
            return n / n.norm(dim=1, keepdim=True).clamp(min=1e-6)
        return self._cached(("faces_normals", POS), build)

    def faces_normals_list(self) -> list[torch.Tensor]:
        return list(torch.split(self.faces_normals_packed(), list(self._num_faces)))

    def faces_normals_padded(self) -> torch.Tensor:
        """(N, F_max, 3), zero past each graph's faces."""
        return packed_to_padded(self.faces_normals_packed(), self.faces_ptr[:-1], max(self._num_faces, default=0))

    def verts_normals_packed(self) -> torch.Tensor:
        """(sum_V, 3) vertex normals: the sum of the (area-weighted) normals of the faces around each vertex,
        normalized with eps 1e-6 (zero for a vertex in no face)."""
        def build():
            n = self._face_cross()
            acc = torch.zeros_like(self.pos).index_add(0, self._faces.reshape(-1), n.repeat_interleave(3, dim=0))
            return torch.nn.functional.normalize(acc, eps=1e-6, dim=1)
        return self._cached(("verts_normals", POS), build)

    def verts_normals_list(self) -> list[torch.Tensor]:
        return list(torch.split(self.verts_normals_packed(), list(self._num_verts)))

    def verts_normals_padded(self) -> torch.Tensor:
        """(N, V_max, 3), zero past each graph's vertices."""
        return packed_to_padded(self.verts_normals_packed(), self.first_idxs, self.max_verts)

    def laplacian_packed(self) -> torch.Tensor:
        """PyTorch3D's name for `laplacian()`: sparse (sum_V, sum_V), L[i, j] = 1 / deg(i) per edge, L[i, i] = -1."""
        return self.laplacian()

    def get_bounding_boxes(self) -> torch.Tensor:
        """(N, D, 2): [i, j] = (min, max) of graph i's positions along axis j (inf / -inf for a graph without
        vertices)."""
        pos = self.pos_packed()
        n, d = len(self), pos.shape[1]
        idx = self.graph_index[:, None].expand(-1, d)
        lo = pos.new_full((n, d), float("inf")).scatter_reduce(0, idx, pos, "amin", include_self=True)
        hi = pos.new_full((n, d), float("-inf")).scatter_reduce(0, idx, pos, "amax", include_self=True)
        return torch.stack([lo, hi], dim=2)

    def inside_box(self, box: torch.Tensor) -> torch.Tensor:
        """(sum_V,) bool: whether each packed point lies in its graph's box, (2, 3) for all graphs or (N, 2, 3)
        per graph (rows: min, max corner), bounds included."""
        if box.dim() > 3 or box.dim() < 2:
            raise ValueError("Input box must be of shape (2, 3) or (N, 2, 3).")
        if box.dim() == 3 and box.shape[0] != 1 and box.shape[0] != len(self):
            raise ValueError("Input box dimension is incompatible with pointcloud size.")
        if box.dim() == 2:
            box = box[None]
        if (box[..., 0, :] > box[..., 1, :]).any():
            raise ValueError("Input box is invalid: min values larger than max values.")
        pos = self.pos_packed()
        per_point = box.expand(len(self), -1, -1)[self.graph_index] if len(self) else box[:0]
        return ((pos >= per_point[:, 0]) & (pos <= per_point[:, 1])).all(dim=-1)

    def get_mesh_verts_faces(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(V_i, 3) vertices and (F_i, 3) local faces of graph `index`."""
        if not isinstance(index, int):
            raise ValueError("Mesh index must be an integer.")
        if index < 0 or index > len(self):
            raise ValueError("Mesh index must be in the range [0, N) where N is the number of meshes in the batch.")
        return self.pos_list()[index], self.faces_list()[index]

    def get_cloud(self, index: int) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """(points, normals or None, features or None) of cloud `index`."""
        if not isinstance(index, int):
            raise ValueError("Cloud index must be an integer.")
        if index < 0 or index > len(self):
            raise ValueError("Cloud index must be in the range [0, N) where N is the number of clouds in the batch.")
        normals, features = self.normals_list(), self.features_list()
        return (self.pos_list()[index], None if normals is None else normals[index],
                None if features is None else features[index])

    # editing; `name_` edits in place and returns self, `name` edits a clone
    def offset_verts_(self, vert_offsets_packed: torch.Tensor) -> GraphBatch:
        """Add (D,) to every vertex or (sum_V, D) per vertex, in place; returns self."""
        pos = self.pos_packed()
        if vert_offsets_packed.shape == pos.shape[1:]:
            vert_offsets_packed = vert_offsets_packed.expand_as(pos)
        if vert_offsets_packed.shape != pos.shape:
            raise ValueError(f"Verts offsets must have dimension (all_v, {pos.shape[1]}), got {tuple(vert_offsets_packed.shape)}.")
        self.update_features(POS, pos + vert_offsets_packed)
        return self

    def offset_verts(self, vert_offsets_packed: torch.Tensor) -> GraphBatch:
        return self.clone().offset_verts_(vert_offsets_packed)

    offset_ = offset_verts_
    offset = offset_verts

    def scale_verts_(self, scale: float | torch.Tensor) -> GraphBatch:
        """Multiply graph i's positions by scale (a number) or scale[i] (an (N,) tensor), in place; returns self."""
        pos = self.pos_packed()
        if not torch.is_tensor(scale):
            scale = torch.full((len(self),), scale, device=self.device)
        if scale.shape != (len(self),):
            raise ValueError(f"scale must be a number or a ({len(self)},) tensor, got shape {tuple(scale.shape)}")
        self.update_features(POS, pos * scale.to(pos.dtype)[self.graph_index][:, None])
        return self

    def scale_verts(self, scale: float | torch.Tensor) -> GraphBatch:
        return self.clone().scale_verts_(scale)

    scale_ = scale_verts_
    scale = scale_verts

    def transform(self, t, eps: float | None = None) -> GraphBatch:
        """A batch like this one with graph i's positions (and NORMALS, if any) mapped by transform i.

        Args:
            t: a Transform3d (anything with `get_matrix()`) or a matrix tensor, (4, 4) or (N | 1, 4, 4), in the
                row-vector convention ([p, 1] @ M; PyTorch3D's). A batch of 1 applies to every graph.
            eps: as `Transform3d.transform_points`: |w| is clamped below at eps (keeping its sign) before the
                homogeneous division; None divides as it is.

        Positions map as `transform_points`, normals as `transform_normals` (by the inverse transpose of the 3 x 3
        part, not renormalized). One batched product over all vertices: each vertex reads its graph's matrix
        through `graph_index`, with no per-graph loop. Topology and its caches (adjacency, edges, faces) are
        shared with the new batch; gradients flow to the positions, normals and matrices.
        """
        M = t.get_matrix() if hasattr(t, "get_matrix") else t
        if not isinstance(M, torch.Tensor):
            raise TypeError(f"t must be a Transform3d or a matrix tensor, got {type(t).__name__}")
        if M.dim() == 2:
            M = M[None]
        if M.dim() != 3 or M.shape[1:] != (4, 4) or M.shape[0] not in (1, len(self)):
            raise ValueError(f"t must hold 1 or {len(self)} (4, 4) matrices, got shape {tuple(M.shape)}")
        if M.device != self.device:
            raise ValueError(f"t is on {M.device} but the batch is on {self.device}")
        pos = self.pos_packed()
        if pos is None or pos.shape[1] != 3:
            raise ValueError("transform needs 3-D positions")
        M = M.to(pos.dtype)
        per_vertex = M.shape[0] > 1
        Mv = M[self.graph_index] if per_vertex else M[0]  # (V, 4, 4) or (4, 4)

        def apply(x: torch.Tensor, A: torch.Tensor) -> torch.Tensor:  # rows x (V, 3) times A (V | -, 3, k)
            return torch.bmm(x[:, None, :], A)[:, 0] if per_vertex else x @ A

        out_pos = apply(pos, Mv[..., :3, :]) + Mv[..., 3, :]
        w = out_pos[:, 3:]
        if eps is not None:
            w = (w.sign() + (w == 0).type_as(w)) * w.abs().clamp(eps)
        new = {POS: out_pos[:, :3] / w}
        if NORMALS in self._vfeats:
            inv_t = torch.linalg.inv(M[:, :3, :3].transpose(1, 2))  # N small matrices, then one gather
            new[NORMALS] = apply(self._vfeats[NORMALS].to(pos.dtype), inv_t[self.graph_index] if per_vertex else inv_t[0])
        self.num_verts_per_graph, self.num_faces_per_graph  # built once, shared with the new batch
        out = self._map(lambda x: x)
        out._cache = {k: v for k, v in self._cache.items() if k[1] not in new}
        for k, v in new.items():
            out._vfeats[k] = v
        return out

    def _padded_as_packed(self, x: torch.Tensor, what: str, channels: int | None) -> torch.Tensor:
        if x.dim() != 3 or x.shape[0] != len(self):
            raise ValueError("new values must have the same batch dimension.")
        if x.shape[1] != self.max_verts:
            raise ValueError("new values must have the same number of points.")
        if channels is not None and x.shape[2] != channels:
            raise ValueError(f"new values must have the same number of channels ({what}: {channels}).")
        if x.device != self.device:
            raise ValueError(f"{what} is on {x.device} but the batch is on {self.device}")
        return padded_to_packed(x, self.first_idxs, self.num_verts)

    def update_padded(self, new_points_padded: torch.Tensor, new_normals_padded: torch.Tensor | None = None,
                      new_features_padded: torch.Tensor | None = None) -> GraphBatch:
        """A batch like this one with positions (and optionally NORMALS / FEATURES) taken from (N, V_max, C)
        padded tensors (gradients flow to them); topology, counts and the cached topology views are shared."""
        new = {POS: new_points_padded, NORMALS: new_normals_padded, FEATURES: new_features_padded}
        widths = {POS: self.pos.shape[1] if self.pos is not None else 3, NORMALS: 3,
                  FEATURES: self._vfeats[FEATURES].shape[1] if FEATURES in self._vfeats else None}
        packed = {k: self._padded_as_packed(v, k, widths[k]) for k, v in new.items() if v is not None}
        self.num_verts_per_graph, self.num_faces_per_graph  # built once, shared with the new batch
        out = self._map(lambda t: t)
        out._cache = {k: v for k, v in self._cache.items() if k[1] not in packed}
        for k, v in packed.items():
            out._vfeats[k] = v
            out._vpresent[k] = (True,) * len(self)
            out._cache[("padded", k)] = new[k]
        return out

    def extend(self, N: int) -> GraphBatch:
        """A batch holding each graph N times in a row (copies)."""
        if isinstance(N, bool) or not isinstance(N, int):
            raise ValueError("N must be an integer.")
        if N <= 0:
            raise ValueError("N must be > 0.")
        return self._select([i for i in range(len(self)) for _ in range(N)])

    # ------------------------------------------------------------------ list of graphs, indexing
    def graphs(self) -> list[Graph]:
        """The batch as a list of `Graph` objects (tensors are views where possible)."""
        vlists = {k: list(torch.split(v, list(self._num_verts))) for k, v in self._vfeats.items()}
        elists = {k: list(torch.split(v, list(self._num_edges))) for k, v in self._efeats.items()}
        faces = self.faces_list()
        edges = self.edge_index_list()
        out = []
        for i in range(len(self)):
            vf = {k: v[i] for k, v in vlists.items() if self._vpresent[k][i]}
            pos = vf.pop(POS, None)
            ef = {k: v[i] for k, v in elists.items() if self._epresent[k][i]}
            g = Graph.__new__(Graph)
            g.num_verts = self._num_verts[i]
            g.faces = faces[i] if self._num_faces[i] else None
            g.edge_index = edges[i] if (self._num_edges[i] or self._edges_from_faces[i]) else None
            g.vertex_features = ({POS: pos} if pos is not None else {}) | vf
            g.edge_features = ef
            g.edges_from_faces = self._edges_from_faces[i]
            out.append(g)
        return out

    def __getitem__(self, index: int | slice | Sequence[int] | torch.Tensor) -> GraphBatch:
        """A batch of the selected graphs: an int, a slice, a list of ints or an int / bool tensor."""
        n = len(self)
        if isinstance(index, bool):
            raise TypeError("a GraphBatch index must be an int, slice, list of ints or tensor, got bool")
        if isinstance(index, int):
            if not -n <= index < n:
                raise IndexError(f"graph index {index} is out of range for a batch of {n}")
            picks = [index % n]
        elif isinstance(index, slice):
            picks = list(range(n))[index]
        elif isinstance(index, torch.Tensor):
            if index.dtype == torch.bool:
                if index.shape != (n,):
                    raise IndexError(f"a bool index must have shape ({n},), got {tuple(index.shape)}")
                picks = torch.nonzero(index).flatten().tolist()
            elif not index.dtype.is_floating_point and index.dim() <= 1:
                picks = index.reshape(-1).tolist()
            else:
                raise TypeError(f"a tensor index must be bool or integer and at most 1-D, got {index.dtype}")
        elif isinstance(index, Sequence) and all(isinstance(i, int) and not isinstance(i, bool) for i in index):
            picks = list(index)
        else:
            raise TypeError(f"a GraphBatch index must be an int, slice, list of ints or tensor, got {type(index).__name__}")
        for i in picks:
            if not -n <= i < n:
                raise IndexError(f"graph index {i} is out of range for a batch of {n}")
        return self._select([i % n for i in picks])

    def _select(self, picks: list[int]) -> GraphBatch:
        """A batch of the same class holding graphs `picks` (non-negative indices, repeats allowed)."""
        device = self.device
        nv = [self._num_verts[i] for i in picks]
        nf = [self._num_faces[i] for i in picks]
        ne = [self._num_edges[i] for i in picks]
        vidx = _gather_ranges(_ptr(self._num_verts), picks, nv, device)
        fidx = _gather_ranges(_ptr(self._num_faces), picks, nf, device)
        eidx = _gather_ranges(_ptr(self._num_edges), picks, ne, device)
        # vertex ids move by (new first vertex - old first vertex) of their graph
        shift = torch.tensor([a - b for a, b in zip(_ptr(nv), (_ptr(self._num_verts)[i] for i in picks))],
                             dtype=torch.int64, device=device)
        owner_f = index_from_counts(torch.tensor(nf, dtype=torch.int64, device=device), sum(nf))
        owner_e = index_from_counts(torch.tensor(ne, dtype=torch.int64, device=device), sum(ne))
        # a feature none of the picked graphs carries is left out, as a batch built from their Graphs would
        vpresent = {k: tuple(p[i] for i in picks) for k, p in self._vpresent.items() if any(p[i] for i in picks)}
        epresent = {k: tuple(p[i] for i in picks) for k, p in self._epresent.items() if any(p[i] for i in picks)}
        out = type(self).__new__(type(self))
        out._set(
            nv, nf, ne, self._faces[fidx] + shift[owner_f][:, None], self._edge_index[:, eidx] + shift[owner_e],
            {k: self._vfeats[k][vidx] for k in vpresent}, vpresent, {k: self._efeats[k][eidx] for k in epresent},
            epresent, tuple(self._edges_from_faces[i] for i in picks),
        )
        out._restore_extra(self._extra_context())
        # list views already built stay the same tensors (as PyTorch3D's indexing shares them)
        for key in [k for k in self._cache if k[0] in ("list", "faces_list") and (k[1] is None or k[1] in out._vfeats)]:
            out._cache[key] = [self._cache[key][i] for i in picks]
        return out

    def __iter__(self):
        return iter(self.graphs())

    def split(self, chunks: int | Sequence[int]) -> list[GraphBatch]:
        """Split into batches of consecutive graphs.

        - `split(chunks)` with an int: `chunks` batches balanced by vertex count (for data parallelism); fewer
          come back when there are fewer graphs than chunks, and none is empty unless the batch is.
        - `split([n_1, n_2, ...])` with a list of ints: batches of exactly n_1, n_2, ... graphs, as PyTorch3D's
          `Meshes.split(split_sizes)` / `Pointclouds.split` (sizes past the end give short or empty batches).
        """
        if isinstance(chunks, (list, tuple)):
            if not all(isinstance(x, int) and not isinstance(x, bool) for x in chunks):
                raise ValueError("Value of split_sizes must be a list of integers.")
            out, start = [], 0
            for size in chunks:
                out.append(self[start : start + size])
                start += size
            return out
        chunks = check_positive_int(chunks, "chunks")
        n = len(self)
        if n == 0:
            return [self]
        chunks = min(chunks, n)
        total = max(self.num_verts, 1)
        cuts, acc, g = [0], 0, 0
        for i, c in enumerate(self._num_verts):
            acc += c
            # close a chunk once its share of vertices is reached, leaving >= 1 graph for each remaining chunk
            if len(cuts) < chunks and acc >= total * len(cuts) / chunks and n - (i + 1) >= chunks - len(cuts):
                cuts.append(i + 1)
        while len(cuts) < chunks:  # too few cuts (e.g. all-empty graphs): split the tail evenly
            cuts.append(cuts[-1] + 1)
        cuts.append(n)
        return [self[cuts[i] : cuts[i + 1]] for i in range(len(cuts) - 1)]

    # ------------------------------------------------------------------ tensor plumbing
    def _map(self, fn) -> GraphBatch:
        children, context = _flatten(self)
        return _unflatten_as(type(self))([fn(c) for c in children], context)

    def to(self, *args, copy: bool = False, **kwargs) -> GraphBatch:
        """Move to a device (`to("cuda")`). A dtype argument converts floating features only.

        As PyTorch3D's `Meshes.to`: returns self when nothing changes, unless copy=True (then every tensor is a copy).
        """
        children, _ = _flatten(self)
        moved = [t.to(*args, copy=copy, **kwargs) if t.is_floating_point() else _to_device_only(t, *args, copy=copy, **kwargs)
                 for t in children]
        if all(a is b for a, b in zip(moved, children)):
            return self
        it = iter(moved)
        return self._map(lambda _: next(it))

    def cpu(self) -> GraphBatch:
        return self.to("cpu")

    def cuda(self, device: int | str | None = None) -> GraphBatch:
        return self.to(torch.device("cuda") if device is None else torch.device("cuda", device) if isinstance(device, int) else device)

    def clone(self) -> GraphBatch:
        return self._map(torch.clone)

    def detach(self) -> GraphBatch:
        return self._map(torch.Tensor.detach)

    def __repr__(self) -> str:
        feats = ", ".join(f"{k}{list(v.shape[1:])}" for k, v in self._vfeats.items())
        efeats = ", ".join(f"{k}{list(v.shape[1:])}" for k, v in self._efeats.items())
        return (
            f"GraphBatch(num_graphs={len(self)}, num_verts={self.num_verts}, num_edges={self.num_edges}, "
            f"num_faces={self.num_faces}, vertex_features=[{feats}], edge_features=[{efeats}], device={self.device})"
        )


# ---------------------------------------------------------------------- helpers


def _ptr(counts: Sequence[int]) -> list[int]:
    out, acc = [], 0
    for c in counts:
        out.append(acc)
        acc += c
    return out


def _gather_ranges(ptr: Sequence[int], picks: Sequence[int], counts: Sequence[int], device) -> torch.Tensor:
    """(sum(counts),) int64 packed rows of graphs `picks` in order (graph i's rows start at ptr[i])."""
    total = sum(counts)
    if total == 0:
        return torch.zeros(0, dtype=torch.int64, device=device)
    new_start = _ptr(counts)
    delta = torch.tensor([ptr[i] - s for i, s in zip(picks, new_start)], dtype=torch.int64, device=device)
    owner = index_from_counts(torch.tensor(counts, device=device), total)
    return torch.arange(total, device=device) + delta[owner]


def _graph_tensors(g: Graph) -> list[torch.Tensor]:
    return [t for t in (g.faces, g.edge_index, *g.vertex_features.values(), *g.edge_features.values()) if t is not None]


def _to_device_only(t: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    """Apply only the device part of a `.to(...)` call to an integer tensor."""
    device = kwargs.get("device")
    for a in args:
        if isinstance(a, (str, torch.device, int)):
            device = a
        elif isinstance(a, torch.Tensor):
            device = a.device
    copy = kwargs.get("copy", False)
    if device is None:
        return t.clone() if copy else t
    return t.to(device, non_blocking=kwargs.get("non_blocking", False), copy=copy)


def _pack_features(
    per_graph: list[dict[str, torch.Tensor]], counts: Sequence[int], kind: str, device: torch.device
) -> tuple[dict[str, torch.Tensor], dict[str, tuple[bool, ...]]]:
    """Pack named features; graphs lacking one get zero rows. Trailing shapes and dtypes must agree."""
    names: list[str] = []
    for feats in per_graph:
        names.extend(k for k in feats if k not in names)
    packed, present = {}, {}
    for name in names:
        have = [feats.get(name) for feats in per_graph]
        ref = next(t for t in have if t is not None)
        for i, t in enumerate(have):
            if t is not None and (t.shape[1:] != ref.shape[1:] or t.dtype != ref.dtype):
                raise ValueError(
                    f"{kind} feature {name!r} has shape {tuple(t.shape[1:])} / {t.dtype} in graph {i} but "
                    f"{tuple(ref.shape[1:])} / {ref.dtype} elsewhere: widths and dtypes must agree across a batch"
                )
        parts = [t if t is not None else ref.new_zeros((counts[i], *ref.shape[1:])) for i, t in enumerate(have)]
        packed[name] = torch.cat(parts) if parts else ref
        present[name] = tuple(t is not None for t in have)
    return packed, present


# ---------------------------------------------------------------------- pytree registration
# Leaves are the packed tensors; the context holds names and per-graph counts (plain Python data), so
# torch.compile, torch.export, vmap and tree_map can take a GraphBatch apart and rebuild it.


def _flatten(b: GraphBatch) -> tuple[list[torch.Tensor], tuple]:
    vnames, enames = tuple(b._vfeats), tuple(b._efeats)
    children = [b._faces, b._edge_index, *(b._vfeats[k] for k in vnames), *(b._efeats[k] for k in enames)]
    context = (
        b._num_verts, b._num_faces, b._num_edges, vnames, tuple(b._vpresent[k] for k in vnames), enames,
        tuple(b._epresent[k] for k in enames), b._edges_from_faces, b._extra_context(),
    )
    return children, context


def _unflatten_as(cls: type) -> Any:
    def unflatten(children: Iterable[Any], context: tuple) -> GraphBatch:
        children = list(children)
        num_verts, num_faces, num_edges, vnames, vpresent, enames, epresent, from_faces, extra = context
        faces, edge_index = children[0], children[1]
        vvals = children[2 : 2 + len(vnames)]
        evals = children[2 + len(vnames) :]
        b = cls.__new__(cls)
        b._set(
            num_verts, num_faces, num_edges, faces, edge_index, dict(zip(vnames, vvals)), dict(zip(vnames, vpresent)),
            dict(zip(enames, evals)), dict(zip(enames, epresent)), from_faces,
        )
        b._restore_extra(extra)
        return b

    return unflatten


_unflatten = _unflatten_as(GraphBatch)


def _flatten_with_keys(b: GraphBatch):
    children, context = _flatten(b)
    keys = ["faces", "edge_index", *(f"vertex.{k}" for k in context[3]), *(f"edge.{k}" for k in context[5])]
    return [(pytree.MappingKey(k), c) for k, c in zip(keys, children)], context


pytree.register_pytree_node(
    GraphBatch,
    _flatten,
    _unflatten,
    serialized_type_name="meshgraph.GraphBatch",
    flatten_with_keys_fn=_flatten_with_keys,
)
