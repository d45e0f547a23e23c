"""A character-level language model: embedding, stacked vanilla RNN, LSTM or GRU, next-character
logits; truncated BPTT over a text read as streams (`train_stream`, one update per window:
`tbptt_step`); its held-out loss over a whole text stream, and text generated with a temperature.

Shape legend: B batch (streams), T time (characters), E embedding size, H hidden size,
L layers, V vocabulary size.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from seqlib.nn.lstm import NoTanhLSTM
from seqlib.train.tbptt import detach_state

KINDS = ("lstm", "gru", "rnn")


class CharLM(nn.Module):
    r"""Predicts the next character: :math:`p(x_{t+1} \mid x_{\le t}) =
    \mathrm{softmax}(W h^{(L)}_t + b)`, with :math:`h^{(L)}_t` the top layer of an
    L-layer LSTM (or GRU, or vanilla tanh RNN) reading the embedded characters.

    Args:
        vocab_size: V.  embed_dim: E.  hidden_size: H (every layer).  num_layers: L.
        output_tanh: True (default) runs `torch.nn.LSTM` (:math:`h = o \odot \tanh(c)`);
            False runs `seqlib.nn.lstm.NoTanhLSTM` (:math:`h = o \odot c`), an ablation
            with the same parameters and the same initialisation for a given seed.
        kind: "lstm" (default), "gru" (`torch.nn.GRU`) or "rnn" (`torch.nn.RNN`, tanh:
            :math:`h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})`); the GRU's
            and the RNN's state is h alone, and `output_tanh` must stay True for both.
    Shapes:
        forward: x (B, T) long -> logits (B, T, V).
        run: x (B, T) long, state (h, c) each (L, B, H) (GRU, RNN: h (L, B, H)) or None
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
        if kind not in KINDS:
            raise ValueError(f"CharLM: expected kind 'lstm', 'gru' or 'rnn', got {kind!r}")
        if kind != "lstm" and not output_tanh:
            raise ValueError(f"CharLM: output_tanh=False is an LSTM ablation; kind {kind!r} "
                             "has no output tanh to remove")
        self.vocab_size, self.output_tanh, self.kind = vocab_size, output_tanh, kind
        self.embed = nn.Embedding(vocab_size, embed_dim)
        rnn = {"gru": nn.GRU, "rnn": nn.RNN}.get(kind, nn.LSTM if output_tanh else NoTanhLSTM)
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


def tbptt_step(model: CharLM, opt: torch.optim.Optimizer, chunk: torch.Tensor, state=None,
               clip: float | None = 1.0):
    """One update of truncated BPTT: read the window `chunk[:, :-1]` from the carried `state`,
    predict `chunk[:, 1:]`, and take one optimizer step on the window's mean cross-entropy.

    The state is detached at the window's start, so the gradient of this window's loss stops
    there and never reaches the windows before it. chunk (B, k + 1) long; state as
    `CharLM.run` returns it, or None (a zero state). Returns (the window's loss in nats/char,
    the final state, detached). A window whose loss is not finite takes no step.
    """
    if chunk.dim() != 2 or chunk.size(1) < 2:
        raise ValueError(f"tbptt_step: expected a window of ids (B, k + 1) with k >= 1, "
                         f"got shape {tuple(chunk.shape)}")
    if state is not None:
        state = detach_state(state)  # cut the graph: gradients stop at this window's start
    logits, state = model.run(chunk[:, :-1], state)  # (B, k, V)
    loss = next_char_loss(logits, chunk[:, 1:])
    value = loss.item()
    if math.isfinite(value):
        opt.zero_grad(set_to_none=True)
        loss.backward()  # back through this window only
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
    return value, detach_state(state)


def _positive_int(fn: str, name: str, v) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{fn}: expected {name} to be a positive integer, got {v!r}")


