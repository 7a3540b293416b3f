"""meshgraph operators: validated public wrappers over the custom ops in torch.ops.meshgraph."""

from .packed_to_padded import packed_to_padded, padded_to_packed

__all__ = ["packed_to_padded", "padded_to_packed"]
