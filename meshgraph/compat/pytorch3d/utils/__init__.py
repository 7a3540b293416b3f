"""`pytorch3d.utils` mirror.

Not mirrored (import fails): torus, checkerboard, the camera conversions.
"""

from .ico_sphere import ico_sphere

__all__ = ["ico_sphere"]
