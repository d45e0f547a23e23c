"""Long run: character language models on chapter 2's docstrings corpus, trained until validation
bits/char stops improving: an LSTM, a GRU at (about) the LSTM's parameter count, and the LSTM
without its output tanh (h = o c, `seqlib.nn.lstm.NoTanhLSTM`), against n-gram baselines.

    python -m runs.char_lm                     # the recorded run (resumes; finished models are kept)
    python -m runs.char_lm --models gru        # one model (the others in the record are kept)
    python -m runs.char_lm --probe 30          # 30 training steps per model: steps/s and the ETA
    python -m runs.char_lm --dry-run           # tiny, seconds, writes only to a temp folder

Data: chapter 2's corpus and split, `seqlib.data.char_text(seed=0)` (the standard library's
docstrings, split by docstring; the vocabulary from the training split).

Regime: truncated BPTT on streams, the same in training and in evaluation. Training reads the
training text as `--batch` contiguous streams side by side, in consecutive windows of `--window`
characters; the state is carried from one window to the next (detached at the window's start, so
gradients flow back at most `--window` steps) and reset at the start of each epoch, whose streams
start at a random offset below `--window`. Evaluation (`seqlib.train.lm.stream_loss`) reads a
split as `--eval-streams` contiguous streams with the state carried from chunk to chunk, so every
character is predicted from all the text before it in its stream, in training as in evaluation.

Training: Adam (lr `--lr`), gradients clipped to norm `--clip`, forget-gate bias 1 for both LSTMs
(as chapter 2), validation bits/char on the whole validation split `--evals-per-epoch` times an
epoch; the learning rate is halved after every `--lr-patience` evaluations without a new best,
and training stops after `--patience` evaluations without a new best (early stopping), after
`--max-epochs`, or at the `--max-wall-min` safety limit per model (the record says which). A model
whose validation bits/char is not finite or exceeds twice the uniform model's log2 V at an evaluation
has blown up and is stopped as diverged (the LSTM without its tanh does, in this stateful regime,
within its first epoch at lr 1e-3 to 5e-3 in short probes: its loss reaches thousands of bits/char). The
weights with the best validation bits/char are kept; the test split is scored once, at the end,
with them. Samples at temperatures 0.5, 0.8 and 1.0 follow a fixed prompt with a fixed seed.

Baselines (counted on the training split, scored on the same val/test text): unigram, bigram and
trigram with add-alpha smoothing, alpha chosen on validation as chapter 2 does
(`CharText.ngram_loss`), and a 5-gram with interpolated Kneser-Ney smoothing
(`seqlib.data.chartext.KneserNey`).

Writes chapters/results/02_lstm/char_lm.json (a `seqlib.book.records` record: per model the
learning curve, best validation and test bits/char, samples; the baselines; provenance with the
corpus's Python version and the data sources' versions). Each model is resumable on its own from
runs/checkpoints/char_lm/<model>.pt (not committed); a model the record holds as done with the
same settings is not retrained.
"""
from __future__ import annotations

import argparse
import copy
import inspect
import math
import sys
import tempfile
import time
from pathlib import Path

import torch

from seqlib.book.records import (load_run_record, provenance, results_dir, save_run_record,
                                 split_fingerprint)
from seqlib.data.chartext import char_text
from seqlib.data.docstrings import describe as describe_corpus
from seqlib.device import seed_everything, set_threads
from seqlib.nn.lstm import init_forget_bias
from seqlib.train.lm import CharLM, generate, stream_loss, tbptt_step
from seqlib.train.metrics import hidden_size_for_budget

from . import _runner

CHAPTER = "02_lstm"
MODELS = {  # name -> (kind, output_tanh)
    "lstm": ("lstm", True),
    "gru": ("gru", True),
    "lstm_no_tanh": ("lstm", False),
}
TEMPERATURES = (0.5, 0.8, 1.0)
PROMPT = "Return the "  # chapter 2's prompt
PAGE_EVAL_CHARS = 40_000  # chapter 2 scores the first 40,000 test characters (16 streams)
LN2 = math.log(2)


