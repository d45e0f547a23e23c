"""The GRU as Cho et al. (2014) wrote it, next to torch's variant (`seqlib.nn.gru`), for comparison.

Cho et al. apply the reset gate to the previous state *before* the recurrent matmul,
n = tanh(W_in x + b_in + W_hn (r * h) + b_hn); torch and cuDNN apply it after,
n = tanh(W_in x + b_in + r * (W_hn h + b_hn)). The parameters are the same, so the same weights
can be run both ways and the outputs compared. torch's form lets all three recurrent matmuls
W_h{r,z,n} h run as one (3H, H) matmul before r is known, which is why cuDNN chose it.

Shape legend: B batch, I input features, H hidden size.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from seqlib.nn.gru import GRUCell


def gru_cell_textbook(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step with the reset gate inside the recurrent matmul (Cho et al. 2014); gate order r, z, n."""
    H = h.size(-1)
    gi = F.linear(x, w_ih, b_ih)  # (B, I) @ (I, 3H) -> (B, 3H)
    i_r, i_z, i_n = gi.chunk(3, dim=-1)  # 3 x (B, H)
    w_hrz, w_hn = w_hh[: 2 * H], w_hh[2 * H:]  # (2H, H), (H, H)
    b_hrz, b_hn = (None, None) if b_hh is None else (b_hh[: 2 * H], b_hh[2 * H:])  # (2H,), (H,)
    h_r, h_z = F.linear(h, w_hrz, b_hrz).chunk(2, dim=-1)  # (B, H) @ (H, 2H) -> 2 x (B, H)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + F.linear(r * h, w_hn, b_hn))  # (B, H) @ (H, H) -> (B, H): reset before the matmul
    return (1 - z) * n + z * h


class TextbookGRUCell(GRUCell):
    r"""One GRU step as Cho et al. (2014) define it: the reset gate scales h before W_hn.

    .. math::
        r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}),\quad
        z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}),\\
        n = \tanh(W_{in} x + b_{in} + W_{hn} (r \odot h) + b_{hn}),\qquad
        h' = (1 - z) \odot n + z \odot h

    Same parameters, names and shapes as `seqlib.GRUCell` / `torch.nn.GRUCell`, so their weights
    load into it; only the place of r differs (see the module docstring).

    Args:
        input_size: I.  hidden_size: H.  bias: default True.
    Shapes:
        input (B, I) or (I,); hx (B, H) or (H,), zeros if omitted; returns h' (B, H) or (H,).
    """

    def forward(self, input: torch.Tensor, hx: torch.Tensor | None = None) -> torch.Tensor:
        x, (h,), batched = self._prepare(input, hx)
        h = gru_cell_textbook(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return self._finish((h,), batched)
