"""`make test` runs the chapters under nbval, and _ext/nbval_cache.py stores each notebook nbval
executed in the jupyter-cache that `make book` reads: what it stores is what jupyter-cache's own
executor (nbclient) would have stored, a notebook with a failing cell is not stored, and `make book`
finds the stored run by the notebook's code."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

pytest.importorskip("nbval")
jupyter_cache = pytest.importorskip("jupyter_cache")
from jupyter_cache.executors.utils import single_nb_execution  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CELLS = ["import sys\nprint('out')\nprint('err', file=sys.stderr)\n1 + 1",
         "from IPython.display import Markdown, display\ndisplay(Markdown('*a*'))",
         "import matplotlib\nmatplotlib.use('agg')\nimport matplotlib.pyplot as plt\n"
         "plt.plot([1, 2])\nplt.show()",
         "",
         "import os\nprint(os.path.basename(os.getcwd()))"]


def _notebook(path: Path, cells: list[str]) -> Path:
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                               "language": "python"}})
    nb.cells = [new_markdown_cell("# A page")] + [new_code_cell(c) for c in cells]
    for i, c in enumerate(nb.cells):
        c["id"] = f"cell-{i}"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _nbval(paths, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SEQLIB_JUPYTER_CACHE": str(cache), "TQDM_DISABLE": "1"}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "_ext.nbval_cache", "--nbval-lax",
                           "--nbval-current-env", "-q", "-p", "no:cacheprovider", *map(str, paths)],
                          cwd=ROOT, env=env, capture_output=True, text=True)


def _outputs(nb) -> list:
    """Each code cell's execution count and outputs (a figure's PNG compared by presence)."""
    def one(o):
        o = dict(o)
        if "data" in o:
            o["data"] = {k: (bool(v) if k == "image/png" else v) for k, v in o["data"].items()}
        return json.dumps(o, sort_keys=True, default=str)
    return [(c.execution_count, [one(o) for o in c.outputs]) for c in nb.cells if c.cell_type == "code"]


def test_nbval_run_is_cached_as_nbclient_would_store_it(tmp_path):
    good = _notebook(tmp_path / "book" / "good.ipynb", CELLS)
    bad = _notebook(tmp_path / "book" / "bad.ipynb", ["x = 1", "assert x == 2, 'a failed check'", "print(x)"])
    cache = tmp_path / "cache"
    r = _nbval([good, bad], cache)
    assert r.returncode == 1, r.stdout[-3000:]  # the failing check fails the run
    assert "good.ipynb passed" in r.stdout
    assert "bad.ipynb had a failed or skipped cell: not cached" in r.stdout

    store = jupyter_cache.get_cache(str(cache))
    assert len(store.list_cache_records()) == 1  # the failed notebook is not cached
    record = store.list_cache_records()[0]
    assert record.data["inputs"] and record.data["execution_seconds"] > 0

    _, cached = store.merge_match_into_notebook(nbformat.read(good, as_version=4))  # what myst-nb does
    reference = nbformat.read(good, as_version=4)
    result = single_nb_execution(reference, cwd=str(good.parent), allow_errors=False, timeout=120,
                                 meta_override=True)
    assert result.err is None
    assert _outputs(cached) == _outputs(reference)
    assert cached.metadata["language_info"]["name"] == "python"
    assert any("book" in o.get("text", "") for o in cached.cells[-1].outputs)  # cwd: the notebook's folder

    with pytest.raises(KeyError):  # an edited notebook does not match the stored run
        store.match_cache_notebook(nbformat.read(_notebook(tmp_path / "edited.ipynb", CELLS[:-1]),
                                                 as_version=4))
