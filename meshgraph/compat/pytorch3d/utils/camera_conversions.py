"""`pytorch3d.utils.camera_conversions` mirror (meshgraph.render.camera_conversions)."""

from ....render.camera_conversions import (cameras_from_opencv_projection, opencv_from_cameras_projection,
                                           pulsar_from_cameras_projection, pulsar_from_opencv_projection)

__all__ = ["cameras_from_opencv_projection", "opencv_from_cameras_projection", "pulsar_from_cameras_projection",
           "pulsar_from_opencv_projection"]
