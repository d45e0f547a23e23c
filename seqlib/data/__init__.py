"""Offline data for the book: generated tasks and loaders for data that ships in PyPI packages."""
from .tasks import Split, adding_problem, adding_splits, copy_memory, copy_splits

__all__ = ["Split", "adding_problem", "adding_splits", "copy_memory", "copy_splits"]
