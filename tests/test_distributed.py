"""meshgraph.distributed: partitions on disk, sampling across ranks equal to the single-process sampler, DDP
training through examples/distributed_sage.py, a dead rank, broken partition folders.

The multi-process checks run as this file's __main__ (one process per rank, launched with the torchrun
environment variables) in two process groups started together by one module fixture, so the whole file costs
about one start of 5 Python processes: 2 ranks (2-part sampling check, then the example's DDP training) and 3
ranks (3-part sampling check, then rank 2 dies and the others must fail within the process-group timeout)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
FANOUT = [4, 3, 2]
TIMEOUT_S = 30.0  # process-group timeout of the dead-rank check
TRAIN = ["--num-nodes", "2000", "--blocks", "4", "--p-in", "0.02", "--p-out", "0.0005", "--features", "8",
         "--noise", "1.5", "--epochs", "4", "--train-ratio", "0.3", "--fanout", "5", "5"]


def _graph(seed: int = 0, n: int = 240, e: int = 1500):
    from meshgraph.records import Data

    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=g)
    return Data(x=torch.randn(n, 5, generator=g), y=torch.randint(0, 3, (n,), generator=g), edge_index=ei,
                m=torch.rand(n, generator=g) < 0.5, num_nodes=n)


def _seed_batches(rank: int, n: int):
    g = torch.Generator().manual_seed(7 + rank)
    sizes = [16, 1, 30]
    return [torch.randint(0, n, (s,), generator=g) for s in sizes]


# ------------------------------------------------------------------------------------------------ rank process
def _worker(mode: str, parts_dir: str, out_dir: str, train_parts: str) -> None:
    import torch.distributed as dist

    from meshgraph.distributed import DistNeighborLoader, DistNeighborSampler, init_distributed, load_partition

    rank, world, _ = init_distributed(timeout_s=TIMEOUT_S)
    out = Path(out_dir)
    part = load_partition(parts_dir, rank)
    samples = []
    for replace in (False, True):
        sampler = DistNeighborSampler(part, FANOUT, replace=replace)
        gen = torch.Generator().manual_seed(100 + rank)
        for seeds in _seed_batches(rank, part.num_nodes):
            s = sampler.sample(seeds, gen)
            feats = sampler.fetch(s.node, ["x", "y", "m"])
            samples.append({"node": s.node, "row": s.row, "col": s.col, "edge": s.edge, "e_id": s.metadata[2],
                            "nn": s.num_sampled_nodes, "ne": s.num_sampled_edges, **feats})
    loader = DistNeighborLoader(part, FANOUT, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(3))
    batch = next(iter(loader))
    torch.save({"samples": samples, "batch": dict(batch._store.items()) | {"batch_size": batch.batch_size},
                "num_batches": len(loader), "owned": part.owned.numel(), "stats": sampler.stats},
               out / f"samples_{world}_{rank}.pt")
    if mode == "train":
        sys.path.insert(0, str(ROOT / "examples"))
        import distributed_sage

        distributed_sage.main(TRAIN + ["--parts", train_parts, "--out", out_dir, "--batch-size", "32",
                                       "--timeout", str(TIMEOUT_S)])
        return
    # mode "die": the last rank dies; the others keep sampling and must fail, not hang
    dist.barrier()
    if rank == world - 1:
        os._exit(17)
    t0 = time.monotonic()
    sampler = DistNeighborSampler(part, FANOUT)
    try:
        for _ in range(1000):
            sampler.sample(_seed_batches(rank, part.num_nodes)[0])
        err = None
    except Exception as e:  # noqa: BLE001 - recorded for the test
        err = f"{type(e).__name__}: {e}"
    (out / f"died_{rank}.json").write_text(json.dumps({"error": err, "seconds": time.monotonic() - t0}))
    os._exit(0)  # the group is broken; destroying it could block


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(world: int, mode: str, parts_dir: Path, out_dir: Path, train_parts: Path) -> list[subprocess.Popen]:
    port = _free_port()
    procs = []
    for r in range(world):
        env = dict(os.environ, RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port), OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
        procs.append(subprocess.Popen([sys.executable, __file__, mode, str(parts_dir), str(out_dir), str(train_parts)],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    return procs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from meshgraph.distributed import partition_graph

    root = tmp_path_factory.mktemp("dist")
    data = _graph()
    dirs = {}
    for world in (2, 3):
        dirs[world] = partition_graph(data, world, root / f"parts{world}")
    out = root / "out"
    out.mkdir()
    t0 = time.monotonic()
    procs = {2: _launch(2, "train", dirs[2], out, root / "train_parts"),
             3: _launch(3, "die", dirs[3], out, root / "unused")}
    logs = {}
    for world, ps in procs.items():
        logs[world] = []
        for p in ps:
            try:
                text, _ = p.communicate(timeout=240)
            except subprocess.TimeoutExpired:
                for q in ps:
                    q.kill()
                pytest.fail(f"the {world}-rank run hung")
            logs[world].append((p.returncode, text))
    return {"data": data, "out": out, "logs": logs, "dirs": dirs, "seconds": time.monotonic() - t0}


def _check_ok(runs, world, ranks):
    for r in ranks:
        code, text = runs["logs"][world][r]
        assert code == 0, f"rank {r} of {world}: exit {code}\n{text[-3000:]}"


@pytest.mark.parametrize("world", [2, 3])
def test_each_rank_samples_exactly_what_the_single_process_sampler_gives(runs, world):
    from meshgraph.sampling import NeighborSampler, NodeSamplerInput

    _check_ok(runs, world, range(world if world == 2 else world - 1))
    data = runs["data"]
    for rank in range(world):
        got = torch.load(runs["out"] / f"samples_{world}_{rank}.pt")
        i = 0
        for replace in (False, True):
            ref = NeighborSampler(data, FANOUT, replace=replace)
            torch.manual_seed(100 + rank)  # the default generator in the state the rank's generator started in
            for seeds in _seed_batches(rank, data.num_nodes):
                want = ref.sample_from_nodes(NodeSamplerInput(None, seeds))
                s = got["samples"][i]
                i += 1
                for k in ("node", "row", "col", "edge"):
                    assert torch.equal(s[k], getattr(want, k)), (world, rank, replace, k)
                assert s["nn"] == want.num_sampled_nodes and s["ne"] == want.num_sampled_edges
                assert torch.equal(s["e_id"], ref.perm[want.edge])
                assert torch.equal(s["x"], data.x[want.node]) and torch.equal(s["y"], data.y[want.node])
                assert torch.equal(s["m"], data.m[want.node])  # bool attributes travel too
        assert got["stats"]["remote_nodes"] > 0  # the check did cross partitions
        b = got["batch"]
        assert torch.equal(b["x"], data.x[b["n_id"]])
        src, dst = data.edge_index[:, b["e_id"]]
        assert torch.equal(b["n_id"][b["edge_index"][0]], src) and torch.equal(b["n_id"][b["edge_index"][1]], dst)
    counts = [torch.load(runs["out"] / f"samples_{world}_{r}.pt") for r in range(world)]
    assert len({c["num_batches"] for c in counts}) == 1  # lockstep: every rank runs the largest count
    assert max(c["num_batches"] for c in counts) == -(-max(c["owned"] for c in counts) // 8)


def test_ddp_training_matches_single_process_accuracy_within_one_point(runs):
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import distributed_sage
    finally:
        sys.path.pop(0)
    _check_ok(runs, 2, range(2))
    res = [json.loads((runs["out"] / f"distributed_{r}.json").read_text()) for r in range(2)]
    assert res[0]["test_accuracy"] == res[1]["test_accuracy"]
    assert 0 < res[0]["remote_fraction"] < 1
    base = distributed_sage.main(TRAIN + ["--single", "--batch-size", "64"])  # 2 ranks x 32 seeds per step
    assert base["test_accuracy"] > 0.95  # the easy graph is learnt
    assert abs(res[0]["test_accuracy"] - base["test_accuracy"]) <= 0.01, (res[0], base)


def test_a_killed_rank_makes_the_others_fail_within_the_timeout(runs):
    world = 3
    code, _ = runs["logs"][world][world - 1]
    assert code == 17
    for r in range(world - 1):
        code, text = runs["logs"][world][r]
        assert code == 0, text[-3000:]
        rec = json.loads((runs["out"] / f"died_{r}.json").read_text())
        assert rec["error"] is not None, "the survivors kept sampling without the dead rank"
        assert rec["seconds"] < TIMEOUT_S + 15, rec


# ------------------------------------------------------------------------------------- partition folder checks
@pytest.fixture
def folder(tmp_path):
    from meshgraph.distributed import partition_graph

    data = _graph(1, n=60, e=300)
    return data, partition_graph(data, 2, tmp_path / "p")


def test_partition_holds_every_node_once_and_the_edges_of_its_destinations(folder):
    from meshgraph.distributed import load_partition

    data, d = folder
    parts = [load_partition(d, r, data=data) for r in range(2)]
    owned = torch.cat([p.owned for p in parts])
    assert torch.equal(owned.sort().values, torch.arange(data.num_nodes))
    eids = torch.cat([p.edge_id for p in parts])
    assert torch.equal(eids.sort().values, torch.arange(data.edge_index.size(1)))
    for p in parts:
        dst = torch.repeat_interleave(p.owned, p.colptr[1:] - p.colptr[:-1])
        assert torch.equal(data.edge_index[1, p.edge_id], dst) and torch.equal(data.edge_index[0, p.edge_id], p.col)
        assert torch.equal(p.node_attrs["x"], data.x[p.owned])
        assert bool((p.node_owner[p.halo].long() != p.rank).all())


def test_missing_truncated_corrupted_and_foreign_partition_folders_name_the_file(folder, tmp_path):
    from meshgraph.distributed import PartitionError, load_partition, partition_graph

    data, d = folder
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_partition(tmp_path / "nowhere", 0)
    with pytest.raises(ValueError, match=r"rank must be in \[0, 2\)"):
        load_partition(d, 2)
    with pytest.raises(PartitionError, match="META.pt belongs to another graph"):
        load_partition(d, 0, data=_graph(2, n=60, e=300))
    other = partition_graph(_graph(2, n=60, e=300), 2, tmp_path / "other")
    blob = (d / "part_1.pt").read_bytes()
    (d / "part_1.pt").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(PartitionError, match=r"part_1\.pt is truncated"):
        load_partition(d, 1)
    (d / "part_1.pt").write_bytes(blob[:-4] + bytes(4 - i for i in range(4)))
    with pytest.raises(PartitionError, match=r"part_1\.pt is corrupted"):
        load_partition(d, 1)
    (d / "part_1.pt").write_bytes((other / "part_1.pt").read_bytes())
    with pytest.raises(PartitionError, match=r"part_1\.pt is (truncated|corrupted)"):
        load_partition(d, 1)
    # a foreign part whose size and digest were written into META.pt: the stored graph hash still tells
    meta = torch.load(d / "META.pt")
    meta["files"]["part_1.pt"] = torch.load(other / "META.pt")["files"]["part_1.pt"]
    torch.save(meta, d / "META.pt")
    with pytest.raises(PartitionError, match=r"part_1\.pt is from another graph or partitioning"):
        load_partition(d, 1)
    (d / "part_1.pt").unlink()
    with pytest.raises(FileNotFoundError, match=r"part_1\.pt is missing"):
        load_partition(d, 1)
    (d / "META.pt").write_bytes(b"not a torch file")
    with pytest.raises(PartitionError, match=r"META\.pt"):
        load_partition(d, 0)


def test_bad_sampler_input_names_the_argument(folder):
    from meshgraph.distributed import DistNeighborLoader, DistNeighborSampler, load_partition

    data, d = folder
    part = load_partition(d, 0)
    with pytest.raises(ValueError, match="2 parts but the process group has 1"):
        DistNeighborSampler(part, [2])
    from meshgraph.distributed import partition_graph

    one = load_partition(partition_graph(data, 1, d.parent / "one"), 0)
    with pytest.raises(ValueError, match=r"num_neighbors\[1\] must be >= 0"):
        DistNeighborSampler(one, [2, -3])
    with pytest.raises(TypeError, match="num_neighbors must be a list"):
        DistNeighborSampler(one, 3)
    s = DistNeighborSampler(one, [2])
    with pytest.raises(IndexError, match="input_nodes holds node 60"):
        s.sample(torch.tensor([0, 60]))
    with pytest.raises(KeyError, match="'z' is not a node attribute"):
        s.fetch(torch.tensor([0]), ["z"])
    with pytest.raises(ValueError, match="batch_size"):
        DistNeighborLoader(one, [2], batch_size=0)
    with pytest.raises(ValueError, match="input_nodes='nope'"):
        DistNeighborLoader(one, [2], input_nodes="nope")
    # one process, one part: the loader is NeighborLoader's sampler exactly
    b = next(iter(DistNeighborLoader(one, [3, 2], batch_size=5, generator=torch.Generator().manual_seed(1))))
    assert b.batch_size == 5 and torch.equal(b.x, data.x[b.n_id]) and torch.equal(b.n_id[:5], torch.arange(5))


if __name__ == "__main__":
    _worker(*sys.argv[1:5])
