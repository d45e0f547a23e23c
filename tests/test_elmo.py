"""seqlib.nn.elmo: the BiLM's directions never read the wrong side, the scalar mix, the tagger."""
import pytest
import torch

from seqlib.nn.elmo import BiLM, ELMoTagger, ScalarMix
from seqlib.tokens import IGNORE


@pytest.fixture
def batch():
    torch.manual_seed(0)
    lengths = torch.tensor([6, 3, 5])
    x = torch.randint(3, 12, (3, 6))
    x[torch.arange(6) >= lengths[:, None]] = 0
    return x, lengths


@pytest.mark.parametrize("impl", ["torch", "seqlib"])
def test_shapes(batch, impl):
    x, lengths = batch
    m = BiLM(12, 5, num_layers=2, impl=impl).double()
    layers = m.layers(x, lengths)
    assert layers.shape == (3, 3, 6, 10)  # (L+1, B, T, 2H)
    assert m(x, lengths).shape == (3, 6, 2, 12)  # (B, T, 2, V)
    pad = torch.arange(6) >= lengths[:, None]
    assert layers[:, pad].abs().max() == 0  # 0 at padding
    # layer 0 is the embedding, twice
    e = m.embed(x)
    torch.testing.assert_close(layers[0, ~pad], torch.cat([e, e], -1)[~pad])


@pytest.mark.parametrize("impl", ["torch", "seqlib"])
def test_forward_never_sees_the_future_backward_never_the_past(batch, impl):
    x, lengths = batch
    torch.manual_seed(1)
    m = BiLM(12, 5, num_layers=2, impl=impl).double()
    t = 2
    y = x.clone()
    y[0, t + 1] = 11 if x[0, t + 1] != 11 else 10  # change token t+1 of the first sequence
    fwd_x, bwd_x, _ = m.directions(x, lengths)
    fwd_y, bwd_y, _ = m.directions(y, lengths)
    for j in range(2):
        # forward states up to t are unchanged; from t+1 on they change
        torch.testing.assert_close(fwd_x[j][0, : t + 1], fwd_y[j][0, : t + 1], rtol=0, atol=0)
        assert (fwd_x[j][0, t + 1] - fwd_y[j][0, t + 1]).abs().max() > 1e-6
        # backward states after t+1 are unchanged; at t+1 and before they change
        torch.testing.assert_close(bwd_x[j][0, t + 2:], bwd_y[j][0, t + 2:], rtol=0, atol=0)
        assert (bwd_x[j][0, t] - bwd_y[j][0, t]).abs().max() > 1e-6
        # other sequences are untouched
        torch.testing.assert_close(fwd_x[j][1:], fwd_y[j][1:], rtol=0, atol=0)
    # the forward logits at t (predicting x[t+1]) do not depend on x[t+1]
    torch.testing.assert_close(m(x, lengths)[0, t, 0], m(y, lengths)[0, t, 0], rtol=0, atol=0)


def test_backward_reads_each_sequence_within_its_length(batch):
    x, lengths = batch
    torch.manual_seed(2)
    m = BiLM(12, 4, num_layers=1).double()
    _, bwd, _ = m.directions(x, lengths)
    for i, n in enumerate(lengths.tolist()):  # one sequence alone, reversed by hand
        e = m.embed(x[i, :n].flip(0))[None]  # (1, n, H)
        ref, _ = m.bwd[0](e)
        torch.testing.assert_close(bwd[0][i, :n], ref[0].flip(0))


def test_targets(batch):
    x, lengths = batch
    y = BiLM.targets(x, lengths, boundary=2)
    assert y.shape == (3, 6, 2)
    n = 3  # the second sequence
    assert y[1, :n, 0].tolist() == x[1, 1:n].tolist() + [2]
    assert y[1, :n, 1].tolist() == [2] + x[1, : n - 1].tolist()
    assert (y[1, n:] == IGNORE).all()


def test_scalar_mix():
    torch.manual_seed(0)
    mix = ScalarMix(3)
    with torch.no_grad():
        mix.s.copy_(torch.tensor([0.3, -1.0, 2.0]))
        mix.gamma.fill_(1.5)
    w = mix.weights()
    torch.testing.assert_close(w.sum(), torch.tensor(1.0))
    assert (w > 0).all()
    layers = torch.randn(3, 2, 4, 5)
    ref = 1.5 * sum(w[j] * layers[j] for j in range(3))
    torch.testing.assert_close(mix(layers), ref)
    with pytest.raises(ValueError, match="ScalarMix: expected 3 layers"):
        mix(torch.randn(2, 4))


def test_tagger_freezes_the_bilm(batch):
    x, lengths = batch
    bilm = BiLM(12, 4)
    before = {k: v.clone() for k, v in bilm.state_dict().items()}
    tagger = ELMoTagger(bilm, 12, 3, 5, 2)
    plain = ELMoTagger(None, 12, 3, 5, 2)
    assert tagger(x, lengths).shape == plain(x, lengths).shape == (3, 6, 2)
    opt = torch.optim.Adam([p for p in tagger.parameters() if p.requires_grad], lr=0.1)
    tagger(x, lengths).sum().backward()
    opt.step()
    assert all(torch.equal(before[k], v) for k, v in bilm.state_dict().items())
    assert tagger.mix.s.grad is not None and tagger.mix.s.grad.abs().sum() > 0
    with pytest.raises(TypeError, match="ELMoTagger: expected token ids"):
        tagger(x.float(), lengths)
