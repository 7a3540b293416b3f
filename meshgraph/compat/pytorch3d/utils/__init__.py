"""`pytorch3d.utils` mirror.

Not mirrored (import fails): checkerboard, the camera conversions.
"""

from .ico_sphere import ico_sphere
from .torus import torus

__all__ = ["ico_sphere", "torus"]
