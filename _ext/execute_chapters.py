"""Executes every notebook of the book once, into the cache that `make book` reads.

    python _ext/execute_chapters.py [--timeout 900] [chapters/01_rnn.ipynb ...]

    python _ext/execute_chapters.py --prune    # drop cached runs made with other inputs

`make test-chapters` runs this (`make test` runs the same notebooks under nbval instead, and
_ext/nbval_cache.py stores each one nbval executed in the same cache): each notebook listed in
`_toc.yml` is executed top to bottom in a fresh kernel (cwd: chapters/), exactly as myst-nb's
"cache" execution mode would, and stored in jupyter-cache at `_build/.jupyter_cache`. A notebook
whose cell raises (a failed check included) fails the run, with the cell and traceback printed.
`make book` then finds each notebook in the cache (matched by a hash of its code) and does not
execute it again, so CI runs every chapter once. A cached run also remembers a hash of what the
notebooks read besides their own code (seqlib, the claims catalogue, recorded runs); `make book`
first prunes the runs whose inputs have changed since, so an edited library or record is never
shown with stale outputs.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

import nbformat
import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution

ROOT = Path(__file__).resolve().parent.parent
# _config.yml's execute.cache (SEQLIB_JUPYTER_CACHE moves it, for tests/test_nbval_cache.py)
CACHE = Path(os.environ.get("SEQLIB_JUPYTER_CACHE", ROOT / "_build" / ".jupyter_cache"))


def toc_notebooks() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for p in toc.get("parts", []) for c in p["chapters"]]
    return [ROOT / f"{f}.ipynb" for f in files if (ROOT / f"{f}.ipynb").exists()]


def inputs_hash() -> str:
    """A hash of what the notebooks read besides their code: seqlib, the claims catalogue and
    the recorded runs (not the claims evidence the notebooks themselves write)."""
    h = hashlib.sha256()
    files = sorted((ROOT / "seqlib").rglob("*.py")) + sorted((ROOT / "chapters" / "claims").glob("*"))
    files += sorted(p for p in (ROOT / "chapters" / "results").rglob("*")
                    if p.is_file() and "claims" not in p.relative_to(ROOT / "chapters" / "results").parts)
    for p in files:
        h.update(str(p.relative_to(ROOT)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def store(cache, path: Path, nb, seconds: float, inputs: str) -> None:
    """Puts the executed notebook `nb` (of `path`) into the cache, where `make book` finds it."""
    stage = cache.add_nb_to_project(str(path))
    cache.cache_notebook_bundle(CacheBundleIn(nb, stage.uri, data={"execution_seconds": seconds,
                                                                   "inputs": inputs}),
                                check_validity=False, overwrite=True)


def prune(cache) -> int:
    current, n = inputs_hash(), 0
    for record in cache.list_cache_records():
        if (record.data or {}).get("inputs") != current:
            cache.remove_cache(record.pk)
            n += 1
    print(f"execute_chapters: pruned {n} cached run(s) made with other inputs")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path)
    ap.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    ap.add_argument("--prune", action="store_true", help="only drop stale cached runs")
    ap.add_argument("--list", action="store_true", help="only print the notebooks, in the book's order")
    args = ap.parse_args(argv)
    if args.list:
        print(" ".join(str(p.relative_to(ROOT)) for p in toc_notebooks()))
        return 0
    cache = get_cache(str(CACHE))
    if args.prune:
        return prune(cache)
    failed, total = [], time.perf_counter()
    for path in [p.resolve() for p in args.notebooks] or toc_notebooks():
        nb = nbformat.read(path, as_version=4)
        inputs = inputs_hash()
        result = single_nb_execution(nb, cwd=str(path.parent), allow_errors=False,
                                     timeout=args.timeout, meta_override=True)
        if result.err is not None:
            failed.append(path.name)
            print(f"{path.relative_to(ROOT)}: FAILED after {result.time:.1f} s\n"
                  f"{result.exc_string}", flush=True)
            continue
        store(cache, path, nb, result.time, inputs)
        print(f"{path.relative_to(ROOT)}: passed in {result.time:.1f} s", flush=True)
    print(f"executed in {time.perf_counter() - total:.0f} s; "
          + (f"FAILED: {', '.join(failed)}" if failed else "every notebook passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
