"""emission_absorption (EmissionAbsorptionRaymarcher's fused kernels: forward, and the backward kernel
emission_absorption_backward) vs PyTorch3D's EmissionAbsorptionRaymarcher (v0.7.9 built from source:
benchmarks/_common.py real_pytorch3d; a pure-PyTorch module: shifted cumprod, weights, (R, P, C) weighted features
summed, prod for the opacity) in the same run: 64^2 rays x 128 samples x 32 channels, float32, forward and
forward + backward. Without PyTorch3D its forward is written out here (the same expression) and timed instead.
Results and gradients checked before timing; peak extra memory of fwd + bwd reported for both.
Memory floor of fwd + bwd: what any implementation must move, timed in the same run: one read of the inputs
(the forward) and the gradients of the inputs written into new tensors of their size (the backward's (R, P, C)
feature gradient dominates: 67 MB at the default size), as `sum` over the samples and `empty_like(x).copy_(x)`;
the fwd + bwd rows are also reported as multiples of it.
--device cuda: ours on the GPU, checked against our CPU kernels (bit-identical by construction)."""

from __future__ import annotations

import torch

from meshgraph.ops.emission_absorption import emission_absorption

from _common import bench_args, peak_extra_memory_mb, real_pytorch3d, report, timeit


def written_out_raymarch(rays_densities, rays_features, eps=1e-10, surface_thickness=1):
    """PyTorch3D's EmissionAbsorptionRaymarcher.forward (its density bounds check included: a max and a min)."""
    _ = bool(rays_densities.max() > 1.0) or bool(rays_densities.min() < 0.0)  # its bounds warning's test
    d = rays_densities[..., 0]
    x = torch.cumprod((1.0 + eps) - d, dim=-1)
    absorption = torch.cat([torch.ones_like(x[..., :surface_thickness]), x[..., :-surface_thickness]], dim=-1)
    weights = d * absorption
    features = (weights[..., None] * rays_features).sum(dim=-2)
    opacities = 1.0 - torch.prod(1.0 - d, dim=-1, keepdim=True)
    return torch.cat((features, opacities), dim=-1)


def ours_raymarch(rays_densities, rays_features, eps=1e-10, surface_thickness=1):
    f, o = emission_absorption(rays_densities, rays_features, eps, surface_thickness)
    return torch.cat((f, o), dim=-1)


def memory_floor(rays_densities, rays_features):
    """The traffic fwd + bwd cannot avoid: read both inputs once (forward) and write gradients of their size into
    new tensors (backward; the copy reads the input again, as the backward must to form the density gradient)."""
    out = (rays_densities.sum(-2), rays_features.sum(-2))
    grads = tuple(torch.empty_like(x).copy_(x) for x in (rays_densities, rays_features))
    return out, grads


def main(argv=None):
    args = bench_args(argv, side=(int, 64), samples=(int, 128), channels=(int, 32))
    side, P, C = (8, 16, 4) if args.quick else (args.side, args.samples, args.channels)
    g = torch.Generator().manual_seed(0)
    d0 = torch.rand(1, side, side, P, 1, generator=g)
    f0 = torch.rand(1, side, side, P, C, generator=g)
    grad = torch.randn(1, side, side, C + 1, generator=g)
    p3d = real_pytorch3d()
    if p3d is not None:
        pytorch3d_raymarch = p3d.renderer.EmissionAbsorptionRaymarcher()
        peer = "PyTorch3D EmissionAbsorptionRaymarcher"
        torch.testing.assert_close(written_out_raymarch(d0, f0), pytorch3d_raymarch(d0, f0), rtol=1e-6, atol=1e-6)
    else:
        pytorch3d_raymarch, peer = written_out_raymarch, "PyTorch3D EA raymarcher expression"
    torch.testing.assert_close(ours_raymarch(d0, f0), pytorch3d_raymarch(d0, f0), rtol=1e-5, atol=1e-5)
    if args.device != "cpu":
        on = ours_raymarch(d0.to(args.device), f0.to(args.device))
        assert torch.equal(on, ours_raymarch(d0, f0).to(args.device)), "device result differs from CPU"
        d0, f0, grad = d0.to(args.device), f0.to(args.device), grad.to(args.device)

    def leaves():
        return [t.detach().requires_grad_(True) for t in (d0, f0)]

    def fwd_bwd(fn):
        def run():
            d, f = leaves()
            fn(d, f).backward(grad)
        return run

    a, b = leaves(), leaves()
    ours_raymarch(*a).backward(grad)
    pytorch3d_raymarch(*b).backward(grad)
    for s, t in zip(a, b):
        torch.testing.assert_close(s.grad, t.grad, rtol=1e-4, atol=1e-4)

    reps = 2 if args.quick else 7
    title = f"{side}^2 rays x {P} samples x {C} channels, float32, on {args.device}"
    rows = [("meshgraph emission_absorption", timeit(lambda: ours_raymarch(d0, f0), repeat=reps)),
            (peer, timeit(lambda: pytorch3d_raymarch(d0, f0), repeat=reps))]
    report(f"EA raymarch fwd: {title}", rows, "meshgraph emission_absorption")
    rows = [("meshgraph emission_absorption", timeit(fwd_bwd(ours_raymarch), repeat=reps)),
            (peer, timeit(fwd_bwd(pytorch3d_raymarch), repeat=reps))]
    floor = ("memory floor (read inputs, write same-size gradients)", timeit(lambda: memory_floor(d0, f0), repeat=reps))
    report(f"EA raymarch fwd+bwd: {title}", rows + [floor], "meshgraph emission_absorption")
    print("  as multiples of the memory floor: " + ", ".join(f"{n} {ms / floor[1]:.2f}x" for n, ms in rows))
    if args.device == "cpu":
        mem = [("meshgraph", peak_extra_memory_mb(fwd_bwd(ours_raymarch))),
               (peer, peak_extra_memory_mb(fwd_bwd(pytorch3d_raymarch)))]
        print("\npeak extra memory fwd+bwd (MB): " + ", ".join(f"{n} {m:.1f}" for n, m in mem))


if __name__ == "__main__":
    main()
