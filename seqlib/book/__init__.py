"""The book's machinery: claims and verdicts, records with provenance, diagrams, exercises,
widgets and display helpers. The top floor: it may import every other part of `seqlib`, and
nothing in `seqlib` imports it. Submodules load on first use (`seqlib.book.claims`)."""
import importlib
import importlib.util

# What the book's machinery imports beyond torch: seqlib's `book` extra (import name -> distribution).
_EXTRA = {"yaml": "PyYAML", "matplotlib": "matplotlib", "IPython": "ipython", "ipywidgets": "ipywidgets",
          "myst_nb": "myst-nb"}
_missing = [dist for mod, dist in _EXTRA.items() if importlib.util.find_spec(mod) is None]
if _missing:
    raise ModuleNotFoundError(f"seqlib.book needs {', '.join(_missing)}, which seqlib's book extra installs: "
                              f"pip install 'seqlib[book]'", name=_missing[0])

_SUBMODULES = ("claims", "records", "display", "diagrams", "exercises", "widgets")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"seqlib.book.{name}")
    raise AttributeError(f"module 'seqlib.book' has no attribute {name!r}")
