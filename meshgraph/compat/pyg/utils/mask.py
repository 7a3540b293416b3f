"""`torch_geometric.utils.mask` mirror."""

from ....utils_graph import index_to_mask, mask_select, mask_to_index

__all__ = ["index_to_mask", "mask_select", "mask_to_index"]
