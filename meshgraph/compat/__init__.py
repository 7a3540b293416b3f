"""Drop-in mirrors of peer libraries' module trees, on meshgraph's own implementations.

`meshgraph.compat.pytorch3d.<module>` mirrors `pytorch3d.<module>` (PyTorch3D 0.7.x) and
`meshgraph.compat.pyg.<module>` mirrors `torch_geometric.<module>` (PyG 2.8): same names, positional order,
keyword names, defaults, return types. A name meshgraph does not implement is absent (its import fails); these
modules never import the peers. See docs/migration_pytorch3d.md and docs/migration_pyg.md for every mirrored name.
"""
