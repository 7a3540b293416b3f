"""`torch_geometric.utils._grid` mirror."""

from ....utils_graph import grid, grid_index, grid_pos

__all__ = ["grid", "grid_index", "grid_pos"]
