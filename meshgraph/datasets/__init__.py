"""Datasets read from local files (no downloads)."""

from .planetoid import load_planetoid
from .tu import TUDataset, read_tu_data, write_tu_data

__all__ = ["TUDataset", "load_planetoid", "read_tu_data", "write_tu_data"]
