"""`pytorch3d` mirror: `from pytorch3d.X import Y` becomes `from meshgraph.compat.pytorch3d.X import Y`."""

__version__ = "0.7.9"
