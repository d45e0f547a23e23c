import pytest
import torch

import seqlib
from seqlib.tokens import BOS, EOS, PAD
from seqlib.nn.seq2seq import Seq2Seq, seq2seq_loss


def batch(seed=0, B=4, T=6, V=7):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([6, 3, 1, 4])[:B]
    src = torch.randint(1, V, (B, T), generator=g)
    src[torch.arange(T).unsqueeze(0) >= lengths.unsqueeze(1)] = PAD
    tgt_in = torch.randint(3, V, (B, 5), generator=g)
    tgt_in[:, 0] = BOS
    return src, lengths, tgt_in


@pytest.mark.parametrize("kind", ["gru", "lstm"])
@pytest.mark.parametrize("attention", [False, True])
def test_padding_never_changes_an_output(kind, attention):
    """A source decoded alone or padded inside a batch of longer ones gives the same logits."""
    torch.manual_seed(0)
    model = Seq2Seq(7, 9, 5, 6, attention=attention, kind=kind).double()
    src, lengths, tgt_in = batch()
    full = model(src, lengths, tgt_in)
    for b in range(4):
        alone = model(src[b:b + 1, : lengths[b]], lengths[b:b + 1], tgt_in[b:b + 1])
        torch.testing.assert_close(full[b:b + 1], alone)
        garbage = src[b:b + 1].clone()
        garbage[0, lengths[b]:] = 3  # whatever lies past the length must not matter
        torch.testing.assert_close(model(garbage, lengths[b:b + 1], tgt_in[b:b + 1]), alone)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_seqlib_and_torch_twins_agree(kind):
    torch.manual_seed(0)
    ours = Seq2Seq(7, 9, 5, 6, kind=kind).double()
    twin = Seq2Seq(7, 9, 5, 6, kind=kind, impl="torch").double()
    twin.load_state_dict(ours.state_dict())
    src, lengths, tgt_in = batch()
    a, b = ours(src, lengths, tgt_in), twin(src, lengths, tgt_in)
    torch.testing.assert_close(a, b)
    ga = torch.autograd.grad(a.square().sum(), ours.encoder.rnn.weight_hh_l0_reverse)[0]
    gb = torch.autograd.grad(b.square().sum(), twin.encoder.rnn.weight_hh_l0_reverse)[0]
    torch.testing.assert_close(ga, gb)


def test_greedy_matches_beam_of_one_and_teacher_forcing():
    torch.manual_seed(1)
    model = Seq2Seq(7, 9, 5, 6).double().eval()
    src, lengths, _ = batch()
    tokens, weights = model.greedy(src, lengths, max_len=8, return_weights=True)
    torch.testing.assert_close(model.beam_search(src, lengths, beam_size=1, max_len=8), tokens)
    assert weights.shape == (4, tokens.size(1), 6)
    assert (weights[1, :, 3:] == 0).all()  # padding gets no attention while decoding either
    # feeding the greedy tokens back under teacher forcing reproduces them as the arg-max
    tgt_in = torch.cat([torch.full((4, 1), BOS), tokens[:, :-1]], dim=1).clamp(min=0)
    argmax = model(src, lengths, tgt_in).argmax(-1)
    live = torch.cat([torch.ones(4, 1, dtype=torch.bool), (tokens[:, :-1] != EOS) & (tokens[:, :-1] != PAD)], 1)
    assert (argmax[live] == tokens[live]).all()


def test_beam_search_finds_at_least_the_greedy_score():
    torch.manual_seed(2)
    model = Seq2Seq(7, 9, 5, 6).double().eval()
    src, lengths, _ = batch()

    def logprob(tokens):
        out = torch.cat([tokens, torch.full((4, 1), PAD)], 1)
        ended = torch.cumsum((out == EOS).long(), 1) - (out == EOS).long() > 0
        out = out.masked_fill(ended, PAD)
        tgt_in = torch.cat([torch.full((4, 1), BOS), out[:, :-1].clamp(min=0)], 1)
        lp = torch.log_softmax(model(src, lengths, tgt_in), -1).gather(2, out.unsqueeze(2)).squeeze(2)
        return (lp * (out != PAD)).sum(1)

    g = model.greedy(src, lengths, max_len=8)
    b = model.beam_search(src, lengths, beam_size=5, max_len=8)
    assert (logprob(b) >= logprob(g) - 1e-9).all()


@pytest.mark.parametrize("attention", [False, True])
def test_memorises_a_tiny_reversal_task(attention):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    n, V = 24, 6
    lengths = torch.randint(2, 5, (n,), generator=g)
    src = torch.randint(1, V, (n, 4), generator=g)
    src[torch.arange(4).unsqueeze(0) >= lengths.unsqueeze(1)] = PAD
    tgt = [src[i, : lengths[i]].flip(0) + 2 for i in range(n)]  # target ids 3..V+1
    tgt_in = torch.full((n, 5), PAD)
    tgt_out = torch.full((n, 5), PAD)
    for i, t in enumerate(tgt):
        tgt_in[i, : len(t) + 1] = torch.cat([torch.tensor([BOS]), t])
        tgt_out[i, : len(t) + 1] = torch.cat([t, torch.tensor([EOS])])
    model = Seq2Seq(V, V + 2, 8, 32, attention=attention, impl="torch")
    seqlib.fit(model, (src, lengths, tgt_in, tgt_out), loss_fn=seq2seq_loss, epochs=150, lr=1e-2,
               batch_size=24, progress=False)
    model.eval()
    for decoded in (model.greedy(src, lengths, max_len=6), model.beam_search(src, lengths, beam_size=3, max_len=6)):
        width = min(decoded.size(1), 5)
        assert torch.equal(decoded[:, :width], tgt_out[:, :width])


def test_errors():
    model = Seq2Seq(7, 9, 5, 6)
    src, lengths, tgt_in = batch()
    with pytest.raises(ValueError, match="Encoder: expected source ids"):
        model(src.float(), lengths, tgt_in)
    with pytest.raises(ValueError, match="Encoder: expected lengths"):
        model(src, torch.tensor([7, 1, 1, 1]), tgt_in)
    with pytest.raises(ValueError, match="Seq2Seq: expected target ids"):
        model(src, lengths, tgt_in[:2])
    with pytest.raises(ValueError, match="Seq2Seq: expected kind"):
        Seq2Seq(7, 9, kind="rnn")
    with pytest.raises(ValueError, match="beam_size"):
        model.beam_search(src, lengths, beam_size=0)
