"""Fit a mesh and its colours to multi-view renders of the cow (PyTorch3D's "fit a mesh with texture via
rendering" tutorial, with meshgraph).

    python examples/fit_textured_mesh.py --iters 500 --out fit_textured_out
    python examples/fit_textured_mesh.py --quick        # a few iterations at a tiny size (smoke run)

Targets: ../shared/data/cow.obj (centred, scaled into the unit sphere) carries a procedural texture map (stripes
and a checker painted in its UV space: the shipped cow has UVs but no texture image), drawn through TexturesUV and
meshgraph's fused texture sampler with a soft Phong shader and a point light, from `--views` cameras around it
(elevation 0-360 and azimuth -180-180, as the tutorial), plus soft silhouettes of the same views. A level-4
icosphere (meshgraph.utils.ico_sphere) is deformed by per-vertex offsets while learning per-vertex colours
(TexturesVertex) against `--views-per-iter` random views per step: silhouette and RGB squared errors, plus the mesh
regularizers (edge length, normal consistency, uniform laplacian smoothing) with the tutorial's weights; SGD with
momentum (lr 1.0, 0.9). A tqdm bar shows the losses.

Quality is measured on held-out views (cameras between the training ones, never fitted): silhouette IoU (alpha >
0.5 of the hard-edged silhouette renders) and PSNR of the RGB renders over the whole image. Written to `--out`:
`views.png` (held-out targets over predictions), `silhouettes.png`, `losses.png` (matplotlib if installed, else
drawn with Pillow), `fitted.obj` and `metrics.json`.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from meshgraph.graph import GraphBatch
from meshgraph.io import load_obj, save_obj
from meshgraph.losses import mesh_edge_loss, mesh_laplacian_smoothing, mesh_normal_consistency
from meshgraph.render import (
    BlendParams,
    FoVPerspectiveCameras,
    MeshRasterizer,
    MeshRenderer,
    RasterizationSettings,
    SoftSilhouetteShader,
    look_at_view_transform,
)
from meshgraph.render.lighting import PointLights
from meshgraph.render.shader import SoftPhongShader
from meshgraph.render.textures import TexturesUV, TexturesVertex
from meshgraph.structures import Meshes
from meshgraph.utils import ico_sphere

COW = Path(__file__).resolve().parents[2] / "shared" / "data" / "cow.obj"
WEIGHTS = {"rgb": 1.0, "silhouette": 1.0, "edge": 1.0, "normal": 0.01, "laplacian": 1.0}


def procedural_map(size: int) -> torch.Tensor:
    """(size, size, 3) in [0, 1]: smooth stripes in u and v and an 8 x 8 checker, row 0 the top of the map."""
    t = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    v, u = torch.meshgrid(1.0 - t, t, indexing="ij")
    checker = ((torch.floor(u * 8) + torch.floor(v * 8)) % 2).float()
    r = 0.55 + 0.35 * torch.sin(2 * math.pi * 3 * u)
    g = 0.5 + 0.3 * torch.sin(2 * math.pi * 2 * v + 1.0)
    b = 0.25 + 0.5 * checker
    return torch.stack((r, g, b), -1).clamp(0, 1)


def load_target_cow(path: Path | str = COW, map_size: int = 256) -> Meshes:
    """The cow centred and scaled into the unit sphere (as the tutorial), textured with `procedural_map`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cow.mtl is not shipped with the mesh: its UVs are all we read
        verts, faces, aux = load_obj(path, load_textures=False)
    verts = verts - verts.mean(0)
    verts = verts / verts.abs().max()
    tex = TexturesUV(maps=[procedural_map(map_size)], faces_uvs=[faces.textures_idx], verts_uvs=[aux.verts_uvs])
    return Meshes([verts], [faces.verts_idx], textures=tex)


def cameras_for(elev: torch.Tensor, azim: torch.Tensor, dist: float = 2.7) -> FoVPerspectiveCameras:
    R, T = look_at_view_transform(dist=dist, elev=elev, azim=azim)
    return FoVPerspectiveCameras(R=R, T=T)


