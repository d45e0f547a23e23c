"""The one atomic writer: a file is replaced whole or not at all.

Every record, checkpoint and saved model in the book goes through :func:`atomic_write`, which writes
to a temporary file in the same folder, makes it an ordinary readable file, and renames it over
the target (a rename within one file system is atomic). A reader sees the old file or the new one,
never half of one, and an interrupted writer leaves no temporary file behind.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable


def atomic_write(path, write: Callable[[str], None]) -> Path:
    """Calls ``write(tmp_path)`` on a temporary file beside ``path``, then renames it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; these are ordinary readable files
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    """Writes ``text`` to ``path`` atomically."""
    def write(tmp):
        with open(tmp, "w") as f:
            f.write(text)
    return atomic_write(path, write)


def write_json(path, doc: dict) -> Path:
    """Writes ``doc`` as indented JSON atomically (floats that JSON lacks become numbers)."""
    return atomic_write_text(path, json.dumps(doc, indent=1, default=float) + "\n")


def atomic_torch_save(obj, path) -> Path:
    """``torch.save(obj, path)`` atomically (checkpoints, saved models)."""
    import torch

    return atomic_write(path, lambda tmp: torch.save(obj, tmp))
