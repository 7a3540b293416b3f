"""GraphToImage: one differentiable layer from a batch of graphs (meshes, clouds, any graph with positions) and
cameras to (N, C, H, W) feature images; optionally a lit RGB image of the same fragments, order-independent
transparency and several graphs drawn as one scene."""

from __future__ import annotations

import torch

from .._utils import check_nonnegative_int, check_positive_int, first_from_counts, values_are_free
from ..graph import GraphBatch
from ..ops.composite_points import MODES as COMPOSITORS, composite_validated
from ..ops.packed_to_padded import packed_to_padded, padded_to_packed
from ..ops.rasterize_points import image_hw
from ..render.blend import alpha_weights, blend_with_weights, hard_blend, softmax_weights
from ..render.cameras import CamerasBase
from ..render.clip import split_faces_near
from ..render.shading import _apply_lighting

SHADINGS = ("phong", "gouraud", "flat")


def _per_graph(cameras: CamerasBase, n: int, what: str = "graphs") -> CamerasBase:
    if len(cameras) not in (1, n):
        raise ValueError(f"cameras hold {len(cameras)} views but the graph batch has {n} {what} (give 1 or {n})")
    return cameras


def _apply_padded(fn, packed: torch.Tensor, first: torch.Tensor, max_size: int, count: int) -> torch.Tensor:
    """fn on the (N, M, 3) padded view of packed (P, 3) rows, packed again (differentiable both ways)."""
    if packed.shape[0] == 0:
        return packed
    padded = packed_to_padded(packed, first, max_size)
    return padded_to_packed(fn(padded), first, count)


class _Layout:
    """Which vertices and faces each output image draws, grouped by image (the rasterizers' packed batches).

    images = graphs (scene off): the GraphBatch's own packing. scene=True: every image (one per camera) draws
    every graph; scene ids: image s draws the graphs whose id is s. When the images' graphs are contiguous in the
    batch (scene off, one camera, sorted ids) the packing is the batch's own (vid = fid = None: no copy);
    otherwise vid / fid map each drawn vertex / face to its packed one (a gather of the positions and faces, never
    of the features: p2f is mapped back before the interpolation)."""

    def __init__(self, graph: GraphBatch, n_cameras: int, scene):
        pos = graph.pos_packed()
        dev = pos.device
        N, V, F = graph.num_graphs, pos.shape[0], graph.num_faces
        self.vid = self.fid = None
        self._vertex_image = None  # () -> (V,) image of each packed vertex, where each vertex is drawn once
        self.faces = graph.faces_packed().long() if F else None
        self.verts = pos
        if scene is None or scene is False:
            self.n = N
            self.vfirst, self.vcount, self.vmax = graph.first_idxs, graph.num_verts_per_graph.to(dev), graph.max_verts
            self.fcount, self.fsizes = graph.num_faces_per_graph.to(dev), graph.sizes("faces")
            self._vertex_image = (lambda: graph.graph_index) if N > 1 else None  # built only when needed
            return
        if scene is True:
            M = self.n = n_cameras
            self.fsizes = (F,) * M
            self.vmax = V
            if M == 1:
                self.vfirst = torch.zeros(1, dtype=torch.int64, device=dev)
                self.vcount = torch.full((1,), V, dtype=torch.int64, device=dev)
                self.fcount = torch.full((1,), F, dtype=torch.int64, device=dev)
                return
            self.vid = torch.arange(M * V, device=dev) % V if V else torch.zeros(0, dtype=torch.int64, device=dev)
            self.fid = torch.arange(M * F, device=dev) % F if F else torch.zeros(0, dtype=torch.int64, device=dev)
            if F:
                shift = (torch.arange(M, device=dev) * V)[:, None, None]
                self.faces = (self.faces[None] + shift).reshape(M * F, 3)
            self.verts = pos[self.vid]
            self.vfirst = torch.arange(M, device=dev) * V
            self.vcount = torch.full((M,), V, dtype=torch.int64, device=dev)
            self.fcount = torch.full((M,), F, dtype=torch.int64, device=dev)
            return
        ids = _scene_ids(scene, N)
        self.n = S = max(ids, default=-1) + 1
        vsz, fsz = graph.sizes("verts"), graph.sizes("faces")
        vc, fc = [0] * S, [0] * S
        for g, s in enumerate(ids):
            vc[s] += vsz[g]
            fc[s] += fsz[g]
        self.fsizes, self.vmax = tuple(fc), max(vc, default=0)
        self.vcount = torch.tensor(vc, dtype=torch.int64, device=dev)  # host ints: a small copy, no device sync
        self.fcount = torch.tensor(fc, dtype=torch.int64, device=dev)
        self.vfirst = first_from_counts(self.vcount)
        if S > 1:
            self._vertex_image = lambda: torch.tensor(ids, dtype=torch.int64, device=dev)[graph.graph_index]
        if all(a <= b for a, b in zip(ids, ids[1:])):
            return  # the scenes' graphs are contiguous: the batch's packing is the scenes' packing
        order = sorted(range(N), key=lambda g: ids[g])  # stable: graphs keep their order within a scene
        vptr, fptr = _prefix(vsz), _prefix(fsz)
        vshift, fshift, vdone, fdone = [], [], 0, 0
        for g in order:
            vshift.append(vptr[g] - vdone)
            fshift.append(fptr[g] - fdone)
            vdone += vsz[g]
            fdone += fsz[g]
        vrep = torch.tensor([vsz[g] for g in order], dtype=torch.int64, device=dev)
        frep = torch.tensor([fsz[g] for g in order], dtype=torch.int64, device=dev)
        vshift_t = torch.tensor(vshift, dtype=torch.int64, device=dev)
        self.vid = torch.arange(V, device=dev) + torch.repeat_interleave(vshift_t, vrep, output_size=V)
        self.fid = torch.arange(F, device=dev) + torch.repeat_interleave(
            torch.tensor(fshift, dtype=torch.int64, device=dev), frep, output_size=F)
        self.verts = pos[self.vid]
        if F:
            self.faces = self.faces[self.fid] - torch.repeat_interleave(vshift_t, frep, output_size=F)[:, None]


    @property
    def vertex_image(self) -> torch.Tensor | None:
        return None if self._vertex_image is None else self._vertex_image()


