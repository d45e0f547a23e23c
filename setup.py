"""Packaging metadata is in pyproject.toml; this file only adds the claims catalogue to the wheel.

The catalogue (chapters/claims/*.yml) is the book's, edited beside the chapters; a reader who
installs the wheel and runs a downloaded chapter needs it too, so the build copies it into the
package as seqlib/book/catalogue/ (read with importlib.resources).
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CATALOGUE = Path(__file__).resolve().parent / "chapters" / "claims"


class build_py_with_catalogue(build_py):
    def run(self):
        super().run()
        if not CATALOGUE.is_dir():
            raise FileNotFoundError(f"setup.py: no claims catalogue at {CATALOGUE}")
        target = Path(self.build_lib) / "seqlib" / "book" / "catalogue"
        target.mkdir(parents=True, exist_ok=True)
        for f in sorted(CATALOGUE.glob("*.yml")) + [CATALOGUE / "README.md"]:
            shutil.copyfile(f, target / f.name)


setup(cmdclass={"build_py": build_py_with_catalogue})
