"""Reference marching cubes (pure PyTorch / Python): the specification of csrc/ops/marching_cubes.

The case table is derived here from the cube configuration logic, and tools/gen_marching_cubes_tables.py writes
it into the C++ header (csrc/ops/marching_cubes/marching_cubes_tables.h) from this module.

Conventions (shared with csrc/ops/marching_cubes/marching_cubes.h):
- a volume is (D, H, W); grid coordinates are (x, y, z) with x along W. Corner c = dx + 2 dy + 4 dz of the cell
  whose lowest corner is (x, y, z); bit c of the cell's case is set when that corner's value is below the isolevel
  ("inside", PyTorch3D's rule).
- cell edge e = axis * 4 + k, axis 0 (x), 1 (y), 2 (z); k = (offset along the first other axis) + 2 (offset along
  the second), the other axes taken in ascending order. Its lower end has offset 0 along the axis.
- the polygon(s) of a case are found face by face: on each face of the cell, every maximal run of consecutive
  inside corners (walking around the face) is cut off by one segment joining the two crossed face edges that bound
  the run. On an ambiguous face (two diagonal inside corners) the inside corners are therefore separated; the rule
  depends on the face alone, so the two cells sharing a face draw the same segments and the surface is closed.
  Segments are directed (clockwise around the inside run, seen from outside the cell) and chained into loops, each
  started at its smallest edge and triangulated as a fan from there, unless a fan diagonal would join two vertices
  on one cell face (possible only when a loop crosses an ambiguous face twice), then by the first triangulation
  without such a diagonal. Normals (right-hand rule) point from the inside (below the isolevel) to the outside, as
  PyTorch3D's.
- a vertex lies on each crossed grid edge at lo + t, t = (iso - v_lo) / (v_hi - v_lo). When the coordinate rounds
  onto an end point of the edge, the vertex is that grid point (shared by every edge meeting there); triangles with
  two corners on one vertex are dropped. Vertex keys: 4 * (linear index of the grid point (n, z, y, x)) + slot,
  slot 0/1/2 for the x/y/z edge starting there, 3 for the grid point itself. Vertices are ordered by key, faces by
  cell (n, z, y, x lexicographic) and then table order.
"""

from __future__ import annotations

import torch

# ---------------------------------------------------------------------------------------------- the case table


def corner_offset(c: int) -> tuple[int, int, int]:
    return c & 1, (c >> 1) & 1, (c >> 2) & 1


def _corner(off) -> int:
    return off[0] + 2 * off[1] + 4 * off[2]


def edge_corners(e: int) -> tuple[int, int]:
    """(lower corner, upper corner) of cell edge e."""
    axis, k = divmod(e, 4)
    u, v = [i for i in range(3) if i != axis]
    lo = [0, 0, 0]
    lo[u], lo[v] = k & 1, (k >> 1) & 1
    hi = list(lo)
    hi[axis] = 1
    return _corner(lo), _corner(hi)


EDGE_CORNERS = [edge_corners(e) for e in range(12)]
_CORNERS_EDGE = {frozenset(EDGE_CORNERS[e]): e for e in range(12)}


def _faces() -> list[list[int]]:
    """The six faces of a cell, each as its four corners counter-clockwise seen from outside the cell."""
    out = []
    for axis in range(3):
        u, v = [i for i in range(3) if i != axis]
        for side in (0, 1):
            ring = []
            for a, b in ((0, 0), (1, 0), (1, 1), (0, 1)):
                off = [0, 0, 0]
                off[axis], off[u], off[v] = side, a, b
                ring.append(_corner(off))
            # the ring turns counter-clockwise about +axis when (u, v, axis) is right-handed (axes 0 and 2); the
            # face at side 1 is seen from +axis, the face at side 0 from -axis
            if (side == 1) != (axis != 1):
                ring.reverse()
            out.append(ring)
    return out


FACES = _faces()


def case_polygons(case: int) -> list[list[int]]:
    """The surface polygons (loops of cell edges) of a case."""
    inside = [bool(case >> c & 1) for c in range(8)]
    nxt: dict[int, int] = {}
    for ring in FACES:
        flags = [inside[c] for c in ring]
        if all(flags) or not any(flags):
            continue
        for i in range(4):
            if flags[i] and not flags[i - 1]:  # a run of inside corners starts at ring[i]
                j = i
                while flags[(j + 1) % 4]:
                    j = (j + 1) % 4
                enter = _CORNERS_EDGE[frozenset((ring[i - 1], ring[i]))]
                leave = _CORNERS_EDGE[frozenset((ring[j], ring[(j + 1) % 4]))]
                assert enter not in nxt
                nxt[enter] = leave
    loops = []
    todo = set(nxt)
    while todo:
        start = min(todo)
        loop, e = [start], nxt[start]
        todo.discard(start)
        while e != start:
            loop.append(e)
            todo.discard(e)
            e = nxt[e]
        loops.append(loop)
    return loops


def _share_face(e1: int, e2: int) -> bool:
    """Whether two cell edges lie on one face of the cell."""
    corners = EDGE_CORNERS[e1] + EDGE_CORNERS[e2]
    return any(len({c >> a & 1 for c in corners}) == 1 for a in range(3))


