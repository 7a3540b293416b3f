"""Batched exchanges between ranks on torch.distributed collectives.

Every exchange is one `all_to_all_single` of the per-peer message sizes (P int64s per rank) and one of the payload:
the requests of a hop for all peers travel in one collective, whatever the number of peers. gloo implements
`all_to_all_single` on CPU (its alltoall_base, uneven splits included) but not the list form `all_to_all`, nccl
implements both; so this module only uses `all_to_all_single`, on whatever backend the process group has.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def exchange(send: list[torch.Tensor], group=None, recv_sizes: list[int] | None = None) -> list[torch.Tensor]:
    """send[r] goes to rank r; returns recv[r], what rank r sent to this rank. All tensors of one call share a
    dtype and trailing shape (split along dim 0). `recv_sizes`, when this rank already knows them (the answers to
    its own requests), saves the size exchange. Collective: every rank of `group` must call it."""
    if send and send[0].dtype == torch.bool:  # gloo has no bool collectives
        return [t.view(torch.bool) for t in exchange([t.view(torch.uint8) for t in send], group, recv_sizes)]
    world = dist.get_world_size(group)
    if len(send) != world:
        raise ValueError(f"send must hold one tensor per rank ({world}), got {len(send)}")
    device = send[0].device
    sizes = [int(t.shape[0]) for t in send]
    if recv_sizes is None:
        out_sizes = torch.empty(world, dtype=torch.int64, device=device)
        dist.all_to_all_single(out_sizes, torch.tensor(sizes, dtype=torch.int64, device=device), group=group)
        recv_sizes = out_sizes.tolist()
    payload = torch.cat([t.contiguous() for t in send]) if world > 1 else send[0].contiguous()
    out = payload.new_empty((sum(recv_sizes),) + tuple(send[0].shape[1:]))
    dist.all_to_all_single(out, payload, recv_sizes, sizes, group=group)
    return list(out.split(recv_sizes))


__all__ = ["exchange"]
