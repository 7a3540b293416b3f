import os
from pathlib import Path

import pytest
import torch

import meshgraph  # noqa: F401  (loads the operator library)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if not SHARED_DATA.is_dir():
    SHARED_DATA = Path(os.environ.get("MESHGRAPH_SHARED_DATA", SHARED_DATA))

# Devices the tests run on: the CPU always, CUDA where this torch and machine have it *and* meshgraph was built with
# CUDA kernels (the dispatcher has them: a CPU-only build on a GPU machine runs the CPU tests only). Where both hold,
# the CUDA tests are not optional: they run. MESHGRAPH_TEST_DEVICES=cuda runs only the CUDA ones (tools/gpu_check.sh);
# asking for CUDA where it cannot run is an error, not a silent skip.
CUDA_BUILT = torch._C._dispatch_has_kernel_for_dispatch_key("meshgraph::gather_scatter", "CUDA")
CUDA = torch.cuda.is_available() and CUDA_BUILT
DEVICES = ["cpu"] + (["cuda"] if CUDA else [])
_ONLY = os.environ.get("MESHGRAPH_TEST_DEVICES", "").strip()
if _ONLY:
    DEVICES = [d.strip() for d in _ONLY.split(",") if d.strip()]
    if "cuda" in DEVICES and not CUDA:
        raise RuntimeError(
            f"MESHGRAPH_TEST_DEVICES={_ONLY!r} but CUDA cannot run here: torch.cuda.is_available()="
            f"{torch.cuda.is_available()}, meshgraph built with CUDA kernels: {CUDA_BUILT}"
        )


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


@pytest.fixture
def shared_data():
    assert SHARED_DATA.is_dir(), f"shared data folder missing: {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _seeded_global_rng():
    """Every test starts from the same global RNG state (torch and Python's random), so a draw without an explicit
    generator gives the same inputs whatever ran before or alongside: no test passes or fails by test order."""
    import random

    torch.manual_seed(0)
    random.seed(0)
    yield
