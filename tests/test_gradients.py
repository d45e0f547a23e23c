import pytest
import torch

import seqlib
from seqlib.train.gradients import hidden_gradient_norms, set_spectral_radius, spectral_radius


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


def test_spectral_norm_and_profile_scaling():
    from seqlib.train.gradients import random_rnn_gradient_profile, set_spectral_norm, spectral_norm

    w = torch.randn(6, 6, dtype=torch.float64)
    set_spectral_norm(w, 0.9)
    assert spectral_norm(w) == pytest.approx(0.9)
    assert spectral_radius(w) <= 0.9 + 1e-9  # rho <= sigma_max always
    with pytest.raises(ValueError, match="set_spectral_norm: expected a matrix"):
        set_spectral_norm(torch.randn(3), 1.0)
    p = random_rnn_gradient_profile(0.9, by="sigma", T=30, hidden=8, seed=0)
    assert p["sigma"] == pytest.approx(0.9) and p["norms"].shape == (30,)
    # the bound: ||dL/dh_{T-k}|| <= sigma_max^k ||dL/dh_T||
    bound = p["norms"][0] * 0.9 ** torch.arange(30, dtype=torch.float64)
    assert (p["norms"] <= bound * (1 + 1e-9)).all()
    q = random_rnn_gradient_profile(0.9, by="rho", T=30, hidden=8, seed=0)
    assert q["rho"] == pytest.approx(0.9) and q["sigma"] >= 0.9


def test_masked_product_grows_although_rho_below_one():
    from seqlib.train.gradients import masked_product_norms

    w = torch.tensor([[1.0, 2.0], [-1.0, -1.5]])
    assert spectral_radius(w) < 1
    masks = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).repeat(10, 1)  # alternate the two units
    norms = masked_product_norms(w, masks)
    assert norms[-1] > 100  # (M2 M1)^10 has radius 2^10
    plain = masked_product_norms(w, torch.ones(20, 2))
    assert plain[-1] < 1  # W^20 alone decays
    with pytest.raises(ValueError, match="masked_product_norms: expected masks"):
        masked_product_norms(w, torch.ones(3, 3))
