"""DDP example: two processes (torchrun, gloo on CPU) train the mesh deformer and end with identical weights."""

import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def test_two_process_ddp_training_ends_with_identical_replicas(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(ROOT / "examples" / "ddp_deform.py"), "--steps", "4", "--samples", "300", "--targets", "4",
           "--out", str(tmp_path)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    w0 = torch.load(tmp_path / "weights_rank0.pt")
    w1 = torch.load(tmp_path / "weights_rank1.pt")
    assert w0.keys() == w1.keys()
    for k in w0:
        assert torch.equal(w0[k], w1[k]), k
    assert (tmp_path / "deformed.obj").exists()
    # training moved the weights (the output layer starts at zero)
    assert any(v.abs().sum() > 0 for k, v in w0.items() if k.startswith("out."))
