"""Long short-term memory: `LSTMCell` (one step) and `LSTM` (the layer runner over time).

Shape legend: B batch, T time, I input features, H hidden size, L layers, D directions.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from . import fast
from .recurrent import RecurrentBase, RecurrentCellBase


def lstm_cell(x, state, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step with torch's gate order i, f, g, o. x (B, I), state (h, c) each (B, H)."""
    h, c = state
    gates = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)  # (B, I) @ (I, 4H) + (B, H) @ (H, 4H) -> (B, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)  # 4 x (B, H)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g  # the cell state: dc_t/dc_{t-1} = f (elementwise)
    h = o * torch.tanh(c)
    return h, c


class LSTMCell(RecurrentCellBase):
    r"""One LSTM step, drop-in for `torch.nn.LSTMCell`.

    .. math::
        i = \sigma(W_{ii} x + b_{ii} + W_{hi} h + b_{hi}),\quad
        f = \sigma(W_{if} x + b_{if} + W_{hf} h + b_{hf}),\\
        g = \tanh(W_{ig} x + b_{ig} + W_{hg} h + b_{hg}),\quad
        o = \sigma(W_{io} x + b_{io} + W_{ho} h + b_{ho}),\\
        c' = f \odot c + i \odot g,\qquad h' = o \odot \tanh(c')

    Args:
        input_size: I.  hidden_size: H.  bias: default True.
    Shapes:
        input (B, I) or (I,); hx a tuple (h, c) of (B, H) or (H,), zeros if omitted;
        returns (h', c').
    Parameters: weight_ih (4H, I), weight_hh (4H, H), bias_ih (4H,), bias_hh (4H,), rows in the
        gate order i, f, g, o.
    """

    num_gates = 4
    num_states = 2

    def forward(self, input: torch.Tensor, hx=None):
        x, state, batched = self._prepare(input, hx)
        state = lstm_cell(x, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return self._finish(state, batched)


class LSTM(RecurrentBase):
    r"""Multi-layer LSTM, from scratch, drop-in for `torch.nn.LSTM` (without `proj_size`).

    Each layer runs `LSTMCell`'s equations over time (gate order i, f, g, o); a layer above the
    first reads the layer below's outputs (both directions concatenated when bidirectional), with
    dropout between layers in training mode.

    Args:
        input_size: I.  hidden_size: H.  num_layers: L (default 1).  bias: default True.
        batch_first: (B, T, ...) instead of (T, B, ...) (default False).
        dropout: between layers (default 0).  bidirectional: default False.
        impl: how the layers run, same parameters and results (see `seqlib.fast`): "loop"
            (default, the cell step by step), "hoisted" (input projection for all steps in one
            GEMM), "fast" (hoisted, in-place gate math and a hand-written backward).
    Inputs: input, (h0, c0)
        input (T, B, I), (B, T, I) with batch_first, (T, I) unbatched, or a PackedSequence.
        h0, c0 (L*D, B, H) or (L*D, H) unbatched; zeros if omitted. A single Tensor is an error.
    Outputs: output, (h_n, c_n)
        output (T, B, D*H) (or as the input is laid out); h_n, c_n (L*D, B, H).
    Parameters: weight_ih_l{k}[_reverse] (4H, I or D*H), weight_hh_l{k}[_reverse] (4H, H),
        bias_ih_l{k}[_reverse] (4H,), bias_hh_l{k}[_reverse] (4H,), as in torch.nn.LSTM.
    """

    num_gates = 4
    num_states = 2

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None, impl: str = "loop"):
        if proj_size:
            raise NotImplementedError("LSTM: proj_size is not supported by seqlib.LSTM; use torch.nn.LSTM")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device, dtype)
        self.impl = fast.check_impl("LSTM", impl)

    def cell(self, x, state, w_ih, w_hh, b_ih, b_hh):
        return lstm_cell(x, state, w_ih, w_hh, b_ih, b_hh)

    def step(self, xw, state, w_hh, b_hh):
        return fast.lstm_step(xw, state, w_hh, b_hh)

    def _run_direction(self, seq, state, weights, lengths):
        if fast.check_impl("LSTM", self.impl) == "fast":
            return fast.lstm_direction_fast(seq, state, weights, lengths)
        return super()._run_direction(seq, state, weights, lengths)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.impl == "loop" else s + f", impl={self.impl!r}"