class Renderers:
    """The tutorial's pair: soft Phong RGB and soft silhouettes (sigma 1e-4, blur radius log(1 / 1e-4 - 1) sigma,
    K faces per pixel), and hard-edged versions for the targets and the evaluation."""

    def __init__(self, image_size: int, faces_per_pixel: int):
        sigma = 1e-4
        blur = math.log(1.0 / 1e-4 - 1.0) * sigma
        self.lights = PointLights(location=[[0.0, 0.0, -3.0]])
        soft = RasterizationSettings(image_size=image_size, blur_radius=blur, faces_per_pixel=faces_per_pixel)
        hard = RasterizationSettings(image_size=image_size, blur_radius=0.0, faces_per_pixel=1)
        blend = BlendParams(sigma=sigma, gamma=1e-4)
        self.soft_rgb = MeshRenderer(MeshRasterizer(raster_settings=soft),
                                     SoftPhongShader(lights=self.lights, blend_params=blend))
        self.soft_sil = MeshRenderer(MeshRasterizer(raster_settings=soft), SoftSilhouetteShader(blend_params=blend))
        self.hard_rgb = MeshRenderer(MeshRasterizer(raster_settings=hard), SoftPhongShader(lights=self.lights))
        self.hard_sil = MeshRenderer(MeshRasterizer(raster_settings=hard), SoftSilhouetteShader())

    def targets(self, mesh: Meshes, cameras) -> tuple[torch.Tensor, torch.Tensor]:
        """(V, H, W, 3) RGB and (V, H, W) silhouettes of `mesh` seen by every camera."""
        n = len(cameras)
        with torch.no_grad():
            batch = mesh.extend(n)
            rgb = self.hard_rgb(batch, cameras=cameras)[..., :3]
            sil = self.soft_sil(batch, cameras=cameras)[..., 3]
        return rgb, sil


def _sphere_mesh(verts: torch.Tensor, faces: torch.Tensor, rgb: torch.Tensor) -> Meshes:
    return Meshes([verts], [faces], textures=TexturesVertex([rgb]))


def silhouette_iou(pred: torch.Tensor, target: torch.Tensor) -> float:
    p, t = pred > 0.5, target > 0.5
    return float((p & t).sum()) / max(1, int((p | t).sum()))


def psnr(pred: torch.Tensor, target: torch.Tensor) -> float:
    mse = float((pred.clamp(0, 1) - target).square().mean())
    return 10.0 * math.log10(1.0 / max(mse, 1e-12))


