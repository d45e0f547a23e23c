import pytest
import torch

import seqlib
from seqlib.gradients import hidden_gradient_norms, set_spectral_radius, spectral_radius


def test_set_spectral_radius():
    w = torch.randn(8, 8)
    set_spectral_radius(w, 0.7)
    assert spectral_radius(w) == pytest.approx(0.7, rel=1e-5)
    with pytest.raises(ValueError, match="set_spectral_radius: expected a square matrix"):
        set_spectral_radius(torch.randn(3, 4), 1.0)


def test_hidden_gradient_norms_match_linear_theory():
    # a linear recurrence h_t = W h_{t-1} + x_t: dL/dh_t = (W^T)^(T-t) dL/dh_T exactly
    torch.manual_seed(0)
    T, H = 6, 4

    class Linear(torch.nn.Module):
        hidden_size = H

        def __init__(self):
            super().__init__()
            self.W = torch.eye(H) * 0.5

        def forward(self, x, h):
            return h @ self.W.T + x

    x = torch.randn(T, 1, H)
    g = hidden_gradient_norms(Linear(), x, loss_fn=lambda h: h.sum())
    expected = torch.tensor([2.0 * 0.5 ** (T - 1 - t) for t in range(T)])  # ||ones(4)|| = 2
    torch.testing.assert_close(g, expected)


def test_radius_below_one_vanishes_with_seqlib_cell():
    torch.manual_seed(0)
    cell = seqlib.RNNCell(1, 16)
    with torch.no_grad():
        set_spectral_radius(cell.weight_hh, 0.5)
    g = hidden_gradient_norms(cell, torch.randn(30, 4, 1))
    assert g[0] < 1e-6 * g[-1]
