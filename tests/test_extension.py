import pytest

from meshgraph import _extension


def test_missing_library_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(_extension, "_C_DIR", str(tmp_path))
    with pytest.raises(_extension.ExtensionNotBuiltError, match="pip install --no-build-isolation"):
        _extension.library_path()


def test_library_is_loaded_and_registers_ops():
    import torch

    assert _extension.load().endswith(".so")
    assert hasattr(torch.ops.meshgraph, "gather_scatter")
    assert isinstance(_extension.has_cuda_kernels(), bool)
