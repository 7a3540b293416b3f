"""Shared benchmark helpers: timing, peers in the same run, ratios, environment line."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch


def environment() -> str:
    thp = os.environ.get("THP_MEM_ALLOC_ENABLE", "0")
    return (
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, THP_MEM_ALLOC_ENABLE={thp}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus"
    )


def bench_args(argv=None, description: str | None = None, **extra) -> argparse.Namespace:
    """Parse the flags every benchmark takes (--threads, --quick, plus `extra` name=(type, default)), set the
    thread count and print the environment line."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (cuda: ours on the GPU, checked against our CPU kernels)")
    for name, (typ, default) in extra.items():
        p.add_argument(f"--{name}", type=typ, default=default)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(environment())
    if args.device != "cpu":
        print(device_line(args.device))
    return args


def device_line(device) -> str:
    """The card a GPU benchmark ran on (the name nvidia-smi reports)."""
    device = torch.device(device)
    if device.type != "cuda":
        return f"device {device}"
    props = torch.cuda.get_device_properties(device)
    return f"device {device}: {props.name}, {props.total_memory / 2**30:.0f} GiB, CUDA {torch.version.cuda}"


def runs(fn: Callable[..., object], *args) -> bool:
    """Whether fn(*args) runs (a peer built without kernels for the device raises)."""
    try:
        fn(*args)
        return True
    except (RuntimeError, NotImplementedError, TypeError):
        return False


def timeit(fn: Callable[[], object], *, repeat: int = 7, warmup: int = 2, sync: bool = False) -> float:
    """Median wall time of fn() in milliseconds (CUDA work is synchronized around each call once CUDA is in use)."""
    sync = sync or (torch.cuda.is_available() and torch.cuda.is_initialized())
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        if sync:
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if sync:
            torch.cuda.synchronize()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def report(title: str, rows: list[tuple[str, float]], ours: str) -> None:
    """Print times and each peer's time as a multiple of ours."""
    base = dict(rows)[ours]
    print(f"\n{title}")
    for name, ms in rows:
        print(f"  {name:<38s} {ms:10.3f} ms   {ms / base:6.2f}x ours")


def _proc_status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def peak_extra_memory_mb(fn: Callable[[], object]) -> float:
    """Peak resident memory during fn() above the resident memory before it, in MB (Linux).

    Resets the kernel's high-water mark (/proc/self/clear_refs = 5), runs fn, reads VmHWM. Large tensors are
    mmap-backed and returned to the OS when freed, so this measures what fn really holds at its peak."""
    import gc

    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = _proc_status_kb("VmRSS")
    fn()
    return (_proc_status_kb("VmHWM") - base) / 1024


def bunny_batch(copies: int = 8, path=None):
    """`copies` Stanford bunnies packed into one GraphBatch (the W1 workload: both directions of every edge)."""
    from pathlib import Path

    import meshgraph as mg
    from meshgraph.io import load_mesh

    path = Path(path) if path else Path(__file__).resolve().parents[1].parent / "shared" / "data" / "stanford-bunny.obj"
    bunny = load_mesh(path)
    return mg.GraphBatch([bunny] * copies)


PYTORCH3D_SITE = "/work/p3d-site"


def real_pytorch3d(needs: tuple[str, ...] = ()):
    """PyTorch3D itself (v0.7.9 built from source, DEVELOPERS.md "PyTorch3D as a benchmark peer"), or None.

    It is installed with `pip install --target` into a folder of its own, never into the venv (where the peer test
    harness imports meshgraph.compat as `pytorch3d`); the folder is MESHGRAPH_PYTORCH3D_SITE, default
    /work/p3d-site. Absent, not importable, or built without one of the compiled ops `needs` (names in its `_C`):
    prints that the PyTorch3D rows are skipped and returns None."""
    import importlib
    import sys

    site = os.environ.get("MESHGRAPH_PYTORCH3D_SITE", PYTORCH3D_SITE)
    if not os.path.isdir(os.path.join(site, "pytorch3d")):
        print(f"PyTorch3D not found under {site} (MESHGRAPH_PYTORCH3D_SITE): its rows are skipped")
        return None
    if site not in sys.path:
        sys.path.append(site)
    try:
        p3d = importlib.import_module("pytorch3d")
        for sub in ("renderer", "structures", "transforms", "ops"):
            importlib.import_module(f"pytorch3d.{sub}")
        compiled = importlib.import_module("pytorch3d._C")
    except Exception as e:  # a build for another torch, a missing dependency: the rows are skipped, not the run
        print(f"PyTorch3D under {site} does not import ({type(e).__name__}: {e}): its rows are skipped")
        return None
    if not os.path.realpath(p3d.__file__).startswith(os.path.realpath(site)):
        print(f"`pytorch3d` resolves to {p3d.__file__}, not to {site}: its rows are skipped")
        return None
    # an interim link (DEVELOPERS.md) lists in _C_stubbed.txt the ops bound to stubs that raise
    stubbed = os.path.join(site, "pytorch3d", "_C_stubbed.txt")
    stubs = open(stubbed).read().split() if os.path.exists(stubbed) else []
    missing = [name for name in needs if not hasattr(compiled, name) or name in stubs]
    if missing:
        print(f"PyTorch3D under {site} was built without {', '.join(missing)}: its rows are skipped")
        return None
    print(f"PyTorch3D {p3d.__version__} from {site}")
    return p3d
