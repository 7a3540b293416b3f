"""Input validation shared by every public wrapper, written once.

Wrappers validate; kernels assume validated input. Checks that need data (index ranges, sortedness) run in
eager mode only: under torch.compile / export tracing the values are symbolic, and the kernels are memory-safe
on their own (they clamp offsets), so tracing skips them rather than breaking the graph.

Where they run (docs/concepts.md, "Device syncs"):
- checks made once, when an object is built (a Graph / GraphBatch, a cached Adjacency, a Data's edge_index), run on
  every device (`once=True`): one sync, at construction;
- checks made on every call of an op run only where reading the values is free (`values_are_free`: eager CPU
  tensors). On CUDA a per-call check would wait for the device on every call; the kernels clamp instead, so a bad
  index gives unspecified values, never an out-of-bounds read. `MESHGRAPH_CHECK_VALUES=1` runs the per-call checks
  on every device too (debugging; one sync each). `MESHGRAPH_DEVICE_PATH=1` makes CPU tensors behave as CUDA ones
  (the kernels' device paths and no per-call value checks), so the CPU tests cover the CUDA side's rules.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from typing import Any

import torch

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
INDEX_DTYPES = (torch.int32, torch.int64)


def can_inspect_values(*tensors: torch.Tensor) -> bool:
    """True when the tensors hold real values we may read (eager, not tracing, not fake)."""
    if torch.compiler.is_compiling():
        return False
    from torch._subclasses.fake_tensor import is_fake

    return not any(is_fake(t) for t in tensors)


def device_path_forced() -> bool:
    """MESHGRAPH_DEVICE_PATH=1: CPU tensors take the kernels' device paths and skip per-call value checks."""
    return os.environ.get("MESHGRAPH_DEVICE_PATH", "0") not in ("", "0")


def values_are_free(*tensors: torch.Tensor) -> bool:
    """True where a per-call check may read the tensors' values: eager, real tensors that are all on the CPU (no
    device sync), unless MESHGRAPH_DEVICE_PATH=1; on any device with MESHGRAPH_CHECK_VALUES=1."""
    if not can_inspect_values(*tensors):
        return False
    if os.environ.get("MESHGRAPH_CHECK_VALUES", "0") not in ("", "0"):
        return True
    return all(t.device.type == "cpu" for t in tensors) and not device_path_forced()


def _may_read(t: torch.Tensor, once: bool) -> bool:
    return can_inspect_values(t) if once else values_are_free(t)


def check_tensor(
    t: Any,
    name: str,
    *,
    dim: int | Iterable[int] | None = None,
    min_dim: int | None = None,
    dtypes: Iterable[torch.dtype] | None = None,
    shape: tuple[int | None, ...] | None = None,
) -> torch.Tensor:
    """TypeError unless `t` is a tensor of an allowed dtype; ValueError on a wrong number of dims or shape.

    `shape` entries that are None match any size.
    """
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if dtypes is not None:
        dtypes = tuple(dtypes)
        if t.dtype not in dtypes:
            allowed = ", ".join(str(d).replace("torch.", "") for d in dtypes)
            raise TypeError(f"{name} must have dtype in ({allowed}), got {str(t.dtype).replace('torch.', '')}")
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if t.dim() not in dims:
            raise ValueError(f"{name} must be {' or '.join(map(str, dims))}-D, got shape {tuple(t.shape)}")
    if min_dim is not None and t.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} dims, got shape {tuple(t.shape)}")
    if shape is not None:
        if t.dim() != len(shape) or any(s is not None and s != ts for s, ts in zip(shape, t.shape)):
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}, got {tuple(t.shape)}")
    return t


def check_index_tensor(t: Any, name: str, **kwargs) -> torch.Tensor:
    """An index tensor: int32 or int64."""
    return check_tensor(t, name, dtypes=INDEX_DTYPES, **kwargs)


def check_float_tensor(t: Any, name: str, **kwargs) -> torch.Tensor:
    return check_tensor(t, name, dtypes=FLOAT_DTYPES, **kwargs)


