"""The Elman recurrent network: `RNNCell` (one step) and `RNN` (the layer runner over time).

Shape legend: B batch, T time, I input features, H hidden size, L layers, D directions.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from seqlib.nn.recurrent import RecurrentBase, RecurrentCellBase


def rnn_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity: str = "tanh"):
    """h' = act(W_ih x + b_ih + W_hh h + b_hh). x (B, I), h (B, H) -> (B, H)."""
    pre = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)  # (B, I) @ (I, H) + (B, H) @ (H, H) -> (B, H)
    return torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)


def _check_nonlinearity(name: str, nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{name}: expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
    return nonlinearity


class RNNCell(RecurrentCellBase):
    r"""One step of an Elman RNN, drop-in for `torch.nn.RNNCell`.

    .. math:: h' = \tanh(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})

    Args:
        input_size: I, features of x.  hidden_size: H.  bias: use b_ih and b_hh (default True).
        nonlinearity: 'tanh' (default) or 'relu'.
    Shapes:
        input (B, I) or (I,); hx (B, H) or (H,), zeros if omitted; returns h' (B, H) or (H,).
    Parameters: weight_ih (H, I), weight_hh (H, H), bias_ih (H,), bias_hh (H,).
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        self.nonlinearity = _check_nonlinearity("RNNCell", nonlinearity)
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: torch.Tensor, hx: torch.Tensor | None = None) -> torch.Tensor:
        x, (h,), batched = self._prepare(input, hx)
        h = rnn_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.nonlinearity)
        return self._finish((h,), batched)


class RNN(RecurrentBase):
    r"""Multi-layer Elman RNN, from scratch, drop-in for `torch.nn.RNN`.

    For each layer l and step t:

    .. math:: h_t^{(l)} = \tanh(W_{ih}^{(l)} x_t^{(l)} + b_{ih}^{(l)} + W_{hh}^{(l)} h_{t-1}^{(l)} + b_{hh}^{(l)})

    where x_t^{(0)} is the input and x_t^{(l)} (l > 0) is the previous layer's output (both
    directions concatenated when bidirectional), with dropout between layers in training mode.

    Args:
        input_size: I.  hidden_size: H.  num_layers: L (default 1).
        nonlinearity: 'tanh' (default) or 'relu'.  bias: default True.
        batch_first: input and output are (B, T, ...) instead of (T, B, ...) (default False).
        dropout: dropout on the outputs of every layer but the last (default 0).
        bidirectional: add a second direction that reads each sequence backwards (default False).
    Inputs: input, h0
        input (T, B, I), (B, T, I) with batch_first, (T, I) unbatched, or a PackedSequence.
        h0 (L*D, B, H) or (L*D, H) unbatched; zeros if omitted.
    Outputs: output, h_n
        output (T, B, D*H) (or (B, T, D*H), (T, D*H), or a PackedSequence like the input):
        the last layer's h_t for every t.  h_n (L*D, B, H): every layer's final state.
    Parameters: weight_ih_l{k}[_reverse] (H, I or D*H), weight_hh_l{k}[_reverse] (H, H),
        bias_ih_l{k}[_reverse] (H,), bias_hh_l{k}[_reverse] (H,), as in torch.nn.RNN.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None):
        self.nonlinearity = _check_nonlinearity("RNN", nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device, dtype)

    def cell(self, x, state, w_ih, w_hh, b_ih, b_hh):
        return (rnn_cell(x, state[0], w_ih, w_hh, b_ih, b_hh, self.nonlinearity),)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + f", nonlinearity={self.nonlinearity!r}"


def rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh):
    """The Elman recurrence as a plain loop, to read (`RNN` runs the same step with layers,
    directions and packed batches). x (T, B, I), h0 (B, H) -> outputs (T, B, H), h_T (B, H)."""
    h, outputs = h0, []
    for x_t in x:  # the same weights at every step
        h = torch.tanh(x_t @ w_ih.T + b_ih + h @ w_hh.T + b_hh)  # (B, I) @ (I, H) + (B, H) @ (H, H) -> (B, H)
        outputs.append(h)
    return torch.stack(outputs), h  # (T, B, H), (B, H)
