"""Records of long runs and GPU runs: the values a run measured plus where and how it ran.

A record is one JSON file:

    {"kind": "run" | "gpu",  "name": ..., "status": "running" | "interrupted" | "done",
     "values": {...},           # the results the book shows (numbers, curves)
     "evidence": {...},         # per-seed / per-unit values a claim can be judged on
     "provenance": {device, gpu, cuda, cpu, threads, cores, machine, torch, date, commit,
                    command, wall_s, split_fingerprint, ...},
     # the flat keys of the older GPU records, kept so `describe_record` keeps reading them:
     "device", "torch", "cuda", "date", "commit", "command"}

`save_run_record` writes one (atomically, so a reader never sees half a file), `load_run_record`
reads it (None when the run has not been made yet) and `describe_run_record` gives the label a
chapter prints beside a recorded result. A GPU record (`kind: "gpu"`) is the special case
"recorded on CUDA": `save_run_record(..., require_cuda=True)` refuses to write one without a CUDA
device, which is what `save_gpu_record` calls.

`split_fingerprint(ids)` hashes the held-out ids of a split so a record says which data it
was measured on (two records with the same fingerprint held out the same words).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

import torch

from seqlib.data._sources import source_versions

from seqlib.device import describe_machine, machine_info
from seqlib.io import atomic_write_text

__all__ = ["command_line", "describe_record", "describe_run_record", "load_record", "load_run_record",
           "provenance", "repo_root", "results_dir", "save_gpu_record", "save_run_record",
           "split_fingerprint", "steps_to_solve_runs", "summarize_steps_to_solve"]


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
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)chapters/results/claims"],
                               capture_output=True, text=True, cwd=repo_root(), timeout=10).stdout.strip()
        return (out.stdout.strip() or "unknown") + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def split_fingerprint(ids) -> str:
    """sha256 (first 16 hex digits) of the sorted held-out ids (strings or ints), with their count."""
    ids = sorted(str(i) for i in ids)
    if not ids:
        raise ValueError("records.split_fingerprint: expected a non-empty collection of ids")
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
    return f"sha256:{digest} ({len(ids)} ids)"


def command_line(argv: list[str] | None = None) -> str:
    """The exact command that ran: `python -m <module> args` when run as a module, else argv."""
    argv = list(sys.argv if argv is None else argv)
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if argv == sys.argv and spec is not None and spec.name:
        return shlex.join(["python", "-m", spec.name.removesuffix(".__main__"), *argv[1:]])
    return shlex.join(["python", *argv])


def provenance(device: torch.device | str | None = None, command: str | None = None,
               wall_s: float | None = None, split_fingerprint: str | None = None, **extra) -> dict:
    """Where and how a run ran: device (GPU name, or CPU model with its torch threads), the
    machine (`seqlib.device.machine_info`), torch and CUDA versions, UTC date, git commit
    (`-dirty` when tracked files differ), the exact command, wall time and data fingerprint."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    info = machine_info(device)
    if device.type == "cuda":
        label = info["gpu"]
    else:
        label = f"CPU: {info['cpu']}, {info['threads']} torch thread(s) of {info['cores']} cores"
    return {
        "device": label,
        "device_type": device.type,
        "gpu": info.get("gpu"),
        "cuda": torch.version.cuda,
        "cpu": info["cpu"],
        "threads": info["threads"],
        "cores": info["cores"],
        "machine": describe_machine(info),
        "torch": torch.__version__,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": _commit(),
        "command": command or command_line(),
        "wall_s": None if wall_s is None else round(float(wall_s), 1),
        "split_fingerprint": split_fingerprint,
        "data_sources": source_versions(),
        **extra,
    }


def save_run_record(path, values: dict, *, evidence: dict | None = None, name: str | None = None,
                    status: str = "done", prov: dict | None = None, device=None,
                    command: str | None = None, require_cuda: bool = False, **prov_extra) -> dict:
    """Writes a record (see the module docstring) atomically and returns it.

    `prov` is a `provenance(...)` dict made by the caller (e.g. at the start of a run, with the
    wall time filled in later); without it one is made here from `device`, `command` and
    `prov_extra`. `require_cuda=True` (GPU records) raises unless CUDA is available."""
    if status not in ("running", "interrupted", "done"):
        raise ValueError(f"records.save_run_record: expected status running/interrupted/done, got {status!r}")
    if require_cuda and not torch.cuda.is_available():
        raise RuntimeError("save_gpu_record: no CUDA device; GPU records come only from real GPU runs")
    if require_cuda and device is None:
        device = "cuda"
    p = dict(prov) if prov is not None else provenance(device, command, **prov_extra)
    kind = "gpu" if p.get("device_type") == "cuda" else "run"
    record = {
        "kind": kind, "name": name or Path(path).stem, "status": status,
        "values": values, "evidence": evidence or {}, "provenance": p,
        # flat keys of the first GPU records (describe_record reads these)
        "device": p["device"], "torch": p["torch"], "cuda": p.get("cuda"), "date": p["date"],
        "commit": p["commit"], "command": p["command"],
    }
    atomic_write_text(Path(path), json.dumps(record, indent=1, default=_jsonable) + "\n")
    return record


def _jsonable(x):
    if isinstance(x, torch.Tensor):
        return x.tolist()
    if hasattr(x, "item"):
        return x.item()
    raise TypeError(f"records: cannot store {type(x).__name__} in a JSON record")


