"""Convolutional networks for text: the TextCNN of Kim (2014).

Embed the tokens, slide several banks of 1-D filters of different widths along the sequence, keep
each filter's largest response anywhere in the sequence (max-over-time pooling), and classify the
vector of those maxima. Every window is computed independently of every other, so the whole
sequence is processed in parallel; the price is that a filter of width k sees k tokens and nothing
else, and the pooled maxima forget where (and in which order) the n-grams occurred.

Shape legend: B batch, T time (tokens), E embedding size, F filters per width, K number of widths,
k one filter width, C classes.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F_
from torch import nn


def _positive_int(name: str, what: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"TextCNN: expected {name} to be a positive integer, got {value!r}{what}")
    return value


class TextCNN(nn.Module):
    r"""Kim's (2014) one-layer convolutional sentence classifier.

    For a sequence of token embeddings :math:`x_1, \dots, x_T \in \mathbb{R}^E` and a filter
    :math:`w \in \mathbb{R}^{k \times E}` of width :math:`k` with bias :math:`b`:

    .. math::
        c_t = \mathrm{ReLU}\big(\textstyle\sum_{i=0}^{k-1} w_i \cdot x_{t+i} + b\big),
        \quad t = 1, \dots, T - k + 1 \\
        \hat c = \max_t c_t \\
        z = [\hat c^{(1)}, \dots, \hat c^{(K F)}] \in \mathbb{R}^{K F}, \quad
        \text{logits} = W\, \mathrm{dropout}(z) + b_{\text{out}}

    with ``num_filters`` filters for each width in ``filter_sizes``.

    Padding. With ``lengths``, position t of sequence b is real when ``t < lengths[b]``: the
    embeddings of the other positions are zeroed and only windows that lie inside the sequence
    enter the max, so the logits of a sequence do not depend on how (or with what) the batch is
    padded. A sequence shorter than a filter has no such window; it is padded with zero vectors to
    that width (one window, starting at its first token), which is also what happens to a batch
    whose T is below the widest filter: its ids are padded on the right with ``padding_idx``.
    Without ``lengths`` every one of the T positions is treated as real (padding tokens then embed
    to the zero vector of ``padding_idx`` but still form windows).

    Args:
        vocab_size: number of token ids (ids must lie in ``[0, vocab_size)``).
        embed_dim: E, the embedding size.
        num_filters: F, filters per width.
        filter_sizes: the widths k, e.g. ``(3, 4, 5)``.
        num_classes: C.
        dropout: dropout on the pooled features (training only).
        padding_idx: the padding id; its embedding is zero and receives no gradient.

    Shapes:
        x: (B, T) long token ids; lengths: optional (B,) integers in ``[1, T]``.
        output: logits (B, C).
    """

    def __init__(self, vocab_size: int, embed_dim: int, num_filters: int, filter_sizes: Sequence[int],
                 num_classes: int, dropout: float = 0.5, padding_idx: int = 0):
        super().__init__()
        _positive_int("vocab_size", "", vocab_size)
        _positive_int("embed_dim", "", embed_dim)
        _positive_int("num_filters", "", num_filters)
        _positive_int("num_classes", "", num_classes)
        filter_sizes = tuple(filter_sizes) if not isinstance(filter_sizes, int) else (filter_sizes,)
        if not filter_sizes:
            raise ValueError("TextCNN: expected at least one filter size, got none")
        for k in filter_sizes:
            _positive_int("every filter size", f" in filter_sizes={filter_sizes}", k)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"TextCNN: expected dropout to be a number in [0, 1], got {dropout!r}")
        if not isinstance(padding_idx, int) or not 0 <= padding_idx < vocab_size:
            raise ValueError(f"TextCNN: expected padding_idx in [0, {vocab_size}), got {padding_idx!r}")
        self.vocab_size, self.padding_idx = vocab_size, padding_idx
        self.filter_sizes = filter_sizes
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.convs = nn.ModuleList(nn.Conv1d(embed_dim, num_filters, k) for k in filter_sizes)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(num_filters * len(filter_sizes), num_classes)

    def _check(self, x, lengths) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"TextCNN: expected token ids as a torch.Tensor, got {type(x).__name__}")
        if x.dtype != torch.long:
            raise TypeError(f"TextCNN: expected token ids of dtype torch.long, got {x.dtype}")
        if x.dim() != 2:
            raise ValueError(f"TextCNN: expected token ids of shape (B, T), got {tuple(x.shape)}")
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"TextCNN: expected a non-empty batch of non-empty sequences, got {tuple(x.shape)}")
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi >= self.vocab_size:
            bad = lo if lo < 0 else hi
            raise ValueError(f"TextCNN: expected token ids in [0, {self.vocab_size}), got {bad}")
        if lengths is not None:
            if not isinstance(lengths, torch.Tensor) or lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
                raise TypeError("TextCNN: expected lengths as an integer torch.Tensor of shape (B,)")
            if lengths.shape != (x.shape[0],):
                raise ValueError(f"TextCNN: expected lengths of shape ({x.shape[0]},), got {tuple(lengths.shape)}")
            if int(lengths.min()) < 1 or int(lengths.max()) > x.shape[1]:
                raise ValueError(f"TextCNN: expected every length in [1, {x.shape[1]}] (T), got "
                                 f"{int(lengths.min())}..{int(lengths.max())}")

    def feature_maps(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Each width's filter responses before pooling, with -inf where a window is not inside the
        sequence: a list of K tensors (B, F, T' - k + 1), where T' = max(T, widest filter) and, given
        lengths, T is first cut to the longest length (the columns after it hold only padding)."""
        self._check(x, lengths)
        widest = max(self.filter_sizes)
        if lengths is not None and int(lengths.max()) < x.shape[1]:
            x = x[:, : max(int(lengths.max()), widest)]  # columns past every sequence's end are padding
        B, T = x.shape
        if T < widest:  # documented padding: too short for the widest filter
            if lengths is None:  # the added columns are padding, not tokens
                lengths = torch.full((B,), T, device=x.device)
            x = F_.pad(x, (0, widest - T), value=self.padding_idx)  # (B, T) -> (B, widest)
        T_pad = x.shape[1]
        emb = self.embed(x)  # (B, T', E)
        if lengths is not None:
            lengths = lengths.to(x.device)
            real = torch.arange(T_pad, device=x.device) < lengths[:, None]  # (B, T')
            emb = emb * real[:, :, None]  # padding embeds to zero, whatever its id
        emb = emb.transpose(1, 2)  # (B, T', E) -> (B, E, T'): Conv1d wants channels first
        maps = []
        for k, conv in zip(self.filter_sizes, self.convs):
            c = torch.relu(conv(emb))  # (B, E, T') -> (B, F, T' - k + 1)
            if lengths is not None:
                # windows starting at t cover t..t+k-1; keep those inside the sequence, and the
                # first window of a sequence shorter than k (it sees the sequence plus zeros)
                last_start = (lengths - k).clamp(min=0)  # (B,)
                valid = torch.arange(c.shape[2], device=x.device) <= last_start[:, None]  # (B, T' - k + 1)
                c = c.masked_fill(~valid[:, None, :], float("-inf"))
            maps.append(c)
        return maps

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        pooled = [c.amax(dim=2) for c in self.feature_maps(x, lengths)]  # K x (B, F)
        z = torch.cat(pooled, dim=1)  # (B, K*F)
        return self.head(self.dropout(z))  # (B, K*F) -> (B, C)
