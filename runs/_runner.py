"""The long runs' driver: `seqlib.train.loop.run` (the one resumable loop) plus their records.

A run is a job (the protocol is documented in :func:`seqlib.train.loop.run`), with one more method:

    job.record() -> (values, evidence)  what the record shows so far

`run` trains it with a tqdm bar (ETA), checkpoints atomically every `checkpoint_every_s` seconds,
every `checkpoint_every_steps` steps if given, and at the end of each epoch, and resumes from the
checkpoint when it exists (the job's state, the epoch and step within it, the global generators).
Ctrl-C (SIGINT) or SIGTERM finishes the current step, checkpoints, writes the record with status
"interrupted" and exits with code 130; a crash leaves the last checkpoint, and the same command
resumes from it. Resuming reproduces the uninterrupted run exactly (tests/test_runs.py checks it).

A record (seqlib.book.records) is written at every checkpoint, so a partial run is still a record;
`max_wall_s` ends training at a wall-time budget (the job is finalised on what it has, and the
record says so).
"""
from __future__ import annotations

from pathlib import Path

from seqlib.book.records import provenance, save_run_record
from seqlib.io import atomic_torch_save  # noqa: F401  (the one atomic writer, for the runs' own files)
from seqlib.train.loop import run as run_loop


def run(job, *, epochs: int, checkpoint, record=None, name: str | None = None,
        checkpoint_every_s: float = 180.0, checkpoint_every_steps: int | None = None,
        evals_per_epoch: int = 1, max_wall_s: float | None = None, device=None,
        command: str | None = None, split_fingerprint: str | None = None,
        progress: bool | None = None, desc: str | None = None, prov_extra: dict | None = None) -> dict:
    """Trains `job` for `epochs` epochs (see the module docstring), resuming from `checkpoint`.

    Returns {"status", "epoch", "global_step", "wall_s", "values", "evidence"}. `record` (a path)
    receives a `seqlib.book.records` record at every checkpoint and at the end.
    """
    prov = provenance(device, command, split_fingerprint=split_fingerprint, **(prov_extra or {}))

    def write_record(status: str, loop: dict) -> None:
        if record is None:
            return
        values, evidence = job.record()
        values = {**values, "epochs_done": loop["epoch"] + loop["step"] / loop["steps_per_epoch"],
                  "global_step": loop["global_step"]}
        if loop["final"] is not None:
            values["stopped_by"] = loop["final"].get("stopped_by")
        p = {**prov, "wall_s": round(loop["wall_s"], 1), "resumed_at_steps": loop["resumed_at"]}
        save_run_record(record, values, evidence=evidence, name=name, status=status, prov=p)

    out = run_loop(job, epochs=epochs, checkpoint=Path(checkpoint), on_save=write_record,
                   checkpoint_every_s=checkpoint_every_s, checkpoint_every_steps=checkpoint_every_steps,
                   evals_per_epoch=evals_per_epoch, max_wall_s=max_wall_s, progress=progress,
                   desc=desc or name, on_interrupt="exit")
    values, evidence = job.record()
    return {"status": out["status"], "epoch": out["epoch"], "global_step": out["global_step"],
            "wall_s": out["wall_s"], "values": values, "evidence": evidence}
