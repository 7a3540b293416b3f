"""A small NeRF fitted to renders of the cow, with hierarchical (coarse + fine) sampling.

    python examples/nerf_cow.py --data ../shared/data --minutes 10        # the full run (2 threads)
    python examples/nerf_cow.py --data ../shared/data --quick             # a one-minute look

Ground truth: 40 views of the cow (cow.obj and its UVs with a synthetic colour-ramp texture map: the data folder has
no cow_texture.png) rendered at 64 x 64 by meshgraph's mesh renderer (MeshRasterizer + HardPhongShader, textured and
lit by a point light fixed in the world, ambient + diffuse, no specular term, so a surface point looks the same from
every view; white background). Every tenth view is held out (4 views), the other 36 train the model.

The model is meshgraph.render.implicit end to end, the way PyTorch3D's NeRF project composes PyTorch3D's:
- rays: `NDCMultinomialRaysampler` (a random subset of pixel rays per training camera, all of them for the held-out
  images), stratified depths; the depths are then squeezed into the part of each ray inside the scene's box (the
  cow's bounding box padded by 10 %: the scene bounds a NeRF data set gives), and rays that miss the box are left
  to the background without evaluating the network;
- `HarmonicEmbedding` of the points into an MLP (density and colour; no view directions, as the renders are
  view-independent); density sigma becomes the opacity 1 - exp(-sigma * delta) of each sample's interval;
- `EmissionAbsorptionRaymarcher` (meshgraph's fused emission-absorption op, forward and backward) composites the
  samples, over a white background;
- hierarchical sampling: a coarse network renders along `n_coarse` stratified samples; `sample_pdf` (meshgraph's op)
  draws `n_fine` more depths from the coarse weights and a fine network renders along all of them, sorted.
  Both passes are `ImplicitRenderer(raysampler, raymarcher)` calls; the loss is the sum of both passes' MSE.

The training runs for a wall-clock budget (`--minutes`, including the ground-truth renders and the evaluations) or a
fixed number of steps (`--steps`); Adam's learning rate decays exponentially over it. A tqdm bar shows the loss and
the latest held-out PSNR. Written into --out: `heldout_<view>.png` (target | coarse | fine for each held-out view),
`psnr.png` (held-out PSNR of the fine pass against wall time: matplotlib when installed, else drawn with Pillow) and
`metrics.json`.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
from torch import nn

from meshgraph.io import load_obj
from meshgraph.ops.sample_pdf import sample_pdf
from meshgraph.render import (
    FoVPerspectiveCameras,
    HardPhongShader,
    Materials,
    MeshRasterizer,
    MeshRenderer,
    PointLights,
    RasterizationSettings,
    TexturesUV,
    look_at_view_transform,
    save_png,
)
from meshgraph.render.implicit import (
    EmissionAbsorptionRaymarcher,
    HarmonicEmbedding,
    ImplicitRenderer,
    NDCMultinomialRaysampler,
    RayBundle,
    ray_bundle_to_ray_points,
)
from meshgraph.structures import Meshes

DIST, FOV = 2.7, 45.0  # the unit ball spans 2 * asin(1 / 2.7) = 43.5 degrees: the cow fills the frame, never cut
NEAR, FAR = DIST - 1.8, DIST + 1.8  # depths that hold the unit ball (the cow) with room to spare


# --- the data --------------------------------------------------------------------------------------------------------

def view_angles(n_views: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(elevations, azimuths) in degrees of n_views cameras around the cow: the azimuth steps by 360 / n_views, the
    elevation cycles through -10, 10, 30, 50 degrees."""
    azim = torch.arange(n_views, dtype=torch.float32) * (360.0 / n_views) - 180.0
    elev = torch.tensor([-10.0, 10.0, 30.0, 50.0]).repeat(n_views // 4 + 1)[:n_views]
    return elev, azim


def make_cameras(elev, azim) -> FoVPerspectiveCameras:
    R, T = look_at_view_transform(dist=DIST, elev=elev, azim=azim)
    return FoVPerspectiveCameras(R=R, T=T, fov=FOV, znear=0.1, zfar=10.0)


def load_cow(data: Path) -> Meshes:
    """The cow, centred and scaled into the unit ball, with a synthetic UV map (smooth colour ramps)."""
    verts, faces, aux = load_obj(data / "cow.obj", load_textures=False)
    verts = verts - 0.5 * (verts.max(0).values + verts.min(0).values)
    verts = verts / verts.norm(dim=1).max()
    H = W = 64
    v, u = torch.meshgrid(torch.linspace(0, 1, H), torch.linspace(0, 1, W), indexing="ij")
    texture = torch.stack([0.2 + 0.7 * u, 0.2 + 0.7 * v, 0.5 + 0.3 * torch.cos(2 * math.pi * u) * torch.cos(
        2 * math.pi * v)], -1)
    return Meshes([verts], [faces.verts_idx], textures=TexturesUV(texture[None], faces.textures_idx[None],
                                                                   aux.verts_uvs[None]))


def render_views(mesh: Meshes, cameras: FoVPerspectiveCameras, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, size, size, 3) renders, textured and lit by a point light fixed in the world (ambient 0.45 + diffuse 0.55,
    no specular), white background, and (N, size, size) masks of the pixels the cow covers."""
    lights = PointLights(location=[[0.0, 4.0, 3.0]], ambient_color=[[0.45] * 3], diffuse_color=[[0.55] * 3],
                         specular_color=[[0.0] * 3])
    materials = Materials(specular_color=[[0.0] * 3])
    renderer = MeshRenderer(MeshRasterizer(cameras=cameras, raster_settings=RasterizationSettings(image_size=size)),
                            HardPhongShader(cameras=cameras, lights=lights, materials=materials))
    with torch.no_grad():
        images = renderer(mesh.extend(len(cameras)), cameras=cameras)
    return images[..., :3].clamp(0, 1).contiguous(), images[..., 3] > 0


# --- the model -------------------------------------------------------------------------------------------------------

class BoxRaysampler(nn.Module):
    """A raysampler whose depths lie in the part of each ray inside an axis-aligned box: the base raysampler's
    depths (uniform in [NEAR, FAR], stratified or not) are mapped affinely onto [t_enter, t_exit]. A ray that misses
    the box gets all its depths at one point (zero-length intervals: it renders as the background)."""

    def __init__(self, base: nn.Module, box_min: torch.Tensor, box_max: torch.Tensor) -> None:
        super().__init__()
        self.base = base
        self.register_buffer("box_min", box_min)
        self.register_buffer("box_max", box_max)

    def forward(self, cameras, **kwargs) -> RayBundle:
        b = self.base(cameras, **kwargs)
        inv = 1.0 / torch.where(b.directions.abs() < 1e-9, torch.full_like(b.directions, 1e-9), b.directions)
        t0, t1 = (self.box_min - b.origins) * inv, (self.box_max - b.origins) * inv
        enter = torch.minimum(t0, t1).amax(-1).clamp(min=NEAR)
        exit_ = torch.maximum(t0, t1).amin(-1).clamp(max=FAR)
        exit_ = torch.maximum(exit_, enter)  # a miss: enter == exit
        frac = (b.lengths - NEAR) / (FAR - NEAR)
        return b._replace(lengths=enter[..., None] + frac * (exit_ - enter)[..., None])


class ProbabilisticRaysampler(nn.Module):
    """Hierarchical sampling (NeRF's fine pass): n_fine depths drawn by `sample_pdf` from the coarse pass's weights
    over the intervals between the coarse depths, joined with the coarse depths and sorted. Deterministic quantiles
    when the module is in eval mode."""

    def __init__(self, n_fine: int) -> None:
        super().__init__()
        self.n_fine = n_fine

    def forward(self, input_ray_bundle: RayBundle, ray_weights: torch.Tensor, **kwargs) -> RayBundle:
        z = input_ray_bundle.lengths
        mid = 0.5 * (z[..., 1:] + z[..., :-1])
        with torch.no_grad():
            fine = sample_pdf(mid, ray_weights[..., 1:-1], self.n_fine, det=not self.training)
        return input_ray_bundle._replace(lengths=torch.sort(torch.cat((z, fine), -1), -1).values)


class NeuralField(nn.Module):
    """points (..., 3) -> (sigma (..., 1) >= 0, rgb (..., 3) in [0, 1]): a harmonic embedding, then an MLP with
    one skip connection of the embedding into the middle layer (NeRF's, shrunk)."""

    def __init__(self, n_harmonic: int = 6, hidden: int = 64, layers: int = 4) -> None:
        super().__init__()
        self.embed = HarmonicEmbedding(n_harmonic, append_input=True)
        d = self.embed.get_output_dim(3)
        self.skip = max(layers // 2, 1)  # the layer that also takes the embedding (none with a single layer)
        self.layers = nn.ModuleList(nn.Linear(d if i == 0 else hidden + (d if i == self.skip else 0), hidden)
                                    for i in range(layers))
        self.head = nn.Linear(hidden, 4)
        with torch.no_grad():
            self.head.bias[0] = -1.0  # start mostly transparent

    def forward(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.embed(points)
        h = e
        for i, layer in enumerate(self.layers):
            if i == self.skip:
                h = torch.cat((h, e), -1)
            h = torch.relu(layer(h))
        out = self.head(h)
        return nn.functional.softplus(out[..., :1]), torch.sigmoid(out[..., 1:])


class FieldFunction:
    """The volumetric function of an ImplicitRenderer: the field at a bundle's points, as (opacities (..., P, 1) in
    [0, 1], colours (..., P, 3)). Only the rays with some length inside the box reach the network; the others get
    zero opacity. The opacity of sample k is 1 - exp(-sigma_k * delta_k), delta_k the world-space distance to the next
    sample (the last sample's interval repeats the one before it)."""

    def __init__(self, field: NeuralField) -> None:
        self.field = field

    def __call__(self, ray_bundle: RayBundle, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
        z = ray_bundle.lengths                                           # (..., P)
        dz = z[..., 1:] - z[..., :-1]
        dz = torch.cat((dz, dz[..., -1:]), -1) * ray_bundle.directions.norm(dim=-1, keepdim=True)
        hit = (z[..., -1] > z[..., 0]).reshape(-1)
        pts = ray_bundle_to_ray_points(ray_bundle).reshape(hit.shape[0], -1, 3)
        P = z.shape[-1]
        sigma = pts.new_zeros(hit.shape[0], P, 1)
        rgb = pts.new_ones(hit.shape[0], P, 3)
        idx = hit.nonzero()[:, 0]
        if idx.numel():
            s, c = self.field(pts[idx])
            sigma = sigma.index_put((idx,), s)
            rgb = rgb.index_put((idx,), c)
        alpha = 1.0 - torch.exp(-sigma * dz.reshape(-1, P, 1))
        return alpha.reshape(*z.shape, 1), rgb.reshape(*z.shape, 3)


class WhiteBackgroundRaymarcher(nn.Module):
    """meshgraph's fused EmissionAbsorptionRaymarcher over a white background: (rgb (..., 3), the samples' weights
    (..., P), detached, for the fine pass's sample_pdf)."""

    def __init__(self) -> None:
        super().__init__()
        self.ea = EmissionAbsorptionRaymarcher()

    def forward(self, rays_densities, rays_features, **kwargs):
        out = self.ea(rays_densities, rays_features)
        rgb = out[..., :3] + (1.0 - out[..., 3:])
        with torch.no_grad():
            d = rays_densities[..., 0]
            transmittance = torch.cumprod(1.0 + 1e-10 - d, -1)
            weights = d * torch.cat((torch.ones_like(d[..., :1]), transmittance[..., :-1]), -1)
        return rgb, weights


class HierarchicalNeRF(nn.Module):
    """Coarse and fine fields rendered by two ImplicitRenderers (the fine one samples from the coarse weights)."""

    def __init__(self, size: int, n_coarse: int, n_fine: int, box_min, box_max, hidden: int, n_harmonic: int,
                 layers: int = 4) -> None:
        super().__init__()
        raymarcher = WhiteBackgroundRaymarcher()
        base = NDCMultinomialRaysampler(image_width=size, image_height=size, n_pts_per_ray=n_coarse, min_depth=NEAR,
                                        max_depth=FAR, stratified_sampling=True)
        self.coarse_renderer = ImplicitRenderer(BoxRaysampler(base, box_min, box_max), raymarcher)
        self.fine_renderer = ImplicitRenderer(ProbabilisticRaysampler(n_fine), raymarcher)
        self.coarse = NeuralField(n_harmonic, hidden, layers)
        self.fine = NeuralField(n_harmonic, hidden, layers)

    def forward(self, cameras, n_rays_per_image: int | None = None):
        """((coarse rgb, fine rgb) (B, rays..., 3), the coarse bundle's xys): n_rays_per_image random pixel rays per
        camera, or every pixel (B, H, W) when None."""
        (rgb_c, weights), bundle = self.coarse_renderer(
            cameras, FieldFunction(self.coarse), n_rays_per_image=n_rays_per_image,
            stratified_sampling=self.training)
        (rgb_f, _), _ = self.fine_renderer(cameras, FieldFunction(self.fine), input_ray_bundle=bundle,
                                           ray_weights=weights)
        return rgb_c, rgb_f, bundle.xys


def pixels_at(images: torch.Tensor, xys: torch.Tensor) -> torch.Tensor:
    """images (B, H, W, 3) at the NDC pixel centres xys (B, n, 1, 2) of NDCMultinomialRaysampler (+x left, +y up):
    (B, n, 1, 3). Bilinear sampling at pixel centres returns the pixels exactly."""
    grid = -xys  # grid_sample's x grows to the right and y downwards
    out = nn.functional.grid_sample(images.permute(0, 3, 1, 2), grid, align_corners=False)
    return out.permute(0, 2, 3, 1)


def psnr(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """PSNR (dB) of images with values in [0, 1], over the pixels of mask (..., H, W) if given."""
    se = (a - b).square()
    mse = se.mean() if mask is None else se[mask].mean()
    return float(10 * torch.log10(1.0 / mse.clamp(min=1e-12)))


@torch.no_grad()
def render_images(model: HierarchicalNeRF, cameras, chunk: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """(coarse, fine) (N, H, W, 3) full renders of the cameras, a few cameras at a time."""
    model.eval()
    outs = [model(cameras[list(range(i, min(i + chunk, len(cameras))))])[:2] for i in range(0, len(cameras), chunk)]
    model.train()
    return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])


# --- outputs ---------------------------------------------------------------------------------------------------------

def plot_curve(points: list[tuple[float, float]], path: Path, use_matplotlib: bool | None = None) -> str:
    """A PNG of held-out PSNR (dB) against wall time (s): matplotlib when installed (or asked), else Pillow."""
    if use_matplotlib is None:
        try:
            import matplotlib  # noqa: F401
            use_matplotlib = True
        except ImportError:
            use_matplotlib = False
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    if use_matplotlib:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
        ax.plot(xs, ys, marker="o", ms=3)
        ax.axhline(24.0, color="grey", ls="--", lw=0.8)
        ax.set_xlabel("wall time (s)")
        ax.set_ylabel("held-out PSNR (dB)")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        return str(path)
    from PIL import Image, ImageDraw

    W, H, m = 500, 320, 40
    img = Image.new("RGB", (W, H), "white")
    draw = ImageDraw.Draw(img)
    x0, x1 = 0.0, max(max(xs), 1e-6)
    y0, y1 = min(min(ys), 10.0), max(max(ys), 30.0)

    def px(x, y):
        return m + (x - x0) / (x1 - x0) * (W - 2 * m), H - m - (y - y0) / (y1 - y0) * (H - 2 * m)

    draw.rectangle([m, m, W - m, H - m], outline="black")
    draw.line([px(x0, 24.0), px(x1, 24.0)], fill=(160, 160, 160))
    for y in range(int(math.ceil(y0 / 5) * 5), int(y1) + 1, 5):
        draw.text((4, px(0, y)[1] - 6), f"{y}", fill="black")
    draw.text((m, H - m + 8), f"0 s  ...  wall time  ...  {x1:.0f} s    (held-out PSNR, dB)", fill="black")
    if len(points) > 1:
        draw.line([px(x, y) for x, y in points], fill=(31, 119, 180), width=2)
    for x, y in points:
        cx, cy = px(x, y)
        draw.ellipse([cx - 2, cy - 2, cx + 2, cy + 2], fill=(31, 119, 180))
    img.save(path)
    return str(path)


# --- training --------------------------------------------------------------------------------------------------------

def run(data: Path, *, minutes: float | None = 10.0, steps: int | None = None, size: int = 64, n_views: int = 40,
        rays_per_image: int = 256, cameras_per_step: int = 4, n_coarse: int = 32, n_fine: int = 32,
        hidden: int = 64, n_harmonic: int = 6, lr: float = 5e-3, final_lr: float = 2.5e-4, eval_every: float = 30.0,
        out: Path | None = Path("nerf_out"), threads: int | None = 2, seed: int = 0, progress: bool = True) -> dict:
    """Render the views, train for `minutes` of wall time (everything included) or, if given, `steps` steps,
    evaluate the held-out views every `eval_every` seconds (every `eval_every` steps with `steps`), write the
    outputs."""
    if steps is not None:
        minutes = None  # a fixed number of steps replaces the time budget
    elif minutes is None:
        raise ValueError("give minutes or steps")
    if threads:
        torch.set_num_threads(threads)
    from tqdm import tqdm

    t_start, cpu_start = time.perf_counter(), time.process_time()
    torch.manual_seed(seed)
    mesh = load_cow(data)
    elev, azim = view_angles(n_views)
    cams = make_cameras(elev, azim)
    images, masks = render_views(mesh, cams, size)
    test_ids = list(range(n_views // 20, n_views, 10))  # every tenth view
    train_ids = [i for i in range(n_views) if i not in test_ids]
    train_cams, test_cams = cams[train_ids], cams[test_ids]
    train_img, test_img, test_mask = images[train_ids], images[test_ids], masks[test_ids]

    verts = mesh.verts_packed()
    lo, hi = verts.min(0).values, verts.max(0).values
    pad = 0.1 * (hi - lo)
    model = HierarchicalNeRF(size, n_coarse, n_fine, lo - pad, hi + pad, hidden, n_harmonic)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    budget = None if minutes is None else minutes * 60.0
    total = steps if steps is not None else int(budget)
    bar = tqdm(total=total, unit="step", disable=not progress, dynamic_ncols=True,
               bar_format=None if steps is not None else "{l_bar}{bar}| {n}/{total} s [{elapsed}{postfix}]")
    losses, curve = [], []
    last_eval_cost, next_eval, step = 0.0, eval_every, 0
    t_train = time.perf_counter()

    def evaluate():
        nonlocal last_eval_cost
        t = time.perf_counter()
        coarse, fine = render_images(model, test_cams)
        last_eval_cost = time.perf_counter() - t
        curve.append((time.perf_counter() - t_start, psnr(fine, test_img)))
        return coarse, fine

    evaluate()  # the untrained model: the curve's first point
    while True:
        elapsed = time.perf_counter() - t_start
        if steps is not None:
            if step >= steps:
                break
            frac = step / steps
        else:
            if elapsed + last_eval_cost + min(15.0, 1.0 + 0.02 * budget) >= budget:  # the final evaluation, outputs
                break
            frac = min(elapsed / budget, 1.0)
        for g in opt.param_groups:
            g["lr"] = lr * (final_lr / lr) ** frac
        pick = torch.randperm(len(train_ids))[:cameras_per_step]
        rgb_c, rgb_f, xys = model(train_cams[pick.tolist()], n_rays_per_image=rays_per_image)
        target = pixels_at(train_img[pick], xys)
        loss = (rgb_c - target).square().mean() + (rgb_f - target).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        step += 1
        if steps is not None:
            bar.update(1)
            due = step % max(int(eval_every), 1) == 0 and step < steps
        else:
            now = int(time.perf_counter() - t_start)
            bar.update(min(now, total) - bar.n)
            due = time.perf_counter() - t_start >= next_eval
        if due:
            evaluate()
            next_eval = time.perf_counter() - t_start + eval_every
        bar.set_postfix(loss=f"{losses[-1]:.4f}", psnr=f"{curve[-1][1]:.2f}" if curve else "-", it=step)
    train_s = time.perf_counter() - t_train
    coarse, fine = evaluate()
    bar.set_postfix(loss=f"{losses[-1]:.4f}" if losses else "-", psnr=f"{curve[-1][1]:.2f}", it=step)
    bar.close()
    result = dict(steps=step, train_seconds=train_s, wall_seconds=time.perf_counter() - t_start,
                  cpu_seconds=time.process_time() - cpu_start,
                  steps_per_second=step / max(train_s, 1e-9), losses=losses, psnr_curve=curve,
                  psnr_heldout=curve[-1][1], psnr_heldout_coarse=psnr(coarse, test_img),
                  psnr_heldout_foreground=psnr(fine, test_img, test_mask),
                  foreground_fraction=float(test_mask.float().mean()),
                  psnr_per_view=[psnr(fine[i], test_img[i]) for i in range(len(test_ids))],
                  heldout_views=test_ids, threads=torch.get_num_threads())
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        result["images"] = [save_png(torch.cat([test_img[i], coarse[i], fine[i]], 1), out / f"heldout_{v:02d}.png")
                            for i, v in enumerate(test_ids)]
        result["curve"] = plot_curve(curve, out / "psnr.png")
        (out / "metrics.json").write_text(json.dumps({k: v for k, v in result.items() if k != "losses"}, indent=1))
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    p.add_argument("--minutes", type=float, default=10.0, help="wall-clock budget, everything included")
    p.add_argument("--steps", type=int, default=None, help="a fixed number of steps instead of --minutes")
    p.add_argument("--quick", action="store_true", help="one minute, evaluations every 15 s")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--rays", type=int, default=256, help="rays per camera per step")
    p.add_argument("--cameras", type=int, default=4, help="training cameras per step")
    p.add_argument("--coarse", type=int, default=32)
    p.add_argument("--fine", type=int, default=32)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path("nerf_out"))
    a = p.parse_args(argv)
    minutes, eval_every = (None if a.steps else a.minutes), 30.0
    if a.quick:
        minutes, eval_every = 1.0, 15.0
    if a.steps:
        eval_every = max(a.steps // 10, 1)
    r = run(a.data, minutes=minutes, steps=a.steps, size=a.size, rays_per_image=a.rays, cameras_per_step=a.cameras,
            n_coarse=a.coarse, n_fine=a.fine, hidden=a.hidden, lr=a.lr, eval_every=eval_every, out=a.out,
            threads=a.threads)
    print(f"held-out PSNR {r['psnr_heldout']:.2f} dB (fine; {r['psnr_heldout_foreground']:.2f} dB over the cow's "
          f"{100 * r['foreground_fraction']:.0f} % of the pixels), {r['psnr_heldout_coarse']:.2f} dB (coarse) after "
          f"{r['steps']} steps, {r['wall_seconds']:.0f} s wall ({r['steps_per_second']:.2f} steps/s, "
          f"{r['threads']} threads); outputs in {a.out}")
    return r


if __name__ == "__main__":
    main()
