"""Small task heads around any seqlib (or torch.nn) recurrent layer.

Shape legend: B batch, T time, I input features, H hidden size, D directions, C outputs.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from seqlib.nn.gru import GRU
from seqlib.nn.lstm import LSTM
from seqlib.nn.rnn import RNN
from seqlib.nn.scan import MinGRU, MinGRUBlock, MinLSTM

RECURRENT = {"rnn": RNN, "lstm": LSTM, "gru": GRU, "mingru": MinGRU, "minlstm": MinLSTM}
TORCH_RECURRENT = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}  # minGRU/minLSTM: no twin


def make_recurrent(kind: str, input_size: int, hidden_size: int, impl: str = "seqlib", **kwargs) -> nn.Module:
    """RNN/LSTM/GRU/MinGRU/MinLSTM by name ('rnn', 'lstm', 'gru', 'mingru', 'minlstm'),
    batch_first=True; impl 'seqlib' or 'torch' (its twin; minGRU and minLSTM have none and
    always come from seqlib.nn.scan)."""
    if kind not in RECURRENT:
        raise ValueError(f"make_recurrent: expected kind in {sorted(RECURRENT)}, got {kind!r}")
    if impl not in ("seqlib", "torch"):
        raise ValueError(f"make_recurrent: expected impl 'seqlib' or 'torch', got {impl!r}")
    table = TORCH_RECURRENT if impl == "torch" and kind in TORCH_RECURRENT else RECURRENT
    return table[kind](input_size, hidden_size, batch_first=True, **kwargs)


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


class EmbeddedRecurrent(nn.Module):
    """The parts shared by token-level recurrent models: `embed` (index 0 pads), a batch-first
    recurrent layer `rnn` ('rnn', 'lstm' or 'gru'; impl 'seqlib' or 'torch') and a linear `head`
    from its D*H features to C outputs. Subclasses define forward."""

    def __init__(self, kind: str, vocab_size: int, embed_dim: int, hidden_size: int, num_classes: int,
                 bidirectional: bool = False, num_layers: int = 1, impl: str = "seqlib", **kwargs):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.rnn = make_recurrent(kind, embed_dim, hidden_size, impl=impl, bidirectional=bidirectional,
                                  num_layers=num_layers, **kwargs)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)


class SequenceClassifier(EmbeddedRecurrent):
    """Embeds token ids, reads the sequence (packed, so padding is never read) and classifies it
    from the last layer's final hidden state (both directions concatenated when bidirectional).

    Shapes: x (B, T) long, lengths (B,) -> logits (B, C).
    """

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(self.embed(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, state = self.rnn(packed)
        h_n = state[0] if isinstance(state, tuple) else state  # (L*D, B, H)
        D = 2 if self.rnn.bidirectional else 1
        last = h_n[-D:]  # the last layer's directions: (D, B, H)
        return self.head(torch.cat(list(last), dim=-1))  # (B, D*H) -> (B, C)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class AttentionPoolingClassifier(nn.Module):
    r"""A recurrent encoder read with additive attention pooling (Bahdanau-style scores over its
    outputs) instead of its last state: the "attention + RNN" classifier.

    .. math::
        e_t = v^\top \tanh(W h_t + b),\qquad \alpha = \mathrm{softmax}_{t < \ell}(e),\qquad
        c = \textstyle\sum_t \alpha_t h_t,\qquad \text{logits} = W_o c + b_o

    Padding positions (t >= length) get weight exactly 0.

    Shapes: x (B, T) long, lengths (B,) -> logits (B, C); `last_weights` keeps alpha (B, T).
    """

    def __init__(self, kind: str, vocab_size: int, embed_dim: int, hidden_size: int, num_classes: int,
                 bidirectional: bool = False, attn_size: int | None = None, impl: str = "seqlib", **kwargs):
        super().__init__()
        D = 2 if bidirectional else 1
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.rnn = make_recurrent(kind, embed_dim, hidden_size, impl=impl, bidirectional=bidirectional, **kwargs)
        self.score = nn.Sequential(nn.Linear(D * hidden_size, attn_size or hidden_size), nn.Tanh(),
                                   nn.Linear(attn_size or hidden_size, 1, bias=False))
        self.head = nn.Linear(D * hidden_size, num_classes)
        self.last_weights = None

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        from torch.nn.utils.rnn import pad_packed_sequence

        if x.dtype != torch.long:
            raise TypeError(f"AttentionPoolingClassifier: expected token ids of dtype torch.long, got {x.dtype}")
        packed = pack_padded_sequence(self.embed(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        h, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))  # (B, T, D*H)
        e = self.score(h).squeeze(-1)  # (B, T, D*H) -> (B, T, A) -> (B, T)
        pad = torch.arange(x.size(1), device=x.device).unsqueeze(0) >= lengths.to(x.device).unsqueeze(1)  # (B, T)
        alpha = e.masked_fill(pad, float("-inf")).softmax(dim=-1)  # (B, T), zero on padding
        self.last_weights = alpha.detach()
        c = (alpha.unsqueeze(1) @ h).squeeze(1)  # (B, 1, T) @ (B, T, D*H) -> (B, D*H)
        return self.head(c)  # (B, C)


class BlockRegressor(nn.Module):
    """Projects real-valued steps to ``size``, runs ``num_blocks`` residual
    :class:`~seqlib.nn.scan.MinGRUBlock` s and predicts from the last step after a final LayerNorm
    (the stacked minGRU's twin of :class:`LastStepRegressor`).

    Shapes: x (B, T, I) -> (B, C).
    """

    def __init__(self, input_size: int, size: int, output_size: int = 1, num_blocks: int = 2,
                 expansion: int = 2, **kwargs):
        super().__init__()
        if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or num_blocks <= 0:
            raise ValueError(f"BlockRegressor: expected num_blocks to be a positive integer, "
                             f"got {num_blocks!r}")
        self.proj = nn.Linear(input_size, size)
        self.blocks = nn.ModuleList(MinGRUBlock(size, expansion, **kwargs) for _ in range(num_blocks))
        self.norm = nn.LayerNorm(size)
        self.head = nn.Linear(size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.proj(x)  # (B, T, I) -> (B, T, D)
        for block in self.blocks:
            h = block(h)  # (B, T, D)
        return self.head(self.norm(h[:, -1]))  # last step: (B, D) -> (B, C)


class BlockTagger(nn.Module):
    """Embeds token ids, runs ``num_blocks`` residual :class:`~seqlib.nn.scan.MinGRUBlock` s and
    predicts a class at every step from a final LayerNorm: a stacked minGRU with an MLP and a
    residual in every block (compare :class:`TokenTagger` with ``num_layers``, which stacks bare
    minGRU layers).

    Shapes: x (B, T) long -> logits (B, T, C).
    """

    def __init__(self, vocab_size: int, size: int, num_classes: int, num_blocks: int = 2,
                 expansion: int = 2, **kwargs):
        super().__init__()
        if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or num_blocks <= 0:
            raise ValueError(f"BlockTagger: expected num_blocks to be a positive integer, "
                             f"got {num_blocks!r}")
        self.embed = nn.Embedding(vocab_size, size)
        self.blocks = nn.ModuleList(MinGRUBlock(size, expansion, **kwargs) for _ in range(num_blocks))
        self.norm = nn.LayerNorm(size)
        self.head = nn.Linear(size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(x)  # (B, T) -> (B, T, D)
        for block in self.blocks:
            h = block(h)  # (B, T, D)
        return self.head(self.norm(h))  # (B, T, C)
