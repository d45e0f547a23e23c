"""The checkpoint/resume loop every long run shares.

A run is a `Job` (an object with the methods below) driven by :func:`run`:

    job.steps_per_epoch                 int
    job.start_epoch(epoch)              draw this epoch's data order (from the job's own generator)
    job.train_step(epoch, i) -> float   one optimizer step on batch i of the epoch; returns the loss
    job.evaluate(epoch, i, steps_seen)  validation (and best-on-validation bookkeeping) at step i
    job.finished() -> bool              stop early (e.g. solved)
    job.state_dict() / load_state_dict(state)
                                        everything the run needs to continue exactly: model,
                                        optimizer, generators, data order, best state, curves
    job.finalize() -> dict              the final values (e.g. test metrics of the best model)
    job.record() -> (values, evidence)  what the record shows so far

`run` trains with a tqdm bar (ETA), checkpoints ATOMICALLY (temporary file + rename) every
`checkpoint_every_s` seconds, every `checkpoint_every_steps` steps if given, and at the end of each
epoch, and RESUMES from the checkpoint when it exists: the job's state, the epoch and step within
it, and the global torch/Python/NumPy generators. Ctrl-C (SIGINT) or SIGTERM finishes the current
step, checkpoints, writes the record with status "interrupted" and exits with code 130; a crash
leaves the last checkpoint, and the same command resumes from it. Resuming reproduces the
uninterrupted run exactly (tests/test_runs.py checks it).

A record (seqlib.book.records) is written at every checkpoint, so a partial run is still a record;
`max_wall_s` ends training at a wall-time budget (the job is finalised on what it has, and the
record says so).
"""
from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from seqlib.book.records import provenance, save_run_record
from seqlib.io import atomic_torch_save


def _rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "python": random.getstate(),
            "numpy": np.random.get_state()}


def _set_rng_state(s: dict) -> None:
    torch.set_rng_state(s["torch"])
    random.setstate(s["python"])
    np.random.set_state(s["numpy"])


class _StopFlag:
    """SIGINT/SIGTERM set a flag; the loop checkpoints after the current step and stops."""

    def __init__(self):
        self.stop = False
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: no handler, Ctrl-C raises as usual
                pass
        return self

    def _handle(self, signum, frame):
        if self.stop:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.stop = True

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


def run(job, *, epochs: int, checkpoint, record=None, name: str | None = None,
        checkpoint_every_s: float = 180.0, checkpoint_every_steps: int | None = None,
        evals_per_epoch: int = 1, max_wall_s: float | None = None, device=None,
        command: str | None = None, split_fingerprint: str | None = None,
        progress: bool | None = None, desc: str | None = None, prov_extra: dict | None = None) -> dict:
    """Trains `job` for `epochs` epochs (see the module docstring), resuming from `checkpoint`.

    Returns {"status", "epoch", "global_step", "wall_s", "values", "evidence"}. `record` (a path)
    receives a `seqlib.book.records` record at every checkpoint and at the end.
    """
    checkpoint = Path(checkpoint)
    loop = {"epoch": 0, "step": 0, "global_step": 0, "wall_s": 0.0, "resumed_at": [], "final": None}
    if checkpoint.exists():
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
        job.load_state_dict(saved["job"])
        loop.update(saved["loop"])
        _set_rng_state(saved["rng"])
        loop["resumed_at"] = loop["resumed_at"] + [loop["global_step"]]
    if progress is None:
        progress = os.environ.get("TQDM_DISABLE", "").lower() in ("", "0", "false")
    n = job.steps_per_epoch
    eval_at = sorted({max(1, round(n * k / evals_per_epoch)) for k in range(1, evals_per_epoch + 1)})
    prov = provenance(device, command, split_fingerprint=split_fingerprint, **(prov_extra or {}))
    start, last_ckpt = time.perf_counter(), time.perf_counter()

    def wall() -> float:
        return loop["wall_s"] + time.perf_counter() - start

    def write_record(status: str) -> None:
        if record is None:
            return
        values, evidence = job.record()
        values = {**values, "epochs_done": loop["epoch"] + loop["step"] / n,
                  "global_step": loop["global_step"]}
        if loop["final"] is not None:
            values["stopped_by"] = loop["final"].get("stopped_by")
        p = {**prov, "wall_s": round(wall(), 1), "resumed_at_steps": loop["resumed_at"]}
        save_run_record(record, values, evidence=evidence, name=name, status=status, prov=p)

    def save(status: str = "running") -> None:
        nonlocal last_ckpt
        state = {"job": job.state_dict(), "loop": {**loop, "wall_s": wall()}, "rng": _rng_state()}
        atomic_torch_save(state, checkpoint)
        write_record(status)
        last_ckpt = time.perf_counter()

    bar = tqdm(total=epochs * n, initial=min(loop["global_step"], epochs * n), desc=desc or name,
               mininterval=1.0, disable=not progress, dynamic_ncols=True)
    status, stopped_by = "done", "epochs"
    with _StopFlag() as flag:
        try:
            while loop["epoch"] < epochs and loop["final"] is None and not job.finished():
                epoch = loop["epoch"]
                if loop["step"] == 0:
                    job.start_epoch(epoch)
                while loop["step"] < n:
                    loss = job.train_step(epoch, loop["step"])
                    loop["step"] += 1
                    loop["global_step"] += 1
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss:.4f}", epoch=epoch + 1, refresh=False)
                    if loop["step"] in eval_at:
                        job.evaluate(epoch, loop["step"], loop["global_step"])
                    due = time.perf_counter() - last_ckpt >= checkpoint_every_s or (
                        checkpoint_every_steps and loop["global_step"] % checkpoint_every_steps == 0)
                    if flag.stop:
                        loop["wall_s"] = wall()
                        start = time.perf_counter()
                        save("interrupted")
                        bar.close()
                        print(f"{name or 'run'}: interrupted at step {loop['global_step']}; checkpoint "
                              f"{checkpoint}; the same command resumes.")
                        raise SystemExit(130)
                    if due and loop["step"] < n:
                        save()
                    if job.finished() or (max_wall_s is not None and wall() >= max_wall_s):
                        break
                if loop["step"] >= n:
                    loop["epoch"], loop["step"] = epoch + 1, 0
                save()
                if max_wall_s is not None and wall() >= max_wall_s:
                    stopped_by = f"wall-time budget of {max_wall_s / 60:.0f} min"
                    break
            if job.finished():
                stopped_by = "finished"
        finally:
            bar.close()
        if loop["final"] is None:
            loop["final"] = job.finalize() or {}
            loop["final"]["stopped_by"] = stopped_by
            save(status)
    values, evidence = job.record()
    return {"status": status, "epoch": loop["epoch"], "global_step": loop["global_step"],
            "wall_s": wall(), "values": values, "evidence": evidence}