def _prefix(sizes) -> list[int]:
    out = [0]
    for n in sizes:
        out.append(out[-1] + n)
    return out


def _scene_ids(scene, n: int) -> list[int]:
    if isinstance(scene, torch.Tensor):
        if scene.dim() != 1 or scene.dtype.is_floating_point or scene.dtype == torch.bool:
            raise TypeError(f"scene ids must be a 1-D integer tensor, got {scene.dtype} of shape {tuple(scene.shape)}")
        scene = scene.tolist()  # scene ids decide shapes: read on the host (pass a list to avoid the read)
    try:
        ids = [int(s) for s in scene]
    except TypeError:
        raise TypeError(f"scene must be a bool or one scene id per graph, got {type(scene).__name__}") from None
    if len(ids) != n:
        raise ValueError(f"scene holds {len(ids)} ids but the graph batch has {n} graphs")
    if any(s < 0 for s in ids):
        raise ValueError("scene ids must be >= 0")
    return ids


def _remap(index: torch.Tensor, table: torch.Tensor | None) -> torch.Tensor:
    """Drawn-face / drawn-point indices (-1 where empty) -> packed ones through table (None: the same)."""
    if table is None:
        return index
    return torch.where(index >= 0, table[index.clamp_min(0)], index)


class GraphToImage(torch.nn.Module):
    """Render a vertex feature of every graph of a GraphBatch from the given cameras.

    mode "points": every vertex is a disk of `radius` (NDC; a float, a vertex-feature name or a packed (V,) tensor
    for per-point radii; radii get no gradient) rasterized with `rasterize_points`; the
    `points_per_pixel` nearest are blended by `compositor` ("alpha", "norm_weighted", "weighted_sum") with
    alpha = 1 - d^2 / r^2 (PyTorch3D's PointsRenderer). Works for any graph with positions.
    mode "mesh": the graph's faces are rasterized with `rasterize_meshes` (perspective-correct for perspective
    cameras, faces crossing z = z_clip_value in view space clipped there) and the vertex feature interpolated
    with barycentrics; `blend` "hard" takes the nearest face, "softmax" the soft rasterizer's blend over
    `faces_per_pixel` faces (use blur_radius > 0, sigma, gamma), "alpha" order-independent transparency.

    forward(graph, cameras, feature=None, *, color=None, alpha=None, scene=None) -> (N, C, H, W). `feature` is a
    vertex-feature name of the graph or a packed (V, C) tensor; default: the module's `feature`, else ones (a
    silhouette). Differentiable w.r.t. the positions and the features.

    Lighting (mode "mesh", `shading` "phong" / "gouraud" / "flat", with `lights` (default PointLights()) and
    `materials` (default Materials()) of meshgraph.render): forward returns (lit (N, 3, H, W), features (N, C, H,
    W)) from ONE rasterization, ONE barycentric interpolation of the stacked vertex channels [feature | colour |
    position | normal | alpha] and one set of blending weights applied to both. `color` (forward or module) is
    the colour that is lit: a vertex-feature name or a (V, 3) / (V, 4) RGBA tensor; default the graph's
    TexturesVertex (a Meshes' `textures`; other textures are sampled at the fragments), else white.
    `color_background` is the lit image's background (default 0), `background` the features'.

    Transparency (blend "alpha"): the K = faces_per_pixel faces of each pixel, sorted front to back by the
    rasterizer, are composited with the "over" operator, C = sum_k c_k a_k prod_{j<k} (1 - a_j) + background *
    prod_k (1 - a_k). `alpha` (forward or module): a float, a vertex-feature name (per vertex, interpolated), a
    (F,) per-face tensor or a (N,) per-graph tensor (read per face when F == N); default the colour's 4th channel
    when it is RGBA, else 1 (= the hard blend). With blur_radius > 0 each alpha is also scaled by the face's soft
    coverage sigmoid(-dist / sigma), so gradients reach the geometry. Only the K nearest faces take part.

    Scenes (`scene`, module or forward): False draws graph i into image i (one camera, or one per graph). True
    draws every graph into every image, one image per camera (M cameras -> (M, C, H, W)), with occlusion
    across graphs as for the joined mesh (`join_meshes_as_scene`). A sequence of N scene ids (PyTorch3D #1757's
    batch of scenes) draws graph g into image ids[g] (S = max id + 1 images; one camera or S).
    """

    def __init__(self, image_size=256, mode: str = "points", feature: str | None = None, radius: float = 0.01,
                 points_per_pixel: int = 8, compositor: str = "alpha", faces_per_pixel: int = 1,
                 blur_radius: float = 0.0, blend: str = "hard", sigma: float = 1e-4, gamma: float = 1e-4,
                 background=None, perspective_correct: bool | None = None, cull_backfaces: bool = False,
                 z_clip_value: float | None = 1e-3, bin_size: int | None = None, *, shading: str | None = None,
                 lights=None, materials=None, color=None, color_background=None, alpha=None, scene=False):
        super().__init__()
        self.image_size = image_hw(image_size)
        if mode not in ("points", "mesh"):
            raise ValueError(f"mode must be 'points' or 'mesh', got {mode!r}")
        if compositor not in COMPOSITORS:
            raise ValueError(f"compositor must be one of {sorted(COMPOSITORS)}, got {compositor!r}")
        if blend not in ("hard", "softmax", "alpha"):
            raise ValueError(f"blend must be 'hard', 'softmax' or 'alpha', got {blend!r}")
        if shading is not None and shading not in SHADINGS:
            raise ValueError(f"shading must be None or one of {SHADINGS}, got {shading!r}")
        if mode == "points" and (shading is not None or blend == "alpha"):
            raise ValueError("shading and blend='alpha' need mode='mesh'")
        if isinstance(radius, (int, float)) and not isinstance(radius, bool):
            if not radius > 0:
                raise ValueError(f"radius must be positive, got {radius!r}")
            radius = float(radius)
        elif not isinstance(radius, (str, torch.Tensor)):
            raise TypeError(f"radius must be a float, a vertex-feature name or a (V,) tensor, got {type(radius).__name__}")
        points_per_pixel = check_positive_int(points_per_pixel, "points_per_pixel")
        faces_per_pixel = check_positive_int(faces_per_pixel, "faces_per_pixel")
        if bin_size is not None:
            bin_size = check_nonnegative_int(bin_size, "bin_size")
        if not blur_radius >= 0:
            raise ValueError(f"blur_radius must be >= 0, got {blur_radius!r}")
        self.mode, self.feature, self.radius = mode, feature, radius
        self.points_per_pixel, self.compositor = points_per_pixel, compositor
        self.faces_per_pixel, self.blur_radius, self.blend = faces_per_pixel, float(blur_radius), blend
        self.sigma, self.gamma, self.background = sigma, gamma, background
        self.perspective_correct, self.cull_backfaces = perspective_correct, cull_backfaces
        self.z_clip_value, self.bin_size = z_clip_value, bin_size
        self.shading, self.lights, self.materials, self.color = shading, lights, materials, color
        self.color_background, self.alpha, self.scene = color_background, alpha, scene

    def _features(self, graph: GraphBatch, feature, name: str = "feature") -> torch.Tensor:
        feature = self.feature if feature is None and name == "feature" else feature
        pos = graph.pos_packed()
        if feature is None:
            return pos.new_ones(pos.shape[0], 1)
        if isinstance(feature, str):
            x = graph.packed(feature)
        elif isinstance(feature, torch.Tensor):
            x = feature
        else:
            raise TypeError(f"{name} must be a vertex-feature name or a (V, C) tensor, got {type(feature).__name__}")
        if x.shape[0] != pos.shape[0]:
            raise ValueError(f"{name} has {x.shape[0]} rows but the graph batch has {pos.shape[0]} vertices")
        if x.dim() == 1:
            x = x[:, None]
        if x.dim() != 2:
            raise ValueError(f"{name} must be (V, C), got shape {tuple(x.shape)}")
        return x.to(pos.dtype)

    def forward(self, graph: GraphBatch, cameras: CamerasBase, feature=None, *, color=None, alpha=None, scene=None):
        if not isinstance(graph, GraphBatch):
            raise TypeError(f"graph must be a GraphBatch, got {type(graph).__name__}")
        if not isinstance(cameras, CamerasBase):
            raise TypeError(f"cameras must be meshgraph.render cameras, got {type(cameras).__name__}")
        scene = self.scene if scene is None else scene
        alpha = self.alpha if alpha is None else alpha
        if alpha is not None and self.blend != "alpha":
            raise ValueError(f"alpha needs blend='alpha' (this layer blends {self.blend!r})")
        layout = _Layout(graph, len(cameras), scene)
        cams = _per_graph(cameras, layout.n, "graphs" if scene is None or scene is False else "scenes")
        feats = self._features(graph, feature)
        if self.mode == "points":
            return self._points(graph, cams, feats, layout)
        return self._mesh(graph, cams, feats, layout, color, alpha)

    def _points(self, graph, cams, feats, layout):
        H, W = self.image_size
        pos = graph.pos_packed()
        V = pos.shape[0]
        raster = _apply_padded(cams.transform_points_raster, layout.verts, layout.vfirst, layout.vmax,
                               layout.verts.shape[0])
        if isinstance(self.radius, float):
            radius = torch.full((V,), self.radius, dtype=pos.dtype, device=pos.device)
        else:
            radius = graph.packed(self.radius) if isinstance(self.radius, str) else self.radius
            radius = radius.detach().reshape(-1).to(pos.dtype)
            if radius.shape[0] != V:
                raise ValueError(f"radius has {radius.shape[0]} entries but the graph batch has {V} vertices")
            # read only where free (CPU); on CUDA a vertex with radius <= 0 is simply not drawn (no device sync)
            if values_are_free(radius) and not bool((radius > 0).all()):
                raise ValueError("radius must be positive for every vertex")
        if layout.vid is not None:
            radius = radius[layout.vid]
        idx, _, dists = torch.ops.meshgraph.rasterize_points(
            raster, layout.vfirst, layout.vcount, radius, H, W, self.points_per_pixel, self.bin_size)
        r2 = radius.square()[idx.clamp_min(0)]
        alphas = torch.where(idx >= 0, 1 - dists / r2, 0)
        # idx comes from the rasterizer: no per-call data checks (each would be a device sync)
        return composite_validated(feats, alphas.to(feats.dtype), _remap(idx, layout.vid), self.compositor,
                                   self.background)

    def _rasterize(self, graph, cams, layout):
        """Fragments (p2f over the batch's packed faces, zbuf, bary, dists), each (n_images, H, W, K)."""
        H, W = self.image_size
        verts = layout.verts
        view = _apply_padded(cams.transform_points_view, verts, layout.vfirst, layout.vmax, verts.shape[0])
        faces = layout.faces
        persp = cams.is_perspective() if self.perspective_correct is None else self.perspective_correct
        # Face counts are host ints: no device sync. Near-plane clipping uses the fixed-size split (2 output faces
        # per face, barycentrics mapped back to the input face), also sync-free.
        clip = self.z_clip_value is not None and cams.is_perspective()
        per_face = 2 if clip else 1
        if clip:
            verts, rfaces, weights = split_faces_near(view, faces, float(self.z_clip_value))
        else:
            verts, rfaces, weights = view, faces, None
        counts = layout.fcount * per_face
        ffirst = first_from_counts(counts)
        F = rfaces.shape[0]
        fv_view = verts[rfaces]  # (F, 3, 3)
        fmax = per_face * max(layout.fsizes, default=0)
        padded = packed_to_padded(fv_view.reshape(F, 9), ffirst, fmax).reshape(layout.n, fmax * 3, 3)
        raster = cams.view_to_raster(padded).reshape(layout.n, fmax, 9)
        fv = padded_to_packed(raster, ffirst, F).reshape(F, 3, 3)
        p2f, zbuf, bary, dists = torch.ops.meshgraph.rasterize_meshes(
            fv, ffirst, counts, H, W, self.blur_radius, self.faces_per_pixel,
            self.bin_size, bool(persp),
            self.blend in ("softmax", "alpha") and self.blur_radius > 0, bool(self.cull_backfaces))
        if clip:  # back to the input faces: face g // 2, barycentrics b @ weights[g]
            hit = p2f >= 0
            g = p2f.clamp_min(0)
            bary = torch.where(hit[..., None], (bary[..., None, :] @ weights[g].to(bary.dtype)).squeeze(-2), bary)
            p2f = torch.where(hit, torch.div(p2f, 2, rounding_mode="floor"), p2f)
        return _remap(p2f, layout.fid), zbuf, bary, dists

    def _mesh(self, graph, cams, feats, layout, color, alpha):
        if graph.num_faces == 0:
            raise ValueError("mode='mesh' needs faces: this GraphBatch has none (use mode='points')")
        pos = graph.pos_packed()
        p2f, zbuf, bary, dists = self._rasterize(graph, cams, layout)
        faces = graph.faces_packed().long()
        shading = self.shading
        color = self.color if color is None else color
        # --- the vertex channels interpolated together: [feature | colour | position, normal | alpha]
        groups = {"feature": feats}
        texels = vertex_alpha = face_alpha = None
        if shading is not None or self.blend == "alpha" and alpha is None:
            rgb, rgba_alpha, texels = self._colors(graph, color, shading is None)
            if alpha is None and self.blend == "alpha":
                vertex_alpha = rgba_alpha
            if shading is not None:
                if shading == "gouraud":
                    if texels is not None:
                        raise ValueError("shading='gouraud' lights vertex colours: give color= or a TexturesVertex")
                    rgb = self._gouraud_vertices(graph, cams, layout, rgb)
                if rgb is not None:
                    groups["color"] = rgb
                if shading == "phong":
                    groups["point"] = pos
                    groups["normal"] = graph.verts_normals_packed().to(pos.dtype)
        if isinstance(alpha, str):
            vertex_alpha = self._features(graph, alpha, "alpha")
            if vertex_alpha.shape[1] != 1:
                raise ValueError(f"alpha {alpha!r} must be one value per vertex, got {vertex_alpha.shape[1]} channels")
        elif alpha is not None:
            face_alpha = self._face_alpha(graph, alpha)
        if vertex_alpha is not None:
            groups["alpha"] = vertex_alpha
        stacked = groups["feature"] if len(groups) == 1 else torch.cat(list(groups.values()), 1)
        # p2f comes from the rasterizer, faces from the GraphBatch (checked when it was built): the raw op directly,
        # without the wrapper's per-call min / max reads (device syncs)
        slots = torch.ops.meshgraph.interpolate_face_attributes(p2f, bary.to(stacked.dtype), stacked, faces)
        parts, start = {}, 0
        for name, x in groups.items():
            parts[name] = slots[..., start:start + x.shape[1]]
            start += x.shape[1]
        # --- one set of blending weights for every output
        weights = self._weights(p2f, zbuf, dists, cams, parts.get("alpha"), face_alpha, slots.dtype)
        out = self._apply(weights, parts["feature"], p2f, self.background)
        if shading is None:
            return out
        if texels is not None:  # a texture sampled at the fragments (its own UV interpolation)
            texels = self._sample(graph, texels, layout, p2f, zbuf, bary, dists).to(slots.dtype)
        elif "color" not in parts:
            texels = torch.ones((), dtype=slots.dtype, device=slots.device)
        lit = self._shade(graph, cams, shading, parts, texels, p2f, pos)
        return self._apply(weights, lit, p2f, self.color_background), out

    def _colors(self, graph, color, alpha_only: bool):
        """(rgb (V, 3) or None, per-vertex alpha (V, 1) or None, a texture to sample at the fragments or None):
        the colour to light (alpha_only: only the alpha of an RGBA colour is wanted)."""
        if color is not None:
            c = self._features(graph, color, "color")
        else:
            tex = getattr(graph, "textures", None)
            if tex is None:
                return None, None, None
            if not hasattr(tex, "verts_features_packed"):
                return None, None, (None if alpha_only else tex)  # sampled at the fragments
            c = tex.verts_features_packed().to(graph.pos_packed().dtype)
            if alpha_only and c.shape[1] != 4:
                return None, None, None  # a vertex texture of any width: only an RGBA one carries alphas
        if c.shape[1] not in (3, 4):
            raise ValueError(f"color must have 3 (RGB) or 4 (RGBA) channels, got {c.shape[1]}")
        return c[:, :3], (c[:, 3:] if c.shape[1] == 4 else None), None

    def _sample(self, graph, tex, layout, p2f, zbuf, bary, dists):
        from ..render.rasterizer import Fragments

        if layout.n != graph.num_graphs or layout.vid is not None:
            if type(tex).__name__ != "TexturesAtlas":
                raise ValueError(f"scene rendering lights vertex colours or a TexturesAtlas, not {type(tex).__name__} "
                                 "(its maps are per image): join the meshes with join_meshes_as_scene first")
        frag = Fragments(pix_to_face=p2f, zbuf=zbuf, bary_coords=bary, dists=dists)
        texels = tex.sample_textures(frag, faces_packed=graph.faces_packed())
        if texels.shape[-1] != 3:
            raise ValueError(f"textures to light must be RGB, got {texels.shape[-1]} channels")
        return texels

    def _face_alpha(self, graph, alpha) -> torch.Tensor:
        pos = graph.pos_packed()
        F, N = graph.num_faces, graph.num_graphs
        if isinstance(alpha, (int, float)) and not isinstance(alpha, bool):
            return torch.full((1,), float(alpha), dtype=pos.dtype, device=pos.device)
        if not isinstance(alpha, torch.Tensor):
            raise TypeError(f"alpha must be a float, a vertex-feature name or a (F,) / (N,) tensor, got {type(alpha).__name__}")
        a = alpha.to(pos.dtype)
        if a.dim() == 1 and a.shape[0] == F:
            return a
        if a.dim() == 1 and a.shape[0] == N:
            return torch.repeat_interleave(a, graph.num_faces_per_graph.to(a.device), output_size=F)
        raise ValueError(f"alpha must be (F,) = ({F},) per face or (N,) = ({N},) per graph, got {tuple(alpha.shape)}")

    def _weights(self, p2f, zbuf, dists, cams, vertex_alpha, face_alpha, dtype):
        """(w (n, H, W, K), w_bg (n, H, W, 1)) of the blend; None for the hard blend (slot 0 is taken)."""
        if self.blend == "hard":
            return None
        if self.blend == "softmax":
            # depth range of the soft blend, per camera (PyTorch3D's softmax_rgb_blend): the FoV cameras' clipping
            # planes, PyTorch3D's defaults otherwise; kept as tensors (no device sync)
            znear = cams.znear if hasattr(cams, "znear") else 1.0
            zfar = cams.zfar if hasattr(cams, "zfar") else 100.0
            w, w_bg, _ = softmax_weights(p2f, zbuf, dists, self.sigma, self.gamma, znear, zfar)
            return w, w_bg
        if vertex_alpha is not None:
            a = vertex_alpha[..., 0]
        elif face_alpha is not None:
            a = face_alpha[p2f.clamp_min(0)] if face_alpha.shape[0] > 1 else face_alpha.expand(p2f.shape)
        else:
            a = torch.ones(p2f.shape, dtype=dtype, device=p2f.device)
        if self.blur_radius > 0:  # soft coverage: gradients reach the geometry through dists
            a = a * torch.sigmoid(-dists / self.sigma).to(a.dtype)
        w, w_bg, _ = alpha_weights(a, p2f)
        return w, w_bg

    def _apply(self, weights, slots, p2f, background):
        if weights is None:
            return hard_blend(slots, p2f, background)
        return blend_with_weights(slots, weights[0], weights[1], background)

    def _lights(self, device):
        from ..render.lighting import Materials, PointLights

        lights = self.lights if self.lights is not None else PointLights(device=device)
        materials = self.materials if self.materials is not None else Materials(device=device)
        return lights, materials

    def _gouraud_vertices(self, graph, cams, layout, rgb):
        """Vertex colours lit at the vertices (PyTorch3D's gouraud_shading), each vertex with its image's camera,
        light and material."""
        owner = layout.vertex_image
        if layout.vid is not None and owner is None and layout.n > 1:
            raise ValueError("shading='gouraud' lights each vertex for one camera: with scene=True give one camera")
        pos = graph.pos_packed()
        lights, materials = self._lights(pos.device)
        if rgb is None:
            rgb = torch.ones_like(pos)
        if owner is not None:
            lights = lights.clone().gather_props(owner)
            cams = cams.clone().gather_props(owner)
            materials = materials.clone().gather_props(owner)
        normals = graph.verts_normals_packed().to(pos.dtype)
        ambient, diffuse, specular = _apply_lighting(pos, normals, lights, cams, materials)
        return rgb * (ambient + diffuse) + specular

    def _shade(self, graph, cams, shading, parts, texels, p2f, pos):
        """(n, H, W, K, 3) lit colours of the slots."""
        if shading == "gouraud":
            return parts["color"]
        colors = parts.get("color", texels)
        lights, materials = self._lights(pos.device)
        if shading == "phong":
            points, normals = parts["point"], parts["normal"]
        else:  # flat: the face's centroid and normal
            idx = p2f.clamp_min(0)
            hit = (p2f >= 0)[..., None]
            zero = torch.zeros((), dtype=pos.dtype, device=pos.device)
            points = torch.where(hit, pos[graph.faces_packed()].mean(1)[idx], zero)
            normals = torch.where(hit, graph.faces_normals_packed()[idx], zero)
        ambient, diffuse, specular = _apply_lighting(points, normals, lights, cams, materials)
        return (ambient + diffuse) * colors + specular
