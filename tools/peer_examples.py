"""Run the peers' own tutorials and examples with the import prefix swapped to meshgraph.compat.

    python tools/peer_examples.py                       # every example, full mode
    python tools/peer_examples.py --quick gcn gat       # chosen examples, quick mode (fewer iterations)
    python tools/peer_examples.py --json out.json deform_mesh

What runs is the peer's own code at the release meshgraph targets (PyTorch3D v0.7.9, PyG 2.8.0), read from its git
repository (the mirrors under /work/.mirror; `run_example(..., repo=)` takes another git directory):

- a notebook becomes a script of its code cells in order (IPython's `!shell` and `%magic` lines become `pass`,
  which is what they do without a shell or a notebook here); after each cell a recorder notes the cell's
  outputs (losses, images, accuracies) for the report;
- the imports are swapped exactly as a user would: `pytorch3d.` -> `meshgraph.compat.pytorch3d.`, and
  `torch_geometric.{data,nn,utils,loader}` -> `meshgraph.compat.pyg.{data,nn,utils,loader}` (the namespaces
  meshgraph mirrors). PyG's `datasets`, `transforms`, `logging`, `typing` and its top-level helpers have no
  mirror: `strict_swap_report` lists what a user who also swaps those meets (the import errors), and the run keeps
  them on PyG, which is installed here;
- then the example's own `subs` only: local data instead of downloads, iteration counts read from the
  environment (`--quick` sets fewer), dropped cells that only plot with libraries outside the mirror. Each is a
  literal replacement that must match exactly as often as stated, so a changed peer file fails loudly;
- it runs in a scratch folder, in a fresh interpreter, with fixed seeds, one intra-op thread, matplotlib's Agg
  backend and tqdm off.

PyG's examples also run unchanged against PyG itself (same seeds, same local data) where PyG can run them here
(the point-cloud ones need torch_cluster, which is not installed): the report puts both side by side. PyTorch3D
is not installed: its runs are compared with the tutorial's stated numbers, where it states any, and with
meshgraph's native API on the same input.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
MIRRORS = {
    "pytorch3d": ("/work/.mirror/facebookresearch+pytorch3d/repo", "v0.7.9"),
    "pyg": ("/work/.mirror/pyg-team+pytorch_geometric/repo", "2.8.0"),
}
SWAPS = {
    "pytorch3d": [(r"\bpytorch3d\b(?=[.\s]|$)", "meshgraph.compat.pytorch3d")],
    "pyg": [(r"\btorch_geometric\.(data|nn|utils|loader)\b", r"meshgraph.compat.pyg.\1")],
}
STRICT_SWAPS = {  # every `torch_geometric` prefix, mirrored or not: what a user who swaps blindly gets
    "pytorch3d": SWAPS["pytorch3d"],
    "pyg": [(r"\btorch_geometric\b", "meshgraph.compat.pyg")],
}
SEED = 0


@dataclass
class Sub:
    """A literal replacement in the peer's code: `old` must occur exactly `count` times."""

    old: str
    new: str
    why: str
    count: int = 1


@dataclass
class Example:
    peer: str
    path: str
    what: str
    subs: list[Sub] = field(default_factory=list)
    drop_cells: dict[int, str] = field(default_factory=dict)  # notebook cell index -> why
    args: list[str] = field(default_factory=list)
    quick_env: dict[str, str] = field(default_factory=dict)
    full_env: dict[str, str] = field(default_factory=dict)
    data: str | None = None  # name of a prepare_* function writing local data into the scratch folder
    epilogue: str = ""  # harness code appended to the script: records the outcome in RESULT
    peer_runs: bool = False  # the unchanged example also runs against the installed peer
    # Applied after the swap, only when asked (`workarounds=True`): a mirrored module lacks a name the example
    # imports. The run without them is the drop-in verdict; the run with them measures everything else.
    workarounds: list[Sub] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- the examples

