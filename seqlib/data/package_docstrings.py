"""A larger unlabelled corpus: the docstrings of the third-party packages installed beside Python.

Read with `ast` from the source files under the environment's `site-packages` (nothing is
imported), skipping tests, vendored copies and compiled modules. Which packages are installed is
part of the data: `installed_packages()` lists them with their versions, and the book records that
list with whatever it pretrains on this corpus (chapter 5's word vectors).

Use it as *unlabelled* text only. It is a different corpus from the standard library's docstrings
that the topic task (`seqlib.data.topics`) classifies, but a package may ship a copy of a
standard-library module (backports, vendored code); `package_docstrings(exclude=...)` drops every
docstring whose text equals one of `exclude` (after collapsing whitespace), so that no held-out
text of a task enters pretraining.
"""
from __future__ import annotations

import ast
import sysconfig
from importlib import metadata
from pathlib import Path

from .docstrings import Docstring, module_docstrings

_SKIP_PARTS = {"test", "tests", "testing", "_vendor", "vendor", "vendored", "externals", "_external",
               "__pycache__", "examples", "benchmarks"}


def site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def installed_packages() -> dict[str, str]:
    """Distribution name -> version for every installed distribution, sorted by name."""
    out = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            out[name.lower()] = dist.version
    return dict(sorted(out.items()))


def collapse_space(text: str) -> str:
    return " ".join(text.split())


def package_docstrings(min_chars: int = 40, exclude=(), skip_packages=("seqlib",),
                       root: Path | None = None) -> list[Docstring]:
    """Every module, class and function docstring of at least `min_chars` characters in the
    installed third-party packages, sorted by qualname; texts equal to one of `exclude` (after
    collapsing whitespace) are dropped. `Docstring.package` is the top-level package."""
    root = site_packages() if root is None else Path(root)
    banned = {collapse_space(t) for t in exclude}
    out: list[Docstring] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if len(rel.parts) < 1 or rel.parts[0].endswith((".dist-info", ".egg-info")):
            continue
        if rel.parts[0] in skip_packages or any(p in _SKIP_PARTS or p.startswith("test_") for p in rel.parts):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
            continue
        module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
        package = rel.parts[0].removesuffix(".py")
        out += module_docstrings(tree, module, package, min_chars,
                                 keep=lambda text: collapse_space(text) not in banned)
    out.sort(key=lambda d: d.qualname)
    return out
