import pytest
import torch

from seqlib.nn.attention import AdditiveAttention


def naive_additive(att, q, keys, mask):
    """Bahdanau's equations one key at a time, written from the paper, not from the module."""
    B, T, _ = keys.shape
    Wq, Wk, bk, v = att.query_proj.weight, att.key_proj.weight, att.key_proj.bias, att.v.weight[0]
    contexts, weights = [], []
    for b in range(B):
        scores = []
        for t in range(T):
            e = v @ torch.tanh(Wq @ q[b] + Wk @ keys[b, t] + bk)
            scores.append(e)
        real = [t for t in range(T) if mask is None or not mask[b, t]]
        z = sum(torch.exp(scores[t]) for t in real)
        w = torch.stack([torch.exp(scores[t]) / z if t in real else torch.zeros((), dtype=keys.dtype)
                         for t in range(T)])
        weights.append(w)
        contexts.append(sum(w[t] * keys[b, t] for t in range(T)))
    return torch.stack(contexts), torch.stack(weights)


def make(B=3, T=5, Dq=4, Dk=6, A=7, seed=0):
    torch.manual_seed(seed)
    att = AdditiveAttention(Dq, Dk, A).double()
    q = torch.randn(B, Dq, dtype=torch.float64)
    keys = torch.randn(B, T, Dk, dtype=torch.float64)
    lengths = torch.tensor([5, 2, 1])[:B]
    mask = torch.arange(T).unsqueeze(0) >= lengths.unsqueeze(1)
    return att, q, keys, mask


@pytest.mark.parametrize("masked", [False, True])
def test_matches_naive_loop_outputs_and_grads(masked):
    att, q, keys, mask = make()
    mask = mask if masked else None
    q1, k1 = q.clone().requires_grad_(), keys.clone().requires_grad_()
    q2, k2 = q.clone().requires_grad_(), keys.clone().requires_grad_()
    c, w = att(q1, k1, mask)
    c_ref, w_ref = naive_additive(att, q2, k2, mask)
    torch.testing.assert_close(c, c_ref)
    torch.testing.assert_close(w, w_ref)
    g = torch.randn_like(c)
    (c * g).sum().backward()
    (c_ref * g).sum().backward()
    torch.testing.assert_close(q1.grad, q2.grad)
    torch.testing.assert_close(k1.grad, k2.grad)


def test_weights_are_exactly_zero_on_padding_and_sum_to_one():
    att, q, keys, mask = make()
    keys = keys.clone()
    keys[mask] = 1e6  # garbage in padded positions must not leak into the context
    c, w = att(q, keys, mask)
    assert (w[mask] == 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones(3, dtype=torch.float64))
    assert torch.isfinite(c).all() and c.abs().max() < 1e3
    torch.testing.assert_close(c[2], keys[2, 0])  # one real key: all the weight on it


def test_projected_keys_are_reused_exactly():
    att, q, keys, mask = make()
    c1, w1 = att(q, keys, mask)
    c2, w2 = att(q, keys, mask, projected_keys=att.project_keys(keys))
    torch.testing.assert_close(c1, c2)
    torch.testing.assert_close(w1, w2)


def test_gradcheck():
    att, q, keys, mask = make(B=2, T=3, Dq=2, Dk=3, A=4)
    q.requires_grad_()
    keys.requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: att(a, b, mask[:, :3]), (q, keys))


def test_errors():
    att, q, keys, mask = make()
    all_pad = mask.clone()
    all_pad[1] = True
    with pytest.raises(ValueError, match=r"AdditiveAttention: rows \[1\].*mask every key"):
        att(q, keys, all_pad)
    with pytest.raises(ValueError, match="AdditiveAttention: expected keys of size 6"):
        att(q, torch.randn(3, 5, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="AdditiveAttention: expected query of size 4"):
        att(torch.randn(3, 3, dtype=torch.float64), keys)
    with pytest.raises(ValueError, match="key_padding_mask of dtype torch.bool"):
        att(q, keys, mask.long())
    with pytest.raises(ValueError, match="positive integer"):
        AdditiveAttention(0, 3, 4)