_PLANETOID = Sub("from torch_geometric.datasets import Planetoid", "from peer_examples_data import Planetoid",
                 "Planetoid downloads; the local Planetoid reads ../shared/data/<name>.npz (same split, raw "
                 "bag-of-words features; the example's own NormalizeFeatures transform still runs)")
_PLANETOID_EPILOGUE = """
RESULT["final"] = dict(loss=loss, train_acc=train_acc, val_acc=val_acc, best_val_acc=best_val_acc, test_acc=test_acc)
RESULT["epochs"] = args.epochs
RESULT["dataset"] = args.dataset
RESULT["conv_class"] = type(model.conv1).__module__ + "." + type(model.conv1).__name__
"""
_MODELNET = Sub("from torch_geometric.datasets import ModelNet", "from peer_examples_data import ModelNet",
                "ModelNet10 downloads (and is 2 GB); the local ModelNet is a synthetic set of 4 primitive shapes "
                "(sphere, box, cylinder, cone) as meshes with random anisotropic scale and rotation, through the "
                "example's own NormalizeScale / SamplePoints(1024) transforms")
_POINTCLOUD_EPILOGUE = """
RESULT["losses"] = list(__peer_losses)
RESULT["test_acc"] = test_acc
RESULT["num_train"], RESULT["num_test"] = len(train_loader.dataset), len(test_loader.dataset)
RESULT["num_classes"] = ModelNet.NUM_CLASSES
RESULT["loader_class"] = type(train_loader).__module__ + "." + type(train_loader).__name__
RESULT["mlp_class"] = type(model.mlp).__module__ + "." + type(model.mlp).__name__
RESULT["conv_class"] = [type(m).__module__ + "." + type(m).__name__ for m in model.modules()
                        if type(m).__name__.endswith("Conv")]
"""

