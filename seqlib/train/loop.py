"""The one training loop: `run` drives a job step by step, checkpoints atomically and resumes
exactly; `fit`, the small loop every chapter calls, is a job of it, and so is each long run in
`runs/` (`runs/_runner.py` adds their records).

`fit` trains on a tuple of tensors `(inputs..., targets)` (or any iterable of such batches),
evaluates on a held-out split after every epoch, records loss, metric and gradient-norm history for
plots, clips gradients when asked, survives Ctrl-C with the history so far, and can checkpoint
atomically and resume from the checkpoint.
"""
from __future__ import annotations

import math
import os
import random
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from seqlib.io import atomic_torch_save

Batch = tuple  # (inputs..., target) tensors


@dataclass
class History:
    """What a run recorded: per-epoch train/val loss and val metric, per-step loss and grad norm."""

    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_metric: list = field(default_factory=list)
    step_loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)  # before clipping
    epochs_done: int = 0
    seconds: float = 0.0
    interrupted: bool = False  # stopped by Ctrl-C
    diverged: bool = False  # stopped because the loss became inf or NaN

    def best(self, key: str = "val_loss", mode: str = "min") -> float:
        values = getattr(self, key)
        if not values:
            raise ValueError(f"History: no {key} recorded yet")
        return min(values) if mode == "min" else max(values)


