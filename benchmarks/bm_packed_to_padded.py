"""packed_to_padded / padded_to_packed vs the plain-PyTorch ways a user would write them.

Workload: the 8-bunny batch of the gather-scatter benchmark shape, as 8 sets of 35,947 rows (plus varied sizes),
F = 64 features, forward + backward. Peers in the same run: PyTorch3D-style index_copy (the reference kernel idea:
build a flat index, index_copy into zeros) and torch.nn.utils.rnn.pad_sequence over a split list.
Checks every result against meshgraph.ops.reference before timing.
"""

from __future__ import annotations

import torch

from meshgraph.ops import packed_to_padded, padded_to_packed
from meshgraph.ops import reference as ref

from _common import bench_args, report, timeit


def index_copy_p2p(x, first, counts, max_size):
    n = first.numel()
    idx = torch.cat([torch.arange(c) + b * max_size for b, c in enumerate(counts)])
    out = x.new_zeros((n * max_size, *x.shape[1:]))
    return out.index_copy(0, idx, x).view(n, max_size, *x.shape[1:])


def pad_sequence_p2p(x, counts):
    return torch.nn.utils.rnn.pad_sequence(list(torch.split(x, counts)), batch_first=True)


def main(argv=None):
    args = bench_args(argv, features=(int, 64))
    counts = [35947 - 997 * i for i in range(8)] if not args.quick else [50, 0, 7]
    F = args.features if not args.quick else 4
    first = torch.tensor([sum(counts[:i]) for i in range(len(counts))])
    M = max(counts)
    x = torch.randn(sum(counts), F)
    print(f"sets {len(counts)}, rows {sum(counts)}, max_size {M}, F {F}")

    # correctness first
    expect = ref.packed_to_padded(x, first, M)
    assert torch.equal(packed_to_padded(x, first, M), expect)
    assert torch.equal(index_copy_p2p(x, first, counts, M), expect)
    assert torch.equal(pad_sequence_p2p(x, counts), expect)
    assert torch.equal(padded_to_packed(expect, first, x.shape[0]), ref.padded_to_packed(expect, first, x.shape[0]))

    def fwd_bwd(fn):
        def run():
            xr = x.detach().requires_grad_(True)
            fn(xr).sum().backward()
        return run

    rows = [
        ("meshgraph packed_to_padded", timeit(fwd_bwd(lambda a: packed_to_padded(a, first, M)))),
        ("index_copy into zeros (PyTorch3D style)", timeit(fwd_bwd(lambda a: index_copy_p2p(a, first, counts, M)))),
        ("pad_sequence(split)", timeit(fwd_bwd(lambda a: pad_sequence_p2p(a, counts)))),
    ]
    report("packed_to_padded fwd+bwd", rows, "meshgraph packed_to_padded")
    padded = expect
    mask = torch.arange(M)[None, :] < torch.tensor(counts)[:, None]
    rows = [
        ("meshgraph padded_to_packed", timeit(lambda: padded_to_packed(padded, first, x.shape[0]))),
        ("boolean mask indexing", timeit(lambda: padded[mask])),
    ]
    assert torch.equal(padded[mask], x)
    report("padded_to_packed fwd", rows, "meshgraph padded_to_packed")


if __name__ == "__main__":
    main()