EXAMPLES: dict[str, Example] = {
    "deform_mesh": Example(
        "pytorch3d", "docs/tutorials/deform_source_mesh_to_target_mesh.ipynb",
        "PyTorch3D tutorial: deform an ico_sphere(4) into a target mesh (chamfer + edge + normal + laplacian losses, "
        "SGD), then save_obj",
        subs=[
            Sub("from tqdm.notebook import tqdm", "from tqdm import tqdm",
                "tqdm's notebook widget needs Jupyter; the console bar is the same loop (disabled by TQDM_DISABLE)"),
            Sub("trg_obj = 'dolphin.obj'", f"trg_obj = {str(SHARED_DATA / 'cow.obj')!r}",
                "the tutorial downloads dolphin.obj; the target is the cow mesh of PyTorch3D's tutorial data "
                "(../shared/data/cow.obj, 2,930 vertices)"),
            Sub("Niter = 2000", "Niter = int(os.environ['PEER_ITERS'])",
                "iteration count from the environment: 2000 (the tutorial's) in full mode, fewer in quick mode"),
            Sub("sample_points_from_meshes(trg_mesh, 5000)",
                "sample_points_from_meshes(trg_mesh, int(os.environ['PEER_SAMPLES']))",
                "points sampled per mesh and iteration from the environment: 5000 (the tutorial's) in full mode, "
                "1000 in quick mode (chamfer is brute force on the CPU)"),
            Sub("sample_points_from_meshes(new_src_mesh, 5000)",
                "sample_points_from_meshes(new_src_mesh, int(os.environ['PEER_SAMPLES']))", "as above"),
        ],
        quick_env={"PEER_ITERS": "200", "PEER_SAMPLES": "1000"},
        full_env={"PEER_ITERS": "2000", "PEER_SAMPLES": "5000"},
        epilogue="""
RESULT["chamfer"] = [chamfer_losses[0], chamfer_losses[-1]]
RESULT["edge"] = [edge_losses[0], edge_losses[-1]]
RESULT["normal"] = [normal_losses[0], normal_losses[-1]]
RESULT["laplacian"] = [laplacian_losses[0], laplacian_losses[-1]]
RESULT["iterations"] = Niter
RESULT["final_obj_bytes"] = os.path.getsize(final_obj)
_v, _f, _ = load_obj(final_obj)
RESULT["final_obj_verts_faces"] = [int(_v.shape[0]), int(_f.verts_idx.shape[0])]
RESULT["final_obj_matches_mesh"] = bool(torch.allclose(_v, final_verts.detach(), atol=1e-5))
""",
    ),
    "render_points": Example(
        "pytorch3d", "docs/tutorials/render_colored_points.ipynb",
        "PyTorch3D tutorial: render a coloured point cloud with PointsRasterizer + AlphaCompositor / "
        "NormWeightedCompositor (default and coloured backgrounds), FoVOrthographicCameras",
        subs=[
            Sub("from pytorch3d.vis.plotly_vis import AxisArgs, plot_batch_individually, plot_scene\n", "",
                "plotly visualisation (pytorch3d.vis) is outside the mirror; its cells are dropped below"),
            Sub("    PulsarPointsRenderer,\n", "",
                "pulsar (a separate CUDA point renderer) is outside the mirror; its cell is dropped below"),
        ],
        drop_cells={21: "PulsarPointsRenderer", 23: "plotly plot_scene", 25: "plotly plot_scene",
                    26: "plotly plot_scene", 28: "plotly plot_batch_individually", 29: "plotly figure layout",
                    31: "plotly plot_batch_individually"},
        data="prepare_pointcloud",
        epilogue="""
RESULT["num_points"] = int(verts.shape[0])
""",
    ),
    "gcn": Example(
        "pyg", "examples/gcn.py", "PyG example: two-layer GCN on Planetoid (transductive), 200 epochs, Adam",
        subs=[_PLANETOID], args=["--dataset", "{dataset}", "--epochs", "{epochs}"],
        quick_env={"PEER_EPOCHS": "100"}, full_env={"PEER_EPOCHS": "200"},
        epilogue=_PLANETOID_EPILOGUE, peer_runs=True,
    ),
    "gat": Example(
        "pyg", "examples/gat.py", "PyG example: two-layer GAT (8 heads) on Planetoid, 200 epochs, Adam",
        subs=[_PLANETOID], args=["--dataset", "{dataset}", "--epochs", "{epochs}"],
        quick_env={"PEER_EPOCHS": "60"}, full_env={"PEER_EPOCHS": "200"},
        epilogue=_PLANETOID_EPILOGUE, peer_runs=True,
    ),
    "pointnet2": Example(
        "pyg", "examples/pointnet2_classification.py",
        "PyG example: PointNet++ classification (fps, radius, PointNetConv, global_max_pool, MLP)",
        subs=[
            _MODELNET,
            Sub("if not WITH_PYG_LIB:\n    quit(\"This example requires 'pyg-lib>=0.6.0'\")\n", "",
                "the guard checks for PyG's compiled backend (absent here); meshgraph's fps / radius are native"),
            Sub("num_workers=6", "num_workers=0",
                "in-memory synthetic data on a 2-core machine: no worker processes (loading only)", count=2),
            Sub("T.SamplePoints(1024)", "T.SamplePoints(int(__peer_os.environ['PEER_POINTS']))",
                "points per cloud from the environment: 1024 (the example's) in full mode, 256 in quick mode"),
            Sub("for epoch in range(1, 201):", "for epoch in range(1, int(__peer_os.environ['PEER_EPOCHS']) + 1):",
                "epoch count from the environment"),
        ],
        quick_env={"PEER_EPOCHS": "6", "PEER_MODELNET_SIZE": "96,48", "PEER_MODELNET_FACES": "200",
                   "PEER_POINTS": "256"},
        full_env={"PEER_EPOCHS": "6", "PEER_MODELNET_SIZE": "160,80", "PEER_MODELNET_FACES": "500",
                  "PEER_POINTS": "1024"},
        epilogue=_POINTCLOUD_EPILOGUE, peer_runs=True,
        workarounds=[Sub("from meshgraph.compat.pyg.nn import MLP, PointNetConv, fps, global_max_pool, radius",
                         "from torch_geometric.nn import MLP\n"
                         "from meshgraph.compat.pyg.nn import PointNetConv, fps, global_max_pool, radius",
                         "for a meshgraph.compat.pyg.nn without MLP (before commit ecea6e5): PyG's, a plain "
                         "stack of Linear / BatchNorm / ReLU / Dropout, stands in")],
    ),
    "dgcnn": Example(
        "pyg", "examples/dgcnn_classification.py",
        "PyG example: DGCNN classification (DynamicEdgeConv k=20, MLP, global_max_pool)",
        subs=[
            Sub("from torch_geometric.datasets import MedShapeNet, ModelNet",
                "from peer_examples_data import MedShapeNet, ModelNet", _MODELNET.why),
            Sub("T.SamplePoints(1024)", "T.SamplePoints(int(__peer_os.environ['PEER_POINTS']))",
                "points per cloud from the environment: 1024 (the example's) in full mode, 256 in quick mode"),
        ],
        args=["--dataset_dir", "data", "--num_workers", "0", "--epochs", "{epochs_plus_one}"],
        quick_env={"PEER_EPOCHS": "3", "PEER_MODELNET_SIZE": "64,32", "PEER_MODELNET_FACES": "200",
                   "PEER_POINTS": "256"},
        full_env={"PEER_EPOCHS": "5", "PEER_MODELNET_SIZE": "160,80", "PEER_MODELNET_FACES": "500",
                  "PEER_POINTS": "1024"},
        epilogue=_POINTCLOUD_EPILOGUE, peer_runs=True,
        workarounds=[Sub("from meshgraph.compat.pyg.nn import MLP, DynamicEdgeConv, global_max_pool",
                         "from torch_geometric.nn import MLP\n"
                         "from meshgraph.compat.pyg.nn import DynamicEdgeConv, global_max_pool",
                         "meshgraph.compat.pyg.nn has no MLP: PyG's stands in")],
    ),
}