def check_same_device(**named: torch.Tensor) -> None:
    """ValueError naming the arguments when tensors live on different devices."""
    items = [(k, v) for k, v in named.items() if v is not None]
    if not items:
        return
    first_name, first = items[0]
    for k, v in items[1:]:
        if v.device != first.device:
            raise ValueError(f"{k} is on {v.device} but {first_name} is on {first.device}: they must share a device")


def _as_int(v: Any, name: str):
    """v as an int or SymInt (a 1-element integer tensor is read); TypeError for anything else (bools included)."""
    if isinstance(v, bool) or not isinstance(v, (int, torch.SymInt)):
        if isinstance(v, torch.Tensor) and v.numel() == 1 and not v.dtype.is_floating_point:
            return int(v)
        raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    return v


def check_nonnegative_int(v: Any, name: str) -> int:
    """v as an int; TypeError unless an int, ValueError when negative."""
    v = _as_int(v, name)
    if isinstance(v, int) and v < 0:
        raise ValueError(f"{name} must be non-negative, got {v}")
    return v


def check_positive_int(v: Any, name: str) -> int:
    """v as an int (a 1-element integer tensor is read); TypeError unless an int, ValueError unless > 0."""
    v = _as_int(v, name)
    if isinstance(v, int) and v <= 0:
        raise ValueError(f"{name} must be a positive int, got {v}")
    return v


def check_index_range(idx: torch.Tensor, name: str, upper: int, *, allow: int | None = None,
                      once: bool = False) -> None:
    """ValueError unless every value of idx is in [0, upper) (or equals `allow`, e.g. -1 padding). Eager only;
    per call (default) only where `values_are_free`, on every device with once=True (a check made when an object
    is built; one device sync)."""
    if idx.numel() == 0 or not _may_read(idx, once):
        return
    if allow is None:
        lo, hi = torch.aminmax(idx)
    else:  # allowed values count as 0 for the minimum and -1 for the maximum: never out of range
        skip = idx == allow
        lo, hi = torch.where(skip, 0, idx).min(), torch.where(skip, -1, idx).max()
    lo, hi = torch.stack([lo, hi]).tolist()
    if lo < 0 or hi >= upper:
        bad = lo if lo < 0 else hi
        raise ValueError(f"{name} holds index {bad}, outside the valid range [0, {upper})")


def check_first_idxs(first_idxs: torch.Tensor, num_rows: int, max_size: int | None, name: str = "first_idxs",
                     *, once: bool = False) -> None:
    """Offsets of N sets into num_rows packed rows: non-decreasing, in [0, num_rows], each set <= max_size.
    Eager only, where `check_index_range` runs; one device sync when the offsets are valid."""
    if first_idxs.numel() == 0 or not _may_read(first_idxs, once):
        return
    f = first_idxs.long()
    ends = torch.cat([f[1:], f.new_tensor([num_rows])])
    counts = ends - f
    limit = counts.max() if max_size is None else max_size
    if bool((f[0] >= 0) & (counts.min() >= 0) & (counts.max() <= limit)):
        return
    if int(f[0]) < 0:
        raise ValueError(f"{name} must be non-negative, got {int(f[0])} at position 0")
    if bool((counts < 0).any()):
        b = int(torch.nonzero(counts < 0)[0])
        raise ValueError(
            f"{name} must be non-decreasing with values <= {num_rows} (the number of packed rows); "
            f"set {b} starts at {int(f[b])} and ends at {int(ends[b])}"
        )
    b = int(torch.argmax(counts))
    raise ValueError(f"set {b} has {int(counts[b])} rows but max_size is {max_size}")


def check_ptr(ptr: torch.Tensor, num_entries: int, rows_of: str, name: str = "ptr", *, once: bool = False) -> None:
    """CSR / segment offsets over num_entries rows: ptr[0] == 0, ptr[-1] == num_entries, non-decreasing.
    `rows_of` names what the rows are, for the message. Eager only, where `check_index_range` runs; one device
    sync when valid."""
    if ptr.numel() == 0 or not _may_read(ptr, once):
        return
    p = ptr.long()
    if bool((p[0] == 0) & (p[-1] == num_entries) & (p.diff() >= 0).all()):
        return
    if int(p[0]) != 0 or int(p[-1]) != num_entries:
        raise ValueError(f"{name} must start at 0 and end at {num_entries} (the rows of {rows_of})")
    check_first_idxs(p[:-1], num_entries, None, name=name, once=once)


