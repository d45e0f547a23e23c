"""Long run: exact match against input length, with and without attention, trained to a plateau.

The number-list task (`seqlib.data.numbers`: spelled-out numbers -> their digits, inputs from a
few to about 46 tokens, outputs growing with the input). For each seed, a fixed-context and an
attention `Seq2Seq` with the same encoder, decoder cell and output layer are trained with early
stopping on validation exact match (`seqlib.train.seq2seq.train_until_plateau`), then decoded
greedily on the held-out test split, and exact match is reported per input-length bin.

Resumable: the state of the current model is saved atomically after each epoch under
``--state`` and a finished model's results are kept in the record, so a rerun of the same
command goes on where it stopped. The record (with provenance) is rewritten after every finished
model, ``complete`` false until all are done:

    PYTHONPATH=$PWD nohup python -m runs.attention_length > /tmp/attention_length.log 2>&1 &

Seeds and models can be split over processes, each with its own ``--record`` (the chapter
reads every ``attention_length*.json`` with the same parameters), e.g. ``--seeds 2 --models
"fixed context" --record chapters/results/06_attention/attention_length_seed2_fixed.json``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time

import torch

from seqlib.data.numbers import load_numbers
from seqlib.device import seed_everything, set_threads
from seqlib.nn.heads import count_parameters
from seqlib.book.records import _commit, repo_root
from seqlib.nn.seq2seq import Seq2Seq
from seqlib.train.seq2seq import by_length, decode, exact_match, train_until_plateau
from seqlib.io import write_json
from seqlib.device import describe_machine, machine_info

EDGES = [1, 10, 20, 30, 40, 100]  # input-length bins (tokens): 1-9, ..., 40+


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--n-train", type=int, default=8000)
    p.add_argument("--n-val", type=int, default=1000)
    p.add_argument("--n-test", type=int, default=2000)
    p.add_argument("--embed", type=int, default=32)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--patience", type=int, default=4)
    p.add_argument("--max-epochs", type=int, default=40)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--models", nargs="+", default=["attention", "fixed context"],
                   help="which models to train (several processes can share the seeds)")
    p.add_argument("--record", default="chapters/results/06_attention/attention_length.json")
    p.add_argument("--state", default="runs/checkpoints/attention_length")
    a = p.parse_args(argv)
    set_threads(a.threads)
    root = repo_root()
    record_path, state_dir = root / a.record, root / a.state
    params = {k: v for k, v in vars(a).items() if k not in ("record", "state", "models")}
    doc = json.loads(record_path.read_text()) if record_path.exists() else {}
    if doc.get("parameters") != params:  # a different setting starts a new record
        doc = {"parameters": params, "results": {}}
    doc.update({
        "what": "exact match vs input length, fixed context vs attention, early stopping on val",
        "task": "number lists (seqlib.data.numbers), split fixed by the data seed 0",
        "edges": EDGES,
        "command": "python -m runs.attention_length " + " ".join(argv or sys.argv[1:]),
        "machine": machine_info(), "torch": torch.__version__, "python": platform.python_version(),
        "device": describe_machine(machine_info()),
    })
    data = load_numbers(n_train=a.n_train, n_val=a.n_val, n_test=a.n_test, seed=0)
    test_src, test_ref = data.sources["test"], data.references["test"]
    lengths = [len(s) for s in test_src]
    max_len = max(len(r[0]) for r in test_ref) + 2
    for seed in a.seeds:
        for name, att in (("attention", True), ("fixed context", False)):
            if name not in a.models:
                continue
            key = f"{name}, seed {seed}"
            if key in doc["results"]:
                continue
            seed_everything(seed)
            model = Seq2Seq(len(data.src_vocab), len(data.tgt_vocab), a.embed, a.hidden,
                            attention=att, impl="torch")
            state = state_dir / f"{name.replace(' ', '_')}_seed{seed}.pt"
            t0 = time.time()
            hist = train_until_plateau(
                model, data, lr=a.lr, batch_size=a.batch, patience=a.patience,
                max_epochs=a.max_epochs, seed=seed, max_len=max_len, state=state,
                progress=lambda h: print(f"{key}: epoch {h.epochs} val {h.val_exact[-1]:.3f} "
                                         f"lr {h.lr[-1]:.2g} cpu {h.cpu_seconds:.0f}s",
                                         flush=True))
            correct = exact_match(decode(model, data, test_src, max_len=max_len), test_ref)
            doc["results"][key] = {
                "model": name, "seed": seed, "parameters": count_parameters(model),
                "val_exact_by_epoch": hist.val_exact, "train_loss_by_epoch": hist.train_loss,
                "lr_by_epoch": hist.lr, "best_epoch": hist.best_epoch, "stopped": hist.stopped,
                "cpu_seconds": hist.cpu_seconds, "wall_seconds_last_session": time.time() - t0,
                "test_exact": sum(correct) / len(correct),
                "test_by_length": by_length(correct, lengths, EDGES),
            }
            doc["date"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            doc["commit"] = _commit()
            doc["complete"] = all(f"{n}, seed {s}" in doc["results"] for s in a.seeds
                                  for n in a.models)
            write_json(record_path, doc)
            print(key, "test exact", round(doc["results"][key]["test_exact"], 3),
                  [round(r["mean"], 3) for r in doc["results"][key]["test_by_length"]], flush=True)


if __name__ == "__main__":
    main()