# ---------------------------------------------------------------------------------------------- local data

DATA_MODULE = '''"""Local stand-ins for the peers' downloading datasets (written by tools/peer_examples.py)."""
import os

import numpy as np
import torch

if os.environ.get("PEER_DATA_NAMESPACE") == "meshgraph":
    from meshgraph.compat.pyg.data import Data
else:
    from torch_geometric.data import Data

SHARED = {shared!r}


class Planetoid:
    """Planetoid(root, name, transform=None): the public split of ../shared/data/<name>.npz, as PyG builds it."""

    def __init__(self, root, name, split="public", transform=None, pre_transform=None, **kwargs):
        import scipy.sparse as sp
        z = np.load(os.path.join(SHARED, name.lower() + ".npz"))
        n, f = (int(s) for s in z["x_shape"])
        x = sp.csr_matrix((z["x_data"], z["x_indices"], z["x_indptr"]), shape=(n, f)).toarray()
        masks = {{}}
        for key in ("train", "val", "test"):
            m = torch.zeros(n, dtype=torch.bool)
            m[torch.from_numpy(z[key + "_index"])] = True
            masks[key + "_mask"] = m
        self._data = Data(x=torch.from_numpy(x).float(), edge_index=torch.from_numpy(z["edge_index"]).long(),
                          y=torch.from_numpy(z["y"]).long(), **masks)
        self.transform = transform
        self.num_features = f
        self.num_classes = int(z["y"].max()) + 1

    def __len__(self):
        return 1

    def __getitem__(self, i):
        assert i == 0
        data = self._data.clone()
        return data if self.transform is None else self.transform(data)


class ModelNet(torch.utils.data.Dataset):
    """ModelNet(root, name, train, transform, pre_transform): synthetic primitive meshes (pos, face), 4 classes.

    PEER_MODELNET_SIZE="train,test" clouds; PEER_MODELNET_FACES: about how many faces each mesh has. The
    meshes are Data of the run's namespace (meshgraph.compat.pyg.data or torch_geometric.data), fed to the
    example's own (PyG) transforms and its DataLoader (meshgraph.compat.pyg.loader once swapped)."""

    NUM_CLASSES = 4

    def __init__(self, root, name="10", train=True, transform=None, pre_transform=None, **kwargs):
        import trimesh
        sizes = [int(s) for s in os.environ.get("PEER_MODELNET_SIZE", "200,100").split(",")]
        faces = int(os.environ.get("PEER_MODELNET_FACES", "500"))
        rng = np.random.default_rng(1 if train else 2)
        self.transform = transform
        self.items = []
        for i in range(sizes[0] if train else sizes[1]):
            label = i % self.NUM_CLASSES
            sections = max(8, int((faces / 4) ** 0.5))
            mesh = [lambda: trimesh.creation.icosphere(subdivisions=2 if faces < 600 else 3),
                    lambda: trimesh.creation.box().subdivide().subdivide(),
                    lambda: trimesh.creation.cylinder(radius=0.5, height=1.5, sections=sections),
                    lambda: trimesh.creation.cone(radius=0.6, height=1.5, sections=sections)][label]()
            rot = trimesh.transformations.random_rotation_matrix(rng.random(3))[:3, :3]
            v = (np.asarray(mesh.vertices) * rng.uniform(0.6, 1.4, 3)) @ rot.T + rng.normal(0, 0.3, 3)
            data = Data(pos=torch.tensor(v, dtype=torch.float32),
                           face=torch.tensor(np.asarray(mesh.faces).T, dtype=torch.long),
                           y=torch.tensor([label]))
            self.items.append(data if pre_transform is None else pre_transform(data))
        self.num_classes = self.NUM_CLASSES

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        data = self.items[i].clone()
        return data if self.transform is None else self.transform(data)


class MedShapeNet(ModelNet):
    pass
'''


