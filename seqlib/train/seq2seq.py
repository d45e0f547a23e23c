"""Training to convergence and scoring for `seqlib.Seq2Seq`: early stopping on validation exact
match (resumable, with atomic checkpoints), batched decoding, exact match by input length, and
the model's own log-probability of an output (to compare greedy decoding with beam search).

Shape legend: N examples, T source length, U target length, V target vocabulary.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from seqlib.io import atomic_torch_save, write_json  # noqa: F401  (write_json: chapter 6)
from seqlib.data.pairs import PairData
from seqlib.tokens import BOS, PAD
from seqlib.nn.seq2seq import Seq2Seq, seq2seq_loss
from seqlib.train.loop import iterate_batches


@dataclass
class EarlyStopped:
    """What `train_until_plateau` did: per-epoch train loss and validation exact match, the best
    epoch (1-based) and why it stopped ('plateau' or 'max_epochs')."""

    train_loss: list = field(default_factory=list)
    val_exact: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    best_epoch: int = 0
    best_val: float = -1.0
    stopped: str = ""
    cpu_seconds: float = 0.0

    @property
    def epochs(self) -> int:
        return len(self.val_exact)


@torch.no_grad()
def decode(model: Seq2Seq, data: PairData, sources, beam: int = 1, max_len: int = 30,
           batch_size: int = 512) -> list[list[str]]:
    """Target tokens for each source (greedy when beam == 1, else beam search), in batches."""
    was = model.training
    model.eval()
    out = []
    for i in range(0, len(sources), batch_size):
        X, L = data.encode(sources[i:i + batch_size])
        ids = (model.greedy(X, L, max_len=max_len) if beam == 1
               else model.beam_search(X, L, beam, max_len=max_len))
        out += data.decode(ids)
    model.train(was)
    return out


def exact_match(predictions, references) -> list[bool]:
    """Per example: does the prediction equal any accepted reference?"""
    if len(predictions) != len(references):
        raise ValueError(f"seq2seq_eval: {len(predictions)} predictions for {len(references)} "
                         "references")
    return [list(p) in [list(r) for r in refs] for p, refs in zip(predictions, references)]


def by_length(correct, lengths, edges) -> list[dict]:
    """Mean of `correct` in bins [edges[i], edges[i+1]) of `lengths`: rows of lo, hi, n, mean
    (mean is NaN for an empty bin)."""
    if len(correct) != len(lengths):
        raise ValueError(f"seq2seq_eval.by_length: {len(correct)} values for {len(lengths)} lengths")
    rows = []
    for lo, hi in zip(edges, edges[1:]):
        sel = [c for c, n in zip(correct, lengths) if lo <= n < hi]
        rows.append({"lo": lo, "hi": hi, "n": len(sel),
                     "mean": sum(sel) / len(sel) if sel else float("nan")})
    return rows


@torch.no_grad()
def sequence_logprob(model: Seq2Seq, data: PairData, sources, outputs) -> torch.Tensor:
    """log p(y | x) under `model` of each output (a list of target tokens, EOS added): (N,)."""
    from seqlib.data.pairs import encode_targets

    was = model.training
    model.eval()
    X, L = data.encode(sources)
    tgt_in, tgt_out = encode_targets([list(o) for o in outputs], data.tgt_vocab)
    logp = torch.log_softmax(model(X, L, tgt_in).float(), -1)  # (N, U, V)
    tok = logp.gather(-1, tgt_out.unsqueeze(-1)).squeeze(-1)  # (N, U)
    model.train(was)
    return (tok * (tgt_out != PAD)).sum(1)  # (N,)


def train_until_plateau(model: Seq2Seq, data: PairData, *, lr: float = 3e-3,
                        batch_size: int = 64, clip: float = 1.0, patience: int = 4,
                        max_epochs: int = 40, min_delta: float = 1e-3, seed: int = 0,
                        max_len: int = 30, state: str | Path | None = None,
                        progress=None) -> EarlyStopped:
    """Adam with gradient clipping; after every epoch, greedy exact match on `data`'s validation
    split; the learning rate halves after 2 epochs without improvement, and training stops after
    `patience` epochs without an improvement of at least `min_delta` (or at `max_epochs`). The
    model ends with its best-epoch weights. With `state` (a path), everything needed to go on
    (weights, best weights, optimizer, shuffling, history) is saved atomically after each epoch
    and a later call with the same path resumes where it stopped. The test split is never read.
    """
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    hist, best = EarlyStopped(), None
    state = Path(state) if state is not None else None
    if state is not None and state.exists():
        saved = torch.load(state, map_location="cpu", weights_only=False)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        gen.set_state(saved["generator"])
        hist, best = EarlyStopped(**saved["history"]), saved["best"]
    val_src, val_ref = data.sources["val"], data.references["val"]
    while not hist.stopped:
        t0 = time.process_time()
        model.train()
        total, seen = 0.0, 0
        for X, L, tgt_in, tgt_out in iterate_batches(data.train, batch_size, True, gen):
            opt.zero_grad(set_to_none=True)
            loss = seq2seq_loss(model(X, L, tgt_in), tgt_out)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            total, seen = total + loss.item() * len(X), seen + len(X)
        val = sum(exact_match(decode(model, data, val_src, max_len=max_len), val_ref)) / len(val_ref)
        hist.train_loss.append(total / seen)
        hist.val_exact.append(val)
        hist.lr.append(opt.param_groups[0]["lr"])
        if val > hist.best_val + min_delta:
            hist.best_val, hist.best_epoch = val, hist.epochs
            best = {k: v.detach().clone() for k, v in model.state_dict().items()}
        since = hist.epochs - hist.best_epoch
        if since >= patience:
            hist.stopped = "plateau"
        elif hist.epochs >= max_epochs:
            hist.stopped = "max_epochs"
        elif since and since % 2 == 0:
            for g in opt.param_groups:
                g["lr"] /= 2
        hist.cpu_seconds += time.process_time() - t0
        if progress is not None:
            progress(hist)
        if state is not None:
            atomic_torch_save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                          "generator": gen.get_state(), "history": asdict(hist), "best": best},
                         state)
    model.load_state_dict(best)
    model.eval()
    return hist


def nan_to_none(x):
    return None if isinstance(x, float) and math.isnan(x) else x


@torch.no_grad()
def greedy_steps(model: Seq2Seq, src: torch.Tensor, src_lengths: torch.Tensor,
                 steps: int) -> torch.Tensor:
    """Exactly `steps` greedy decoder steps (no stop at EOS), for timing: tokens (B, steps).
    Each step needs the previous one's output: the loop cannot run its steps in parallel."""
    memory, state = model.encode(src, src_lengths)
    y = torch.full((src.size(0),), BOS, dtype=torch.long, device=src.device)
    out = []
    for _ in range(steps):
        logits, state, _ = model.step(y, state, memory)
        y = logits.argmax(-1)  # (B,)
        out.append(y)
    return torch.stack(out, 1)  # (B, steps)


