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
within its own length (`seqlib.nn.recurrent.reverse_padded`, used by `LengthAwareBiLSTM` and by
`seqlib.LSTM(bidirectional=True)`) or packing the batch (`PackedTagger`) computes the definition.

Shape legend: B batch, T time (longest sequence), I input features, E embedding size,
H hidden size per direction, D directions (1 or 2), C classes, V vocabulary size.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlib.nn.lstm import LSTM
from seqlib.tokens import IGNORE  # noqa: F401  (re-exported for the tagging chapter)
from seqlib.nn.heads import EmbeddedRecurrent
from seqlib.nn.recurrent import reverse_padded



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
