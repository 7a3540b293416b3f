"""Tie-aware checks for the rasterizers in low precision (imported by test_rasterize_points / test_rasterize_meshes).

A float16 / bfloat16 / float32 kernel computes its coverage tests and depth order in float32, the reference in
float64 on the same (already rounded) inputs. The two may then choose differently only where a decision is within
rounding of its threshold: a pixel centre on a disk's or a triangle's boundary, or two depths within rounding of each
other. The selection check below allows exactly that and nothing else: every chosen item must be a hit up to `eps`
(in `loose`), rows must be sorted by depth up to `eps`, and an item that is a hit by more than `eps` (in `strict`)
may be missing from a row only if the row is full and the item is not nearer than its last entry (up to `eps`).
"""

import torch

# Output tolerances: one rounding to the dtype of values of magnitude ~1 (kernels compute in float32 or float64).
TOL = {
    torch.float16: dict(rtol=2e-3, atol=2e-3),
    torch.bfloat16: dict(rtol=1.6e-2, atol=1.6e-2),
    torch.float32: dict(rtol=1e-5, atol=1e-5),
    torch.float64: dict(rtol=1e-10, atol=1e-10),
}
FLOAT_DTYPES = list(TOL)


def decision_eps(dtype) -> float:
    """How far from a threshold a float32 (float64 for float64 inputs) computation may decide differently."""
    return 1e-9 if dtype == torch.float64 else 1e-4


def assert_tie_aware_selection(idx, key, strict, loose, eps):
    """idx (M, K) chosen candidate columns per row (-1 padding); key, strict, loose (M, Q) over all candidates."""
    M, K = idx.shape
    valid = idx >= 0
    assert not (~valid[:, :-1] & valid[:, 1:]).any(), "padding (-1) must only follow the chosen items"
    safe = idx.clamp_min(0)
    assert loose.gather(1, safe)[valid].all(), "a chosen item is not a hit, not even up to rounding"
    times = torch.zeros(strict.shape, dtype=torch.int64, device=idx.device).scatter_add_(1, safe, valid.long())
    assert (times <= 1).all(), "an item is chosen twice in one row"
    chosen = times > 0
    kz = key.gather(1, safe)
    both = valid[:, 1:] & valid[:, :-1]
    assert (kz[:, 1:][both] >= kz[:, :-1][both] - eps).all(), "a row is not sorted by depth"
    count = valid.sum(1)
    last = torch.where(count > 0, kz.gather(1, (count - 1).clamp_min(0)[:, None])[:, 0], -torch.inf)
    missing = strict & ~chosen
    ok = (count == K)[:, None] & (key >= last[:, None] - eps)
    assert (ok | ~missing).all(), "a clear hit nearer than the row's last entry is missing"