def _show_progress(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    return os.environ.get("TQDM_DISABLE", "").lower() in ("", "0", "false")


def progress_bar(iterable=None, **kwargs):
    """``tqdm.auto``'s bar, turned off when TQDM_DISABLE is set (the notebook bar ignores the
    variable, so a book build would otherwise keep the bar's text)."""
    from tqdm.auto import tqdm

    kwargs.setdefault("disable", not _show_progress(None))
    return tqdm(iterable, **kwargs)


def _check_batch_tuple(data, what: str) -> tuple:
    if not isinstance(data, (tuple, list)) or len(data) < 2:
        raise TypeError(f"train.fit: expected {what} as a tuple (inputs..., targets) of tensors")
    n = len(data[0])
    for t in data:
        if not isinstance(t, torch.Tensor) or len(t) != n:
            raise ValueError(f"train.fit: every tensor of {what} needs the same first dimension "
                             f"({n}); got {[tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__ for x in data]}")
    return tuple(data)


def iterate_batches(data: tuple, batch_size: int, shuffle: bool = False,
                    generator: torch.Generator | None = None) -> Iterable[Batch]:
    """Mini-batches of a tuple of equally long tensors, in order or shuffled by `generator`."""
    n = len(data[0])
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield tuple(t[idx] for t in data)


def _to(batch: Batch, device) -> Batch:
    return tuple(t.to(device) if isinstance(t, torch.Tensor) else t for t in batch)


@torch.no_grad()
def evaluate(model: nn.Module, data, loss_fn: Callable, metric: Callable | None = None,
             batch_size: int = 256, device=None) -> tuple[float, float | None]:
    """Mean loss and metric of `model` over `data` (weighted by batch size), in eval mode."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, loss_sum, metric_sum = 0, 0.0, 0.0
    batches = iterate_batches(_check_batch_tuple(data, "data"), batch_size) if isinstance(data, (tuple, list)) else data
    for batch in batches:
        *inputs, target = _to(batch, device)
        out = model(*inputs)
        n = len(target)
        loss_sum += float(loss_fn(out, target)) * n
        if metric is not None:
            metric_sum += float(metric(out, target)) * n
        total += n
    model.train(was_training)
    return loss_sum / total, (metric_sum / total if metric is not None else None)


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


def _rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}


def _set_rng_state(s: dict) -> None:
    torch.set_rng_state(s["torch"])
    random.setstate(s["python"])
    np.random.set_state(s["numpy"])


def run(job, *, epochs: int, checkpoint=None, on_save: Callable | None = None,
        checkpoint_every_s: float = 180.0, checkpoint_every_steps: int | None = None,
        evals_per_epoch: int = 1, max_wall_s: float | None = None, progress: bool | None = None,
        desc: str | None = None, on_interrupt: str = "exit", extend_finished: bool = False) -> dict:
    """The one resumable training loop: drives `job` for `epochs` epochs, checkpointing and resuming.

    A job is an object with these members (`fit` builds one; each long run in `runs/` is one):

        job.steps_per_epoch                 int, or None when only the data know (an iterable)
        job.start_epoch(epoch)              draw this epoch's data order (from the job's own generator)
        job.train_step(epoch, i) -> float   one optimizer step on batch i; None: the epoch has no more
        job.evaluate(epoch, i, steps_seen)  validation (and best-on-validation bookkeeping) at step i
        job.finished() -> bool              stop early (solved, diverged)
        job.state_dict() / load_state_dict(state)
                                            everything needed to continue exactly: model, optimizer,
                                            generators, data order, best state, curves
        job.finalize() -> dict              the final values (e.g. test metrics of the best model)

    With `checkpoint` (a path) the loop writes {job state, loop position, global torch/Python/NumPy
    generator states} through the one atomic writer (`seqlib.io.atomic_torch_save`) every
    `checkpoint_every_s` seconds, every `checkpoint_every_steps` steps if given, at the end of each
    epoch and when stopped, and RESUMES from it when it exists: the same call continues from the
    step after the last checkpoint and reproduces the uninterrupted run exactly (the tests check
    weights bit for bit). `on_save(status, position)` runs after every checkpoint (runs/ write their
    records there). `evals_per_epoch` evaluations are spread evenly over each epoch.

    Stopping: SIGINT (Ctrl-C, a notebook's interrupt) or SIGTERM lets the current step finish,
    checkpoints, and then either exits with code 130 (`on_interrupt="exit"`, scripts) or returns
    with status "interrupted" (`"return"`, notebooks); a KeyboardInterrupt raised inside a step
    leaves the last checkpoint (the step was half done) and is re-raised or returned the same way.
    A crash leaves the last checkpoint, and the same call resumes from it. `max_wall_s` ends
    training at a wall-time budget. A finished run is not trained again, unless
    `extend_finished` and `epochs` exceeds what it ran (`fit` asked for more epochs).

    Returns {"status": "done" | "interrupted", "stopped_by", "epoch", "global_step", "wall_s",
    "final"}.
    """
    if on_interrupt not in ("exit", "return"):
        raise ValueError(f"train.run: on_interrupt must be 'exit' or 'return', got {on_interrupt!r}")
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    loop = {"epoch": 0, "step": 0, "global_step": 0, "wall_s": 0.0, "resumed_at": [], "final": None}
    if checkpoint is not None and checkpoint.exists():
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
        job.load_state_dict(saved["job"])
        loop.update(saved["loop"])
        _set_rng_state(saved["rng"])
        loop["resumed_at"] = loop["resumed_at"] + [loop["global_step"]]
        if extend_finished and loop["final"] is not None and loop["epoch"] < epochs:
            loop["final"] = None
    n = job.steps_per_epoch
    eval_at = (set() if n is None else
               {max(1, round(n * k / evals_per_epoch)) for k in range(1, evals_per_epoch + 1)})
    start, last_ckpt = time.perf_counter(), time.perf_counter()

    def wall() -> float:
        return loop["wall_s"] + time.perf_counter() - start

    def save(status: str = "running") -> None:
        nonlocal last_ckpt
        if checkpoint is not None:
            state = {"job": job.state_dict(), "loop": {**loop, "wall_s": wall()}, "rng": _rng_state()}
            atomic_torch_save(state, checkpoint)  # a reader sees the old checkpoint or the new one
        if on_save is not None:
            on_save(status, {**loop, "wall_s": wall(), "steps_per_epoch": n})
        last_ckpt = time.perf_counter()

    def stopped(how: str) -> dict:
        where = f"; checkpoint {checkpoint}; the same call resumes" if checkpoint is not None else ""
        print(f"{desc or 'run'}: {how} at step {loop['global_step']} (epoch {loop['epoch'] + 1}){where}.")
        if on_interrupt == "exit":
            raise SystemExit(130)
        return {"status": "interrupted", "stopped_by": "interrupt", "epoch": loop["epoch"],
                "global_step": loop["global_step"], "wall_s": wall(), "final": None}

    total = None if n is None else epochs * n
    bar = tqdm(total=total, initial=min(loop["global_step"], total or loop["global_step"]), desc=desc,
               mininterval=1.0, disable=not _show_progress(progress), dynamic_ncols=True)
    status, stopped_by = "done", "epochs"
    with _StopFlag() as flag:
        try:
            while loop["epoch"] < epochs and loop["final"] is None and not job.finished():
                epoch = loop["epoch"]
                if loop["step"] == 0:
                    job.start_epoch(epoch)
                while n is None or loop["step"] < n:
                    loss = job.train_step(epoch, loop["step"])
                    if loss is None:  # the data ended this epoch
                        if evals_per_epoch and loop["step"] not in eval_at:
                            job.evaluate(epoch, loop["step"], loop["global_step"])
                        break
                    loop["step"] += 1
                    loop["global_step"] += 1
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss:.4f}", epoch=epoch + 1, refresh=False)
                    if loop["step"] in eval_at:
                        job.evaluate(epoch, loop["step"], loop["global_step"])
                    due = time.perf_counter() - last_ckpt >= checkpoint_every_s or bool(
                        checkpoint_every_steps and loop["global_step"] % checkpoint_every_steps == 0)
                    if flag.stop:
                        save("interrupted")
                        bar.close()
                        return stopped("interrupted")
                    if due and (n is None or loop["step"] < n):
                        save()
                    if job.finished() or (max_wall_s is not None and wall() >= max_wall_s):
                        break
                if n is None or loop["step"] >= n:
                    loop["epoch"], loop["step"] = epoch + 1, 0
                if job.finished():
                    break
                save()
                if max_wall_s is not None and wall() >= max_wall_s:
                    stopped_by = f"wall-time budget of {max_wall_s / 60:.0f} min"
                    break
            if job.finished():
                stopped_by = "finished"
        except KeyboardInterrupt:  # raised inside a step: the last checkpoint stands
            bar.close()
            if on_interrupt == "exit":
                raise
            return stopped("interrupted inside a step")
        finally:
            bar.close()
        if loop["final"] is None:
            loop["final"] = {**(job.finalize() or {}), "stopped_by": stopped_by}
            save(status)
    return {"status": status, "stopped_by": loop["final"].get("stopped_by", stopped_by),
            "epoch": loop["epoch"], "global_step": loop["global_step"], "wall_s": wall(),
            "final": loop["final"]}


class _FitJob:
    """`fit` as a job of the loop above: shuffled mini-batches of a tuple of tensors (or the
    batches of an iterable), an evaluation on `val` after every epoch, a `History`."""

    def __init__(self, model, train, val, loss_fn, metric, optimizer, batch_size, clip, device, seed,
                 eval_batch_size):
        self.model, self.train, self.val, self.loss_fn, self.metric = model, train, val, loss_fn, metric
        self.opt, self.batch_size, self.clip, self.device = optimizer, batch_size, clip, device
        self.eval_batch_size = eval_batch_size
        self.gen = torch.Generator().manual_seed(seed)
        self.history = History()
        self.order = None  # this epoch's permutation (tuple data), kept in checkpoints
        self.batches = None  # this epoch's iterator (iterable data)
        self.loss_sum, self.seen = 0.0, 0
        if isinstance(train, tuple):
            self.steps_per_epoch = math.ceil(len(train[0]) / batch_size)
        else:
            self.steps_per_epoch = len(train) if hasattr(train, "__len__") else None

    def start_epoch(self, epoch):
        self.model.train()
        self.loss_sum, self.seen = 0.0, 0
        if isinstance(self.train, tuple):
            self.order = torch.randperm(len(self.train[0]), generator=self.gen)
        else:
            self.batches = iter(self.train)

    def _batch(self, i):
        if isinstance(self.train, tuple):
            idx = self.order[i * self.batch_size:(i + 1) * self.batch_size]
            return tuple(t[idx] for t in self.train)
        if self.batches is None:  # resumed inside an epoch of an iterable: its batches start over
            self.batches = iter(self.train)
        return next(self.batches, None)

    def train_step(self, epoch, i):
        batch = self._batch(i)
        if batch is None:
            return None
        self.model.train()
        *inputs, target = _to(batch, self.device)
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(*inputs), target)
        value = loss.item()
        self.history.step_loss.append(value)
        if not math.isfinite(value):
            self.history.diverged = True
            return value
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(),
                                              self.clip if self.clip is not None else float("inf"))
        self.history.grad_norm.append(float(norm))
        self.opt.step()
        self.loss_sum += value * len(target)
        self.seen += len(target)
        return value

    def evaluate(self, epoch, i, global_step):  # once per epoch, after its last step
        if self.history.diverged:
            return
        self.history.train_loss.append(self.loss_sum / max(self.seen, 1))
        if self.val is not None:
            vl, vm = evaluate(self.model, self.val, self.loss_fn, self.metric, self.eval_batch_size,
                              self.device)
            self.history.val_loss.append(vl)
            if vm is not None:
                self.history.val_metric.append(vm)
        self.history.epochs_done = epoch + 1

    def finished(self):
        return self.history.diverged

    def finalize(self):
        return {}

    def state_dict(self):
        return {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                "history": asdict(self.history), "generator": self.gen.get_state(), "order": self.order,
                "epoch_sums": (self.loss_sum, self.seen)}

    def load_state_dict(self, s):
        self.model.load_state_dict(s["model"])
        self.opt.load_state_dict(s["optimizer"])
        self.history = History(**s["history"])
        self.history.interrupted = False
        self.gen.set_state(s["generator"])
        self.order = s["order"]
        self.loss_sum, self.seen = s["epoch_sums"]


def load_checkpoint(path, model: nn.Module, optimizer=None) -> tuple[History, torch.Tensor | None]:
    """Restores model (and optimizer) from a `fit` checkpoint; returns its history and shuffling state."""
    state = torch.load(path, map_location="cpu", weights_only=False)["job"]
    model.load_state_dict(state["model"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    return History(**state["history"]), state.get("generator")


def fit(model: nn.Module, train, *, loss_fn: Callable, epochs: int, val=None,
        metric: Callable | None = None, optimizer: torch.optim.Optimizer | None = None,
        lr: float = 1e-3, batch_size: int = 64, clip: float | None = None, device=None,
        seed: int = 0, checkpoint=None, progress: bool | None = None, desc: str | None = None,
        eval_batch_size: int = 256) -> History:
    """Trains `model` and returns its `History` (through `run`, the one resumable loop).

    Args:
        train: a tuple of tensors (inputs..., targets), shuffled each epoch with `seed`, or an
            iterable of such batches (e.g. a DataLoader).  The model is called as model(*inputs).
        loss_fn: loss_fn(output, targets) -> scalar tensor.
        epochs: total epochs (a resumed run continues up to this number).
        val: held-out data in the same form, evaluated after every epoch (never used to train).
        metric: metric(output, targets) -> number, reported on `val` (e.g. accuracy).
        optimizer: default Adam(lr).  clip: max gradient norm (None: no clipping).
        checkpoint: a path; written atomically after every epoch (and on Ctrl-C, after the
            current step) and resumed from when it exists: the resumed run matches the
            uninterrupted one exactly.
        progress: show a tqdm bar; None (default) shows it unless the environment sets
            TQDM_DISABLE=1, as `make test` and `make book` do (tqdm's notebook bar ignores it).
    Ctrl-C stops cleanly: the model keeps its weights and the history so far is returned with
    `interrupted=True`. A loss of inf or NaN stops the run with `diverged=True`.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    if isinstance(train, (tuple, list)):
        train = _check_batch_tuple(train, "train")
    if isinstance(val, (tuple, list)):
        val = _check_batch_tuple(val, "val")
    job = _FitJob(model, train, val, loss_fn, metric, optimizer, batch_size, clip, device, seed,
                  eval_batch_size)
    out = run(job, epochs=epochs, checkpoint=checkpoint, checkpoint_every_s=float("inf"),
              progress=progress, desc=desc or type(model).__name__, on_interrupt="return",
              extend_finished=True)
    history = job.history
    history.seconds = out["wall_s"]
    if out["status"] == "interrupted":
        history.interrupted = True
        print(f"Interrupted after {history.epochs_done} full epochs; the model keeps its current "
              f"weights and the history so far is returned.")
    return history


def accuracy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Fraction of rows whose arg-max class equals the target. logits (N, C), target (N,)."""
    return (logits.argmax(-1) == target).float().mean()