def build(name: str, vocab_size: int, args) -> CharLM:
    """The model `name` at the run's sizes: the GRU's hidden size matches the LSTM's parameters."""
    kind, tanh = MODELS[name]
    hidden = args.hidden
    if kind == "gru":
        budget = sum(p.numel() for p in CharLM(vocab_size, args.embed, args.hidden).parameters())
        hidden = hidden_size_for_budget(lambda h: CharLM(vocab_size, args.embed, h, kind="gru"), budget)
    seed_everything(args.seed)  # the same start for the LSTM with and without its tanh
    model = CharLM(vocab_size, args.embed, hidden, output_tanh=tanh, kind=kind)
    if kind == "lstm":
        init_forget_bias(model, 1.0)
    return model


class CharLMJob:
    """One model for runs._runner: truncated BPTT over the training streams (see the docstring)."""

    def __init__(self, name, corpus, args):
        self.name, self.corpus, self.args = name, corpus, args
        self.model = build(name, corpus.vocab_size, args)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=args.lr)
        self.gen = torch.Generator().manual_seed(args.seed)
        n_train = len(corpus.ids["train"])
        self.stream_len = (n_train - args.window) // args.batch  # room for an offset below `window`
        self.steps_per_epoch = (self.stream_len - 1) // args.window
        if self.steps_per_epoch < 1:
            raise ValueError(f"char_lm: {n_train} training characters are too few for "
                             f"{args.batch} streams of windows of {args.window}")
        self.offset, self.state = 0, None
        self.curve: list = []
        self.best = {"val_bits": math.inf, "at": None, "state": None}
        self.lr, self.bad, self.diverged = args.lr, 0, False
        self.max_train_bits = 0.0  # the worst window's training loss: a blow-up shows here
        self.uniform_bits = math.log2(corpus.vocab_size)
        self.loss_sum, self.loss_n, self.chars_seen = 0.0, 0, 0
        self.final: dict = {}

    # --- the Job interface (runs._runner) ---
    def start_epoch(self, epoch):
        self.offset = int(torch.randint(0, self.args.window, (1,), generator=self.gen))
        self.state = None  # each epoch starts its streams from a zero state

    def train_step(self, epoch, i):
        B, K = self.args.batch, self.args.window
        streams = self.corpus.ids["train"][self.offset:self.offset + B * self.stream_len].view(B, -1)
        chunk = streams[:, i * K:i * K + K + 1]  # (B, K + 1)
        self.model.train()
        # one Adam step on this window; the carried state is detached at the window's start
        value, state = tbptt_step(self.model, self.opt, chunk, self.state, self.args.clip)
        self.max_train_bits = max(self.max_train_bits, value / LN2)
        if not math.isfinite(value):  # no step was taken
            self.diverged = True
            return value
        self.state = state
        self.loss_sum += value * chunk[:, 1:].numel()
        self.loss_n += chunk[:, 1:].numel()
        self.chars_seen += chunk[:, 1:].numel()
        return value

    def evaluate(self, epoch, i, global_step):
        if self.diverged:
            return
        val = stream_loss(self.model, self.corpus.ids["val"], streams=self.args.eval_streams) / LN2
        point = {"epoch": round(epoch + i / self.steps_per_epoch, 4), "step": global_step,
                 "chars_seen": self.chars_seen, "train_bits": self.loss_sum / max(self.loss_n, 1) / LN2,
                 "val_bits": val, "lr": self.lr}
        self.curve.append(point)
        self.loss_sum, self.loss_n = 0.0, 0
        if not math.isfinite(val) or val > 2 * self.uniform_bits:  # blown up: far worse than uniform
            self.diverged = True
        elif val < self.best["val_bits"] - self.args.min_delta:
            self.best = {"val_bits": val, "at": point, "state": copy.deepcopy(self.model.state_dict())}
            self.bad = 0
        else:
            self.bad += 1
            if self.bad % self.args.lr_patience == 0:  # plateau: halve the learning rate
                self.lr /= 2
                for g in self.opt.param_groups:
                    g["lr"] = self.lr
        print(f"[{time.strftime('%H:%M:%S')}] {self.name} epoch {point['epoch']:.2f} val {val:.4f} "
              f"bits/char (best {self.best['val_bits']:.4f}) train {point['train_bits']:.4f} "
              f"lr {self.lr:g}", flush=True)

    def finished(self):
        return self.diverged or self.bad >= self.args.patience

    def finalize(self):
        if self.best["state"] is not None:
            self.model.load_state_dict(self.best["state"])
        test = self.corpus.ids["test"]
        s = self.args.eval_streams
        self.final = {
            "test_bits": stream_loss(self.model, test, streams=s) / LN2,
            "test_bits_page_protocol": stream_loss(self.model, test[:PAGE_EVAL_CHARS]) / LN2,
            "samples": {str(t): self.sample(t) for t in TEMPERATURES},
        }
        return {"test_bits": self.final["test_bits"]}

    def sample(self, temperature: float) -> str:
        try:
            ids = generate(self.model, self.corpus.encode(PROMPT), self.args.sample_chars, temperature,
                           seed=self.args.seed)
        except RuntimeError as e:  # non-finite probabilities (a model that blew up)
            return f"(no sample: {e})"
        return self.corpus.decode(ids)

    def state_dict(self):
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "gen": self.gen.get_state(),
                "offset": self.offset, "state": self.state, "curve": self.curve, "best": self.best,
                "lr": self.lr, "bad": self.bad, "diverged": self.diverged, "final": self.final,
                "max_train_bits": self.max_train_bits,
                "loss": (self.loss_sum, self.loss_n, self.chars_seen), "settings": settings(self.args)}

    def load_state_dict(self, s):
        if s["settings"] != settings(self.args):
            raise SystemExit(f"char_lm: the checkpoint of {self.name} was made with other settings "
                             f"({s['settings']}); run with --fresh to retrain it")
        self.model.load_state_dict(s["model"])
        self.opt.load_state_dict(s["opt"])
        self.gen.set_state(s["gen"])
        self.offset, self.state, self.curve, self.best = s["offset"], s["state"], s["curve"], s["best"]
        self.lr, self.bad, self.diverged, self.final = s["lr"], s["bad"], s["diverged"], s["final"]
        self.max_train_bits = s["max_train_bits"]
        self.loss_sum, self.loss_n, self.chars_seen = s["loss"]

    def entry(self) -> dict:
        """This model's part of the record."""
        kind, tanh = MODELS[self.name]
        return {"kind": kind, "output_tanh": tanh, "hidden": self.model.rnn.hidden_size,
                "embed": self.args.embed, "parameters": sum(p.numel() for p in self.model.parameters()),
                "settings": settings(self.args), "steps_per_epoch": self.steps_per_epoch,
                "curve": self.curve, "diverged": self.diverged, "max_train_bits": self.max_train_bits,
                "best_val": {"val_bits": self.best["val_bits"] if self.best["at"] else None,
                             "at": self.best["at"]},
                "test_bits": self.final.get("test_bits"),
                "test_bits_page_protocol": self.final.get("test_bits_page_protocol"),
                "samples": self.final.get("samples")}

    def record(self):
        return self.recorder(self)


