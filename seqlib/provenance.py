"""Results that need a GPU, saved with where and how they were obtained.

A record is a JSON file holding the measured values plus `device`, `torch`, `date`, `commit` and
`command` (and, since `seqlib.records`, a full `provenance` block: this module's GPU records are
that module's records "recorded on CUDA"). Only a run on a real CUDA device may write one (`save_gpu_record` refuses otherwise);
a CPU build of the book loads and shows the record, labelled with that provenance.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path


def repo_root(start: Path | None = None) -> Path:
    """The book's root: the first folder upward from `start` (default: cwd) holding `_toc.yml`."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").exists():
            return folder
    return here


def results_dir(chapter: str) -> Path:
    """chapters/results/<chapter>/ under the book's root (created if missing)."""
    path = repo_root() / "chapters" / "results" / chapter
    path.mkdir(parents=True, exist_ok=True)
    return path


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=repo_root(), timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, cwd=repo_root(), timeout=10).stdout.strip()
        return (out.stdout.strip() or "unknown") + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def atomic_write_text(path: Path, text: str) -> None:
    """Writes text to path through a temporary file and a rename, so a crash leaves no half file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; records are ordinary readable files
    os.replace(tmp, path)


def save_gpu_record(path: Path, values: dict, command: str | None = None, **extra) -> dict:
    """Saves `values` with provenance. Raises unless CUDA is available: GPU figures come only from GPU runs.

    The special case "recorded on CUDA" of `seqlib.records.save_run_record` (same file format)."""
    from .records import save_run_record  # records builds on this module's helpers

    return save_run_record(path, values, command=command, device="cuda", require_cuda=True, **extra)


def load_record(path: Path) -> dict | None:
    """The record at path, or None when no GPU run has recorded one yet."""
    path = Path(path)
    if not path.exists():
        return None
    return json.loads(path.read_text())


def describe_record(record: dict | None) -> str:
    """A label for a recorded result shown in a CPU build."""
    from .records import describe_run_record

    return describe_run_record(record, what="GPU run")
