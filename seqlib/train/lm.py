"""A character-level language model: embedding, stacked LSTM (or GRU), next-character logits;
its held-out loss over a whole text stream, and text generated with a temperature.

Shape legend: B batch (streams), T time (characters), E embedding size, H hidden size,
L layers, V vocabulary size.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from seqlib.nn.lstm import NoTanhLSTM


class CharLM(nn.Module):
    r"""Predicts the next character: :math:`p(x_{t+1} \mid x_{\le t}) =
    \mathrm{softmax}(W h^{(L)}_t + b)`, with :math:`h^{(L)}_t` the top layer of an
    L-layer LSTM (or GRU) reading the embedded characters.

    Args:
        vocab_size: V.  embed_dim: E.  hidden_size: H (every layer).  num_layers: L.
        output_tanh: True (default) runs `torch.nn.LSTM` (:math:`h = o \odot \tanh(c)`);
            False runs `seqlib.nn.lstm.NoTanhLSTM` (:math:`h = o \odot c`), an ablation
            with the same parameters and the same initialisation for a given seed.
        kind: "lstm" (default) or "gru" (`torch.nn.GRU`; its state is h alone, and
            `output_tanh` must stay True).
    Shapes:
        forward: x (B, T) long -> logits (B, T, V).
        run: x (B, T) long, state (h, c) each (L, B, H) (GRU: h (L, B, H)) or None
            -> logits, state.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_size: int,
                 num_layers: int = 1, output_tanh: bool = True, kind: str = "lstm"):
        super().__init__()
        for name, v in (("vocab_size", vocab_size), ("embed_dim", embed_dim),
                        ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"CharLM: expected {name} to be a positive integer, "
                                 f"got {v!r}")
        if kind not in ("lstm", "gru"):
            raise ValueError(f"CharLM: expected kind 'lstm' or 'gru', got {kind!r}")
        if kind == "gru" and not output_tanh:
            raise ValueError("CharLM: output_tanh=False is an LSTM ablation; kind 'gru' "
                             "has no output tanh to remove")
        self.vocab_size, self.output_tanh, self.kind = vocab_size, output_tanh, kind
        self.embed = nn.Embedding(vocab_size, embed_dim)
        rnn = nn.GRU if kind == "gru" else nn.LSTM if output_tanh else NoTanhLSTM
        self.rnn = rnn(embed_dim, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def run(self, x: torch.Tensor, state=None):
        if x.dtype != torch.long or x.dim() != 2:
            raise ValueError(f"CharLM: expected character ids (B, T) of dtype "
                             f"torch.long, got {x.dtype} of shape {tuple(x.shape)}")
        out, state = self.rnn(self.embed(x), state)  # (B, T, E) -> (B, T, H)
        return self.head(out), state  # (B, T, V)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x)[0]


def next_char_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy in nats per character. logits (B, T, V), y (B, T) long."""
    return F.cross_entropy(logits.flatten(0, 1), y.flatten())  # (B*T, V), (B*T,)


@torch.no_grad()
def stream_loss(model: CharLM, ids: torch.Tensor, streams: int = 16,
                chunk: int = 256) -> float:
    """Cross-entropy in nats/char of `model` on a whole text, read as `streams`
    contiguous pieces side by side with the state carried from chunk to chunk, so that
    every character but the first of each piece is predicted from all the context
    before it in its piece.

    ids (N,) long; the last N mod streams characters are left out. Returns the mean over
    the (N // streams - 1) * streams predicted characters.
    """
    if ids.dim() != 1 or ids.dtype != torch.long:
        raise ValueError(f"stream_loss: expected a 1-D long tensor of ids, got "
                         f"{ids.dtype} of shape {tuple(ids.shape)}")
    n = ids.numel() // streams
    if n < 2:
        raise ValueError(f"stream_loss: {ids.numel()} characters are too few for "
                         f"{streams} streams")
    was_training = model.training
    model.eval()
    x = ids[: n * streams].view(streams, n)  # (B, N/B)
    state, total, count = None, 0.0, 0
    for start in range(0, n - 1, chunk):
        inp = x[:, start:min(start + chunk, n - 1)]  # (B, t)
        tgt = x[:, start + 1:start + 1 + inp.size(1)]  # (B, t)
        logits, state = model.run(inp, state)  # (B, t, V)
        nll = F.cross_entropy(logits.flatten(0, 1), tgt.flatten(), reduction="sum")
        total += float(nll)
        count += tgt.numel()
    model.train(was_training)
    return total / count


@torch.no_grad()
def window_loss(model: CharLM, ids: torch.Tensor, length: int, batch: int = 256) -> float:
    """Cross-entropy in nats/char of `model` on a text cut into consecutive windows of
    `length` + 1 characters, each read from a zero state: the model predicts the last `length`
    characters of every window from the ones before it *in that window*. This is how a model
    trained on random windows of `length` characters is scored in its own regime (compare
    :func:`stream_loss`, which carries the state across the whole text).

    ids (N,) long; the last N mod (length + 1) characters are left out. Returns the mean over
    the N // (length + 1) * length predicted characters.
    """
    if ids.dim() != 1 or ids.dtype != torch.long:
        raise ValueError(f"window_loss: expected a 1-D long tensor of ids, got "
                         f"{ids.dtype} of shape {tuple(ids.shape)}")
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"window_loss: expected length to be a positive integer, got {length!r}")
    n = ids.numel() // (length + 1)
    if n < 1:
        raise ValueError(f"window_loss: {ids.numel()} characters are too few for one window "
                         f"of {length + 1}")
    was_training = model.training
    model.eval()
    w = ids[: n * (length + 1)].view(n, length + 1)  # (windows, L+1)
    total = 0.0
    for start in range(0, n, batch):
        x = w[start:start + batch]
        logits = model(x[:, :-1])  # (b, L, V), each window from a zero state
        total += float(F.cross_entropy(logits.flatten(0, 1), x[:, 1:].flatten(), reduction="sum"))
    model.train(was_training)
    return total / (n * length)


@torch.no_grad()
def generate(model: CharLM, prompt: torch.Tensor, n: int, temperature: float = 1.0,
             seed: int = 0) -> torch.Tensor:
    """Reads `prompt` (T0,) ids, then samples `n` characters one by one, each fed back.

    Each character is drawn from softmax(logits / temperature): below 1 the distribution
    sharpens toward the likeliest character, above 1 it flattens toward uniform;
    temperature 0 takes the arg-max (greedy). Returns the sampled ids (n,) long; `seed`
    fixes the draws.
    """
    if prompt.dim() != 1 or prompt.numel() < 1:
        raise ValueError(f"generate: expected a non-empty 1-D prompt of ids, got shape "
                         f"{tuple(prompt.shape)}")
    ok = isinstance(temperature, (int, float)) and math.isfinite(temperature)
    if not (ok and temperature >= 0):
        raise ValueError(f"generate: expected a temperature >= 0, got {temperature!r}")
    was_training = model.training
    model.eval()
    g = torch.Generator().manual_seed(seed)
    logits, state = model.run(prompt.view(1, -1))  # (1, T0, V)
    last = logits[0, -1]  # (V,)
    out = []
    for _ in range(n):
        if temperature == 0:
            nxt = last.argmax()
        else:
            probs = torch.softmax(last.double() / temperature, dim=-1)  # (V,)
            nxt = torch.multinomial(probs, 1, generator=g)[0]
        out.append(int(nxt))
        logits, state = model.run(nxt.view(1, 1), state)  # (1, 1, V)
        last = logits[0, -1]
    model.train(was_training)
    return torch.tensor(out, dtype=torch.long)