def train_stream(model: CharLM, ids: torch.Tensor, *, k: int, streams: int,
                 steps: int | None = None, passes: int | None = None, lr: float = 3e-3,
                 clip: float | None = 1.0, seed: int = 0, eval_ids: torch.Tensor | None = None,
                 eval_every: int | None = None, eval_streams: int = 16) -> dict:
    """Trains `model` on the text `ids` with truncated BPTT of window `k`.

    The text is cut into `streams` contiguous pieces read side by side (a batch of B =
    `streams`), left to right in windows of `k` characters: one Adam step per window
    (`tbptt_step`), the state carried from window to window and detached at each window's
    start. Each pass over the text starts from a zero state at an offset drawn below `k` with
    `seed`, so the window boundaries move from pass to pass. Training stops after `steps`
    updates or `passes` passes (give exactly one).

    With `eval_ids`, the held-out loss (`stream_loss` over `eval_streams` streams, the state
    carried: the regime of training) is measured before the first update, every `eval_every`
    updates (default: 8 points) and after the last. ids (N,) long.

    Returns {"updates", "loss" (each update's window loss, nats/char), "chars" (characters
    predicted in training so far, after each update), "eval" (a list of {"updates", "chars",
    "loss"}), "diverged" (a window's loss was not finite: training stopped there)}.
    """
    fn = "train_stream"
    if not isinstance(ids, torch.Tensor) or ids.dim() != 1 or ids.dtype != torch.long:
        raise ValueError(f"{fn}: expected a 1-D long tensor of ids, got "
                         f"{getattr(ids, 'dtype', type(ids).__name__)} of shape "
                         f"{tuple(getattr(ids, 'shape', ()))}")
    if eval_ids is not None and (not isinstance(eval_ids, torch.Tensor) or eval_ids.dim() != 1
                                 or eval_ids.dtype != torch.long):
        raise ValueError(f"{fn}: expected eval_ids to be a 1-D long tensor of ids or None")
    _positive_int(fn, "the window k", k)
    _positive_int(fn, "streams", streams)
    if (steps is None) == (passes is None):
        raise ValueError(f"{fn}: expected exactly one of steps and passes, got steps={steps!r}, "
                         f"passes={passes!r}")
    _positive_int(fn, "steps" if passes is None else "passes", steps or passes)
    if eval_every is not None:
        _positive_int(fn, "eval_every", eval_every)
    length = (ids.numel() - k) // streams  # characters per stream, with room for the offset
    if length < k + 1:
        raise ValueError(f"{fn}: {ids.numel()} characters are too few for {streams} streams "
                         f"of at least one window of {k} + 1")
    per_pass = (length - 1) // k  # whole windows per pass
    total = steps if steps is not None else passes * per_pass
    if eval_ids is not None and eval_every is None:
        eval_every = max(1, total // 8)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    hist = {"updates": 0, "loss": [], "chars": [], "eval": [], "diverged": False}

    def evaluate():
        chars = hist["chars"][-1] if hist["chars"] else 0
        loss = stream_loss(model, eval_ids, streams=eval_streams)
        hist["eval"].append({"updates": hist["updates"], "chars": chars, "loss": loss})

    if eval_ids is not None:
        evaluate()
    model.train()
    while hist["updates"] < total and not hist["diverged"]:
        offset = int(torch.randint(0, k, (1,), generator=gen))
        x = ids[offset:offset + streams * length].view(streams, length)  # (B, N/B)
        state = None  # each pass starts its streams from a zero state
        for i in range(per_pass):
            chunk = x[:, i * k:i * k + k + 1]  # (B, k + 1)
            loss, state = tbptt_step(model, opt, chunk, state, clip)
            hist["updates"] += 1
            hist["loss"].append(loss)
            hist["chars"].append((hist["chars"][-1] if hist["chars"] else 0) + streams * k)
            if not math.isfinite(loss):
                hist["diverged"] = True
                break
            if eval_ids is not None and hist["updates"] % eval_every == 0:
                evaluate()
            if hist["updates"] >= total:
                break
    if eval_ids is not None and hist["eval"][-1]["updates"] != hist["updates"]:
        evaluate()
    model.train()
    return hist


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
