"""`torch_geometric.sampler` mirror: the samplers behind the loaders (meshgraph.sampling.sampler)."""

from ....sampling.sampler import (
    BaseSampler,
    EdgeSamplerInput,
    NegativeSampling,
    NeighborSampler,
    NodeSamplerInput,
    NumNeighbors,
    SamplerOutput,
)

__all__ = ["BaseSampler", "EdgeSamplerInput", "NegativeSampling", "NeighborSampler", "NodeSamplerInput", "NumNeighbors",
           "SamplerOutput"]

# --- hetero sampling (issue 15)
from ....sampling.hetero_loader import HGTSampler
from ....sampling.hetero_sampler import HeteroSamplerOutput

__all__ += ["HGTSampler", "HeteroSamplerOutput"]
# --- end hetero sampling
