"""Known, documented differences between meshgraph.compat and the peers, and where missing names are planned.

KNOWN_DIFFERENCES: "<peer module>.<name>" -> why a mirrored name's recorded signature check reports a difference
(tests/compat/test_compat_signatures.py accepts exactly these; every other difference fails it).
PLANNED: "<peer module>.<name>" -> the issue that brings a name that is not mirrored yet (docs only).
"""

KNOWN_DIFFERENCES: dict[str, str] = {
    "torch_geometric.data.Data": "lacks debug (a PyG no-op stub)",
    "torch_geometric.nn.MessagePassing": (
        "lacks explain_message (PyG's explain module) and jittable (TorchScript, deprecated by torch): outside "
        "issue 12, as the issue names them"
    ),
}

def _planned(key: str) -> str | None:
    """The issue that brings a not-yet-mirrored peer name, from its module and name."""
    module, _, name = key.rpartition(".")
    if module.startswith("torch_geometric.nn") or module == "torch_geometric.utils":
        return "the graph-learning toolbox (issue 13)"
    if module in ("torch_geometric.loader", "torch_geometric.data"):
        return "large graphs (issue 15)"
    if module in ("pytorch3d.transforms", "pytorch3d.common"):
        return "the 3D scene toolbox (issue 14)"
    if module == "pytorch3d.renderer":
        volume = ("Ray", "Raymarcher", "Raysampler", "Volume", "Implicit", "Harmonic", "ray_bundle")
        return ("volumes and implicit rendering (issue 16)" if any(v in name for v in volume)
                else "the 3D scene toolbox (issue 14)")
    if module == "pytorch3d.structures" and name == "Volumes":
        return "volumes and implicit rendering (issue 16)"
    if module == "pytorch3d.ops":
        return "volumes and geometry (issue 16)"
    if module == "pytorch3d.utils":
        return "the 3D scene toolbox (issue 14)"
    return None


class _Planned(dict):
    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and _planned(key) is not None

    def __getitem__(self, key: str) -> str:
        found = _planned(key)
        if found is None:
            raise KeyError(key)
        return found


PLANNED: dict[str, str] = _Planned()

# --- hetero graphs (issue 15)
# (HeteroData's FeatureStore / GraphStore methods: meshgraph/sampling/data_stores.py)
# --- end hetero graphs
