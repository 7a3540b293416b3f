"""Datasets read from local files (no downloads)."""

from .planetoid import load_planetoid
from .tu import TUDataset, read_tu_data, write_tu_data

__all__ = ["TUDataset", "load_planetoid", "read_tu_data", "write_tu_data"]

# --- distributed (issue 15)
from .sbm import sbm_bayes_accuracy, stochastic_block_model_graph  # noqa: E402

__all__ += ["sbm_bayes_accuracy", "stochastic_block_model_graph"]
# --- end distributed
