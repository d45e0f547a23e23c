"""The small training loop every chapter uses.

`fit` trains on a tuple of tensors `(inputs..., targets)` (or any iterable of such batches),
evaluates on a held-out split after every epoch, records loss, metric and gradient-norm history for
plots, clips gradients when asked, survives Ctrl-C with the history so far, and can checkpoint each
epoch atomically and resume from the checkpoint.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

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


def save_checkpoint(path, model: nn.Module, optimizer, history: History, generator_state=None) -> None:
    """Writes model, optimizer and history to a temporary file, then renames it over `path`."""
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "history": asdict(history),
             "generator": generator_state}
    atomic_torch_save(state, path)  # a reader sees the old checkpoint or the new one, never half


def load_checkpoint(path, model: nn.Module, optimizer=None) -> tuple[History, torch.Tensor | None]:
    """Restores model (and optimizer) from `path`; returns the saved history and shuffling state."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    return History(**state["history"]), state.get("generator")


def fit(model: nn.Module, train, *, loss_fn: Callable, epochs: int, val=None,
        metric: Callable | None = None, optimizer: torch.optim.Optimizer | None = None,
        lr: float = 1e-3, batch_size: int = 64, clip: float | None = None, device=None,
        seed: int = 0, checkpoint=None, progress: bool | None = None, desc: str | None = None,
        eval_batch_size: int = 256) -> History:
    """Trains `model` and returns its `History`.

    Args:
        train: a tuple of tensors (inputs..., targets), shuffled each epoch with `seed`, or an
            iterable of such batches (e.g. a DataLoader).  The model is called as model(*inputs).
        loss_fn: loss_fn(output, targets) -> scalar tensor.
        epochs: total epochs (a resumed run continues up to this number).
        val: held-out data in the same form, evaluated after every epoch (never used to train).
        metric: metric(output, targets) -> number, reported on `val` (e.g. accuracy).
        optimizer: default Adam(lr).  clip: max gradient norm (None: no clipping).
        checkpoint: a path; written atomically after every epoch and resumed from when it exists.
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
    gen = torch.Generator().manual_seed(seed)
    history = History()
    if checkpoint is not None and Path(checkpoint).exists():
        history, gen_state = load_checkpoint(checkpoint, model, optimizer)
        history.interrupted = False
        if gen_state is not None:
            gen.set_state(gen_state)
    n_steps = None
    if isinstance(train, tuple):
        n_steps = math.ceil(len(train[0]) / batch_size)
    elif hasattr(train, "__len__"):
        n_steps = len(train)
    total = None if n_steps is None else n_steps * max(epochs - history.epochs_done, 0)
    bar = tqdm(total=total, desc=desc or type(model).__name__, leave=True, mininterval=0.5,
               disable=not _show_progress(progress))
    start = time.perf_counter()
    try:
        for epoch in range(history.epochs_done, epochs):
            model.train()
            batches = iterate_batches(train, batch_size, True, gen) if isinstance(train, tuple) else train
            loss_sum, seen = 0.0, 0
            for batch in batches:
                *inputs, target = _to(batch, device)
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(*inputs), target)
                loss_value = loss.item()
                if not math.isfinite(loss_value):
                    history.step_loss.append(loss_value)
                    history.diverged = True
                    break
                loss.backward()
                max_norm = clip if clip is not None else float("inf")
                norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
                history.grad_norm.append(float(norm))
                optimizer.step()
                history.step_loss.append(loss_value)
                loss_sum += loss_value * len(target)
                seen += len(target)
                bar.update(1)
                bar.set_postfix(loss=f"{loss_value:.4f}", epoch=epoch + 1, refresh=False)  # the bar refreshes itself at mininterval
            if history.diverged:
                break
            history.train_loss.append(loss_sum / max(seen, 1))
            if val is not None:
                vl, vm = evaluate(model, val, loss_fn, metric, eval_batch_size, device)
                history.val_loss.append(vl)
                if vm is not None:
                    history.val_metric.append(vm)
            history.epochs_done = epoch + 1
            if checkpoint is not None:
                history.seconds += time.perf_counter() - start
                start = time.perf_counter()
                save_checkpoint(checkpoint, model, optimizer, history, gen.get_state())
    except KeyboardInterrupt:
        history.interrupted = True
        print(f"Interrupted after {history.epochs_done} full epochs; the model keeps its current "
              f"weights and the history so far is returned.")
    finally:
        bar.close()
    history.seconds += time.perf_counter() - start
    return history


def accuracy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Fraction of rows whose arg-max class equals the target. logits (N, C), target (N,)."""
    return (logits.argmax(-1) == target).float().mean()
