"""Bidirectional recurrent networks on padded batches: the wrong construction, the right one, a tagger.

A bidirectional layer runs one recurrent pass left to right and a second, with its own weights,
right to left, and concatenates the two hidden states at every position:

    h_fwd[t] = cell_fwd(x[t], h_fwd[t-1])          t = 0 .. n-1
    h_bwd[t] = cell_bwd(x[t], h_bwd[t+1])          t = n-1 .. 0
    y[t]     = [h_fwd[t] ; h_bwd[t]]               (2H features)

where n is the length of *this* sequence. In a padded batch, sequences shorter than T are followed
by padding. Flipping the whole padded tensor along time (`FlipPaddedBiLSTM`, the construction a
first attempt usually writes) makes the backward pass read the padding *first*, so its states at
the real positions depend on padding and differ from the definition above. Reversing each sequence
within its own length (`seqlib.recurrent.reverse_padded`, used by `LengthAwareBiLSTM` and by
`seqlib.LSTM(bidirectional=True)`) or packing the batch (`PackedTagger`) computes the definition.

Shape legend: B batch, T time (longest sequence), I input features, E embedding size,
H hidden size per direction, D directions (1 or 2), C classes, V vocabulary size.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .lstm import LSTM
from .models import EmbeddedRecurrent
from .recurrent import reverse_padded

IGNORE = -100  # target value at padded positions; cross_entropy's default ignore_index


def _check_lengths(name: str, lengths, B: int, T: int) -> torch.Tensor:
    if not isinstance(lengths, torch.Tensor) or lengths.dim() != 1 or lengths.is_floating_point():
        raise TypeError(f"{name}: expected lengths as a 1-D integer tensor of size {B}, got "
                        f"{lengths.dtype if isinstance(lengths, torch.Tensor) else type(lengths).__name__}"
                        f"{'' if not isinstance(lengths, torch.Tensor) else ' of shape ' + str(tuple(lengths.shape))}")
    if lengths.numel() != B:
        raise ValueError(f"{name}: expected {B} lengths (one per sequence), got {lengths.numel()}")
    if int(lengths.min()) < 1 or int(lengths.max()) > T:
        raise ValueError(f"{name}: expected every length in [1, {T}] (the padded length), got "
                         f"min {int(lengths.min())}, max {int(lengths.max())}")
    return lengths


class TwoPassBiLSTM(nn.Module):
    """A single-layer bidirectional LSTM built from two unidirectional `seqlib.LSTM` passes.

    y[t] = [h_fwd[t] ; h_bwd[t]] with h_bwd computed right to left; how "right to left" is made
    out of a padded batch is the method `reverse`, which subclasses define. Outputs at padded
    positions are set to 0 (as torch does for packed input).

    Args:
        input_size: I.  hidden_size: H per direction.
    Shapes:
        x (B, T, I) float, lengths (B,) long -> output (B, T, 2H), h_n (2, B, H)
        (h_n[0]: forward direction's final state, h_n[1]: backward direction's).
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.fwd = LSTM(input_size, hidden_size)  # time-major
        self.bwd = LSTM(input_size, hidden_size)

    @classmethod
    def from_bidirectional(cls, lstm: nn.Module) -> "TwoPassBiLSTM":
        """Copies the weights of a 1-layer bidirectional `seqlib.LSTM` or `torch.nn.LSTM`."""
        if not getattr(lstm, "bidirectional", False) or lstm.num_layers != 1:
            raise ValueError(f"{cls.__name__}: expected a 1-layer bidirectional LSTM to copy, "
                             f"got bidirectional={getattr(lstm, 'bidirectional', None)}, "
                             f"num_layers={getattr(lstm, 'num_layers', None)}")
        p = next(lstm.parameters())
        model = cls(lstm.input_size, lstm.hidden_size).to(device=p.device, dtype=p.dtype)
        sd = lstm.state_dict()
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            model.fwd.state_dict()[f"{name}_l0"].copy_(sd[f"{name}_l0"])
            model.bwd.state_dict()[f"{name}_l0"].copy_(sd[f"{name}_l0_reverse"])
        return model

    def reverse(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Time-reverses a time-major batch x (T, B, F) for the backward pass."""
        raise NotImplementedError

    def forward_final(self, out_f: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The forward direction's final state (B, H), read from its outputs out_f (T, B, H)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        name = type(self).__name__
        if not isinstance(x, torch.Tensor) or x.dim() != 3:
            raise ValueError(f"{name}: expected a padded batch x of shape (B, T, I), got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        B, T, _ = x.shape
        lengths = _check_lengths(name, lengths, B, T)
        xt = x.transpose(0, 1)  # (B, T, I) -> (T, B, I)
        out_f, _ = self.fwd(xt)  # (T, B, H): position t has read x[0..t]
        out_b, _ = self.bwd(self.reverse(xt, lengths))  # (T, B, H), in reversed time
        out_b = self.reverse(out_b, lengths)  # back to the original time order
        valid = (torch.arange(T, device=x.device).unsqueeze(1) < lengths.to(x.device).unsqueeze(0))  # (T, B)
        out = torch.cat([out_f, out_b], dim=2) * valid.unsqueeze(2)  # (T, B, 2H), 0 at padding
        h_n = torch.stack([self.forward_final(out_f, lengths), out_b[0]])  # (2, B, H)
        return out.transpose(0, 1), h_n  # (B, T, 2H), (2, B, H)


class FlipPaddedBiLSTM(TwoPassBiLSTM):
    """THE WRONG CONSTRUCTION, kept to show the bug: the backward pass reads `x.flip(time)` of the
    whole padded tensor, so a sequence shorter than T meets its padding before its last real
    element, and the forward final state is read at step T-1, after the padding.
    Correct only when every sequence has length T. Use `LengthAwareBiLSTM` or packing instead.

    Shapes: as `TwoPassBiLSTM`.
    """

    def reverse(self, x, lengths):
        return x.flip(0)  # (T, B, F): the padding of short sequences comes first

    def forward_final(self, out_f, lengths):
        return out_f[-1]  # (B, H): the state after the padding too


class LengthAwareBiLSTM(TwoPassBiLSTM):
    """The correct construction: each sequence is reversed within its own length
    (`reverse_padded`), so the backward pass starts at the sequence's last real element, and the
    forward final state is read at position length-1. Equals `torch.nn.LSTM(bidirectional=True)`
    on the packed batch (tested).

    Shapes: as `TwoPassBiLSTM`.
    """

    def reverse(self, x, lengths):
        return reverse_padded(x, lengths)  # (T, B, F): padding stays at the end

    def forward_final(self, out_f, lengths):
        idx = (lengths.to(out_f.device) - 1).view(1, -1, 1).expand(1, -1, out_f.size(2))  # (1, B, H)
        return out_f.gather(0, idx).squeeze(0)  # (B, H): the state at each sequence's last element


class PackedTagger(EmbeddedRecurrent):
    """Embeds token ids, runs a (bi)directional recurrent layer over the *packed* batch, and
    predicts a class at every real position:

        e[t] = Embed(x[t]);   h[t] = RNN(e)[t]  (= [h_fwd[t]; h_bwd[t]] when bidirectional);
        logits[t] = W h[t] + b

    Padding is never read, so a position's prediction depends only on its own sequence. Unlike
    `seqlib.TokenTagger` (padded, no lengths), this one is correct on batches of mixed lengths.

    Args:
        kind: 'rnn', 'lstm' or 'gru'.  vocab_size: V (index 0 pads).  embed_dim: E.
        hidden_size: H per direction.  num_classes: C.  bidirectional: D = 2 if True.
        impl: 'seqlib' (default) or 'torch' (the torch.nn twin, e.g. for cuDNN on a GPU).
    Shapes:
        x (B, T) long, lengths (B,) long -> logits (B, T, C); logits at padded positions are those
        of a zero hidden state and must be ignored by the loss (targets IGNORE there).
    """

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dtype != torch.long or x.dim() != 2:
            got = f"{x.dtype} of shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise TypeError(f"PackedTagger: expected token ids (B, T) of dtype torch.long, got {got}")
        B, T = x.shape
        lengths = _check_lengths("PackedTagger", lengths, B, T)
        packed = pack_padded_sequence(self.embed(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)  # PackedSequence of (sum(lengths), D*H)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)  # (B, T, D*H), 0 at padding
        return self.head(out)  # (B, T, D*H) -> (B, T, C)


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
             generator: torch.Generator | None = None) -> list[str]:
    """Samples n sequences left to right: each next token is drawn from the model's prediction at
    the last position of the prefix so far (all a generator can give it). Returns them as strings."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    for _ in range(n):
        seq = [start]
        for _ in range(max_len):
            x = torch.tensor([seq], device=device)  # (1, t+1)
            logits = model(x, torch.tensor([len(seq)], device=device))[0, -1]  # (C,)
            probs = torch.softmax(logits.float().cpu(), dim=-1)
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

    from tqdm.auto import tqdm

    from .train import fit

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
