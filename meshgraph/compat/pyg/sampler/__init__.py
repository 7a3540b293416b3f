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
