"""`pytorch3d.renderer.camera_utils` mirror (meshgraph.render.cameras)."""

from ....render.cameras import camera_to_eye_at_up, join_cameras_as_batch, rotate_on_spot  # noqa: F401
