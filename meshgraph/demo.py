"""The demo: a graph neural network deforms an icosphere into the cow.

GraphConv layers on the icosphere's mesh graph predict per-vertex offsets (Mesh R-CNN's refinement-head idea),
trained with chamfer distance between points sampled on the predicted and the target surfaces, plus edge-length,
normal-consistency and Laplacian regularizers (the weights of PyTorch3D's mesh-fitting tutorial). Outputs, in the
folder it prints: the deformed mesh (OBJ), a loss-curve plot and renders of target, prediction and start
(PNG, rendered with meshgraph's own GraphToImage layer; the silhouette IoU against the target is reported).
"""

from __future__ import annotations

import math
import time
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from .graph import GraphBatch
from .io import load_mesh, save_mesh
from .losses import chamfer_distance, mesh_edge_loss, mesh_laplacian_smoothing, mesh_normal_consistency
from .nn import GraphConv
from .ops import sample_points_from_meshes
from .utils import ico_sphere

WEIGHTS = dict(chamfer=1.0, edge=1.0, normal=0.01, laplacian=0.1)


def load_cow(device) -> GraphBatch:
    """The bundled cow, centred and scaled into the unit sphere."""
    with resources.as_file(resources.files("meshgraph") / "data" / "cow.obj") as path:
        cow = GraphBatch([load_mesh(path)]).to(device)
    pos = cow.pos_packed()
    pos = pos - pos.mean(0)
    return cow.update_features("pos", pos / pos.norm(dim=1).max())


class Deformer(nn.Module):
    """Vertex features = [Fourier features of the sphere position, a learned per-vertex code]; a stack of
    GraphConv layers (residual, ReLU) on the mesh graph maps them to 3-D offsets."""

    def __init__(self, num_verts: int, hidden: int = 128, layers: int = 4, freqs: int = 4, code: int = 16):
        super().__init__()
        self.freqs = freqs
        self.code = nn.Parameter(torch.zeros(num_verts, code))
        in_dim = 3 + 6 * freqs + code
        self.inp = GraphConv(in_dim, hidden, init="normal")
        self.hidden = nn.ModuleList(GraphConv(hidden, hidden, init="normal") for _ in range(layers - 2))
        self.out = GraphConv(hidden, 3, init="zero")  # starts as the identity deformation

    def forward(self, pos: torch.Tensor, graph: GraphBatch) -> torch.Tensor:
        bands = [f(pos * (2.0**k) * math.pi) for k in range(self.freqs) for f in (torch.sin, torch.cos)]
        h = torch.relu(self.inp(torch.cat([pos, *bands, self.code], dim=1), graph))
        for conv in self.hidden:
            h = h + torch.relu(conv(h, graph))
        return self.out(h, graph)


VIEWS = dict(dist=3.0, elev=(15.0, 15.0), azim=(150.0, 60.0))


def shade(mesh: GraphBatch, light: torch.Tensor) -> torch.Tensor:
    """(V, 3) per-vertex colours: a warm albedo lit from direction `light` plus ambient (Lambertian on vertex
    normals)."""
    light = torch.nn.functional.normalize(light, dim=0)
    lit = (mesh.vertex_normals() @ light).clamp(min=0) * 0.75 + 0.25
    return lit[:, None] * torch.tensor([0.95, 0.8, 0.6], device=mesh.device)


def render_views(mesh: GraphBatch, size: int = 192) -> torch.Tensor:
    """(views, 3, size, size) shaded renders of a one-mesh batch through GraphToImage (mesh mode)."""
    from .nn import GraphToImage
    from .render import FoVPerspectiveCameras, look_at_view_transform

    R, T = look_at_view_transform(VIEWS["dist"], VIEWS["elev"], VIEWS["azim"], device=mesh.device)
    cams = FoVPerspectiveCameras(R=R, T=T, fov=45.0, device=mesh.device)
    batch = GraphBatch.collate([mesh] * R.shape[0])
    up = torch.tensor([0.0, 1.5, 0.0], device=mesh.device)  # a light above each camera
    colors = torch.cat([shade(mesh, c + up) for c in cams.get_camera_center()], 0)
    return GraphToImage(size, mode="mesh", background=1.0)(batch, cams, feature=colors)


def render(meshes: dict[str, GraphBatch], path: Path, size: int = 192) -> dict[str, float]:
    """A PNG grid (rows: views, columns: meshes) of GraphToImage renders; returns each mesh's silhouette IoU
    against the first (the target)."""
    from .render import save_png

    with torch.no_grad():
        imgs = {k: render_views(m.detach(), size).cpu() for k, m in meshes.items()}
    grid = torch.cat([torch.cat(list(v), 1) for v in imgs.values()], 2)  # (3, views * size, meshes * size)
    save_png(grid, path)
    first = next(iter(imgs.values())) < 1.0
    ious = {}
    for k, v in imgs.items():
        sil = (v < 1.0).any(1)
        ref = first.any(1)
        ious[k] = float((sil & ref).sum() / (sil | ref).sum().clamp_min(1))
    return ious


def plot_losses(history: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in history.items():
        ax.semilogy(values, label=name)
    ax.set(xlabel="step", ylabel="loss (log scale)", title="icosphere -> cow")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run(steps: int = 1500, device: str = "cpu", out: Path = Path("meshgraph_out"), samples: int = 5000,
        seed: int = 0, progress: bool = True) -> dict:
    """Train the deformer; write outputs into `out`; return the final metrics and output paths."""
    from tqdm import tqdm

    torch.manual_seed(seed)
    device = torch.device(device)
    target = load_cow(device)
    sphere = GraphBatch([ico_sphere(4, device=device)])
    src = sphere.pos_packed()
    model = Deformer(sphere.num_verts).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1), eta_min=1e-4)
    history = {k: [] for k in ("total", *WEIGHTS)}
    t0 = time.perf_counter()
    bar = tqdm(range(steps), desc="deforming", disable=not progress, unit="step")
    pred = sphere.clone()  # one batch for every step: topology caches (edges, Laplacian, face pairs) persist
    for _ in bar:
        pred.update_features("pos", src + model(src, sphere))
        x = sample_points_from_meshes(pred, samples)
        y = sample_points_from_meshes(target, samples)
        parts = {
            "chamfer": chamfer_distance(x, y)[0],
            "edge": mesh_edge_loss(pred),
            "normal": mesh_normal_consistency(pred),
            "laplacian": mesh_laplacian_smoothing(pred, method="uniform"),
        }
        loss = sum(WEIGHTS[k] * v for k, v in parts.items())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        history["total"].append(loss.item())
        for k, v in parts.items():
            history[k].append(v.item())
        bar.set_postfix(loss=f"{loss.item():.5f}", chamfer=f"{parts['chamfer'].item():.5f}")
    train_s = time.perf_counter() - t0
    with torch.no_grad():
        pred = sphere.clone().update_features("pos", src + model(src, sphere))
        final = chamfer_distance(
            sample_points_from_meshes(pred, 20000, generator=torch.Generator(device).manual_seed(1)),
            sample_points_from_meshes(target, 20000, generator=torch.Generator(device).manual_seed(2)),
        )[0].item()
    out.mkdir(parents=True, exist_ok=True)
    paths = {"mesh": out / "cow_from_sphere.obj", "losses": out / "losses.png", "render": out / "renders.png"}
    save_mesh(paths["mesh"], pred.graphs()[0])
    plot_losses(history, paths["losses"])
    ious = render({"target": target, "prediction": pred, "start": sphere}, paths["render"])
    return dict(chamfer=final, silhouette_iou=ious["prediction"], train_seconds=train_s, steps=steps, paths=paths)
