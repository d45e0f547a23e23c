import pytest
import torch

from seqlib.nn.rnn import rnn_forward
from seqlib.train.gradients import random_rnn_gradient_profile, weight_gradient_by_distance


def test_rnn_forward_loop_matches_torch():
    torch.manual_seed(0)
    ref = torch.nn.RNN(3, 5).double()
    x = torch.randn(7, 2, 3, dtype=torch.float64)  # (T, B, I)
    h0 = torch.randn(2, 5, dtype=torch.float64)
    out, h = rnn_forward(x, h0, ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0, ref.bias_hh_l0)
    out_t, h_t = ref(x, h0[None])
    torch.testing.assert_close(out, out_t)
    torch.testing.assert_close(h, h_t[0])


@pytest.mark.parametrize("scale,by", [(0.9, "sigma"), (3.0, "rho")])
def test_weight_gradient_terms_add_up_to_autograd(scale, by):
    r = weight_gradient_by_distance(scale, by=by, T=30, hidden=8, seed=1)
    torch.testing.assert_close(r["sum"], r["autograd"])
    assert r["terms"].shape == (30,) and r["terms"][-1] == 0  # h_0 = 0: the first step adds 0


def test_weight_gradient_terms_follow_the_hidden_gradient():
    # the same cell and inputs as random_rnn_gradient_profile: at sigma_max 0.5 both decay fast
    r = weight_gradient_by_distance(0.5, T=40, hidden=8, seed=2)
    p = random_rnn_gradient_profile(0.5, T=40, hidden=8, seed=2)
    assert r["terms"][20] < 1e-3 * r["terms"][0] and p["norms"][20] < 1e-3 * p["norms"][0]


def test_weight_gradient_by_distance_rejects_bad_by():
    with pytest.raises(ValueError, match="weight_gradient_by_distance: expected by"):
        weight_gradient_by_distance(1.0, by="norm")
