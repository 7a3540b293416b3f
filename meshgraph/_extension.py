"""Loads meshgraph's compiled operator library (meshgraph/_C/_meshgraph*.so) into torch.ops.meshgraph."""

from __future__ import annotations

import glob
import os

import torch

_C_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_C")
_loaded_path: str | None = None


class ExtensionNotBuiltError(ImportError):
    pass


def library_path() -> str:
    """Path of the compiled library, or ExtensionNotBuiltError saying how to build it."""
    candidates = sorted(glob.glob(os.path.join(_C_DIR, "_meshgraph*.so")) + glob.glob(os.path.join(_C_DIR, "_meshgraph*.pyd")))
    if not candidates:
        raise ExtensionNotBuiltError(
            f"meshgraph's compiled operators are missing (no _meshgraph*.so in {_C_DIR}). Build them from the "
            "source checkout with:  pip install torch==2.13.0 setuptools wheel ninja && "
            "pip install --no-build-isolation -e .   (see README.md)"
        )
    return candidates[0]


def load() -> str:
    """Load the library once; returns its path."""
    global _loaded_path
    if _loaded_path is None:
        path = library_path()
        try:
            torch.ops.load_library(path)
        except OSError as e:  # built against another torch, or a broken build
            raise ExtensionNotBuiltError(
                f"meshgraph's compiled operators at {path} failed to load ({e}). They were probably built against "
                f"another torch than the installed {torch.__version__}: rebuild with "
                "pip install --no-build-isolation -e ."
            ) from e
        _loaded_path = path
    return _loaded_path


def has_cuda_kernels() -> bool:
    """True when the library was built with its CUDA kernels."""
    load()
    return torch._C._dispatch_has_kernel_for_dispatch_key("meshgraph::packed_to_padded", "CUDA")
