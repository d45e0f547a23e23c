"""Real English prose that ships with every Python: the docstrings of the standard library.

The text is read from the standard library's source files with `ast` (nothing is imported), so it
is the same on every machine with the same Python version. Each record carries its top-level
package ('email', 'json', 'asyncio', ...), which makes a topic-classification label. Python's
version is part of the data: `describe()` says which one was read.
"""
from __future__ import annotations

import ast
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Docstring:
    package: str  # top-level package or module of the standard library, e.g. 'email'
    qualname: str  # module path and object, e.g. 'email.message.Message.get_payload'
    text: str  # the docstring, dedented by ast.get_docstring


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


_SKIP = {"test", "tests", "idlelib", "lib2to3", "site-packages", "dist-packages", "turtledemo",
         "__pycache__", "ensurepip", "venv", "pydoc_data", "tkinter"}


def module_docstrings(tree: ast.Module, module: str, package: str, min_chars: int,
                      keep=lambda text: True) -> list[Docstring]:
    """The docstrings of a parsed module: the module's own and every function's and class's, of
    at least `min_chars` characters and accepted by `keep(text)`, in the order `ast.walk` meets
    them (the module first)."""
    nodes = [(module, tree)]
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            nodes.append((f"{module}.{node.name}", node))
    out = []
    for qualname, node in nodes:
        text = ast.get_docstring(node)
        if text and len(text) >= min_chars and keep(text):
            out.append(Docstring(package, qualname, text))
    return out


def stdlib_docstrings(min_chars: int = 40) -> list[Docstring]:
    """Every module, class and function docstring of at least `min_chars` characters, sorted by qualname."""
    root = stdlib_root()
    out: list[Docstring] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if any(part in _SKIP or part.startswith("test") for part in rel.parts):
            continue
        module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        out += module_docstrings(tree, module, module.split(".")[0], min_chars)
    if not out:
        raise RuntimeError(f"docstrings: found no docstrings under {root}; is the standard library's source installed?")
    out.sort(key=lambda d: d.qualname)
    return out


def describe() -> str:
    return f"docstrings of the Python {sys.version.split()[0]} standard library at {stdlib_root()}"
