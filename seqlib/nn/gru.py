"""Gated recurrent unit: `GRUCell` (one step) and `GRU` (the layer runner over time).

Shape legend: B batch, T time, I input features, H hidden size, L layers, D directions.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from seqlib.nn.recurrent import RecurrentBase, RecurrentCellBase


def gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step with torch's gate order r, z, n and r applied to (W_hn h + b_hn)."""
    gi = F.linear(x, w_ih, b_ih)  # (B, I) @ (I, 3H) -> (B, 3H)
    gh = F.linear(h, w_hh, b_hh)  # (B, H) @ (H, 3H) -> (B, 3H)
    i_r, i_z, i_n = gi.chunk(3, dim=-1)  # 3 x (B, H)
    h_r, h_z, h_n = gh.chunk(3, dim=-1)  # 3 x (B, H)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)  # torch's variant: reset applied after the recurrent matmul
    return (1 - z) * n + z * h


class GRUCell(RecurrentCellBase):
    r"""One GRU step, drop-in for `torch.nn.GRUCell`.

    .. math::
        r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}),\quad
        z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}),\\
        n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})),\qquad
        h' = (1 - z) \odot n + z \odot h

    (Cho et al. 2014 write r inside the matmul, W_hn (r * h); torch and cuDNN apply it after.)

    Args:
        input_size: I.  hidden_size: H.  bias: default True.
    Shapes:
        input (B, I) or (I,); hx (B, H) or (H,), zeros if omitted; returns h' (B, H) or (H,).
    Parameters: weight_ih (3H, I), weight_hh (3H, H), bias_ih (3H,), bias_hh (3H,), rows in the
        gate order r, z, n.
    """

    num_gates = 3

    def forward(self, input: torch.Tensor, hx: torch.Tensor | None = None) -> torch.Tensor:
        x, (h,), batched = self._prepare(input, hx)
        h = gru_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return self._finish((h,), batched)


class GRU(RecurrentBase):
    r"""Multi-layer GRU, from scratch, drop-in for `torch.nn.GRU`.

    Each layer runs `GRUCell`'s equations over time (gate order r, z, n); a layer above the first
    reads the layer below's outputs (both directions concatenated when bidirectional), with dropout
    between layers in training mode.

    Args:
        input_size: I.  hidden_size: H.  num_layers: L (default 1).  bias: default True.
        batch_first: (B, T, ...) instead of (T, B, ...) (default False).
        dropout: between layers (default 0).  bidirectional: default False.
    Inputs: input, h0
        input (T, B, I), (B, T, I) with batch_first, (T, I) unbatched, or a PackedSequence.
        h0 (L*D, B, H) or (L*D, H) unbatched; zeros if omitted.
    Outputs: output, h_n
        output (T, B, D*H) (or as the input is laid out); h_n (L*D, B, H).
    Parameters: weight_ih_l{k}[_reverse] (3H, I or D*H), weight_hh_l{k}[_reverse] (3H, H),
        bias_ih_l{k}[_reverse] (3H,), bias_hh_l{k}[_reverse] (3H,), as in torch.nn.GRU.
    """

    num_gates = 3

    def cell(self, x, state, w_ih, w_hh, b_ih, b_hh):
        return (gru_cell(x, state[0], w_ih, w_hh, b_ih, b_hh),)
