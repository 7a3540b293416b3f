"""`pytorch3d.common` mirror (the names meshgraph has)."""

from .datatypes import Device, get_device, make_device

__all__ = ["Device", "get_device", "make_device"]
