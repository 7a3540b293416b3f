"""`torch_geometric.nn.models.jumping_knowledge` mirror."""

from meshgraph.nn.models import HeteroJumpingKnowledge, JumpingKnowledge

__all__ = ["HeteroJumpingKnowledge", "JumpingKnowledge"]
