"""`pytorch3d.structures.utils` mirror: list / padded / packed conversions of plain tensors."""

from ....structures import list_to_packed, list_to_padded, packed_to_list, padded_to_list, padded_to_packed

__all__ = ["list_to_packed", "list_to_padded", "packed_to_list", "padded_to_list", "padded_to_packed"]
