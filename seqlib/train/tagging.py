"""Training and scoring per-position taggers and the bidirectional language-model probes of
chapter 4: masked losses and accuracies, prefix-only next-token loss, sampling, and selection of
the epoch by validation."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqlib.tokens import IGNORE, PAD, UNK


# --- losses and metrics for per-position tagging (targets IGNORE at padding) ---------------------

def masked_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the real positions. logits (B, T, C), target (B, T) with IGNORE at padding."""
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1), ignore_index=IGNORE)


def position_accuracy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Fraction of real positions whose arg-max class is the target."""
    mask = target != IGNORE  # (B, T)
    return ((logits.argmax(-1) == target) & mask).sum() / mask.sum()


def sequence_accuracy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Fraction of sequences whose every real position is right (whole-word accuracy)."""
    ok = (logits.argmax(-1) == target) | (target == IGNORE)  # (B, T)
    return ok.all(dim=1).float().mean()


@torch.no_grad()
def tagging_scores(model: nn.Module, X: torch.Tensor, lengths: torch.Tensor, Y: torch.Tensor,
                   batch_size: int = 512) -> dict:
    """Exact per-position loss and accuracy (weighted by positions) and whole-sequence accuracy
    of a tagger called as model(X, lengths), over a whole split, in eval mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    nll, correct, positions, words_ok = 0.0, 0, 0, 0
    for s in range(0, len(X), batch_size):
        x, n, y = X[s:s + batch_size].to(device), lengths[s:s + batch_size].to(device), Y[s:s + batch_size].to(device)
        logits = model(x, n)  # (B, T, C)
        mask = y != IGNORE  # (B, T)
        nll += float(F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1),
                                     ignore_index=IGNORE, reduction="sum"))
        hit = logits.argmax(-1) == y  # (B, T)
        correct += int((hit & mask).sum())
        positions += int(mask.sum())
        words_ok += int((hit | ~mask).all(dim=1).sum())
    model.train(was_training)
    return {"loss": nll / positions, "position_acc": correct / positions, "sequence_acc": words_ok / len(X)}


@torch.no_grad()
def prefix_next_token_loss(model: nn.Module, X: torch.Tensor, lengths: torch.Tensor, Y: torch.Tensor,
                           batch_size: int = 2048) -> dict:
    """Next-token loss and accuracy when position t may see only x[0..t] (how a generator must run).

    For every sequence i and every real position t, the model is run on the prefix X[i, :t+1]
    alone (lengths t+1) and its prediction at t is scored against Y[i, t]. A unidirectional model
    scores exactly its teacher-forced loss; a bidirectional one loses what its backward pass read
    from the future.  X, Y (N, T), lengths (N,) -> {'loss' (nats per token), 'acc'}.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    lengths = lengths.cpu()
    rows = torch.repeat_interleave(torch.arange(len(X)), lengths)  # (P,): sequence of each prefix
    t = torch.cat([torch.arange(int(n)) for n in lengths])  # (P,): last position of each prefix
    nll, correct = 0.0, 0
    for s in range(0, len(rows), batch_size):
        r, tt = rows[s:s + batch_size], t[s:s + batch_size]
        x = X[r].to(device)  # (P_b, T); positions after tt are hidden by the length
        logits = model(x, (tt + 1).to(device))  # (P_b, T, C)
        last = logits[torch.arange(len(r), device=device), tt.to(device)]  # (P_b, C)
        target = Y[r, tt].to(device)  # (P_b,)
        nll += float(F.cross_entropy(last, target, reduction="sum"))
        correct += int((last.argmax(-1) == target).sum())
    model.train(was_training)
    return {"loss": nll / len(rows), "acc": correct / len(rows)}


