"""Datasets read from local files (no downloads)."""

from .planetoid import load_planetoid

__all__ = ["load_planetoid"]
