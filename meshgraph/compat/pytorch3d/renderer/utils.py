"""`pytorch3d.renderer.utils` mirror (the names meshgraph has)."""

from ....render.cameras import convert_to_tensors_and_broadcast  # noqa: F401
