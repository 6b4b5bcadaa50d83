"""Utilities: model summary (and the helpers in this package's other modules)."""
from .summary import summary

__all__ = ["summary"]