def check_lengths(lengths: Any, name: str, N: int, P: int, device: torch.device) -> torch.Tensor:
    """Per-cloud lengths of (N, P, ...) padded clouds -> (N,) int64: P each when None; else an int32/int64 (N,)
    tensor on `device` with values in [0, P]. The values are read on CPU tensors in eager mode only: reading
    them from a CUDA tensor would wait for the device on every call, and the kernels clamp lengths there."""
    if lengths is None:
        return torch.full((N,), P, dtype=torch.int64, device=device)
    check_index_tensor(lengths, name, shape=(N,))
    if lengths.device != device:
        raise ValueError(f"{name} is on {lengths.device} but the points are on {device}")
    if N and values_are_free(lengths):
        lo, hi = int(lengths.min()), int(lengths.max())
        if lo < 0:
            raise ValueError(f"{name} must be non-negative, got {lo}")
        if hi > P:
            raise ValueError(f"{name} holds {hi}, more than the {P} points per cloud")
    return lengths.to(torch.int64)


def offsets_from_counts(counts: torch.Tensor) -> torch.Tensor:
    """(N,) counts -> (N + 1,) int64 offsets starting at 0."""
    out = torch.zeros(counts.numel() + 1, dtype=torch.int64, device=counts.device)
    torch.cumsum(counts.to(torch.int64), 0, out=out[1:])
    return out


def first_from_counts(counts: torch.Tensor) -> torch.Tensor:
    """(N,) counts -> (N,) int64 start of each segment (PyTorch3D's first_idxs): offsets_from_counts without the end."""
    return offsets_from_counts(counts)[:-1]


def count_per_index(index: torch.Tensor, size: int) -> torch.Tensor:
    """(size,) int64 number of occurrences of each value of index in [0, size).

    Unlike torch.bincount the output size is static (no data-dependent shape), so it traces under torch.compile.
    """
    out = torch.zeros(size, dtype=torch.int64, device=index.device)
    return out.index_add_(0, index.long(), torch.ones_like(index, dtype=torch.int64))


def index_from_counts(counts: torch.Tensor, total: int | None = None) -> torch.Tensor:
    """(N,) counts -> (total,) int64 segment index: i repeated counts[i] times (PyG's `batch` from sizes).

    Pass `total` (= counts.sum()) when known: it keeps the output size static (no device sync, traces under
    torch.compile)."""
    return torch.repeat_interleave(torch.arange(counts.numel(), device=counts.device), counts, output_size=total)


def index_from_offsets(ptr: torch.Tensor, num_entries: int | None = None) -> torch.Tensor:
    """(N + 1,) offsets (CSR rowptr, PyG's `ptr`) -> (num_entries,) int64: the row of each entry, i for
    ptr[i] <= k < ptr[i + 1] (PyG's ptr2index). Pass `num_entries` (= ptr[-1]) when known (see index_from_counts)."""
    return index_from_counts(ptr.diff(), num_entries)


def flatten_features(x: torch.Tensor) -> torch.Tensor:
    """(R, *F) -> (R, prod(F)): the trailing feature dims folded into one (a view when strides allow). Unlike
    reshape(R, -1) this is defined for R == 0."""
    return x if x.dim() == 2 else x.reshape(x.shape[0], math.prod(x.shape[1:]))


def with_flat_features(x: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """fn applied to x with its trailing dims folded into one, its (R', prod(F)) result unfolded to (R', *F):
    how a row kernel (2-D in, 2-D out) serves features of any trailing shape."""
    out = fn(flatten_features(x))
    return out if x.dim() == 2 else out.reshape(out.shape[0], *x.shape[1:])
