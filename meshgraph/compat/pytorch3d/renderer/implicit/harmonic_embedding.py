"""`pytorch3d.renderer.implicit.harmonic_embedding` mirror (meshgraph.render.implicit.harmonic_embedding)."""

from .....render.implicit.harmonic_embedding import HarmonicEmbedding  # noqa: F401

__all__ = ["HarmonicEmbedding"]
