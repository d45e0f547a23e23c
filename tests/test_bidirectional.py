"""Bidirectional constructions, the packed tagger, its metrics, and the hyphenation data."""
import math

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import seqlib
from seqlib.tokens import IGNORE
from seqlib.nn.bidirectional import FlipPaddedBiLSTM, LengthAwareBiLSTM, PackedTagger, TwoPassBiLSTM
from seqlib.train.tagging import (generate, masked_cross_entropy, position_accuracy, prefix_next_token_loss,
                                  sequence_accuracy, tagging_scores)
from seqlib.data.hyphenation import (BOUNDARY, VOCAB, cmudict_words, encode_words, hyphenate,
                                     hyphenation_labels, load_hyphenation)


def _padded_batch(lengths, I=3, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor(lengths)
    x = torch.randn(len(lengths), int(lengths.max()), I, generator=g, dtype=dtype)
    for i, n in enumerate(lengths):
        x[i, n:] = 0
    return x, lengths


def _torch_packed(ref, x, lengths):
    out, (h, _) = ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
    return out, h


def test_length_aware_matches_torch_packed_outputs_states_and_grads():
    torch.manual_seed(0)
    ref = torch.nn.LSTM(3, 4, bidirectional=True, batch_first=True).double()
    ours = LengthAwareBiLSTM.from_bidirectional(ref)
    x, lengths = _padded_batch([5, 2, 4, 1])
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_r, h_r = _torch_packed(ref, x1, lengths)
    out_o, h_o = ours(x2, lengths)
    torch.testing.assert_close(out_o, out_r)
    torch.testing.assert_close(h_o, h_r)
    w = torch.randn_like(out_r)
    ((out_r * w).sum() + h_r.sum()).backward()
    ((out_o * w).sum() + h_o.sum()).backward()
    torch.testing.assert_close(x2.grad, x1.grad)
    torch.testing.assert_close(ours.bwd.weight_hh_l0.grad, ref.weight_hh_l0_reverse.grad)
    torch.testing.assert_close(ours.fwd.bias_ih_l0.grad, ref.bias_ih_l0.grad)


def test_flip_padded_is_wrong_exactly_on_short_sequences():
    torch.manual_seed(1)
    ref = seqlib.LSTM(3, 4, bidirectional=True).double()  # seqlib's own bidirectional layer as source
    wrong, right = FlipPaddedBiLSTM.from_bidirectional(ref), LengthAwareBiLSTM.from_bidirectional(ref)
    x, lengths = _padded_batch([6, 3, 6])
    out_w, h_w = wrong(x, lengths)
    out_r, h_r = right(x, lengths)
    H = 4
    # full-length sequences agree, the short one's backward half differs; forward halves always agree
    torch.testing.assert_close(out_w[[0, 2]], out_r[[0, 2]])
    torch.testing.assert_close(out_w[..., :H], out_r[..., :H])
    assert (out_w[1, :3, H:] - out_r[1, :3, H:]).abs().max() > 1e-3
    assert (h_w[0, 1] - h_r[0, 1]).abs().max() > 1e-3  # forward final state read after the padding
    # with no padding at all the two constructions are the same
    x_full, full = _padded_batch([5, 5])
    torch.testing.assert_close(wrong(x_full, full)[0], right(x_full, full)[0])


def test_two_pass_errors():
    with pytest.raises(ValueError, match="^LengthAwareBiLSTM: expected a 1-layer bidirectional LSTM"):
        LengthAwareBiLSTM.from_bidirectional(torch.nn.LSTM(3, 4))
    m = LengthAwareBiLSTM(3, 4)
    with pytest.raises(ValueError, match=r"^LengthAwareBiLSTM: expected a padded batch x of shape \(B, T, I\)"):
        m(torch.randn(5, 3), torch.tensor([5]))
    with pytest.raises(ValueError, match=r"^LengthAwareBiLSTM: expected every length in \[1, 5\]"):
        m(torch.randn(2, 5, 3), torch.tensor([6, 2]))
    with pytest.raises(ValueError, match="^LengthAwareBiLSTM: expected 2 lengths"):
        m(torch.randn(2, 5, 3), torch.tensor([5]))
    with pytest.raises(TypeError, match="^LengthAwareBiLSTM: expected lengths as a 1-D integer tensor"):
        m(torch.randn(2, 5, 3), torch.tensor([5.0, 2.0]))
    with pytest.raises(NotImplementedError):
        TwoPassBiLSTM(3, 4)(torch.randn(1, 2, 3), torch.tensor([2]))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_tagger_ignores_padding_and_matches_torch_twin(bidirectional):
    torch.manual_seed(0)
    ours = PackedTagger("lstm", 10, 5, 6, 3, bidirectional=bidirectional).double()
    theirs = PackedTagger("lstm", 10, 5, 6, 3, bidirectional=bidirectional, impl="torch").double()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randint(1, 10, (3, 6))
    lengths = torch.tensor([6, 2, 4])
    for i, n in enumerate(lengths):
        x[i, n:] = 0
    out = ours(x, lengths)
    assert out.shape == (3, 6, 3)
    torch.testing.assert_close(out, theirs(x, lengths))
    noisy = x.clone()
    noisy[1, 2:] = 7  # garbage after the end of sequence 1
    torch.testing.assert_close(ours(noisy, lengths)[1, :2], out[1, :2])
    # each sequence alone gives the same result as in the batch
    torch.testing.assert_close(ours(x[1:2, :2], lengths[1:2])[0], out[1, :2])


def test_packed_tagger_errors():
    m = PackedTagger("gru", 10, 4, 5, 2)
    with pytest.raises(TypeError, match=r"^PackedTagger: expected token ids \(B, T\) of dtype torch.long, got torch.float32"):
        m(torch.randn(2, 3), torch.tensor([3, 3]))
    with pytest.raises(ValueError, match=r"^PackedTagger: expected every length in \[1, 3\]"):
        m(torch.ones(2, 3, dtype=torch.long), torch.tensor([3, 0]))


def test_masked_metrics_against_a_loop():
    torch.manual_seed(0)
    logits = torch.randn(3, 4, 2)
    target = torch.tensor([[0, 1, IGNORE, IGNORE], [1, 1, 0, 1], [0, IGNORE, IGNORE, IGNORE]])
    pred = logits.argmax(-1)
    real = [(b, t) for b in range(3) for t in range(4) if target[b, t] != IGNORE]
    want_loss = sum(-torch.log_softmax(logits[b, t], -1)[target[b, t]] for b, t in real) / len(real)
    torch.testing.assert_close(masked_cross_entropy(logits, target), want_loss)
    want_acc = sum(int(pred[b, t] == target[b, t]) for b, t in real) / len(real)
    assert math.isclose(float(position_accuracy(logits, target)), want_acc, rel_tol=1e-6)
    want_seq = sum(all(pred[b, t] == target[b, t] for bb, t in real if bb == b) for b in range(3)) / 3
    assert math.isclose(float(sequence_accuracy(logits, target)), want_seq, rel_tol=1e-6)


def test_tagging_scores_weights_by_positions():
    torch.manual_seed(0)
    m = PackedTagger("lstm", len(VOCAB), 3, 4, 2)
    X, lengths, Y = encode_words(["abcde", "ab", "abcd"], [[0, 1, 0, 0, 0], [0, 0], [1, 0, 1, 0]])
    s = tagging_scores(m, X, lengths, Y, batch_size=2)
    logits = m(X, lengths).detach()
    assert math.isclose(s["loss"], float(masked_cross_entropy(logits, Y)), rel_tol=1e-5)
    assert math.isclose(s["position_acc"], float(position_accuracy(logits, Y)), rel_tol=1e-6)
    assert math.isclose(s["sequence_acc"], float(sequence_accuracy(logits, Y)), rel_tol=1e-6)


def test_prefix_loss_equals_teacher_forced_loss_only_for_unidirectional():
    torch.manual_seed(0)
    X, lengths, Y = load_hyphenation(n_words=40, seed=0).next_char("train")
    uni = PackedTagger("lstm", len(VOCAB), 4, 5, len(VOCAB))
    bi = PackedTagger("lstm", len(VOCAB), 4, 5, len(VOCAB), bidirectional=True)
    for model, same in ((uni, True), (bi, False)):
        full = tagging_scores(model, X, lengths, Y)["loss"]
        prefix = prefix_next_token_loss(model, X, lengths, Y, batch_size=37)["loss"]
        assert math.isclose(full, prefix, rel_tol=1e-5) == same, (full, prefix)


def test_generate_stops_and_uses_vocab():
    torch.manual_seed(0)
    m = PackedTagger("lstm", len(VOCAB), 4, 5, len(VOCAB))
    words = generate(m, BOUNDARY, BOUNDARY, VOCAB, n=3, max_len=4, generator=torch.Generator().manual_seed(0))
    assert len(words) == 3 and all(len(w) <= 4 * max(len(v) for v in VOCAB) for w in words)


def test_hyphenation_labels_and_splits():
    import pyphen

    dic = pyphen.Pyphen(lang="en_US")
    for word in ("hyphenation", "computer", "table"):
        assert hyphenate(word, hyphenation_labels(word, dic)) == dic.inserted(word)
    a, b = load_hyphenation(n_words=300, seed=3), load_hyphenation(n_words=300, seed=3)
    assert torch.equal(a.train[0], b.train[0]) and torch.equal(a.test[2], b.test[2])
    tr, va, te = (set(a.words[s]) for s in ("train", "val", "test"))
    assert not (tr & va) and not (tr & te) and not (va & te) and len(tr) + len(va) + len(te) == 300
    X, lengths, Y = a.train
    for i in range(5):  # round trip: ids and labels decode to the word and pyphen's hyphenation
        word = "".join(VOCAB[j] for j in X[i, : lengths[i]])
        assert word == a.words["train"][i]
        assert hyphenate(word, Y[i, : lengths[i]].tolist()) == dic.inserted(word)
        assert (Y[i, lengths[i]:] == IGNORE).all()
    inp, n, tgt = a.next_char("val")
    assert inp[0, 0] == BOUNDARY and tgt[0, n[0] - 1] == BOUNDARY and torch.equal(inp[0, 1:n[0]], tgt[0, : n[0] - 1])
    assert all(c.isalpha() and c.islower() for w in cmudict_words(max_len=3)[:50] for c in w)


def test_hyphenation_errors():
    with pytest.raises(ValueError, match="^hyphenation: pyphen has no dictionary for 'xx_XX'"):
        load_hyphenation(lang="xx_XX")
    with pytest.raises(ValueError, match="^hyphenation: expected val_frac and test_frac"):
        load_hyphenation(val_frac=0.5, test_frac=0.5)
    with pytest.raises(ValueError, match="^hyphenation: expected split"):
        load_hyphenation(n_words=30).next_char("dev")
    with pytest.raises(ValueError, match="^hyphenation: cannot encode an empty word"):
        encode_words(["ab", ""])
