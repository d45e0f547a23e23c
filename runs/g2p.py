"""Long run: grapheme-to-phoneme on the full CMUdict split with an attention encoder-decoder.

    python -m runs.g2p                       # the recorded run (resumes if a checkpoint exists)
    python -m runs.g2p --no-attention --name g2p_fixed_context   # the bottleneck question
    python -m runs.g2p --dry-run             # tiny, seconds, writes nothing under chapters/
    python -m runs.g2p --name g2p_attention_cont --init-from chapters/results/06_attention/g2p_attention_best.pt \
        --lr 1.5e-3 --stop-patience 6        # continue the recorded model until validation stops improving

The split is the book's (`seqlib.data.load_g2p(seed=0)`: 5% of the words held out by a fixed seed,
a 5% validation slice of the rest); a prediction is correct if it matches any listed
pronunciation. Training batches are trimmed to their own lengths and bucketed by length
(`seqlib.data.pairs.PairBatches`). The model is chosen on the validation slice only (greedy WER,
evaluated `--evals-per-epoch` times an epoch); the held-out words are decoded once, at the end,
with the chosen weights (greedy and beam search).

Writes chapters/results/06_attention/<name>.json (a `seqlib.book.records` record: values with the
learning curve, evidence per seed, provenance) and <name>_best.pt (the chosen weights, their
config and vocabularies: `seqlib.nn.seq2seq.load_seq2seq(path)`). The resume checkpoint lives in
runs/checkpoints/<name>.pt (not committed: it holds the optimizer and data order too).
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import math
import sys
import time
from pathlib import Path

import torch

from seqlib.data.g2p import load_g2p
from seqlib.data.pairs import PairBatches
from seqlib.device import seed_everything, set_threads
from seqlib.train.g2p_eval import word_errors
from seqlib.train.metrics import phoneme_error_rate, word_error_rate
from seqlib.book.records import results_dir, split_fingerprint
from seqlib.nn.seq2seq import Seq2Seq, load_seq2seq, save_seq2seq, seq2seq_loss

from . import _runner

CHAPTER = "06_attention"


def decode(model, data, split: str, beam: int = 1, chunk: int = 1024, limit: int | None = None):
    """Greedy (beam=1) or beam-search predictions for the words of a split, in chunks."""
    words = data.sources[split][:limit]
    X, L = data.encode(words)
    model.eval()
    pred = []
    for i in range(0, len(X), chunk):
        x, length = X[i:i + chunk], L[i:i + chunk]
        x = x[:, :int(length.max())]
        out = model.greedy(x, length, max_len=30) if beam == 1 else model.beam_search(x, length, beam, max_len=30)
        pred += data.decode(out)
    model.train()
    refs = data.references[split][:limit]
    return pred, refs


def init_from(model, config: dict, data, path: Path) -> dict:
    """Loads the weights of a `save_seq2seq` file into `model`; its config and vocabularies must be
    this run's. Returns what the record says of it (file, sha256, the saved model's meta)."""
    if not path.exists():
        raise FileNotFoundError(f"runs.g2p: --init-from expected a save_seq2seq file, {path} does not exist")
    old, info = load_seq2seq(path)
    if info["config"] != config or info["src_vocab"] != list(data.src_vocab) \
            or info["tgt_vocab"] != list(data.tgt_vocab):
        raise ValueError(f"runs.g2p: --init-from expected a model with this run's config {config} and "
                         f"vocabularies; {path.name} has {info['config']}")
    model.load_state_dict(old.state_dict())
    return {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()[:16],
            "meta": info["meta"]}


class G2PJob:
    def __init__(self, args, data):
        self.args, self.data = args, data
        seed_everything(args.seed)
        self.config = {"src_vocab": len(data.src_vocab), "tgt_vocab": len(data.tgt_vocab),
                       "embed_dim": args.embed, "hidden_size": args.hidden, "attention": args.attention,
                       "kind": args.kind, "impl": "torch"}
        if args.dropout:  # only when used, so that earlier models' configs still match
            self.config["dropout"] = args.dropout
        self.model = Seq2Seq(**self.config)
        self.init = None
        if args.init_from is not None:  # continue from saved weights (a fresh optimizer)
            self.init = init_from(self.model, self.config, data, Path(args.init_from))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=args.lr)
        self.batches = PairBatches(data.train, args.batch, seed=args.seed)
        self.gen = torch.Generator().manual_seed(args.seed)
        self.order: list = []
        self.curve: list = []
        self.best = {"val_WER": math.inf, "state": None, "at": None}
        self.lr, self.bad, self.since_best = args.lr, 0, 0
        if self.init is not None and "val_WER" in self.init["meta"]:
            # the starting weights are a candidate too: chosen unless training improves on them
            self.best = {"val_WER": self.init["meta"]["val_WER"], "val_PER": self.init["meta"].get("val_PER"),
                         "at": {"start": self.init["file"], **self.init["meta"]},
                         "state": copy.deepcopy(self.model.state_dict())}
        self.loss_sum, self.loss_n, self.examples_seen = 0.0, 0, 0
        self.final: dict = {}
        self.steps_per_epoch = len(self.batches)

    # --- the Job interface (runs._runner) ---
    def start_epoch(self, epoch):
        self.order = self.batches.batches(self.gen)

    def train_step(self, epoch, i):
        src, src_len, tgt_in, tgt_out = self.batches.batch(self.order[i])
        self.opt.zero_grad(set_to_none=True)
        loss = seq2seq_loss(self.model(src, src_len, tgt_in), tgt_out)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.args.clip)
        self.opt.step()
        value = loss.item()
        self.loss_sum += value * len(src)
        self.loss_n += len(src)
        self.examples_seen += len(src)
        return value

    def evaluate(self, epoch, i, global_step):
        pred, refs = decode(self.model, self.data, "val")
        wer, per = word_error_rate(pred, refs), phoneme_error_rate(pred, refs)
        point = {"epoch": round(epoch + i / self.steps_per_epoch, 4), "step": global_step,
                 "examples_seen": self.examples_seen, "train_loss": self.loss_sum / max(self.loss_n, 1),
                 "val_WER": wer, "val_PER": per, "lr": self.lr}
        self.curve.append(point)
        self.loss_sum, self.loss_n = 0.0, 0
        if wer < self.best["val_WER"]:
            self.best = {"val_WER": wer, "val_PER": per, "at": point,
                         "state": copy.deepcopy(self.model.state_dict())}
            self.bad, self.since_best = 0, 0
            if self.args.out is not None:
                save_seq2seq(self.args.out / f"{self.args.name}_best.pt", self.model, self.config,
                             self.data.src_vocab, self.data.tgt_vocab,
                             meta={"chosen_on": "validation WER (greedy)", **point,
                                   "split": self.args.split_fp})
        else:
            self.bad += 1
            self.since_best += 1
            if self.bad >= self.args.patience:  # plateau: halve the learning rate
                self.lr, self.bad = self.lr / 2, 0
                for g in self.opt.param_groups:
                    g["lr"] = self.lr
        print(f"[{time.strftime('%H:%M:%S')}] epoch {point['epoch']:.2f} val WER {wer:.4f} PER {per:.4f} "
              f"loss {point['train_loss']:.4f} lr {self.lr:g}", flush=True)

    def finished(self):
        stalled = self.args.stop_patience is not None and self.since_best >= self.args.stop_patience
        return stalled or self.lr < self.args.lr / 64

    def finalize(self):
        if self.best["state"] is not None:
            self.model.load_state_dict(self.best["state"])
        limit = self.args.test_limit
        res = {}
        for beam in (1, self.args.beam):
            pred, refs = decode(self.model, self.data, "test", beam=beam, limit=limit)
            res[f"beam{beam}"] = {"test_WER": word_error_rate(pred, refs),
                                  "test_PER": phoneme_error_rate(pred, refs), "test_words": len(pred)}
        # per held-out word, in the split's order, for the last decode (beam): edits to the closest
        # reference and that reference's length (wrong = edits > 0), for analyses by word
        errs = [word_errors(p, r) for p, r in zip(pred, refs)]
        res[f"beam{self.args.beam}"]["per_word"] = {"edits": [e[1] for e in errs],
                                                    "ref_len": [e[2] for e in errs]}
        self.final = {"test": res, "examples": [
            {"word": w, "predicted": " ".join(p), "references": [" ".join(r) for r in rs]}
            for w, p, rs in zip(self.data.sources["test"][:20], pred[:20], refs[:20])]}
        return {"test_WER": res[f"beam{self.args.beam}"]["test_WER"]}

    def state_dict(self):
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "gen": self.gen.get_state(),
                "order": self.order, "curve": self.curve, "best": self.best, "lr": self.lr, "bad": self.bad,
                "since_best": self.since_best,
                "loss": (self.loss_sum, self.loss_n, self.examples_seen), "final": self.final}

    def load_state_dict(self, s):
        self.model.load_state_dict(s["model"])
        self.opt.load_state_dict(s["opt"])
        self.gen.set_state(s["gen"])
        self.order, self.curve, self.best = s["order"], s["curve"], s["best"]
        self.lr, self.bad, self.final = s["lr"], s["bad"], s["final"]
        self.since_best = s.get("since_best", 0)
        self.loss_sum, self.loss_n, self.examples_seen = s["loss"]

    def record(self):
        a = self.args
        values = {
            "task": "CMUdict G2P, stress removed, any listed pronunciation correct",
            "data": self.data.describe(),
            "model": {**{k: v for k, v in self.config.items()}, "parameters": sum(p.numel() for p in self.model.parameters())},
            "training": {"batch": a.batch, "lr": a.lr, "clip": a.clip, "optimizer": "Adam",
                         "lr_schedule": f"halve after {a.patience} evaluations without a better val WER",
                         "stop": "lr below 1/64 of its start" + (
                             "" if a.stop_patience is None else
                             f", or {a.stop_patience} evaluations without a better val WER"),
                         "initialised_from": self.init,
                         "batching": "per-batch trimming + length bucketing (PairBatches)",
                         "evals_per_epoch": a.evals_per_epoch, "seed": a.seed},
            "selection": "the evaluation point with the lowest validation WER (greedy); test decoded once",
            "best_val": {k: v for k, v in self.best.items() if k != "state"},
            "curve": self.curve,
            "test": self.final.get("test"),
            "test_examples": self.final.get("examples"),
            "targets": {"test_WER": 0.28, "test_PER": 0.07},
            "references": {"cmusphinx g2p-seq2seq 2x64 LSTM WER": 0.313, "Phonetisaurus WER": 0.339},
            "best_model_file": (self.best["at"] or {}).get("start") or f"{a.name}_best.pt",
        }
        evidence = {}
        if self.final.get("test"):
            t = self.final["test"][f"beam{a.beam}"]
            evidence = {"units": [f"seed {a.seed}"], "test_WER": [t["test_WER"]], "test_PER": [t["test_PER"]]}
        return values, evidence


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m runs.g2p", description=__doc__.split("\n")[0])
    p.add_argument("--name", default=None, help="record name (default g2p_attention / g2p_fixed_context)")
    p.add_argument("--no-attention", dest="attention", action="store_false")
    p.add_argument("--kind", default="gru", choices=("gru", "lstm"))
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--dropout", type=float, default=0.0, help="Seq2Seq dropout while training (0: none)")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--patience", type=int, default=2, help="evaluations without improvement before lr/2")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--evals-per-epoch", type=int, default=2)
    p.add_argument("--beam", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-wall-min", type=float, default=None, help="end training after this many minutes")
    p.add_argument("--checkpoint-every-min", type=float, default=3.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--init-from", default=None, help="start from the weights of a save_seq2seq file "
                   "(same config and vocabularies); the optimizer starts fresh")
    p.add_argument("--stop-patience", type=int, default=None,
                   help="also stop after this many evaluations without a better val WER")
    p.add_argument("--fresh", action="store_true", help="ignore (delete) an existing checkpoint")
    p.add_argument("--dry-run", action="store_true", help="tiny data and model; writes only to a temp folder")
    p.add_argument("--out-dir", default=None, help="with --dry-run: the folder to write to (default: a new temp one)")
    return p.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    set_threads(args.threads)
    args.name = args.name or ("g2p_attention" if args.attention else "g2p_fixed_context")
    if args.dry_run:
        import tempfile
        tmp = Path(args.out_dir) if args.out_dir else Path(tempfile.mkdtemp(prefix="g2p_dry_"))
        data = load_g2p(seed=0, max_train=300, max_val=50, max_test=50)
        args.hidden, args.embed, args.epochs, args.batch, args.evals_per_epoch = 16, 8, 1, 64, 1
        args.out, ckpt, record = tmp, tmp / f"{args.name}_ckpt.pt", tmp / f"{args.name}.json"
        args.test_limit = None
    else:
        data = load_g2p(seed=0)  # the book's fixed split; every word of every split
        args.out = results_dir(CHAPTER)
        ckpt = Path(__file__).resolve().parent / "checkpoints" / f"{args.name}.pt"
        record, args.test_limit = args.out / f"{args.name}.json", None
    args.split_fp = split_fingerprint(data.sources["test"])
    if args.fresh and ckpt.exists():
        ckpt.unlink()
    job = G2PJob(args, data)
    out = _runner.run(job, epochs=args.epochs, checkpoint=ckpt, record=record, name=args.name,
                      checkpoint_every_s=60 * args.checkpoint_every_min, evals_per_epoch=args.evals_per_epoch,
                      max_wall_s=None if args.max_wall_min is None else 60 * args.max_wall_min,
                      split_fingerprint=args.split_fp, desc=args.name,
                      command="python -m runs.g2p " + " ".join(argv))
    t = out["values"]["test"]
    print(f"{args.name}: best val WER {out['values']['best_val']['val_WER']:.4f}; test {t}; record {record}")
    return out


if __name__ == "__main__":
    main()
