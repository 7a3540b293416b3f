"""`torch_geometric.nn.models.autoencoder` mirror."""

from meshgraph.nn.models import ARGA, ARGVA, EPS, GAE, MAX_LOGSTD, VGAE, InnerProductDecoder

__all__ = ["ARGA", "ARGVA", "EPS", "GAE", "InnerProductDecoder", "MAX_LOGSTD", "VGAE"]
