"""Offline data for the book: generated tasks and loaders for data that ships in PyPI packages."""
from .hyphenation import HyphenationData, load_hyphenation
from .tasks import ADDING_BASELINE, Split, adding_problem, adding_splits, copy_baseline, copy_memory, copy_splits

__all__ = ["ADDING_BASELINE", "copy_baseline", "Split", "adding_problem", "adding_splits", "copy_memory", "copy_splits"]
__all__ += ["HyphenationData", "load_hyphenation"]
