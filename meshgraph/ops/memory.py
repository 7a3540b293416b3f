"""The CPU output pool (csrc/common/cpu_pool.h), opt-in: off by default, every CPU kernel output is `torch.empty`.

Turned on with the environment variable MESHGRAPH_CPU_POOL_MB=<MiB> (read at the first op call) or with
`set_cpu_pool_limit(mb)`: CPU outputs of 1 MiB or more then reuse freed blocks of the same size (their pages are
already faulted in) and the pool keeps at most `mb` MiB of freed blocks. Pooled bytes are not seen by PyTorch's
allocator statistics or profiler. Toggling at run time is safe: tensors handed out while it was on free normally.
"""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import check_nonnegative_int

_extension.load()


def set_cpu_pool_limit(mb: int) -> None:
    """Opt in to the CPU output pool, keeping at most `mb` MiB of freed blocks; 0 turns it off and frees them."""
    mb = check_nonnegative_int(mb, "mb")
    torch.ops.meshgraph.cpu_pool_set_limit_mb(int(mb))


def cpu_pool_limit() -> int:
    """The pool's limit in bytes (0 when off, the default unless MESHGRAPH_CPU_POOL_MB is set)."""
    return int(torch.ops.meshgraph.cpu_pool_limit_bytes())


def cpu_pool_enabled() -> bool:
    """True when large CPU outputs come from the pool (set_cpu_pool_limit(mb > 0) or MESHGRAPH_CPU_POOL_MB > 0)."""
    return cpu_pool_limit() > 0


def cpu_pool_free_bytes() -> int:
    """Bytes held by the pool in freed blocks, ready for reuse."""
    return int(torch.ops.meshgraph.cpu_pool_free_bytes())


def empty_cpu_pool() -> None:
    """Return every freed block to the system (memory held by live tensors is unaffected)."""
    torch.ops.meshgraph.cpu_pool_clear()


__all__ = ["cpu_pool_enabled", "cpu_pool_free_bytes", "cpu_pool_limit", "empty_cpu_pool", "set_cpu_pool_limit"]
