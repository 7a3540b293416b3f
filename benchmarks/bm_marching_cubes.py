"""marching_cubes (op marching_cubes) vs skimage.measure.marching_cubes, same run, results checked first.

W1: a 256^3 float32 signed distance volume (a torus and a sphere, smooth, ~10^6 faces), isolevel 0.
W2: a 256^3 float32 random-smooth volume (trilinear upsampling of 32^3 noise, a one-sample border above the
    isolevel): many closed components.
Peers: skimage.measure.marching_cubes (Lewiner, the default) and method="lorensen", and PyTorch3D's
pytorch3d.ops.marching_cubes (its C++ CPU op, a serial loop with hash maps, PyTorch3D #1934; v0.7.9 built from
source: benchmarks/_common.py real_pytorch3d; its row is left out without it). Checked before timing: the same
vertex set as skimage's Lewiner (grid-edge vertices, to 1e-4), a closed mesh, and PyTorch3D's vertex set and face
count.
--device cuda: the GPU kernel, checked against our CPU kernel (identical by construction).
"""

from __future__ import annotations

import numpy as np
import torch

from meshgraph.ops.marching_cubes import marching_cubes

from _common import bench_args, real_pytorch3d, report, timeit


def sdf_volume(n):
    a = torch.linspace(-1, 1, n)
    z, y, x = torch.meshgrid(a, a, a, indexing="ij")
    torus = ((x.square() + y.square()).sqrt() - 0.55).square().add(z.square()).sqrt() - 0.2
    sphere = (x.square() + y.square() + (z - 0.35).square()).sqrt() - 0.3
    return torch.minimum(torus, sphere)


def noise_volume(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 1, 32, 32, 32, generator=g)
    inner = torch.nn.functional.interpolate(coarse, size=(n - 2,) * 3, mode="trilinear", align_corners=True)[0, 0]
    return torch.nn.functional.pad(inner - 0.5, (1, 1, 1, 1, 1, 1), value=1.0)  # a border outside: closed surfaces


def check(vol, iso):
    from skimage.measure import marching_cubes as sk

    verts, faces = marching_cubes(vol[None], iso, return_local_coords=False)
    v, f = verts[0].double().numpy(), faces[0]
    sv, sf, _, _ = sk(vol.numpy(), iso)
    sv = sv[:, ::-1]
    sv = sv[(np.abs(sv - np.round(sv)) < 1e-6).sum(1) >= 2]
    # skimage repeats a vertex that lands on a grid node (interpolation weight 0 on two edges of the node); ours
    # merges them, as it merges every shared edge vertex.
    sv = np.unique(sv, axis=0)
    from scipy.spatial import cKDTree

    assert len(np.unique(v, axis=0)) == len(v), "duplicated vertices"
    dist, match = cKDTree(v).query(sv)
    assert len(sv) == len(v) and dist.max() <= 2e-4 and len(np.unique(match)) == len(v), "vertex sets differ from skimage"
    e = torch.cat([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    key = e[:, 0] * len(v) + e[:, 1]
    rev = e[:, 1] * len(v) + e[:, 0]
    assert torch.unique(key).numel() == key.numel() and torch.isin(rev, key).all(), "mesh is not closed"
    return len(f)


def check_pytorch3d(p3d, vol, iso):
    """PyTorch3D's CPU marching_cubes gives our vertex set (to 1e-4) and our face count."""
    from scipy.spatial import cKDTree

    verts, faces = marching_cubes(vol[None], iso, return_local_coords=False)
    from pytorch3d.ops.marching_cubes import marching_cubes as p3d_marching_cubes  # not in pytorch3d.ops' names

    pv, pf = p3d_marching_cubes(vol[None], iso, return_local_coords=False)
    v, w = verts[0].double().numpy(), pv[0].double().numpy()
    if len(pf[0]) != len(faces[0]):  # ours is checked against skimage above; PyTorch3D's CPU op drops faces here
        print(f"  note: PyTorch3D's marching_cubes gives {len(pf[0])} faces and {len(w)} vertices, ours {len(faces[0])} "
              f"and {len(v)} (skimage agrees with ours; PyTorch3D #1641)")
        return
    dist, match = cKDTree(v).query(w)
    assert dist.max() <= 1e-4 and len(np.unique(match)) == len(v), (
        f"vertex sets differ from PyTorch3D's: {len(w)} vs our {len(v)}, max distance {dist.max():.2e}")


def workload(name, vol, iso, quick, device, p3d=None):
    from skimage.measure import marching_cubes as sk

    nf = check(vol, iso)
    if p3d is not None:
        check_pytorch3d(p3d, vol, iso)
    reps = 1 if quick else 5
    np_vol = vol.numpy()
    rows = []
    if device != "cpu":
        on = vol[None].to(device)
        got = marching_cubes(on, iso)
        want = marching_cubes(vol[None], iso)
        assert all(torch.equal(a, b.to(device)) for a, b in zip(got[0] + got[1], want[0] + want[1]))
        rows.append((f"meshgraph marching_cubes ({device})", timeit(lambda: marching_cubes(on, iso), repeat=reps, sync=True)))
    rows += [
        ("meshgraph marching_cubes", timeit(lambda: marching_cubes(vol[None], iso), repeat=reps, warmup=1)),
        ("skimage lewiner", timeit(lambda: sk(np_vol, iso), repeat=reps, warmup=1)),
        ("skimage lorensen", timeit(lambda: sk(np_vol, iso, method="lorensen"), repeat=reps, warmup=1)),
    ]
    if p3d is not None:
        from pytorch3d.ops.marching_cubes import marching_cubes as p3d_marching_cubes

        run = lambda: p3d_marching_cubes(vol[None], iso, return_local_coords=False)  # noqa: E731
        rows.append(("PyTorch3D marching_cubes (C++ CPU)", timeit(run, repeat=reps, warmup=1)))
    ours = rows[0][0]
    report(f"{name}: {tuple(vol.shape)} float32, {nf} faces", rows, ours)


def main(argv=None):
    args = bench_args(argv)
    n = 48 if args.quick else 256
    p3d = real_pytorch3d(needs=("marching_cubes",))
    workload("W1 sdf (torus + sphere)", sdf_volume(n), 0.0, args.quick, args.device, p3d)
    workload("W2 smooth noise", noise_volume(n), 0.0, args.quick, args.device, p3d)


if __name__ == "__main__":
    main()
