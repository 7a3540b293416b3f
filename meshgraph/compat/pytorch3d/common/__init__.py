"""`pytorch3d.common` mirror (the names meshgraph has)."""
