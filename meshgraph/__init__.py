"""meshgraph: meshes, point clouds and graphs as one batched graph type, with fused custom ops."""

from . import _extension

_extension.load()

from . import ops  # noqa: E402

__version__ = "0.1.0"
__all__ = ["ops", "__version__"]

from .graph import CSR, Graph, GraphBatch  # noqa: E402

__all__ += ["CSR", "Graph", "GraphBatch"]

from . import convert, datasets, io  # noqa: E402

__all__ += ["convert", "datasets", "io"]

from . import nn  # noqa: E402

__all__ += ["nn"]

from . import losses, utils  # noqa: E402

__all__ += ["losses", "utils"]

from . import render  # noqa: E402

__all__ += ["render"]

# --- utils and transforms (issue 13)
from . import utils_graph  # noqa: E402

__all__ += ["utils_graph"]
# --- end utils and transforms

# --- loaders (issue 15)
from . import sampling  # noqa: E402

__all__ += ["sampling"]
# --- end loaders
# --- hetero graphs (issue 15)
from .hetero import HeteroBatch, HeteroGraph  # noqa: E402

__all__ += ["HeteroBatch", "HeteroGraph"]
# --- end hetero graphs
# --- volumes (issue 16)
from .volumes import VolumeLocator, Volumes, add_pointclouds_to_volumes  # noqa: E402

__all__ += ["VolumeLocator", "Volumes", "add_pointclouds_to_volumes"]
# --- end volumes

# --- distributed (issue 15)
from . import distributed  # noqa: E402

__all__ += ["distributed"]
# --- end distributed