def _to_uint8(img: torch.Tensor) -> np.ndarray:
    return (img.detach().clamp(0, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)


def save_grid(rows: list[torch.Tensor], path: Path) -> None:
    """rows of (V, H, W, 3) or (V, H, W) images -> one PNG, one row per tensor."""
    from PIL import Image

    lines = []
    for r in rows:
        if r.dim() == 3:
            r = r[..., None].expand(*r.shape, 3)
        lines.append(torch.cat(list(r), dim=1))
    Image.fromarray(_to_uint8(torch.cat(lines, dim=0))).save(path)


def plot_losses(history: dict[str, list[float]], path: Path) -> str:
    """A log-scale plot of each weighted loss; matplotlib when installed, else a Pillow line drawing. Returns
    which was used."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        plt = None
    if plt is not None:
        fig, ax = plt.subplots(figsize=(7, 4))
        for name, values in history.items():
            ax.plot(values, label=name)
        ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ax.set_ylabel("weighted loss")
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return "matplotlib"
    from PIL import Image, ImageDraw

    W, H, pad = 700, 400, 40
    img = Image.new("RGB", (W, H), "white")
    draw = ImageDraw.Draw(img)
    logs = {k: np.log10(np.maximum(np.asarray(v, dtype=np.float64), 1e-12)) for k, v in history.items() if v}
    lo = min(float(v.min()) for v in logs.values())
    hi = max(float(v.max()) for v in logs.values())
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    for i, (name, v) in enumerate(logs.items()):
        xs = pad + np.arange(len(v)) * (W - 2 * pad) / max(1, len(v) - 1)
        ys = H - pad - (v - lo) * (H - 2 * pad) / max(hi - lo, 1e-9)
        draw.line(list(zip(xs.tolist(), ys.tolist())), fill=colours[i % len(colours)], width=2)
        draw.text((W - pad - 120, pad + 14 * i), name, fill=colours[i % len(colours)])
    draw.rectangle([pad, pad, W - pad, H - pad], outline="black")
    img.save(path)
    return "pillow"


def run(iters: int = 500, image_size: int = 128, views: int = 20, views_per_iter: int = 2, level: int = 4,
        faces_per_pixel: int = 50, held_out: int = 4, lr: float = 1.0, seed: int = 0, out: Path | str = "fit_out",
        progress: bool = True, log=print, cow: Path | str = COW) -> dict:
    """Fit and evaluate; returns the loss history, the held-out metrics and the files written."""
    from tqdm import tqdm

    torch.manual_seed(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    r = Renderers(image_size, faces_per_pixel)
    target = load_target_cow(cow)
    train_cams = cameras_for(torch.linspace(0, 360, views), torch.linspace(-180, 180, views))
    # held-out views: half-way between consecutive training views (spread over the orbit), never fitted
    gaps = torch.linspace(0, views - 2, held_out).round() + 0.5
    eval_cams = cameras_for(gaps * 360.0 / (views - 1), gaps * 360.0 / (views - 1) - 180.0)
    target_rgb, target_sil = r.targets(target, train_cams)
    eval_rgb, _ = r.targets(target, eval_cams)
    eval_hard_sil = r.hard_sil(target.extend(held_out), cameras=eval_cams)[..., 3].detach()

    sphere = GraphBatch([ico_sphere(level)])
    src_verts, src_faces = sphere.pos_packed(), sphere.faces_packed()
    deform = torch.zeros_like(src_verts, requires_grad=True)
    rgb = torch.full_like(src_verts, 0.5, requires_grad=True)
    opt = torch.optim.SGD([deform, rgb], lr=lr, momentum=0.9)
    gen = torch.Generator().manual_seed(seed)
    history: dict[str, list[float]] = {k: [] for k in (*WEIGHTS, "total")}
    bar = tqdm(range(iters), disable=not progress, desc="fit", dynamic_ncols=True)
    for _ in bar:
        opt.zero_grad()
        mesh = _sphere_mesh(src_verts + deform, src_faces, rgb)
        losses = {"edge": mesh_edge_loss(mesh), "normal": mesh_normal_consistency(mesh),
                  "laplacian": mesh_laplacian_smoothing(mesh, method="uniform")}
        picks = torch.randperm(views, generator=gen)[:views_per_iter]
        cams = train_cams[picks]
        batch = mesh.extend(len(picks))
        pred_sil = r.soft_sil(batch, cameras=cams)[..., 3]
        pred_rgb = r.soft_rgb(batch, cameras=cams, lights=r.lights)[..., :3]
        losses["silhouette"] = (pred_sil - target_sil[picks]).square().mean()
        losses["rgb"] = (pred_rgb - target_rgb[picks]).square().mean()
        total = sum(WEIGHTS[k] * v for k, v in losses.items())
        total.backward()
        opt.step()
        for k, v in losses.items():
            history[k].append(WEIGHTS[k] * float(v.detach()))
        history["total"].append(float(total))
        bar.set_postfix(total=f"{float(total):.4f}", sil=f"{float(losses['silhouette']):.4f}",
                        rgb=f"{float(losses['rgb']):.4f}")
    fit_seconds = time.perf_counter() - start

    with torch.no_grad():
        mesh = _sphere_mesh(src_verts + deform, src_faces, rgb.clamp(0, 1))
        batch = mesh.extend(held_out)
        pred_rgb = r.hard_rgb(batch, cameras=eval_cams)[..., :3]
        pred_sil = r.hard_sil(batch, cameras=eval_cams)[..., 3]
    ious = [silhouette_iou(p, t) for p, t in zip(pred_sil, eval_hard_sil)]
    psnrs = [psnr(p, t) for p, t in zip(pred_rgb, eval_rgb)]
    files = {"views": out / "views.png", "silhouettes": out / "silhouettes.png", "losses": out / "losses.png",
             "mesh": out / "fitted.obj", "metrics": out / "metrics.json"}
    save_grid([eval_rgb, pred_rgb], files["views"])
    save_grid([eval_hard_sil, pred_sil], files["silhouettes"])
    plotter = plot_losses(history, files["losses"])
    save_obj(files["mesh"], (src_verts + deform).detach(), src_faces)
    result = {"iters": iters, "image_size": image_size, "views": views, "held_out": held_out, "level": level,
              "faces_per_pixel": faces_per_pixel, "silhouette_iou": float(np.mean(ious)), "psnr": float(np.mean(psnrs)),
              "silhouette_iou_per_view": ious, "psnr_per_view": psnrs, "fit_seconds": fit_seconds,
              "first_loss": history["total"][0] if iters else None,
              "last_loss": history["total"][-1] if iters else None, "plot": plotter}
    files["metrics"].write_text(json.dumps(result, indent=2))
    log(f"held-out views: silhouette IoU {result['silhouette_iou']:.3f}, PSNR {result['psnr']:.2f} dB "
        f"({iters} iterations, {fit_seconds:.0f} s); files in {out}")
    result["history"] = history
    result["files"] = {k: str(v) for k, v in files.items()}
    return result


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iters", type=int, default=500)
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--views", type=int, default=20)
    p.add_argument("--views-per-iter", type=int, default=2)
    p.add_argument("--level", type=int, default=4, help="icosphere subdivision level")
    p.add_argument("--faces-per-pixel", type=int, default=50)
    p.add_argument("--held-out", type=int, default=4)
    p.add_argument("--lr", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("fit_textured_out"))
    p.add_argument("--cow", type=Path, default=COW, help="the cow OBJ (default ../shared/data/cow.obj)")
    p.add_argument("--quick", action="store_true", help="tiny run: 32 px, 6 views, level 2, 10 iterations")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    if a.quick:
        a.iters, a.image_size, a.views, a.level, a.faces_per_pixel, a.held_out = 10, 32, 6, 2, 8, 2
    return run(iters=a.iters, image_size=a.image_size, views=a.views, views_per_iter=a.views_per_iter, level=a.level,
               faces_per_pixel=a.faces_per_pixel, held_out=a.held_out, lr=a.lr, seed=a.seed, out=a.out,
               progress=not a.no_progress, cow=a.cow)


if __name__ == "__main__":
    main()
