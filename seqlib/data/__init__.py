"""Offline data for the book: generated tasks and loaders for data that ships in PyPI packages."""
from .order import marker_order, marker_order_splits
from .tasks import ADDING_BASELINE, Split, adding_problem, adding_splits, copy_baseline, copy_memory, copy_splits
from .dates import load_dates
from .g2p import load_g2p
from .text_folder import load_text_folder
from .textdata import TextData
from .topics import load_docstring_topics

__all__ = ["ADDING_BASELINE", "copy_baseline", "Split", "adding_problem", "adding_splits", "copy_memory", "copy_splits",
           "marker_order", "marker_order_splits", "load_text_folder", "TextData", "load_docstring_topics",
           "load_dates", "load_g2p"]
