"""`pytorch3d.structures.volumes` mirror: meshgraph.volumes' Volumes and VolumeLocator."""

from ....volumes import VolumeLocator, Volumes

__all__ = ["VolumeLocator", "Volumes"]
