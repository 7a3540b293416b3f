"""`pytorch3d.utils` mirror.

Not mirrored (import fails): checkerboard.
"""

from .camera_conversions import (cameras_from_opencv_projection, opencv_from_cameras_projection,
                                 pulsar_from_cameras_projection, pulsar_from_opencv_projection)
from .ico_sphere import ico_sphere
from .torus import torus

__all__ = ["cameras_from_opencv_projection", "ico_sphere", "opencv_from_cameras_projection",
           "pulsar_from_cameras_projection", "pulsar_from_opencv_projection", "torus"]
