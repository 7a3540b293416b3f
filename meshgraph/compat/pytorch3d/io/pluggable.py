"""`pytorch3d.io.pluggable` mirror."""

from ....io.pluggable import IO

__all__ = ["IO"]
