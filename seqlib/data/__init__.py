"""Offline data for the book: generated tasks and loaders for data that ships in PyPI packages."""
from .tasks import ADDING_BASELINE, Split, adding_problem, adding_splits, copy_baseline, copy_memory, copy_splits
from .dates import load_dates
from .g2p import load_g2p

__all__ = ["ADDING_BASELINE", "copy_baseline", "Split", "adding_problem", "adding_splits", "copy_memory", "copy_splits", "load_dates", "load_g2p"]