def load_run_record(path) -> dict | None:
    """The record at `path` (a dict, see the module docstring), or None when there is none yet."""
    path = Path(path)
    if not path.exists():
        return None
    return json.loads(path.read_text())


def describe_run_record(record: dict | None, what: str = "run") -> str:
    """The label shown beside a recorded result: where, when, how long, from which command."""
    if record is None:
        return (f"No record of this {what} yet: it is made by a long run (`python -m runs...`)"
                if what != "GPU run" else
                "No GPU record yet: `make gpu-records` on a CUDA machine makes one "
                "(runs/gpu/ holds the experiment as a script).")
    p = record.get("provenance") or record  # older GPU records keep provenance at the top level
    where = p.get("machine") or p.get("device", "unknown device")
    s = f"Recorded on {where}"
    if "provenance" not in record:
        s = f"Recorded on {p['device']} (torch {p['torch']})"
    s += f", {p['date']}, commit {p['commit']}"
    if p.get("wall_s") is not None:
        s += f", {p['wall_s'] / 60:.0f} min wall time"
    if record.get("status") and record["status"] != "done":
        s += f" (status: {record['status']}; a partial run)"
    if p.get("split_fingerprint"):
        s += f", held-out split {p['split_fingerprint']}"
    return s + f"; command: {p['command']}"


# --- GPU records: the special case "recorded on CUDA" -------------------------------------

def save_gpu_record(path: Path, values: dict, command: str | None = None, **extra) -> dict:
    """Saves `values` with provenance. Raises unless CUDA is available: GPU figures come only from GPU runs.

    The special case "recorded on CUDA" of `seqlib.book.records.save_run_record` (same file format)."""
    return save_run_record(path, values, command=command, device="cuda", require_cuda=True, **extra)


def load_record(path: Path) -> dict | None:
    """The record at path, or None when no GPU run has recorded one yet."""
    path = Path(path)
    if not path.exists():
        return None
    return json.loads(path.read_text())


def describe_record(record: dict | None) -> str:
    """A label for a recorded result shown in a CPU build."""
    return describe_run_record(record, what="GPU run")


STEPS_TO_SOLVE_PARTS = ("steps_to_solve", "steps_to_solve_copy100", "steps_to_solve_copy100b",
                        "steps_to_solve_long", "steps_to_solve_copy100_s34",
                        "steps_to_solve_long_s34", "steps_to_solve_500")


def summarize_steps_to_solve(cells: list, cap: int, models=None) -> list:
    """Per (task, T, model) of steps-to-solve cells: seeds, solved count, and the median,
    quartiles and range of steps, an unsolved cell counting as more than `cap` (infinity), so a
    median is a number only when more than half the seeds solved. Rows are ordered by task, T
    and then `models` (default: the order the models first appear in)."""
    groups: dict = {}
    for c in cells:
        groups.setdefault((c["task"], c["T"], c["model"]), []).append(c)
    order = list(models) if models is not None else []
    order += [m for (_, _, m) in groups if m not in order]
    inf = float("inf")

    def num(v):
        return None if v == inf else v

    rows = []
    for (task, T, model), cs in sorted(groups.items(),
                                       key=lambda kv: (kv[0][0], kv[0][1], order.index(kv[0][2]))):
        steps = sorted(c["steps"] if c["steps"] is not None else inf for c in cs)
        med = statistics.median(steps)

        def q(p, steps=steps):
            return steps[min(len(steps) - 1, int(p * (len(steps) - 1) + 0.5))]

        rows.append({"task": task, "T": T, "model": model, "seeds": len(cs),
                     "solved": sum(c["steps"] is not None for c in cs),
                     "median_steps": num(med), "median_censored": med == inf,
                     "min_steps": num(steps[0]), "max_steps": num(steps[-1]),
                     "q1_steps": num(q(0.25)), "q3_steps": num(q(0.75)), "cap": cap})
    return rows


def steps_to_solve_runs(parts=STEPS_TO_SOLVE_PARTS) -> dict:
    """The recorded steps-to-solve runs (`python -m runs.steps_to_solve`), made in parts (one
    record each, same protocol: `--name` differs; a part may add seeds to another's cells), read
    as one: ``records`` (those that exist), ``cells`` (all parts'), ``summary`` (recomputed over
    all parts' cells by :func:`summarize_steps_to_solve`), ``lengths``, ``models`` (in the runs'
    order) and ``cap``. A part with no record is left out; with none, the lists are empty. The
    same (task, T, model, seed) in two parts is an error."""
    recs = [r for r in (load_run_record(results_dir("steps_to_solve") / f"{n}.json") for n in parts)
            if r is not None]
    models: list = []
    for r in recs:
        models += [m for m in r["values"]["settings"]["models"] if m not in models]
    cells = [c for r in recs for c in r["values"]["cells"]]
    seen: dict = {}
    for r in recs:
        for c in r["values"]["cells"]:
            key = (c["task"], c["T"], c["model"], c.get("seed"))
            if key in seen:
                raise ValueError(f"records.steps_to_solve_runs: cell {key} is in both "
                                 f"{seen[key]!r} and {r['name']!r}; expected each cell once")
            seen[key] = r["name"]
    cap = max((r["values"]["settings"]["cap"] for r in recs), default=None)
    return {"records": recs,
            "cells": cells,
            "summary": summarize_steps_to_solve(cells, cap, models),
            "lengths": sorted({t for r in recs for t in r["values"]["settings"]["lengths"]}),
            "models": models,
            "cap": cap,
            "settings": recs[0]["values"]["settings"] if recs else {}}
