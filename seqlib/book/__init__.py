"""The book's machinery: claims and verdicts, records with provenance, diagrams, exercises,
widgets and display helpers. The top floor: it may import every other part of `seqlib`, and
nothing in `seqlib` imports it. Submodules load on first use (`seqlib.book.claims`)."""
import importlib

_SUBMODULES = ("claims", "records", "display", "diagrams", "exercises", "widgets")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"seqlib.book.{name}")
    raise AttributeError(f"module 'seqlib.book' has no attribute {name!r}")