def prepare_pointcloud(scratch: Path) -> None:
    """The tutorial's data/PittsburghBridge/pointcloud.npz (keys verts, rgb), made from the cow mesh: 200,000
    points sampled on its surface (area-weighted, seed 0), scaled into the orthographic camera's [-1, 1] view,
    coloured by position (rgb in [0, 1])."""
    import numpy as np
    import trimesh

    mesh = trimesh.load(SHARED_DATA / "cow.obj", force="mesh", process=False)
    pts, _ = trimesh.sample.sample_surface(mesh, 200_000, seed=0)
    pts = pts - pts.mean(0)
    pts = pts / np.abs(pts).max() * 0.8
    rgb = (pts - pts.min(0)) / (pts.max(0) - pts.min(0))
    out = scratch / "data" / "PittsburghBridge"
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "pointcloud.npz", verts=pts.astype(np.float32), rgb=rgb.astype(np.float32))


# ---------------------------------------------------------------------------------------------- building

PROLOGUE = """# --- harness prologue (tools/peer_examples.py): seeds and a recorder, no change to the example's code
import json as __peer_json, os as __peer_os, random as __peer_random
import numpy as __peer_np, torch as __peer_torch
__peer_random.seed({seed}); __peer_np.random.seed({seed}); __peer_torch.manual_seed({seed})
__peer_torch.use_deterministic_algorithms(False)
RESULT = {{"cells": {{}}}}
__peer_losses = []
import torch.nn.functional as __peer_F
__peer_nll = __peer_F.nll_loss
def __peer_nll_recorded(*a, **k):
    out = __peer_nll(*a, **k)
    __peer_losses.append(float(out.detach()))
    return out
__peer_F.nll_loss = __peer_nll_recorded
def __peer_record(cell, env):
    img = env.get("images")
    if isinstance(img, __peer_torch.Tensor) and id(img) != RESULT.get("_last_image"):
        RESULT["_last_image"] = id(img)
        a = img.detach().float().cpu()
        __peer_np.save(f"image_cell{{cell}}.npy", a.numpy())
        RESULT["cells"][str(cell)] = dict(shape=list(a.shape), mean=float(a.mean()), min=float(a.min()),
                                          max=float(a.max()))
def __peer_dump():
    RESULT.pop("_last_image", None)
    with open("result.json", "w") as f:
        __peer_json.dump(RESULT, f, indent=1, default=float)
import atexit as __peer_atexit
__peer_atexit.register(__peer_dump)
# --- the example
"""


