"""ELMo in miniature: a bidirectional LSTM language model whose layers become contextual features.

Peters et al. (2018) train two language models on unlabelled text, a forward one that predicts
the next token and a backward one that predicts the previous token, each a stack of L LSTM
layers over a shared token embedding, with a shared softmax:

    fwd_j[t] = LSTM_fwd_j(fwd_{j-1})[t]   reads x[0..t]          (fwd_0 = bwd_0 = e = Embed(x))
    bwd_j[t] = LSTM_bwd_j(bwd_{j-1})[t]   reads x[t..n-1]
    p(x[t+1] | x[0..t]) = softmax(W fwd_L[t]),   p(x[t-1] | x[t..n-1]) = softmax(W bwd_L[t])

Then the language models are frozen, and a task model reads, at every position, a weighted sum
of the layers h_j[t] = [fwd_j[t] ; bwd_j[t]] (h_0[t] = [e[t] ; e[t]]), the *scalar mix*

    elmo[t] = gamma * sum_j softmax(s)_j h_j[t],

whose L+1 weights s and scale gamma are learned by the task. Unlike a bidirectional LSTM trained
as one language model (chapter 4 shows that it learns to copy), each direction here only ever
reads its own side: position t of the forward stack has not seen x[t+1].

Shape legend: B batch, T time (longest sequence), V vocabulary, H hidden size per direction
(also the embedding size), L layers, C classes.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlib.nn.heads import make_recurrent
from seqlib.nn.recurrent import reverse_padded
from seqlib.tokens import IGNORE


def _check_batch(name: str, x, lengths) -> None:
    if not isinstance(x, torch.Tensor) or x.dtype != torch.long or x.dim() != 2:
        got = f"{x.dtype} of shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise TypeError(f"{name}: expected token ids (B, T) of dtype torch.long, got {got}")
    if not isinstance(lengths, torch.Tensor) or lengths.shape != x.shape[:1]:
        raise ValueError(f"{name}: expected lengths (B,) = ({x.shape[0]},), got "
                         f"{tuple(lengths.shape) if isinstance(lengths, torch.Tensor) else type(lengths).__name__}")
    if int(lengths.min()) < 1 or int(lengths.max()) > x.shape[1]:
        raise ValueError(f"{name}: expected every length in [1, {x.shape[1]}], got "
                         f"min {int(lengths.min())}, max {int(lengths.max())}")


class ScalarMix(nn.Module):
    """ELMo's task-specific weighting of a stack of layers:

        mix = gamma * sum_j w_j h_j,   w = softmax(s)   (the weights are positive and sum to 1)

    Args:
        num_layers: the number of layers mixed (L + 1 for an L-layer BiLM: the embedding too).
    Shapes:
        layers (L+1, *) -> (*); `weights()` -> (L+1,).
    """

    def __init__(self, num_layers: int):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"ScalarMix: expected num_layers >= 1, got {num_layers}")
        self.s = nn.Parameter(torch.zeros(num_layers))  # equal weights to start
        self.gamma = nn.Parameter(torch.ones(()))

    def weights(self) -> torch.Tensor:
        return torch.softmax(self.s, dim=0)  # (L+1,)

    def forward(self, layers: torch.Tensor) -> torch.Tensor:
        if layers.size(0) != self.s.numel():
            raise ValueError(f"ScalarMix: expected {self.s.numel()} layers in dimension 0, "
                             f"got {layers.size(0)}")
        w = self.weights().view(-1, *([1] * (layers.dim() - 1)))  # (L+1, 1, ..., 1)
        return self.gamma * (w * layers).sum(0)  # (L+1, *) -> (*)


class BiLM(nn.Module):
    """A forward and a backward LSTM language model over one shared embedding and softmax.

    Each direction is a stack of `num_layers` single-layer LSTMs (so that every layer's states can
    be read); the backward stack reads each sequence reversed within its own length.

    Args:
        vocab_size: V (index 0 pads).  hidden_size: H, also the embedding size.
        num_layers: L.  impl: 'torch' (default, torch.nn.LSTM) or 'seqlib'.
    Shapes:
        `layers(x, lengths)`: x (B, T) long, lengths (B,) -> (L+1, B, T, 2H), 0 at padding;
        layer 0 is [e ; e], layer j is [fwd_j ; bwd_j].
        `forward(x, lengths)` -> logits (B, T, 2, V): [:, t, 0] predicts x[t+1] (the boundary
        after the last token), [:, t, 1] predicts x[t-1] (the boundary before the first);
        targets from `targets(x, lengths, boundary)`.
    """

    def __init__(self, vocab_size: int, hidden_size: int, num_layers: int = 2, impl: str = "torch"):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, hidden_size, padding_idx=0)
        self.fwd = nn.ModuleList(make_recurrent("lstm", hidden_size, hidden_size, impl=impl)
                                 for _ in range(num_layers))
        self.bwd = nn.ModuleList(make_recurrent("lstm", hidden_size, hidden_size, impl=impl)
                                 for _ in range(num_layers))
        self.head = nn.Linear(hidden_size, vocab_size)  # shared by the two directions
        self.num_layers, self.hidden_size = num_layers, hidden_size

    def _stack(self, lstms: nn.ModuleList, e: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        out, h = [], e  # (B, T, H)
        for lstm in lstms:
            packed = pack_padded_sequence(h, lengths.cpu(), batch_first=True, enforce_sorted=False)
            h, _ = lstm(packed)
            h, _ = pad_packed_sequence(h, batch_first=True, total_length=e.size(1))  # (B, T, H)
            out.append(h)
        return out

    def directions(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[list, list, torch.Tensor]:
        """The forward layers, the backward layers (in the original time order) and e."""
        _check_batch(type(self).__name__, x, lengths)
        e = self.embed(x)  # (B, T, H)
        fwd = self._stack(self.fwd, e, lengths)  # L x (B, T, H): position t has read x[0..t]
        e_rev = reverse_padded(e.transpose(0, 1), lengths).transpose(0, 1)  # (B, T, H)
        bwd = [reverse_padded(h.transpose(0, 1), lengths).transpose(0, 1)  # back to time order
               for h in self._stack(self.bwd, e_rev, lengths)]  # L x (B, T, H): read x[t..n-1]
        return fwd, bwd, e

    def layers(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        fwd, bwd, e = self.directions(x, lengths)
        valid = (torch.arange(x.size(1), device=x.device) < lengths.to(x.device)[:, None])  # (B, T)
        h0 = torch.cat([e, e], -1) * valid[..., None]  # (B, T, 2H)
        return torch.stack([h0] + [torch.cat(p, -1) for p in zip(fwd, bwd)])  # (L+1, B, T, 2H)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        fwd, bwd, _ = self.directions(x, lengths)
        return self.head(torch.stack([fwd[-1], bwd[-1]], 2))  # (B, T, 2, H) -> (B, T, 2, V)

    @staticmethod
    def targets(x: torch.Tensor, lengths: torch.Tensor, boundary: int) -> torch.Tensor:
        """(B, T, 2) targets: [:, t, 0] = x[t+1] (boundary at the end), [:, t, 1] = x[t-1]
        (boundary at the start), IGNORE at padding."""
        B, T = x.shape
        valid = torch.arange(T) < lengths[:, None]  # (B, T)
        y = torch.full((B, T, 2), IGNORE, dtype=torch.long)
        y[:, : T - 1, 0] = x[:, 1:]
        y[torch.arange(B), lengths - 1, 0] = boundary
        y[:, 1:, 1] = x[:, :-1]
        y[:, 0, 1] = boundary
        return y.masked_fill(~valid[..., None], IGNORE)


class ELMoTagger(nn.Module):
    """A tagger that reads its own token embedding and the scalar mix of a *frozen* BiLM's layers:

        u[t] = [Embed(x)[t] ; ScalarMix(bilm.layers(x))[t]],  h = RNN(u),  logits[t] = W h[t] + b

    With `bilm=None` it is the same tagger on plain embeddings (the baseline).

    Args:
        bilm: a trained `BiLM` (its parameters are frozen here) or None.  vocab_size: V.
        embed_dim: E.  hidden_size: H per direction.  num_classes: C.
        bidirectional: the task RNN's directions.  impl: 'torch' or 'seqlib'.
    Shapes:
        x (B, T) long, lengths (B,) -> logits (B, T, C).
    """

    def __init__(self, bilm: BiLM | None, vocab_size: int, embed_dim: int, hidden_size: int,
                 num_classes: int, bidirectional: bool = True, impl: str = "torch"):
        super().__init__()
        self.bilm = bilm
        extra = 0
        if bilm is not None:
            bilm.requires_grad_(False)
            self.mix = ScalarMix(bilm.num_layers + 1)
            extra = 2 * bilm.hidden_size
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.rnn = make_recurrent("lstm", embed_dim + extra, hidden_size, impl=impl,
                                  bidirectional=bidirectional)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        _check_batch(type(self).__name__, x, lengths)
        u = self.embed(x)  # (B, T, E)
        if self.bilm is not None:
            with torch.no_grad():
                layers = self.bilm.eval().layers(x, lengths)  # (L+1, B, T, 2H), frozen
            u = torch.cat([u, self.mix(layers)], -1)  # (B, T, E + 2H)
        packed = pack_padded_sequence(u, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))  # (B, T, D*H)
        return self.head(out)  # (B, T, C)
