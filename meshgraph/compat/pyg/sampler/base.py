"""`torch_geometric.sampler.base` mirror (homogeneous; HeteroSamplerOutput comes with issue 15's hetero part)."""

from ....sampling.sampler import (
    BaseSampler,
    DataType,
    EdgeSamplerInput,
    NegativeSampling,
    NegativeSamplingMode,
    NodeSamplerInput,
    NumNeighbors,
    SamplerOutput,
    SubgraphType,
)

__all__ = ["BaseSampler", "DataType", "EdgeSamplerInput", "NegativeSampling", "NegativeSamplingMode", "NodeSamplerInput",
           "NumNeighbors", "SamplerOutput", "SubgraphType"]

# --- hetero sampling (issue 15)
from ....sampling.hetero_sampler import HeteroSamplerOutput

__all__ += ["HeteroSamplerOutput"]
# --- end hetero sampling
