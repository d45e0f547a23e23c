"""Long run: does stacking minGRU blocks (each a minGRU and an MLP with residuals) recover the
state tracking one linear recurrence lacks? Running parity of T bits, at a budget where the GRU
solves it.

    python -m runs.parity_stacked                 # the recorded run (resumes cell by cell)
    python -m runs.parity_stacked --dry-run       # tiny, seconds, writes nothing under chapters/

One cell = (model, seed). Models: a one-layer GRU tagger (width `--gru-width`, the reference), a
one-layer minGRU tagger, and `seqlib.nn.heads.BlockTagger` with 1, 2 and 3 residual minGRU blocks
(chapter 9's stack), each at the width whose parameter count is nearest the GRU's. Each cell
trains on its own `--steps` x `--batch` sequences (one pass, Adam, clipping at 1; the training
data are drawn from the cell's seed, the held-out sequences are the same for every cell) and
reports held-out accuracy at every step; the claim `linear.parity_stacked` reads the last step
(guessing: 0.5). Chapter 9 judges on this budget where its page cannot.

Writes chapters/results/09_linear_rnn/parity_stacked.json (a `seqlib.book.records` run record);
finished cells are kept in runs/checkpoints/parity_stacked/cells.json, so an interrupted run
resumes at the next cell (a cell is about a minute: it is rerun, not checkpointed mid-way).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import seqlib
from seqlib.book.records import provenance, results_dir, save_run_record
from seqlib.data.tracking import parity_splits
from seqlib.device import set_threads
from seqlib.io import atomic_write_text
from seqlib.nn.heads import BlockTagger, TokenTagger, count_parameters
from seqlib.tokens import IGNORE
from seqlib.train.metrics import hidden_size_for_budget

MODELS = ("gru", "mingru", "blocks1", "blocks2", "blocks3")


def build(name: str, width: int):
    if name == "gru":
        return TokenTagger("gru", 2, 8, width, 2, impl="torch")
    if name == "mingru":
        return TokenTagger("mingru", 2, 8, width, 2)
    return BlockTagger(2, width, 2, num_blocks=int(name[-1]))


def widths(gru_width: int) -> dict:
    target = count_parameters(build("gru", gru_width))
    return {m: gru_width if m == "gru" else hidden_size_for_budget(lambda h, m=m: build(m, h), target)
            for m in MODELS}


def seq_loss(out, y):  # per-step cross-entropy; IGNORE marks steps with no target
    return F.cross_entropy(out.transpose(1, 2), y, ignore_index=IGNORE)


def run_cell(name: str, width: int, seed: int, args, test) -> dict:
    t0 = time.perf_counter()
    data = parity_splits(args.T, n_train=args.steps * args.batch, n_val=10, n_test=10, seed=seed)
    torch.manual_seed(seed)
    model = build(name, width)
    hist = seqlib.fit(model, data.train, loss_fn=seq_loss, epochs=1, batch_size=args.batch, lr=args.lr,
                      clip=1.0, seed=seed, progress=False)
    model.eval()
    with torch.no_grad():
        acc = (model(test[0]).argmax(-1) == test[1]).double().mean(0)  # (T,): per step
    return {"model": name, "seed": seed, "width": width, "parameters": count_parameters(model),
            "per_step_accuracy": [round(float(a), 4) for a in acc], "last_step": float(acc[-1]),
            "final_train_loss": float(hist.step_loss[-1]), "wall_s": round(time.perf_counter() - t0, 1)}


def summarize(cells: list) -> list:
    rows = []
    for m in MODELS:
        cs = [c for c in cells if c["model"] == m]
        if cs:
            last = sorted(c["last_step"] for c in cs)
            rows.append({"model": m, "seeds": len(cs), "parameters": cs[0]["parameters"], "width": cs[0]["width"],
                         "last_step_mean": sum(last) / len(last), "last_step_min": last[0],
                         "last_step_max": last[-1], "solved (> 0.9)": sum(x > 0.9 for x in last)})
    return rows


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m runs.parity_stacked", description=__doc__.split("\n")[0])
    p.add_argument("--T", type=int, default=16)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--gru-width", type=int, default=32)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--test-size", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--dry-run", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    set_threads(args.threads)
    if args.dry_run:
        args.steps, args.seeds, args.test_size, args.gru_width = 5, [0], 20, 4
        out_dir = ckpt_dir = Path(tempfile.mkdtemp(prefix="parity_dry_"))
    else:
        out_dir = results_dir("09_linear_rnn")
        ckpt_dir = Path(__file__).resolve().parent / "checkpoints" / "parity_stacked"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    done_path = ckpt_dir / "cells.json"
    cells = json.loads(done_path.read_text()) if done_path.exists() else []
    settings = {k: getattr(args, k) for k in ("T", "steps", "batch", "lr", "gru_width", "seeds", "test_size")}
    cells = [c for c in cells if c.get("settings") == settings]  # other settings: start again
    test = parity_splits(args.T, n_train=10, n_val=10, n_test=args.test_size, seed=10_000).test
    w = widths(args.gru_width)
    prov = provenance("cpu", "python -m runs.parity_stacked " + " ".join(argv))

    def write(status):
        values = {"task": f"running parity, T = {args.T}; held-out {args.test_size} sequences (seed 10000)",
                  "settings": settings, "widths": w, "summary": summarize(cells), "cells": cells,
                  "solved_when": "held-out accuracy at the last step above 0.9 (guessing: 0.5)"}
        evidence = {m: {f"seed {c['seed']}": c["last_step"] for c in cells if c["model"] == m} for m in MODELS}
        save_run_record(out_dir / "parity_stacked.json", values, evidence=evidence, name="parity_stacked",
                        status=status, prov={**prov, "wall_s": round(sum(c["wall_s"] for c in cells), 1)})

    for s in args.seeds:
        for m in MODELS:
            if any(c["model"] == m and c["seed"] == s for c in cells):
                continue
            cell = {**run_cell(m, w[m], s, args, test), "settings": settings}
            cells.append(cell)
            atomic_write_text(done_path, json.dumps(cells))
            write("running")
            print(f"{m} seed {s}: last-step accuracy {cell['last_step']:.3f} ({cell['wall_s']:.0f}s)", flush=True)
    write("done")
    return cells


if __name__ == "__main__":
    main()