def diagonal_agreement(weights: torch.Tensor, src_lengths, out_lengths) -> tuple[int, int]:
    """(steps whose most-attended source position lies within one of the diagonal alignment,
    steps counted): output step i of n reads source position floor((i + 1/2) m / n) of m.
    weights (B, U, T) from `Seq2Seq.greedy(..., return_weights=True)`; out_lengths excludes EOS."""
    hits = total = 0
    for w, m, n in zip(weights, src_lengths, out_lengths):
        m, n = int(m), int(n)
        for i in range(n):
            diag = math.floor((i + 0.5) * m / n)
            hits += abs(int(w[i, :m].argmax()) - diag) <= 1
            total += 1
    return hits, total


def train_step_fn(model, src: torch.Tensor, src_lengths: torch.Tensor, target_len: int, seed: int = 0):
    """A closure running one teacher-forced training step (forward, loss, backward) of `model`
    (a `Seq2Seq` or a `TransformerDecoderModel`) on random targets of `target_len` tokens, for
    timing. Gradients are dropped after each call."""
    g = torch.Generator().manual_seed(seed)
    V = model.out.out_features
    tgt = torch.randint(3, V, (src.size(0), target_len + 1), generator=g)  # (B, U+1)
    tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]

    def step():
        model.zero_grad(set_to_none=True)
        seq2seq_loss(model(src, src_lengths, tgt_in), tgt_out).backward()

    return step


@torch.no_grad()
def transformer_greedy_steps(model, src: torch.Tensor, src_lengths: torch.Tensor,
                             steps: int) -> torch.Tensor:
    """Exactly `steps` greedy steps of a `TransformerDecoderModel` (each over the prefix so far,
    no cache), for timing: tokens (B, steps)."""
    y = torch.full((src.size(0), 1), BOS, dtype=torch.long, device=src.device)
    for _ in range(steps):
        nxt = model(src, src_lengths, y)[:, -1].argmax(-1, keepdim=True)  # (B, 1)
        y = torch.cat([y, nxt], 1)
    return y[:, 1:]