def settings(args) -> dict:
    """What must match for a recorded model to count as this run's (else it is retrained)."""
    return {k: getattr(args, k) for k in ("hidden", "embed", "batch", "window", "lr", "clip", "lr_patience",
                                          "patience", "min_delta", "max_epochs", "evals_per_epoch",
                                          "eval_streams", "seed", "sample_chars")}


def baselines(corpus) -> dict:
    """Unigram/bigram/trigram (add-alpha, alpha chosen on validation) and a Kneser-Ney 5-gram."""
    out = {}
    for n, name in ((1, "unigram"), (2, "bigram"), (3, "trigram")):
        alpha = min((0.01, 0.1, 1.0), key=lambda a: corpus.ngram_loss("val", n, a))
        out[name] = {"smoothing": f"add-alpha, alpha {alpha:g} (chosen on validation)",
                     "val_bits": corpus.ngram_loss("val", n, alpha) / LN2,
                     "test_bits": corpus.ngram_loss("test", n, alpha) / LN2}
    kn = corpus.kneser_ney(5)
    out["5-gram KN"] = {"smoothing": "interpolated Kneser-Ney, Ney's discount per order "
                                     + ", ".join(f"{o[2]:.3f}" for o in kn.orders),
                        "val_bits": kn.loss(corpus.ids["val"]) / LN2,
                        "test_bits": kn.loss(corpus.ids["test"]) / LN2}
    return out


