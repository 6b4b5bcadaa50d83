"""Utilities: model summary, progress bar, and `dynet.utils.data` (torch.utils.data names)."""
from . import data
from .progress import ProgressBar
from .summary import summary

__all__ = ["data", "summary", "ProgressBar"]
