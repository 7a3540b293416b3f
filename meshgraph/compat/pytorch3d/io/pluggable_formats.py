"""`pytorch3d.io.pluggable_formats` mirror: the base classes of IO's file formats."""

from ....io.pluggable import MeshFormatInterpreter, PointcloudFormatInterpreter, endswith

__all__ = ["MeshFormatInterpreter", "PointcloudFormatInterpreter", "endswith"]