def peer_source(ex: Example, repo: str | None = None) -> str:
    git_dir, rev = MIRRORS[ex.peer]
    return subprocess.run(["git", f"--git-dir={repo or git_dir}", "show", f"{rev}:{ex.path}"], check=True,
                          capture_output=True, text=True).stdout


_SHELL = re.compile(r"^(\s*)(?:[A-Za-z_]\w*\s*=\s*)?[!%].*$")


def notebook_cells(text: str) -> list[tuple[int, str]]:
    """(cell index, code) of every code cell, IPython `!` / `%` lines turned into `pass`."""
    cells = []
    for i, cell in enumerate(json.loads(text)["cells"]):
        if cell["cell_type"] != "code":
            continue
        code = "".join(cell["source"])
        lines = [(_SHELL.sub(r"\1pass  # IPython line dropped", ln) if _SHELL.match(ln) else ln)
                 for ln in code.splitlines()]
        cells.append((i, "\n".join(lines) + "\n"))
    return cells


def swap(code: str, peer: str, strict: bool = False) -> str:
    for pattern, repl in (STRICT_SWAPS if strict else SWAPS)[peer]:
        code = re.sub(pattern, repl, code)
    return code


def apply_subs(code: str, subs: list[Sub], name: str) -> str:
    for s in subs:
        n = code.count(s.old)
        if n != s.count:
            raise RuntimeError(f"{name}: substitution {s.old!r} matched {n} times, expected {s.count} "
                               f"(the peer's file changed?)")
        code = code.replace(s.old, s.new)
    return code


def build_script(name: str, ex: Example, meshgraph: bool, repo: str | None = None, workarounds: bool = False) -> str:
    """The example as one script: prologue, peer code (swapped when `meshgraph`), substitutions, epilogue."""
    text = peer_source(ex, repo)
    if ex.path.endswith(".ipynb"):
        parts = []
        for i, code in notebook_cells(text):
            if i in ex.drop_cells:
                parts.append(f"# cell {i} dropped: {ex.drop_cells[i]}\n")
                continue
            parts.append(f"# ---- cell {i}\n{code}__peer_record({i}, globals())\n")
        code = "".join(parts)
    else:
        code = text
    code = apply_subs(code, ex.subs, name)
    if meshgraph:
        code = swap(code, ex.peer)
        if workarounds:
            code = apply_subs(code, ex.workarounds, name)
    return PROLOGUE.format(seed=SEED) + code + "\n# --- harness epilogue\n" + textwrap.dedent(ex.epilogue)