@torch.no_grad()
def generate(model: nn.Module, start: int, stop: int, vocab: list, n: int = 5, max_len: int = 16,
             generator: torch.Generator | None = None, forbid: tuple = (PAD, UNK)) -> list[str]:
    """Samples n sequences left to right: each next token is drawn from the model's prediction at
    the last position of the prefix so far (all a generator can give it). Returns them as strings.

    Tokens in ``forbid`` (padding and the unknown token by default) and ``start`` are never
    drawn, and ``stop`` is not drawn first, so no sample holds ``<unk>`` or is empty."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    banned = sorted({int(i) for i in forbid} | {int(start)} - {int(stop)})
    out = []
    for _ in range(n):
        seq = [start]
        for _ in range(max_len):
            x = torch.tensor([seq], device=device)  # (1, t+1)
            logits = model(x, torch.tensor([len(seq)], device=device))[0, -1].float().cpu()  # (C,)
            logits[banned] = float("-inf")
            if len(seq) == 1:
                logits[stop] = float("-inf")  # a sample has at least one token
            probs = torch.softmax(logits, dim=-1)
            nxt = int(torch.multinomial(probs, 1, generator=generator))
            if nxt == stop:
                break
            seq.append(nxt)
        out.append("".join(vocab[i] for i in seq[1:]))
    model.train(was_training)
    return out


def select_by_validation(model: nn.Module, train: tuple, val: tuple, *, epochs: int, lr: float,
                         loss_fn, evaluate, key: str, seed: int = 0, batch_size: int = 64,
                         device=None, desc: str | None = None) -> tuple[list[dict], int]:
    """Trains ``model`` one epoch at a time with `seqlib.fit` (Adam, one optimizer throughout)
    and keeps the weights of the epoch whose validation score ``evaluate(model, val)[key]`` is
    highest (the test split plays no part). Returns the per-epoch validation scores and the
    chosen epoch (1-based); the model ends with the chosen weights."""
    import copy

    from seqlib.train.loop import progress_bar as tqdm

    from seqlib.train.loop import fit

    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"select_by_validation: expected epochs >= 1, got {epochs!r}")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    best, best_state, best_epoch, curve = float("-inf"), None, 0, []
    for epoch in tqdm(range(epochs), desc=desc or type(model).__name__):
        fit(model, train, loss_fn=loss_fn, epochs=1, optimizer=opt, lr=lr, batch_size=batch_size,
            seed=seed * 1000 + epoch, device=device, progress=False)
        score = evaluate(model, val)
        if key not in score:
            raise KeyError(f"select_by_validation: evaluate returned no {key!r}, got {sorted(score)}")
        curve.append(score)
        if score[key] > best:
            best, best_state, best_epoch = score[key], copy.deepcopy(model.state_dict()), epoch + 1
    model.load_state_dict(best_state)
    return curve, best_epoch


# --- a unidirectional tagger that sees k tokens ahead ----------------------------------------------

def look_ahead(split: tuple, k: int, filler: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Delays the labels of a tagging split by ``k`` positions, so that a left-to-right tagger
    answers for token t after reading tokens t+1..t+k as well: each sequence is followed by ``k``
    ``filler`` tokens (lengths grow by k), and the label of token t moves to position t+k (IGNORE
    at the first k positions). Scores over the non-IGNORE positions are scores of the original
    tokens. ``k = 0`` returns the split unchanged.

    split: X (N, T) long, lengths (N,), Y (N, T) (IGNORE at padding) -> X' (N, T+k),
    lengths + k, Y' (N, T+k)."""
    X, lengths, Y = split
    if not isinstance(k, int) or k < 0:
        raise ValueError(f"look_ahead: expected k >= 0 (an int), got {k!r}")
    if X.shape != Y.shape or X.dim() != 2 or lengths.shape != X.shape[:1]:
        raise ValueError(f"look_ahead: expected X and Y of one shape (N, T) and lengths (N,), got "
                         f"{tuple(X.shape)}, {tuple(Y.shape)}, {tuple(lengths.shape)}")
    if k == 0:
        return X, lengths, Y
    N, T = X.shape
    pos = torch.arange(T + k)  # (T+k,)
    Xk = torch.cat([X, torch.zeros(N, k, dtype=X.dtype)], 1)  # (N, T+k), padding id 0
    tail = (pos >= lengths[:, None]) & (pos < lengths[:, None] + k)  # (N, T+k): the k fillers
    Xk[tail] = filler
    Yk = torch.full((N, T + k), IGNORE, dtype=Y.dtype)  # (N, T+k)
    Yk[:, k:] = Y  # the label of token t at position t + k
    return Xk, lengths + k, Yk


@torch.no_grad()
def break_f1(model: nn.Module, X: torch.Tensor, lengths: torch.Tensor, Y: torch.Tensor,
             positive: int = 1, batch_size: int = 512) -> dict:
    """Precision, recall and F1 of the ``positive`` label (e.g. 'a break may follow this
    letter') over the real positions of a split, pooled over all sequences: a rare label's
    score, which per-position accuracy hides behind the common one."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    tp = fp = fn = 0
    for s in range(0, len(X), batch_size):
        x, n, y = X[s:s + batch_size].to(device), lengths[s:s + batch_size].to(device), Y[s:s + batch_size].to(device)
        pred = model(x, n).argmax(-1)  # (B, T)
        mask = y != IGNORE  # (B, T)
        p, t = (pred == positive) & mask, (y == positive) & mask
        tp += int((p & t).sum())
        fp += int((p & ~t).sum())
        fn += int((~p & t).sum())
    model.train(was_training)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": prec, "recall": rec, "f1": f1}
