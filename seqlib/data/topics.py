"""Which standard-library package is this docstring from? A word-level topic task on real prose.

Records come from `seqlib.data.docstrings.stdlib_docstrings()` (read with `ast` from the installed
Python's source, so the data depend on the Python version: `TextData.source` names it). The
classes are the `n_packages` public top-level packages with the most docstrings (private modules
such as `_pydecimal` are excluded; ties broken by name). Texts are deduplicated first: a docstring
that occurs under two packages is dropped from both, and a repeated docstring within a package is
kept once, so no text appears in two splits. Splits are stratified by package and fixed by the
seed (default 80/10/10); the vocabulary is built on the training split only (words seen at least
`min_count` times); texts are cut to their first `max_len` words.

Docstrings often name their own package ("asyncio", "email"); that is part of the task as real
text poses it, and the chapter shows which words the model relies on.
"""
from __future__ import annotations

import sys
from collections import Counter, defaultdict

from .docstrings import Docstring, stdlib_docstrings
from .textdata import TextData, make_text_data, stratified_split


def topic_packages(records: list[Docstring], n_packages: int = 10) -> list[str]:
    """The n_packages public packages with the most docstrings, largest first (ties by name)."""
    counts = Counter(r.package for r in records if not r.package.startswith("_"))
    if n_packages < 2 or n_packages > len(counts):
        raise ValueError(f"topics: expected n_packages between 2 and {len(counts)}, got {n_packages}")
    return [p for p, _ in sorted(counts.items(), key=lambda pc: (-pc[1], pc[0]))[:n_packages]]


def load_docstring_topics(n_packages: int = 10, val_frac: float = 0.1, test_frac: float = 0.1,
                          seed: int = 0, min_count: int = 2, max_len: int = 64,
                          records: list[Docstring] | None = None) -> TextData:
    """Fixed splits of the docstring-topic task (see the module docstring)."""
    records = stdlib_docstrings() if records is None else records
    packages = topic_packages(records, n_packages)
    label = {p: i for i, p in enumerate(packages)}
    owners: dict[str, set[str]] = defaultdict(set)
    for r in records:
        if r.package in label:
            owners[r.text].add(r.package)
    unique = sorted((text, label[next(iter(pk))]) for text, pk in owners.items() if len(pk) == 1)
    shared = sum(len(pk) > 1 for pk in owners.values())
    splits = stratified_split(unique, val_frac, test_frac, seed, "topics")
    source = (f"docstrings of the Python {sys.version.split()[0]} standard library, {n_packages} largest "
              f"public packages, {len(unique)} distinct texts ({shared} shared by packages dropped), "
              f"stratified split seed {seed}")
    return make_text_data(splits, packages, source, "word", min_count, None, max_len)