def strict_swap_report(ex: Example, repo: str | None = None) -> list[str]:
    """Every import of the example, swapped blindly (all of the peer's prefix), that fails: 'line: error'."""
    text = peer_source(ex, repo)
    code = "".join(c for _, c in notebook_cells(text)) if ex.path.endswith(".ipynb") else text
    failures = []
    for node in ast.walk(ast.parse(code)):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        src = ast.get_source_segment(code, node)
        if not re.search(r"\b(pytorch3d|torch_geometric)\b", src):
            continue
        swapped = swap(src, ex.peer, strict=True)
        check = (f"import importlib, sys\ntry:\n    exec({swapped!r}, {{}})\nexcept Exception as e:\n"
                 f"    print(type(e).__name__ + ': ' + str(e).splitlines()[0]); sys.exit(1)\n")
        r = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
        if r.returncode:
            failures.append(f"{' '.join(swapped.split())}: {r.stdout.strip() or r.stderr.strip()[-300:]}")
    # top-level attributes of the package (`torch_geometric.device(...)`), which no import statement names
    if ex.peer == "pyg":
        import importlib

        pkg = importlib.import_module("meshgraph.compat.pyg")
        for attr in sorted(set(re.findall(r"\btorch_geometric\.(\w+)\(", code))):
            if not hasattr(pkg, attr):
                failures.append(f"meshgraph.compat.pyg.{attr}(...): AttributeError (the example calls "
                                f"torch_geometric.{attr})")
    return failures


def run_example(name: str, meshgraph: bool = True, quick: bool = False, dataset: str = "Cora",
                repo: str | None = None, timeout: float = 3600, workarounds: bool = False,
                env: dict[str, str] | None = None) -> dict:
    """Build and run one example in a fresh scratch folder; returns its RESULT plus status and timing.
    `env` overrides the mode's PEER_* settings (iterations, sizes)."""
    import resource
    import time

    ex = EXAMPLES[name]
    env_extra = dict(ex.quick_env if quick else ex.full_env, **(env or {}))
    with tempfile.TemporaryDirectory(prefix=f"peer_example_{name}_") as tmp:
        scratch = Path(tmp)
        (scratch / "peer_examples_data.py").write_text(DATA_MODULE.format(shared=str(SHARED_DATA)))
        if ex.data:
            globals()[ex.data](scratch)
        script = scratch / f"{name}.py"
        script.write_text(build_script(name, ex, meshgraph, repo, workarounds))
        epochs = env_extra.get("PEER_EPOCHS", "1")
        args = [a.format(dataset=dataset, epochs=epochs, epochs_plus_one=int(epochs) + 1) for a in ex.args]
        # one intra-op thread: on a shared machine, spinning worker threads only burn CPU, and a fixed thread
        # count keeps reductions (and so the two sides' numbers) reproducible
        run_env = dict(os.environ, MPLBACKEND="Agg", TQDM_DISABLE="1", PYTHONHASHSEED=str(SEED), OMP_NUM_THREADS="1",
                   PYTHONPATH=os.pathsep.join([str(scratch), os.environ.get("PYTHONPATH", "")]),
                   PEER_DATA_NAMESPACE="meshgraph" if meshgraph else "peer", **env_extra)
        t0, cpu0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run([sys.executable, str(script), *args], cwd=scratch, env=run_env, capture_output=True,
                              text=True, timeout=timeout)
        seconds = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_seconds = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
        result_file = scratch / "result.json"
        result = json.loads(result_file.read_text()) if result_file.exists() else {}
        result.update(ok=proc.returncode == 0, returncode=proc.returncode, seconds=round(seconds, 1), cpu_seconds=round(cpu_seconds, 1), quick=quick,
                      runs_on=("meshgraph.compat" + (" + workarounds" if workarounds else "")) if meshgraph else ex.peer)
        if proc.returncode:
            result["error"] = proc.stderr.strip()[-3000:]
        result["stdout_tail"] = proc.stdout.strip()[-1500:]
        result["images"] = {p.stem: str(p) for p in scratch.glob("image_cell*.npy")}
        if result["images"]:  # keep the images past the scratch folder for comparisons
            keep = Path(tempfile.mkdtemp(prefix=f"peer_example_{name}_images_"))
            for stem, p in list(result["images"].items()):
                target = keep / Path(p).name
                target.write_bytes(Path(p).read_bytes())
                result["images"][stem] = str(target)
    return result


# ---------------------------------------------------------------------------------------------- native checks