def dry_corpus():
    """A tiny corpus for --dry-run: the docstrings of a few seqlib modules (no stdlib scan)."""
    import seqlib.book.records
    import seqlib.data.chartext
    import seqlib.nn.lstm
    import seqlib.train.lm
    import seqlib.train.loop

    docs = []
    for mod in (seqlib.train.lm, seqlib.data.chartext, seqlib.train.loop, seqlib.nn.lstm, seqlib.book.records):
        docs.append(inspect.getdoc(mod))
        docs += [inspect.getdoc(obj) for _, obj in inspect.getmembers(mod, callable)
                 if getattr(obj, "__module__", None) == mod.__name__ and inspect.getdoc(obj)]
    return char_text(seed=0, docs=[d for d in docs if d], min_count=2)


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m runs.char_lm", description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--hidden", type=int, default=256, help="the LSTMs' hidden size (the GRU: equal parameters)")
    p.add_argument("--embed", type=int, default=32)
    p.add_argument("--batch", type=int, default=32, help="training streams side by side")
    p.add_argument("--window", type=int, default=128, help="TBPTT window (characters per step)")
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--lr-patience", type=int, default=1, help="evaluations without a new best before lr/2")
    p.add_argument("--patience", type=int, default=4, help="evaluations without a new best before stopping")
    p.add_argument("--min-delta", type=float, default=1e-3, help="bits/char a new best must gain")
    p.add_argument("--max-epochs", type=int, default=20)
    p.add_argument("--evals-per-epoch", type=int, default=2)
    p.add_argument("--eval-streams", type=int, default=32)
    p.add_argument("--sample-chars", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-wall-min", type=float, default=40.0, help="safety limit per model, in minutes")
    p.add_argument("--checkpoint-every-min", type=float, default=3.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--name", default="char_lm")
    p.add_argument("--fresh", action="store_true", help="retrain the chosen models (delete their checkpoints)")
    p.add_argument("--probe", type=int, default=0, metavar="STEPS",
                   help="train each model STEPS steps in a temp folder; print steps/s and the ETA")
    p.add_argument("--dry-run", action="store_true", help="tiny data and models; writes only to a temp folder")
    p.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)  # tests: the dry run's folder
    return p.parse_args(argv)


def probe(corpus, args) -> dict:
    """Steps/s of each model (the first step is not timed) and the longest each could take."""
    out = {}
    for name in args.models:
        job = CharLMJob(name, corpus, args)
        job.start_epoch(0)
        job.train_step(0, 0)
        t0 = time.perf_counter()
        for i in range(1, args.probe + 1):
            loss = job.train_step(0, i % job.steps_per_epoch)
        rate = args.probe / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        stream_loss(job.model, corpus.ids["val"], streams=args.eval_streams)
        eval_s = time.perf_counter() - t0
        epoch_s = job.steps_per_epoch / rate + args.evals_per_epoch * eval_s
        out[name] = {"steps_per_s": rate, "epoch_min": epoch_s / 60, "max_min": args.max_epochs * epoch_s / 60}
        print(f"{name}: H={job.model.rnn.hidden_size}, {sum(p.numel() for p in job.model.parameters()):,} "
              f"parameters, {rate:.2f} steps/s ({rate * args.batch * args.window:,.0f} chars/s), "
              f"train loss {loss / LN2:.2f} bits/char after {args.probe + 1} steps, "
              f"{job.steps_per_epoch} steps/epoch, val eval {eval_s:.1f}s: {epoch_s / 60:.1f} min/epoch, "
              f"at most {args.max_epochs} epochs = {args.max_epochs * epoch_s / 60:.0f} min", flush=True)
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    set_threads(args.threads)
    if args.dry_run:
        corpus = dry_corpus()
        args.hidden, args.embed, args.batch, args.window, args.max_epochs = 16, 8, 4, 16, 2
        args.eval_streams, args.sample_chars, args.patience = 4, 40, 3
        out_dir = args.out or Path(tempfile.mkdtemp(prefix="char_lm_dry_"))
        ckpt_dir = out_dir / "checkpoints"
    else:
        corpus = char_text(seed=0)  # chapter 2's fixed split
        out_dir = args.out or results_dir(CHAPTER)
        ckpt_dir = Path(__file__).resolve().parent / "checkpoints" / args.name
    print(corpus, flush=True)
    if args.probe:
        return probe(corpus, args)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    record_path = out_dir / f"{args.name}.json"
    command = "python -m runs.char_lm " + " ".join(argv)
    fp = split_fingerprint(corpus.texts["test"])
    prov_extra = {"corpus": describe_corpus() if not args.dry_run else "seqlib docstrings (dry run)",
                  "python": sys.version.split()[0]}

    old = load_run_record(record_path)
    models = dict(old["values"].get("models", {})) if old is not None else {}
    wall = dict(old["values"].get("wall_s_per_model", {})) if old is not None else {}
    print("baselines ...", flush=True)
    base = baselines(corpus)
    for k, v in base.items():
        print(f"  {k}: val {v['val_bits']:.4f}, test {v['test_bits']:.4f} bits/char ({v['smoothing']})")

    def values(current=None) -> tuple[dict, dict]:
        ms = {**models, **({current.name: {**current.entry(), "status": "running"}} if current else {})}
        vals = {
            "task": "next-character prediction on chapter 2's docstrings corpus (bits/char)",
            "data": corpus.description,
            "regime": ("truncated BPTT: training reads the training split as streams in consecutive "
                       "windows with the state carried across windows (detached at each window); "
                       "validation and test read each split as streams with the state carried "
                       "(stream_loss), every character predicted from all text before it in its stream"),
            "selection": "the evaluation with the lowest validation bits/char; test scored once with it",
            "baselines": base, "models": ms, "models_planned": args.models,
            "temperatures": list(TEMPERATURES), "prompt": PROMPT,
            "uniform_bits": math.log2(corpus.vocab_size),
            "page_protocol": f"test_bits_page_protocol: the first {PAGE_EVAL_CHARS:,} test characters "
                             "in 16 streams, as chapter 2 scores its models",
            "wall_s_per_model": wall,
        }
        evidence = {"units": [f"seed {args.seed}"],
                    **{f"{k} test_bits": [v["test_bits"]] for k, v in base.items()},
                    **{f"{k} test_bits": [v["test_bits"]] for k, v in ms.items()
                       if v.get("test_bits") is not None}}
        return vals, evidence

    def write(status):
        vals, evidence = values()
        save_run_record(record_path, vals, evidence=evidence, name=args.name, status=status,
                        prov=provenance("cpu", command, wall_s=sum(wall.values()), split_fingerprint=fp,
                                        **prov_extra))

    for name in args.models:
        ckpt = ckpt_dir / f"{name}.pt"
        if args.fresh:
            ckpt.unlink(missing_ok=True)
            models.pop(name, None)
        done = models.get(name, {})
        if done.get("status") == "done" and done.get("settings") == settings(args):
            print(f"{name}: done in the record (test {done['test_bits']:.4f} bits/char); not retrained")
            continue
        job = CharLMJob(name, corpus, args)
        job.recorder = values
        out = _runner.run(job, epochs=args.max_epochs, checkpoint=ckpt, record=record_path, name=args.name,
                          checkpoint_every_s=60 * args.checkpoint_every_min,
                          evals_per_epoch=args.evals_per_epoch, max_wall_s=60 * args.max_wall_min,
                          split_fingerprint=fp, desc=name, command=command, prov_extra=prov_extra)
        stopped_by = torch.load(ckpt, map_location="cpu", weights_only=False)["loop"]["final"]["stopped_by"]
        stopped_by = {"finished": "diverged" if job.diverged else
                      f"early stopping ({args.patience} evaluations without a new best)",
                      "epochs": f"max epochs ({args.max_epochs})"}.get(stopped_by, stopped_by)
        models[name] = {**job.entry(), "status": "done", "stopped_by": stopped_by,
                        "epochs_done": out["global_step"] / job.steps_per_epoch,
                        "global_step": out["global_step"], "wall_s": round(out["wall_s"], 1),
                        "steps_per_s": out["global_step"] / max(out["wall_s"], 1e-9)}
        wall[name] = round(out["wall_s"], 1)
        write("done" if all(models.get(m, {}).get("status") == "done" for m in args.models) else "running")
        m = models[name]
        print(f"{name}: best val {m['best_val']['val_bits']} bits/char at "
              f"{m['best_val']['at']}; test {m['test_bits']}; worst training window "
              f"{m['max_train_bits']:.4g} bits/char; stopped by {stopped_by}; {out['wall_s'] / 60:.1f} min",
              flush=True)
    write("done")
    print(f"record: {record_path}")
    return load_run_record(record_path)


if __name__ == "__main__":
    main()
