"""Small task heads around any seqlib (or torch.nn) recurrent layer.

Shape legend: B batch, T time, I input features, H hidden size, D directions, C outputs.
"""
from __future__ import annotations

import torch
from torch import nn

from .gru import GRU
from .lstm import LSTM
from .rnn import RNN

RECURRENT = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def make_recurrent(kind: str, input_size: int, hidden_size: int, **kwargs) -> nn.Module:
    """seqlib.RNN/LSTM/GRU by name ('rnn', 'lstm', 'gru'), batch_first=True."""
    if kind not in RECURRENT:
        raise ValueError(f"make_recurrent: expected kind in {sorted(RECURRENT)}, got {kind!r}")
    return RECURRENT[kind](input_size, hidden_size, batch_first=True, **kwargs)


class LastStepRegressor(nn.Module):
    """Reads a sequence and predicts from the last layer's final hidden state.

    Shapes: x (B, T, I) -> (B, C).
    """

    def __init__(self, kind: str, input_size: int, hidden_size: int, output_size: int = 1, **kwargs):
        super().__init__()
        self.rnn = make_recurrent(kind, input_size, hidden_size, **kwargs)
        self.head = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)  # (B, T, D*H)
        return self.head(out[:, -1, : self.rnn.hidden_size])  # forward direction's last step -> (B, C)


class TokenTagger(nn.Module):
    """Embeds token ids and predicts a class at every step (copy task, tagging).

    Shapes: x (B, T) long -> logits (B, T, C).
    """

    def __init__(self, kind: str, vocab_size: int, embed_dim: int, hidden_size: int, num_classes: int,
                 bidirectional: bool = False, **kwargs):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.rnn = make_recurrent(kind, embed_dim, hidden_size, bidirectional=bidirectional, **kwargs)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.embed(x))  # (B, T, E) -> (B, T, D*H)
        return self.head(out)  # (B, T, C)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
