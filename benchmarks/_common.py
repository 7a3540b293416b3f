"""Shared benchmark helpers: timing, peers in the same run, ratios, environment line."""

from __future__ import annotations

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


def timeit(fn: Callable[[], object], *, repeat: int = 7, warmup: int = 2, sync: bool = False) -> float:
    """Median wall time of fn() in milliseconds."""
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
