"""Long run: how many training steps RNN, LSTM (forget-gate bias 0 and 1), GRU, a stacked minGRU
and a Transformer encoder need to solve the adding problem and the copy-memory task as the lag T
grows.

    python -m runs.steps_to_solve                          # the recorded run (resumes)
    python -m runs.steps_to_solve --lengths 10 20 --seeds 0 1 2 --cap 1000
    python -m runs.steps_to_solve --dry-run                # tiny, seconds, writes nothing under chapters/

One cell = (task, T, model, seed). Each training step draws a fresh batch from the task's
generator (seeded per cell); every `--eval-every` steps the loss on a fixed validation set
(`seqlib.data.tasks`' validation seed offset) is measured. A cell is SOLVED at the first
evaluation whose validation loss is at most `--frac` (10%) of the task's input-blind baseline
(adding: MSE 1/6 of predicting 1; copy: 10 ln 8 / (T + 20) nats per step); a cell that does not
get there within `--cap` steps is censored at the cap. Per (task, T, model) the record gives the
median and the spread of steps to solve over seeds, with censored values counted as "more than
the cap" (the median is only a number when more than half the seeds solved).

Models are matched in parameters: `--hidden` sets the LSTM's width, and every other model takes
the width whose parameter count is nearest the LSTM's on that task (recorded per task). The
Transformer (pre-norm, 2 layers, 2 heads, sinusoidal positions) reads the adding problem from its
LAST position's output, as the recurrent models do (a mean over time could sum the marked values
without attending), and tags the copy task per position with no causal mask (the answer steps come
after everything they must copy, so seeing ahead gives them nothing). The minGRU is two residual
blocks (minGRU + MLP, Feng et al. 2024). `--copy-len` shortens the copied string (10 is the
standard task; a shorter one is a copy variant that models solve at short T).

Writes chapters/results/steps_to_solve/steps_to_solve.json (a `seqlib.book.records` record). Cells are
resumable one by one (runs/checkpoints/steps_to_solve/), and the record is rewritten after every
cell, so a partial run is a record of the cells it finished.
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F

from seqlib.data.tasks import (
    _SPLIT_OFFSETS,
    ADDING_BASELINE,
    adding_problem,
    copy_baseline,
    copy_memory,
)
from seqlib.device import set_threads
from seqlib.nn.lstm import init_forget_bias
from seqlib.nn.heads import BlockRegressor, BlockTagger, LastStepRegressor, TokenTagger, count_parameters
from seqlib.nn.transformer import TransformerRegressor, TransformerTagger
from seqlib.io import atomic_write_text
from seqlib.book.records import provenance, results_dir, save_run_record, summarize_steps_to_solve

from . import _runner

MODELS = {"rnn": ("rnn", None), "lstm_fb0": ("lstm", 0.0), "lstm_fb1": ("lstm", 1.0), "gru": ("gru", None),
          "mingru": ("mingru", None), "transformer": ("transformer", None)}
N_SYMBOLS, COPY_LEN = 8, 10
EMBED = 16  # the recurrent copy taggers' embedding width


def build(task: str, kind: str, width: int, T: int, copy_len: int = COPY_LEN):
    """The model of `kind` at `width` for `task` (adding: regressor on the last step; copy: tagger)."""
    vocab, max_len = N_SYMBOLS + 2, T + 2 * copy_len + 1
    if kind == "transformer":
        if task == "adding":
            return TransformerRegressor(2, width, 2, 2, readout="last", max_len=max_len)
        return TransformerTagger(vocab, width, 2, 2, vocab, max_len=max_len)
    if kind == "mingru":
        if task == "adding":
            return BlockRegressor(2, width, num_blocks=2, method="loop")
        return BlockTagger(vocab, width, vocab, num_blocks=2, method="loop")
    if task == "adding":
        return LastStepRegressor(kind, 2, width, impl="torch")
    return TokenTagger(kind, vocab, EMBED, width, vocab, impl="torch")


@functools.lru_cache(maxsize=None)
def matched_width(task: str, kind: str, target: int, copy_len: int = COPY_LEN) -> int:
    """The width (even, for the Transformer's 2 heads) whose parameter count is nearest `target`
    (parameter counts grow with width, so a bisection finds the crossing)."""
    step = 2 if kind == "transformer" else 1
    count = functools.lru_cache(maxsize=None)(lambda w: count_parameters(build(task, kind, w, 1, copy_len)))
    lo, hi = step, 512
    while hi - lo > step:  # invariant: count(lo) <= target < count(hi), or lo is the smallest width
        mid = lo + (hi - lo) // (2 * step) * step
        lo, hi = (mid, hi) if count(mid) <= target else (lo, mid)
    return min((lo, hi), key=lambda w: abs(count(w) - target))


def make_batch(task: str, n: int, T: int, seed: int, copy_len: int = COPY_LEN):
    if task == "adding":
        return adding_problem(n, T, seed)
    return copy_memory(n, T, seed, N_SYMBOLS, copy_len)


def baseline(task: str, T: int, copy_len: int = COPY_LEN) -> float:
    return ADDING_BASELINE if task == "adding" else copy_baseline(T, N_SYMBOLS, copy_len)


def loss_fn(task: str, out, y):
    if task == "adding":
        return F.mse_loss(out, y)
    return F.cross_entropy(out.reshape(-1, out.size(-1)), y.reshape(-1))


class CellJob:
    """One (task, T, model, seed) cell for runs._runner: train on fresh batches until solved."""

    def __init__(self, task, T, model_name, seed, args):
        self.task, self.T, self.seed, self.args = task, T, seed, args
        kind, fb = MODELS[model_name]
        torch.manual_seed(seed)
        self.width = width_of(task, model_name, args)
        self.model = build(task, kind, self.width, T, args.copy_len)
        if fb is not None:
            init_forget_bias(self.model.rnn, fb)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=args.lr)
        self.gen = torch.Generator().manual_seed(seed)
        self.val = make_batch(task, args.val_size, T, seed + _SPLIT_OFFSETS["val"], args.copy_len)
        self.threshold = args.frac * baseline(task, T, args.copy_len)
        self.steps_per_epoch = args.eval_every
        self.curve, self.solved_at = [], None

    def start_epoch(self, epoch):
        pass

    def train_step(self, epoch, i):
        batch_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=self.gen))
        x, y = make_batch(self.task, self.args.batch, self.T, batch_seed, self.args.copy_len)
        self.opt.zero_grad(set_to_none=True)
        loss = loss_fn(self.task, self.model(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.args.clip)
        self.opt.step()
        return loss.item()

    @torch.no_grad()
    def evaluate(self, epoch, i, global_step):
        self.model.eval()
        v = loss_fn(self.task, self.model(self.val[0]), self.val[1]).item()
        self.model.train()
        self.curve.append([global_step, v])
        if self.solved_at is None and v <= self.threshold:
            self.solved_at = global_step

    def finished(self):
        return self.solved_at is not None

    def finalize(self):
        return {}

    def state_dict(self):
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "gen": self.gen.get_state(),
                "curve": self.curve, "solved_at": self.solved_at}

    def load_state_dict(self, s):
        self.model.load_state_dict(s["model"])
        self.opt.load_state_dict(s["opt"])
        self.gen.set_state(s["gen"])
        self.curve, self.solved_at = s["curve"], s["solved_at"]

    def record(self):
        return {}, {}


def width_of(task: str, model_name: str, args) -> int:
    """The LSTM's width is --hidden; every other model's is matched to the LSTM's parameter count."""
    kind = MODELS[model_name][0]
    if kind == "lstm":
        return args.hidden
    target = count_parameters(build(task, "lstm", args.hidden, 1, args.copy_len))
    return matched_width(task, kind, target, args.copy_len)


def summarize(cells: list, cap: int) -> list:
    """Per (task, T, model): seeds, solved count, median and quartiles of steps (censored = inf)."""
    return summarize_steps_to_solve(cells, cap, list(MODELS))


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m runs.steps_to_solve", description=__doc__.split("\n")[0])
    p.add_argument("--tasks", nargs="+", default=["adding", "copy"], choices=["adding", "copy"])
    p.add_argument("--copy-len", type=int, default=COPY_LEN, help="symbols to copy (10: the standard task)")
    p.add_argument("--lengths", nargs="+", type=int, default=[10, 20, 50, 100])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--cap", type=int, default=1500, help="step cap; unsolved cells are censored here")
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--frac", type=float, default=0.1, help="solved: val loss <= frac * baseline")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--val-size", type=int, default=500)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--name", default="steps_to_solve")
    p.add_argument("--dry-run", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    set_threads(args.threads)
    if args.dry_run:
        args.lengths, args.seeds, args.cap, args.eval_every, args.hidden = [5], [0], 20, 10, 8
        args.val_size, args.models = 32, ["rnn", "lstm_fb1", "transformer"]
        out_dir = ckpt_dir = Path(tempfile.mkdtemp(prefix="steps_dry_"))
    else:
        out_dir = results_dir("steps_to_solve")
        ckpt_dir = Path(__file__).resolve().parent / "checkpoints" / args.name
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    record_path = out_dir / f"{args.name}.json"
    done_path = ckpt_dir / "cells.json"
    cells = json.loads(done_path.read_text()) if done_path.exists() else []
    done = {(c["task"], c["T"], c["model"], c["seed"]) for c in cells}
    command = "python -m runs.steps_to_solve " + " ".join(argv)
    prov = provenance("cpu", command)
    todo = [(task, T, m, s) for T in args.lengths for task in args.tasks for m in args.models for s in args.seeds]
    wall = sum(c["wall_s"] for c in cells)

    def write(status):
        settings = {k: getattr(args, k) for k in ("tasks", "lengths", "models", "seeds", "cap", "eval_every",
                                                   "frac", "hidden", "batch", "lr", "clip", "val_size",
                                                   "copy_len")}
        # a record resumed with a narrower grid (e.g. --tasks copy) keeps the cells it already had:
        # its settings name everything its cells cover
        order = {"tasks": ["adding", "copy"], "models": list(MODELS)}
        for key, field in (("tasks", "task"), ("lengths", "T"), ("models", "model"), ("seeds", "seed")):
            have = set(settings[key]) | {c[field] for c in cells}
            settings[key] = sorted(have, key=order[key].index) if key in order else sorted(have)
        models = {}
        for m in settings["models"]:
            kind = MODELS[m][0]
            sizes = {t: {"width": width_of(t, m, args),
                         "parameters": count_parameters(build(t, kind, width_of(t, m, args), 1, args.copy_len))}
                     for t in settings["tasks"]}
            models[m] = {"kind": kind, "forget_bias": MODELS[m][1], "per_task": sizes}
        values = {"settings": settings, "models": models,
                  "solved_when": f"validation loss <= {args.frac} x the input-blind baseline",
                  "summary": summarize(cells, args.cap), "cells_done": len(cells), "cells_planned": len(todo), "cells": cells}
        evidence = {f"{c['task']}/T={c['T']}/{c['model']}": {} for c in cells}
        for c in cells:
            evidence[f"{c['task']}/T={c['T']}/{c['model']}"][f"seed {c['seed']}"] = c["steps"]
        save_run_record(record_path, values, evidence=evidence, name=args.name, status=status,
                        prov={**prov, "wall_s": round(wall, 1)})

    for task, T, m, s in todo:
        if (task, T, m, s) in done:
            continue
        job = CellJob(task, T, m, s, args)
        ckpt = ckpt_dir / f"{task}_T{T}_{m}_s{s}.pt"
        out = _runner.run(job, epochs=args.cap // args.eval_every, checkpoint=ckpt, name=f"{task} T={T} {m} s{s}",
                          checkpoint_every_s=120, progress=False)
        cell = {"task": task, "T": T, "model": m, "seed": s, "steps": job.solved_at,
                "baseline": baseline(task, T, args.copy_len), "final_val": job.curve[-1][1] if job.curve else None,
                "curve": job.curve, "wall_s": round(out["wall_s"], 1)}
        cells.append(cell)
        wall += out["wall_s"]
        atomic_write_text(done_path, json.dumps(cells))
        write("running")
        print(f"{task} T={T} {m} seed {s}: steps {job.solved_at} (cap {args.cap}), "
              f"final val {cell['final_val']:.4g} / baseline {cell['baseline']:.4g}, {out['wall_s']:.0f}s", flush=True)
    write("done")
    return cells


if __name__ == "__main__":
    main()
