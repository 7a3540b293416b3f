"""The CPU output pool (csrc/common/cpu_pool.h): large kernel outputs reuse freed blocks instead of paying page
faults. MESHGRAPH_CPU_POOL_MB (read at first use; default 1024, 0 = off) bounds what it keeps."""

from __future__ import annotations

import torch

from .. import _extension

_extension.load()


def cpu_pool_free_bytes() -> int:
    """Bytes held by the pool in freed blocks, ready for reuse."""
    return int(torch.ops.meshgraph.cpu_pool_free_bytes())


def empty_cpu_pool() -> None:
    """Return every freed block to the system (memory held by live tensors is unaffected)."""
    torch.ops.meshgraph.cpu_pool_clear()

__all__ = ["cpu_pool_free_bytes", "empty_cpu_pool"]
