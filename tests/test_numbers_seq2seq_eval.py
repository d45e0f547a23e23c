import math

import pytest
import torch

from seqlib.data.numbers import load_numbers, render, spell
from seqlib.nn.seq2seq import Seq2Seq
from seqlib.train.seq2seq import by_length, decode, exact_match, sequence_logprob, train_until_plateau


@pytest.mark.parametrize("n, words", [
    (0, "zero"), (7, "seven"), (13, "thirteen"), (40, "forty"), (42, "forty two"),
    (100, "one hundred"), (742, "seven hundred forty two"), (910, "nine hundred ten"),
    (3008, "three thousand eight"), (999_999, "nine hundred ninety nine thousand nine hundred "
                                              "ninety nine")])
def test_spell(n, words):
    assert spell(n) == words.split()


@pytest.mark.parametrize("bad", [-1, 1_000_000, 2.0, True, "3"])
def test_spell_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="numbers.spell"):
        spell(bad)


def test_render_separates_numbers_and_gives_one_target_token_each():
    src, tgt = render([42, 7, 100])
    assert src == ["forty", "two", ",", "seven", ",", "one", "hundred"]
    assert tgt == ["42", "7", "100"]


def test_splits_are_fixed_disjoint_and_lengths_span_the_range():
    a, b = load_numbers(n_train=600, n_val=100, n_test=300, seed=3), load_numbers(
        n_train=600, n_val=100, n_test=300, seed=3)
    assert a.sources == b.sources and torch.equal(a.train[0], b.train[0])
    keys = {k: {tuple(s) for s in a.sources[k]} for k in ("train", "val", "test")}
    assert len(keys["test"]) == 300 and not keys["test"] & keys["train"]
    assert not keys["val"] & keys["train"] and not keys["val"] & keys["test"]
    lens = [len(s) for s in a.sources["test"]]
    assert min(lens) <= 3 and max(lens) >= 40  # a 1-number input and 15-16 numbers
    for s, refs in zip(a.sources["test"], a.references["test"]):  # the target reads the source
        assert render([int(t) for t in refs[0]]) == (s, refs[0])


def test_load_numbers_rejects_impossible_requests():
    with pytest.raises(ValueError, match="load_numbers"):
        load_numbers(n_train=0)
    with pytest.raises(ValueError, match="distinct"):
        load_numbers(n_train=50, n_val=5, n_test=5, max_count=1, max_value=9)


def test_by_length_and_exact_match():
    rows = by_length([True, False, True, True], [1, 5, 12, 30], [1, 10, 20, 40])
    assert [r["n"] for r in rows] == [2, 1, 1] and rows[0]["mean"] == 0.5
    assert math.isnan(by_length([True], [1], [5, 9])[0]["mean"])
    assert exact_match([["a"], ["b"]], [[["a"]], [["c"], ["b"]]]) == [True, True]
    assert exact_match([["a"]], [[["b"]]]) == [False]
    with pytest.raises(ValueError):
        exact_match([["a"]], [])


def test_training_stops_on_a_plateau_resumes_and_learns(tmp_path):
    data = load_numbers(n_train=300, n_val=40, n_test=60, max_count=2, max_value=20, seed=0)
    torch.manual_seed(0)
    model = Seq2Seq(len(data.src_vocab), len(data.tgt_vocab), 16, 32, impl="torch")
    state = tmp_path / "s.pt"
    h = train_until_plateau(model, data, max_epochs=2, patience=2, state=state, max_len=3)
    assert h.epochs == 2 and h.stopped == "max_epochs" and state.exists()
    again = train_until_plateau(Seq2Seq(len(data.src_vocab), len(data.tgt_vocab), 16, 32,
                                        impl="torch"), data, max_epochs=2, state=state)
    assert again.val_exact == h.val_exact  # resumed a finished run: nothing retrained
    h = train_until_plateau(model, data, max_epochs=15, patience=3, max_len=3, batch_size=32)
    assert h.stopped in ("plateau", "max_epochs") and h.best_val == max(h.val_exact[:h.best_epoch])
    assert max(h.val_exact) <= h.best_val + 1e-3
    acc = sum(exact_match(decode(model, data, data.sources["test"], max_len=5),
                          data.references["test"])) / 60
    assert acc > 0.3, acc  # 1-2 numbers of 0-20: chance is below 1/21


def test_sequence_logprob_matches_the_product_of_step_probabilities():
    data = load_numbers(n_train=50, n_val=5, n_test=5, max_count=3, max_value=20, seed=1)
    torch.manual_seed(0)
    model = Seq2Seq(len(data.src_vocab), len(data.tgt_vocab), 8, 8, impl="torch").eval()
    src = data.sources["test"][:2]
    out = decode(model, data, src, max_len=6)
    lp = sequence_logprob(model, data, src, out)
    X, L = data.encode(src[:1])
    memory, state = model.encode(X, L)
    y, total = torch.tensor([1]), 0.0
    ids = [data.tgt_vocab.index(t) for t in out[0]] + [2]
    for t in ids:
        logits, state, _ = model.step(y, state, memory)
        total += float(torch.log_softmax(logits, -1)[0, t])
        y = torch.tensor([t])
    assert abs(total - float(lp[0])) < 1e-4


def test_diagonal_agreement_and_greedy_steps():
    from seqlib.train.seq2seq import diagonal_agreement, greedy_steps

    w = torch.zeros(1, 3, 6)
    w[0, 0, 1], w[0, 1, 2], w[0, 2, 0] = 1, 1, 1  # diagonal for m=6, n=3 is 1, 3, 5
    assert diagonal_agreement(w, [6], [3]) == (2, 3)
    torch.manual_seed(0)
    model = Seq2Seq(7, 9, 4, 4, impl="torch").eval()
    X, L = torch.randint(3, 7, (2, 5)), torch.tensor([5, 3])
    assert greedy_steps(model, X, L, 7).shape == (2, 7)
