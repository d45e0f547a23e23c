"""Offline data for the book: generated tasks and loaders for data that ships in PyPI packages."""
from .tasks import ADDING_BASELINE, Split, adding_problem, adding_splits, copy_baseline, copy_memory, copy_splits

__all__ = ["ADDING_BASELINE", "copy_baseline", "Split", "adding_problem", "adding_splits", "copy_memory", "copy_splits"]
from .chartext import CharText, char_text

__all__ += ["CharText", "char_text"]
