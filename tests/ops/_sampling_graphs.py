"""Small CSR graphs shared by the sampling tests (test_neighbor_sample.py, test_random_walk.py)."""

import torch


def random_csr(N, E, seed, device="cpu", isolated=3):
    """A random multigraph in CSR with self-loops, repeated edges and `isolated` nodes without out-edges."""
    g = torch.Generator().manual_seed(seed)
    row = torch.randint(0, max(N - isolated, 1), (E,), generator=g)
    col = torch.randint(0, N, (E,), generator=g)
    row, perm = row.sort(stable=True)
    col = col[perm]
    rowptr = torch.zeros(N + 1, dtype=torch.long)
    rowptr[1:] = torch.bincount(row, minlength=N).cumsum(0)
    return rowptr.to(device), col.to(device)


def star(n_leaves, device="cpu"):
    """Node 0 -> 1..n_leaves, leaves without out-edges."""
    rowptr = torch.tensor([0] + [n_leaves] * (n_leaves + 1))
    return rowptr.to(device), torch.arange(1, n_leaves + 1, device=device)
