"""`pytorch3d.renderer.utils` mirror (the names meshgraph has)."""

from ....render.cameras import (  # noqa: F401
    TensorAccessor,
    TensorProperties,
    convert_to_tensors_and_broadcast,
    ndc_grid_sample,
    ndc_to_grid_sample_coords,
)