def native_point_render(pointcloud_npz: str | Path, compositor: str, background=None, image_size: int = 512):
    """The tutorial's render through meshgraph's native API (GraphBatch + meshgraph.nn.GraphToImage), for
    comparing with the swapped tutorial's images: (1, H, W, C) like PyTorch3D's PointsRenderer."""
    import numpy as np
    import torch

    from meshgraph.graph import GraphBatch
    from meshgraph.nn import GraphToImage
    from meshgraph.render import FoVOrthographicCameras, look_at_view_transform

    z = np.load(pointcloud_npz)
    graph = GraphBatch.from_pointclouds([torch.from_numpy(z["verts"])], rgb=[torch.from_numpy(z["rgb"])])
    R, T = look_at_view_transform(20, 10, 0)
    cameras = FoVOrthographicCameras(R=R, T=T, znear=0.01)
    render = GraphToImage(image_size=image_size, mode="points", feature="rgb", radius=0.003, points_per_pixel=10,
                          compositor=compositor, background=background)
    return render(graph, cameras).permute(0, 2, 3, 1)


def summarize(name: str, results: dict) -> str:
    return f"{name}: " + json.dumps({k: v for k, v in results.items() if k not in ("stdout_tail", "cells")},
                                    default=str)[:2000]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("examples", nargs="*", default=list(EXAMPLES))
    ap.add_argument("--quick", action="store_true", help="fewer iterations / epochs / samples")
    ap.add_argument("--datasets", default="Cora,CiteSeer", help="Planetoid datasets for gcn / gat")
    ap.add_argument("--no-peer", action="store_true", help="skip the runs against the installed peer")
    ap.add_argument("--json", help="write every result to this file")
    args = ap.parse_args(argv)
    report = {}
    for name in args.examples:
        ex = EXAMPLES[name]
        entry = report[name] = {"what": ex.what, "strict_swap_failures": strict_swap_report(ex),
                                "substitutions": [s.why for s in ex.subs] + [f"cell {i} dropped: {w}" for i, w in
                                                                              ex.drop_cells.items()]}
        for ds in (args.datasets.split(",") if "{dataset}" in " ".join(ex.args) else [None]):
            key = ds or "run"
            entry[key] = {"meshgraph": run_example(name, True, args.quick, ds or "Cora")}
            if ex.workarounds and not entry[key]["meshgraph"]["ok"]:
                entry[key]["meshgraph_workarounds"] = run_example(name, True, args.quick, ds or "Cora",
                                                                  workarounds=True)
            if ex.peer_runs and not args.no_peer:
                entry[key]["peer"] = run_example(name, False, args.quick, ds or "Cora")
            if name == "render_points" and entry[key]["meshgraph"].get("images"):
                entry[key]["native"] = compare_native_render(entry[key]["meshgraph"])
            for side, res in entry[key].items():
                print(summarize(f"{name}[{key}] {side}", res), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    return 0


def compare_native_render(result: dict) -> dict:
    """Max |swapped tutorial image - native GraphToImage image| for the tutorial's four renders."""
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        prepare_pointcloud(Path(tmp))
        npz = Path(tmp) / "data" / "PittsburghBridge" / "pointcloud.npz"
        out = {}
        for cell, (comp, bg) in {"image_cell12": ("alpha", None), "image_cell14": ("alpha", (0, 0, 1)),
                                 "image_cell17": ("norm_weighted", None),
                                 "image_cell19": ("norm_weighted", (1, 0, 0))}.items():
            if cell not in result["images"]:
                out[cell] = "missing"
                continue
            ours = np.load(result["images"][cell])
            native = native_point_render(npz, comp, bg).detach().numpy()
            out[cell] = dict(max_abs_diff=float(np.abs(ours[..., :3] - native[..., :3]).max()),
                             shape=list(ours.shape), native_shape=list(native.shape))
    return out


if __name__ == "__main__":
    raise SystemExit(main())
