"""`torch_geometric.data.feature_store` mirror (meshgraph.sampling.stores; implementations: InMemoryFeatureStore, MemmapFeatureStore there)."""

from ....sampling.stores import AttrView, FeatureStore, TensorAttr, _FieldStatus  # noqa: F401 (_FieldStatus as PyG)

__all__ = ["AttrView", "FeatureStore", "TensorAttr"]
