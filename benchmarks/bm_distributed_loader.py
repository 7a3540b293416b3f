"""Distributed loader overhead (issue 15, "Speed and memory"): with 2 gloo processes on this machine, mini-batch
throughput per process >= 60 % of the single-process throughput.

Workload: the W11 graph of bm_neighbor_loader (the W10 community graph, fixed seed; default 2,000,000 nodes,
40,000,000 edges, 128 features: it must fit twice in memory, the whole graph in this process and its parts in the
ranks), fan-out [15, 10, 5], batch 1024, 20 batches (--quick: 20,000 nodes, 200,000 edges, 16 features, batch 256,
3 batches). --nodes, --edges, --features, --batch, --batches, --train-batches, --hidden, --procs override them
(the medium run: `--nodes 200000 --edges 4000000`).

Every process runs ONE thread. Rows (ms per batch, and batches per second per process):
- one process, meshgraph.sampling.NeighborLoader over the whole graph: the single-process baseline;
- one process, meshgraph.distributed.DistNeighborLoader on a 1-part partition (no peers, no communication): what
  the distributed code path costs by itself;
- --procs processes (default 2) on this machine, gloo, on a METIS partition (meshgraph.distributed.partition_graph):
  each rank's DistNeighborLoader over the nodes it owns (per hop one batched request/answer exchange, then one
  feature exchange per attribute), timed between barriers, every rank reporting its own rate.
Each loader batch is sampled and its features (x, y) gathered; the training rows (--hidden > 0, default 256) add a
3-layer SAGE step with trim_to_layer (under DDP across the ranks).

Checked before timing: in every rank, one batch of given seeds (nodes the rank owns) from DistNeighborSampler with a
given generator seed equals what the single-process NeighborSampler gives over the whole graph for the same seeds and
seed (nodes, edges, CSC positions, e_id, per-hop counts; x compared through a digest of its bytes), computed by this
process; the ranks agree on the check before any rank times.

The ranks are started by this script (RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT set as torchrun does) and run
this file with `--worker DIR` (DIR holds the config, the partition and the check files).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from _common import bench_args, report

ROOT = Path(__file__).resolve().parents[1]


def _digest(t: torch.Tensor) -> str:
    return hashlib.blake2b(t.contiguous().numpy().tobytes(), digest_size=16).hexdigest()


def _forever(loader):
    while True:
        yield from loader


def time_batches(loader, n: int, step=None, barrier=None) -> dict:
    """Runs one warm-up batch, then times `n` batches (each: the loader's batch, plus `step(batch)` when given).
    `barrier` (a callable) runs before the clock starts and before it stops: every rank times the same window."""
    it = _forever(loader)
    b = next(it)
    if step is not None:
        step(b)
    if barrier is not None:
        barrier()
    edges = nodes = 0
    t = time.perf_counter()
    for _ in range(n):
        b = next(it)
        edges += b.edge_index.size(1)
        nodes += b.n_id.numel()
        if step is not None:
            step(b)
    own = time.perf_counter() - t  # this process's own time for its n batches
    if barrier is not None:
        barrier()
    return {"batches_per_s": n / own, "ms_per_batch": own / n * 1e3, "edges_per_batch": edges / n,
            "nodes_per_batch": nodes / n}


def sage_step(F: int, hidden: int, classes: int, ddp: bool = False):
    """A 3-layer SAGE (bm_neighbor_loader.SAGE, meshgraph SAGEConv, trim_to_layer) training step on a batch."""
    from bm_neighbor_loader import SAGE

    from meshgraph.nn import SAGEConv
    from meshgraph.sampling import trim_to_layer

    torch.manual_seed(0)
    model = SAGE(SAGEConv, F, hidden, classes)
    if ddp:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(b):
        out = model(b.x, b.edge_index, b.num_sampled_nodes, b.num_sampled_edges, trim_to_layer)[: b.batch_size]
        loss = torch.nn.functional.cross_entropy(out, b.y[: b.batch_size])
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


# ------------------------------------------------------------------------------------------------ rank process
def worker(work: Path) -> None:
    import torch.distributed as dist

    from meshgraph.distributed import DistNeighborLoader, DistNeighborSampler, init_distributed, load_partition

    cfg = json.loads((work / "config.json").read_text())
    rank, world, _ = init_distributed("gloo", timeout_s=cfg["timeout"])
    torch.set_num_threads(1)
    part = load_partition(work / f"parts{world}", rank)
    chk = torch.load(work / f"check_{rank}.pt")
    sampler = DistNeighborSampler(part, cfg["fanout"])
    out = sampler.sample(chk["seeds"], torch.Generator().manual_seed(chk["gen_seed"]))
    x = sampler.fetch(out.node, ["x"])["x"]
    bad = [k for k in ("node", "row", "col", "edge") if not torch.equal(getattr(out, k), chk[k])]
    bad += [] if torch.equal(out.metadata[2], chk["e_id"]) else ["e_id"]
    bad += [] if out.num_sampled_nodes == chk["nn"] and out.num_sampled_edges == chk["ne"] else ["per-hop counts"]
    bad += [] if _digest(x) == chk["x_digest"] else ["x"]
    flags = torch.tensor([len(bad)], dtype=torch.int64)
    dist.all_reduce(flags)  # every rank learns whether any check failed, so none is left waiting in a collective
    res = {"rank": rank, "world": world, "check_failed": bad, "owned": part.num_owned}
    if int(flags) == 0:
        loader = DistNeighborLoader(part, cfg["fanout"], batch_size=cfg["batch"], shuffle=True,
                                    generator=torch.Generator().manual_seed(rank), node_attrs=["x", "y"])
        loader.sampler.stats = {k: 0 for k in loader.sampler.stats}
        res["load"] = time_batches(loader, cfg["batches"], barrier=dist.barrier)
        st = loader.sampler.stats
        per = cfg["batches"] + 1
        res["remote_fraction"] = st["remote_nodes"] / max(st["frontier_nodes"], 1)
        res["bytes_sent_per_batch"] = st["bytes_sent"] / per
        if cfg["hidden"]:
            step = sage_step(cfg["features"], cfg["hidden"], cfg["classes"], ddp=True)
            res["train"] = time_batches(loader, cfg["train_batches"], step, barrier=dist.barrier)
    (work / f"rank_{rank}.json").write_text(json.dumps(res))
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(work: Path, world: int, timeout: float) -> list[dict]:
    """Starts `world` ranks of this file's worker, waits for them, returns their results (rank order)."""
    port = _free_port()
    path = os.pathsep.join([str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))
    procs = []
    for r in range(world):
        env = dict(os.environ, RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port), OMP_NUM_THREADS="1", PYTHONPATH=path)
        procs.append(subprocess.Popen([sys.executable, __file__, "--worker", str(work)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    logs, deadline = [], time.monotonic() + timeout
    for p in procs:
        try:
            text, _ = p.communicate(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise RuntimeError(f"the {world} ranks did not finish within {timeout:.0f} s") from None
        logs.append((p.returncode, text))
    for r, (code, text) in enumerate(logs):
        if code != 0:
            raise RuntimeError(f"rank {r} of {world} exited with {code}:\n{text[-4000:]}")
    return [json.loads((work / f"rank_{r}.json").read_text()) for r in range(world)]


def write_checks(data, fanout, parts: torch.Tensor, world: int, B: int, work: Path) -> None:
    """For each rank: B seeds it owns and a generator seed, with what the single-process sampler gives for them."""
    from meshgraph.sampling import NeighborSampler, NodeSamplerInput

    ref = NeighborSampler(data, fanout)
    g = torch.Generator().manual_seed(1)
    for r in range(world):
        owned = torch.nonzero(parts == r).view(-1)
        seeds = owned[torch.randperm(owned.numel(), generator=g)[:B]]
        torch.manual_seed(1000 + r)  # the default generator in the state the rank's generator starts in
        want = ref.sample_from_nodes(NodeSamplerInput(None, seeds))
        e_id = ref.perm[want.edge] if ref.perm is not None else want.edge
        torch.save({"seeds": seeds, "gen_seed": 1000 + r, "node": want.node, "row": want.row, "col": want.col,
                    "edge": want.edge, "e_id": e_id, "nn": list(want.num_sampled_nodes),
                    "ne": list(want.num_sampled_edges), "x_digest": _digest(data.x[want.node])},
                   work / f"check_{r}.pt")


def main(argv=None):
    args = bench_args(argv, nodes=(int, None), edges=(int, None), features=(int, None), batch=(int, None),
                      batches=(int, None), hidden=(int, None), procs=(int, 2), timeout=(float, 1800.0),
                      **{"train-batches": (int, None), "work-dir": (str, None)})
    from bm_neighbor_loader import w11_graph

    from meshgraph.distributed import DistNeighborLoader, load_partition, partition_graph
    from meshgraph.sampling import NeighborLoader

    if args.quick:
        N, E, F, B, n, n_train, hidden = 20_000, 200_000, 16, 256, 3, 2, 32
    else:
        N, E, F, B, n, n_train, hidden = 2_000_000, 40_000_000, 128, 1024, 20, 10, 256
    N, E, F, B, n = args.nodes or N, args.edges or E, args.features or F, args.batch or B, args.batches or n
    n_train, hidden = args.train_batches or n_train, hidden if args.hidden is None else args.hidden
    fan, P = [15, 10, 5], args.procs
    torch.set_num_threads(1)  # every process of this benchmark runs one thread
    print(f"one thread per process (--threads is ignored); {P} gloo processes on this machine")
    data = w11_graph(N, E, F)
    classes = int(data.y.max()) + 1
    print(f"W11 graph: {N} nodes, {data.edge_index.size(1)} edges, {F} features, fan-out {fan}, batch {B}, "
          f"{n} batches ({n_train} with training, hidden {hidden})")
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="bm_distributed_loader_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t = time.perf_counter()
        partition_graph(data, P, work / f"parts{P}")
        owner = torch.load(work / f"parts{P}" / "node_owner.pt").long()
        cut = float((owner[data.edge_index[0]] != owner[data.edge_index[1]]).double().mean())
        sizes = torch.bincount(owner, minlength=P).tolist()
        print(f"METIS partition into {P} parts: {time.perf_counter() - t:.1f} s, owned nodes {sizes}, edge cut "
              f"{cut:.3f}")
        write_checks(data, fan, owner, P, B, work)
        (work / "config.json").write_text(json.dumps({"fanout": fan, "batch": B, "batches": n,
                                                      "train_batches": n_train, "hidden": hidden, "features": F,
                                                      "classes": classes, "timeout": min(args.timeout, 600.0)}))

        torch.manual_seed(0)
        single = {"load": time_batches(NeighborLoader(data, fan, batch_size=B, shuffle=True), n)}
        one = load_partition(partition_graph(data, 1, work / "parts1", parts=torch.zeros(N, dtype=torch.long)), 0)
        dist1 = DistNeighborLoader(one, fan, batch_size=B, shuffle=True, generator=torch.Generator().manual_seed(0),
                                   node_attrs=["x", "y"])
        one_part = {"load": time_batches(dist1, n)}
        if hidden:
            torch.manual_seed(0)
            loader = NeighborLoader(data, fan, batch_size=B, shuffle=True)
            single["train"] = time_batches(loader, n_train, sage_step(F, hidden, classes))
            one_part["train"] = time_batches(dist1, n_train, sage_step(F, hidden, classes))
        del one, dist1
        ranks = launch(work, P, args.timeout)
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    failed = {r["rank"]: r["check_failed"] for r in ranks if r["check_failed"]}
    assert not failed, f"distributed batches differ from the single-process sampler's: {failed}"
    print(f"checked: each rank's batch equals the single-process sampler's (nodes, edges, e_id, x)")
    for r in ranks:
        print(f"rank {r['rank']}: owns {r['owned']} nodes, remote fraction of the frontier "
              f"{r['remote_fraction']:.3f}, {r['bytes_sent_per_batch'] / 2**20:.2f} MB sent per batch")

    for key, what in (("load", f"sample + gather x, y; {n} batches"), ("train", f"+ 3-layer SAGE step (hidden "
                                                                             f"{hidden}); {n_train} batches")):
        if key not in single:
            continue
        rows = [("meshgraph NeighborLoader, 1 process", single[key]["ms_per_batch"]),
                ("meshgraph DistNeighborLoader, 1 part", one_part[key]["ms_per_batch"])]
        rows += [(f"meshgraph DistNeighborLoader, {P} procs, rank {r['rank']}", r[key]["ms_per_batch"])
                 for r in ranks]
        report(f"distributed loader, one thread per process, {what} (ms per batch per process)", rows, rows[0][0])
        base = single[key]["batches_per_s"]
        rates = [r[key]["batches_per_s"] for r in ranks]
        print(f"  edges per batch: 1 process {single[key]['edges_per_batch']:.0f}, ranks "
              f"{[round(r[key]['edges_per_batch']) for r in ranks]}")
        print(f"  per-process throughput with {P} processes: {min(rates) / base:.0%} (slowest rank) / "
              f"{sum(rates) / len(rates) / base:.0%} (mean) of one process's {base:.2f} batches/s "
              f"(goal >= 60 %); all {P} together: {sum(rates) / base:.2f}x")
        edge_rate = lambda s: s[key]["edges_per_batch"] * s[key]["batches_per_s"]  # noqa: E731
        e0 = edge_rate(single)
        print(f"  in sampled edges per second (the batches differ in size): slowest rank "
              f"{min(edge_rate(r) for r in ranks) / e0:.0%}, 1 part {edge_rate(one_part) / e0:.0%} of one "
              f"process's {e0 / 1e6:.3f} M/s")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker(Path(sys.argv[2]))
    else:
        main()
