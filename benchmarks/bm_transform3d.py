"""Transform3d (meshgraph.transforms) vs PyTorch3D's Transform3d (v0.7.9, built from source: benchmarks/_common.py
real_pytorch3d) in the same run: a batch of 8 transforms Translate o Rotate o Scale (points are scaled, then rotated,
then translated: Scale(s).compose(Rotate(R), Translate(t))), built and applied with transform_points to 8 x 125,000
= 10^6 points, float32, forward and forward + backward (gradients to the points, s, R and t). The same code runs on
both libraries; results and gradients are checked against PyTorch3D's before timing. Without PyTorch3D only our rows
are printed.
--device cuda: ours on the GPU, checked against our CPU result."""

from __future__ import annotations

import torch

import meshgraph.transforms as ours_transforms

from _common import bench_args, real_pytorch3d, report, timeit


def compose_and_apply(tr, points, s, R, t):
    """Scale, then rotate, then translate (row vectors: [p, 1] @ S @ R @ T), as one composed Transform3d."""
    return tr.Scale(s).compose(tr.Rotate(R), tr.Translate(t)).transform_points(points)


def inputs(N, P, device="cpu"):
    g = torch.Generator().manual_seed(0)
    points = torch.randn(N, P, 3, generator=g)
    s = torch.rand(N, 3, generator=g) + 0.5
    q = torch.randn(N, 4, generator=g)
    R = ours_transforms.quaternion_to_matrix(q / q.norm(dim=1, keepdim=True))
    t = torch.randn(N, 3, generator=g)
    return [x.to(device) for x in (points, s, R, t)]


def main(argv=None):
    args = bench_args(argv, transforms=(int, 8), points=(int, 125_000))
    N, P = (2, 1000) if args.quick else (args.transforms, args.points)
    p3d = real_pytorch3d()
    x = inputs(N, P)
    grad = torch.randn(N, P, 3, generator=torch.Generator().manual_seed(1))

    def leaves(xs):
        return [v.detach().clone().requires_grad_(True) for v in xs]

    def fwd(tr, xs):
        return lambda: compose_and_apply(tr, *xs)

    def fwd_bwd(tr, xs):
        def run():
            ls = leaves(xs)
            compose_and_apply(tr, *ls).backward(grad_d)
        return run

    a = leaves(x)
    out = compose_and_apply(ours_transforms, *a)
    out.backward(grad)
    # a hand-written check that holds without PyTorch3D: p * s @ R + t
    torch.testing.assert_close(out, (x[0] * x[1][:, None]) @ x[2] + x[3][:, None], rtol=1e-5, atol=1e-5)
    if p3d is not None:
        b = leaves(x)
        want = compose_and_apply(p3d.transforms, *b)
        want.backward(grad)
        torch.testing.assert_close(out, want, rtol=1e-5, atol=1e-5)
        for u, v in zip(a, b):
            torch.testing.assert_close(u.grad, v.grad, rtol=1e-4, atol=1e-3)
    xd, grad_d = x, grad
    if args.device != "cpu":
        xd, grad_d = [v.to(args.device) for v in x], grad.to(args.device)
        on = compose_and_apply(ours_transforms, *xd)
        torch.testing.assert_close(on, out.detach().to(args.device), rtol=1e-5, atol=1e-5)

    reps = 2 if args.quick else 7
    title = f"{N} transforms x {P} points ({N * P:,} points), float32, on {args.device}"
    for name, run in (("fwd", fwd), ("fwd+bwd", fwd_bwd)):
        rows = [("meshgraph Transform3d", timeit(run(ours_transforms, xd), repeat=reps))]
        if p3d is not None and args.device == "cpu":
            rows.append(("PyTorch3D Transform3d", timeit(run(p3d.transforms, xd), repeat=reps)))
        report(f"Transform3d Scale-Rotate-Translate compose + transform_points {name}: {title}", rows,
               "meshgraph Transform3d")


if __name__ == "__main__":
    main()
