import os
from pathlib import Path

import pytest
import torch

import meshgraph  # noqa: F401  (loads the operator library)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if not SHARED_DATA.is_dir():
    SHARED_DATA = Path(os.environ.get("MESHGRAPH_SHARED_DATA", SHARED_DATA))

# Devices the tests run on: the CPU always, CUDA where this torch and machine have it and meshgraph was built
# with CUDA kernels (then the CUDA tests are not optional: they run).
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


@pytest.fixture
def shared_data():
    assert SHARED_DATA.is_dir(), f"shared data folder missing: {SHARED_DATA}"
    return SHARED_DATA
