"""A pytest plugin: each notebook that nbval executes without a failure goes into the jupyter-cache
that `make book` reads, so CI runs every chapter once (under nbval) and the book shows that run.

    python -m pytest -p _ext.nbval_cache --nbval-lax --nbval-current-env chapters

nbval runs a notebook's code cells in one kernel (cwd: the notebook's folder, as myst-nb's
execution) and keeps each cell's outputs (stream, display_data, execute_result, error) on the test
item; this plugin writes them into the notebook's cells as it goes. When the last cell of a
notebook has run and none failed or was skipped, the notebook (its code unchanged, so jupyter-cache's
hash of it matches the file's) is stored with the hash of the other inputs it read
(execute_chapters.inputs_hash: seqlib, the claims catalogue, recorded runs), exactly as
`_ext/execute_chapters.py` stores its own runs. A notebook with a failed or skipped cell is not
stored: `make book` would then execute it itself (and fail on the same error).
"""
from __future__ import annotations

import time

import nbformat
import pytest
from jupyter_cache import get_cache
from nbval.plugin import IPyNbCell

from _ext.execute_chapters import CACHE, ROOT, inputs_hash, store

_runs: dict = {}  # notebook path -> {"start", "inputs", "count", "complete"}
_lines: list[str] = []  # what happened to each notebook, printed at the end of the session


def _run_of(item) -> dict:
    path = item.parent.path
    if path not in _runs:  # the notebook's first cell: what it reads is hashed before it runs
        _runs[path] = {"start": time.perf_counter(), "inputs": inputs_hash(), "count": 0, "complete": True}
    return _runs[path]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if isinstance(item, IPyNbCell):
        _run_of(item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if not isinstance(item, IPyNbCell):
        return
    report, run = outcome.get_result(), _run_of(item)
    if report.failed or report.skipped:
        run["complete"] = False
    elif call.when == "call" and item.cell.source.strip():  # nbclient skips empty cells, as here
        run["count"] += 1
        outputs = [nbformat.from_dict(dict(o)) for o in getattr(item, "test_outputs", [])]
        for o in outputs:
            if o.output_type == "execute_result":
                o.execution_count = run["count"]
        item.cell.outputs, item.cell.execution_count = outputs, run["count"]


@pytest.hookimpl(tryfirst=True)  # before nbval's teardown stops the kernel
def pytest_runtest_teardown(item, nextitem):
    if not isinstance(item, IPyNbCell) or (nextitem is not None and nextitem.parent is item.parent):
        return
    path = item.parent.path
    run = _runs.pop(path, None)
    rel, where = (p.relative_to(ROOT) if p.is_relative_to(ROOT) else p for p in (path, CACHE))
    if run is None or not run["complete"]:
        _lines.append(f"{rel} had a failed or skipped cell: not cached")
        return
    seconds = time.perf_counter() - run["start"]
    nb = item.parent.nb
    info = item.parent.kernel.kc.kernel_info(reply=True, timeout=30)["content"]
    nb.metadata["language_info"] = info["language_info"]  # as nbclient records it (myst-nb's lexer)
    nbformat.validate(nb)
    store(get_cache(str(CACHE)), path, nb, seconds, run["inputs"])
    _lines.append(f"{rel} passed in {seconds:.1f} s, stored in {where}")


def pytest_terminal_summary(terminalreporter):
    if _lines:
        terminalreporter.section("nbval_cache: notebooks stored for `make book`")
        for line in _lines:
            terminalreporter.write_line(line)
