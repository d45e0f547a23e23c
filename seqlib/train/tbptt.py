"""Truncated backpropagation through time (TBPTT) on a long stream.

A long sequence is cut into windows of k steps. The state is carried forward from one window to
the next, so the *forward* pass sees the whole stream, but it is **detached** at each window's
start (``h = h.detach()``), so the *backward* pass stops there: a loss at step t sends gradient
only to inputs of its own window. A dependency of d >= k steps therefore never gets a gradient
path (Williams & Peng 1990; the "detach the state" of D2L's RNN chapter).

The probe is the echo task: a stream of random bits, and at every step the target is the bit
seen `lag` steps earlier. Chance is 1/2 and nothing but memory of the input `lag` steps back
helps.

Shape legend: N streams (the batch), L stream length, I input features (1), H hidden size.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqlib.nn.heads import make_recurrent


def echo_stream(n: int, length: int, lag: int, seed: int = 0):
    """`n` streams of `length` random bits; the target at step t is the bit at step t - lag.

    Returns x (N, L, 1) float32 in {-1, +1}, y (N, L) float32 in {0, 1} and mask (N, L) bool,
    False for the first `lag` steps, whose target does not exist.
    """
    if not (isinstance(lag, int) and lag >= 1):
        raise ValueError(f"tbptt.echo_stream: expected an integer lag >= 1, got {lag!r}")
    if not (isinstance(length, int) and length > lag) or not (isinstance(n, int) and n >= 1):
        raise ValueError("tbptt.echo_stream: expected n >= 1 streams of length > lag, got "
                         f"n={n!r}, length={length!r}, lag={lag}")
    g = torch.Generator().manual_seed(seed)
    bits = torch.randint(0, 2, (n, length), generator=g).float()  # (N, L)
    x = (2 * bits - 1).unsqueeze(-1)  # (N, L, 1)
    y = torch.zeros_like(bits)
    y[:, lag:] = bits[:, :-lag]  # (N, L): y_t = bit_{t - lag}
    mask = torch.zeros(n, length, dtype=torch.bool)
    mask[:, lag:] = True
    return x, y, mask


class StreamTagger(nn.Module):
    """A recurrent layer ('rnn', 'lstm', 'gru') and a linear head giving one logit per step.

    ``forward(x, state=None)`` returns (logits (N, L), final state), so a caller can carry the
    state from one window to the next.
    """

    def __init__(self, kind: str, input_size: int, hidden_size: int, impl: str = "torch"):
        super().__init__()
        self.rnn = make_recurrent(kind, input_size, hidden_size, impl=impl)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor, state=None):
        out, state = self.rnn(x, state)  # (N, L, I) -> (N, L, H)
        return self.head(out).squeeze(-1), state  # (N, L, H) @ (H, 1) -> (N, L)


def detach_state(state):
    """The state with its graph cut: a tensor (RNN, GRU) or a tuple (h, c) (LSTM)."""
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def train_tbptt(model: StreamTagger, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, *,
                k: int, passes: int = 1, lr: float = 3e-3, clip: float | None = 1.0,
                seed: int = 0) -> dict:
    """Trains `model` on one batch of streams with truncated BPTT of window `k`.

    Each pass runs over the streams left to right in windows of `k` steps; after each window it
    takes one Adam step on the window's masked BCE loss and detaches the carried state. Every k
    sees the same data (`passes` times), so a smaller k takes more, shorter steps.
    Returns {"updates", "loss"} (the mean loss of each update).
    """
    if not (isinstance(k, int) and k >= 1):
        raise ValueError(f"tbptt.train_tbptt: expected a window k >= 1 (an int), got {k!r}")
    if x.dim() != 3 or y.shape != x.shape[:2] or mask.shape != y.shape:
        raise ValueError("tbptt.train_tbptt: expected x (N, L, I), y (N, L) and mask (N, L), "
                         f"got {tuple(x.shape)}, {tuple(y.shape)}, {tuple(mask.shape)}")
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in range(passes):
        state = None
        for s in range(0, x.size(1), k):
            logits, state = model(x[:, s:s + k], state)  # (N, k)
            m = mask[:, s:s + k]
            if m.any():
                loss = F.binary_cross_entropy_with_logits(logits[m], y[:, s:s + k][m])
                opt.zero_grad(set_to_none=True)
                loss.backward()  # stops at this window's start: state was detached
                if clip is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), clip)
                opt.step()
                losses.append(loss.item())
            state = detach_state(state)
    return {"updates": len(losses), "loss": losses}


@torch.no_grad()
def stream_accuracy(model: StreamTagger, x: torch.Tensor, y: torch.Tensor,
                    mask: torch.Tensor) -> float:
    """Accuracy of sign(logit) on the masked steps, one full forward pass (no truncation)."""
    model.eval()
    logits, _ = model(x)  # (N, L)
    right = ((logits > 0).float() == y)[mask]
    return right.float().mean().item()


def windows_with_path(length: int, k: int, lag: int) -> float:
    """Fraction of target steps t >= lag whose input t - lag lies in the same window of k steps:
    the steps whose dependency gets any gradient under TBPTT(k). Zero whenever lag >= k."""
    if lag >= k:
        return 0.0
    steps = range(lag, length)
    return sum((t % k) >= lag for t in steps) / max(len(steps), 1)


__all__ = ["echo_stream", "StreamTagger", "detach_state", "train_tbptt", "stream_accuracy",
           "windows_with_path"]