def _triangulate(loop: list[int]) -> list[tuple[int, int, int]]:
    """Triangles of a polygon whose diagonals never join two vertices on one cell face: such a diagonal could also
    be drawn by the neighbouring cell across that face (where a loop passes an ambiguous face twice), making the
    edge non-manifold. The fan from loop[0] when it qualifies (it does for every loop that meets each face once),
    else the first qualifying triangulation in lexicographic search order."""

    def ok(a: int, b: int) -> bool:
        return not _share_face(a, b)

    def search(poly: list[int]):
        if len(poly) == 3:
            return [tuple(poly)]
        # the triangle on the side (poly[0], poly[1]) has its apex at poly[k]
        for k in range(2, len(poly)):
            left, right = poly[1 : k + 1], [poly[0]] + poly[k:]
            if (len(left) > 2 and not ok(poly[1], poly[k])) or (len(right) > 2 and not ok(poly[0], poly[k])):
                continue
            a = search(left) if len(left) > 2 else []
            b = search(right) if len(right) > 2 else []
            if a is not None and b is not None:
                return [(poly[0], poly[1], poly[k])] + a + b
        return None

    fan = [(loop[0], loop[i], loop[i + 1]) for i in range(1, len(loop) - 1)]
    if all(ok(loop[0], loop[i]) for i in range(2, len(loop) - 1)):
        return fan
    found = search(loop)
    assert found is not None, loop
    return found


def case_table() -> list[list[tuple[int, int, int]]]:
    """Triangles (as triples of cell edges) of each of the 256 cases."""
    table = []
    for case in range(256):
        tris = []
        for loop in case_polygons(case):
            tris += _triangulate(loop)
        table.append(tris)
    return table


_TABLE = case_table()

# ---------------------------------------------------------------------------------------------- the op


def _acc_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def _crossing(va: float, vb: float, iso: float, lo: float, dtype: torch.dtype) -> tuple[float, int]:
    """Coordinate lo + t of the crossing on an edge (values va at its lower end, vb at its upper end), rounded as
    the kernels round in `dtype`, and the snap (0 inside the edge, 1 / 2 on its lower / upper end)."""
    t = (torch.tensor(iso, dtype=dtype) - va) / (torch.tensor(vb, dtype=dtype) - va)
    t = t.clamp(0, 1)
    c = torch.tensor(lo, dtype=dtype) + t
    snap = 1 if c <= lo else (2 if c >= lo + 1 else 0)
    return c.item(), snap


def marching_cubes_volume(vol: torch.Tensor, isolevel: float) -> tuple[torch.Tensor, torch.Tensor]:
    """verts (V, 3) in grid coordinates (x, y, z) and faces (F, 3) of one (D, H, W) volume: the straightforward
    loop over cells, with vertices numbered by key (slow: for tests)."""
    dtype = _acc_dtype(vol.dtype)
    v = vol.to(dtype)
    if not bool(torch.isfinite(v).all()):
        raise RuntimeError("marching_cubes: vol_batch contains NaN or infinite values")
    iso = torch.tensor(isolevel, dtype=torch.float64).to(dtype)
    D, H, W = v.shape
    vals = v.tolist()
    level = iso.item()
    positions: dict[int, tuple[float, float, float]] = {}
    faces: list[tuple[int, int, int]] = []
    for z in range(D - 1):
        for y in range(H - 1):
            for x in range(W - 1):
                cv = [vals[z + (c >> 2 & 1)][y + (c >> 1 & 1)][x + (c & 1)] for c in range(8)]
                # compare in the kernels' dtype (level is that dtype's value)
                case = sum(1 << c for c in range(8) if cv[c] < level)
                keys: dict[int, int] = {}
                for tri in _TABLE[case]:
                    k = []
                    for e in tri:
                        if e not in keys:
                            a, b = EDGE_CORNERS[e]
                            axis = e // 4
                            base = [x, y, z]
                            coord, snap = _crossing(cv[a], cv[b], level, base[axis], dtype)
                            c = b if snap == 2 else a
                            p = (x + (c & 1), y + (c >> 1 & 1), z + (c >> 2 & 1))
                            G = (p[2] * H + p[1]) * W + p[0]
                            if snap:
                                keys[e] = 4 * G + 3
                                positions[keys[e]] = tuple(float(q) for q in p)
                            else:
                                keys[e] = 4 * G + axis
                                pos = [float(q) for q in p]
                                pos[axis] = coord
                                positions[keys[e]] = tuple(pos)
                        k.append(keys[e])
                    if len(set(k)) == 3:
                        faces.append(tuple(k))
    used = sorted({k for f in faces for k in f})
    index = {k: i for i, k in enumerate(used)}
    verts = torch.tensor([positions[k] for k in used], dtype=dtype).reshape(-1, 3)
    faces_t = torch.tensor([[index[k] for k in f] for f in faces], dtype=torch.int64).reshape(-1, 3)
    return verts, faces_t


def marching_cubes(vol_batch: torch.Tensor, isolevel: torch.Tensor):
    """torch.ops.meshgraph.marching_cubes: (verts packed (V, 3), faces (F, 3) indexing each volume's own verts,
    verts_per_volume (N,), faces_per_volume (N,))."""
    vs, fs = [], []
    for n in range(vol_batch.shape[0]):
        v, f = marching_cubes_volume(vol_batch[n], float(isolevel[n]))
        vs.append(v)
        fs.append(f)
    dtype = _acc_dtype(vol_batch.dtype)
    verts = torch.cat(vs) if vs else torch.zeros(0, 3, dtype=dtype)
    faces = torch.cat(fs) if fs else torch.zeros(0, 3, dtype=torch.int64)
    vpv = torch.tensor([len(v) for v in vs], dtype=torch.int64)
    fpv = torch.tensor([len(f) for f in fs], dtype=torch.int64)
    return verts, faces, vpv, fpv


__all__ = ["EDGE_CORNERS", "FACES", "case_polygons", "case_table", "marching_cubes", "marching_cubes_volume"]
