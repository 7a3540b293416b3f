"""`pytorch3d.transforms.transform3d` mirror (meshgraph.transforms)."""

from ....transforms.transform3d import Rotate, RotateAxisAngle, Scale, Transform3d, Translate  # noqa: F401
