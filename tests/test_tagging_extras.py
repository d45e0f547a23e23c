import pytest
import torch

from seqlib.data.hyphenation import BOUNDARY, VOCAB
from seqlib.nn.bidirectional import PackedTagger
from seqlib.tokens import IGNORE, PAD, UNK
from seqlib.train.tagging import break_f1, generate, look_ahead, tagging_scores


def test_generate_never_draws_unk_padding_or_an_empty_word():
    torch.manual_seed(0)
    m = PackedTagger("lstm", len(VOCAB), 4, 5, len(VOCAB))
    with torch.no_grad():  # a model that wants <unk>, padding and an immediate stop
        m.head.bias.zero_()
        m.head.bias[[PAD, UNK, BOUNDARY]] = 8.0
    words = generate(m, BOUNDARY, BOUNDARY, VOCAB, n=20, max_len=6,
                     generator=torch.Generator().manual_seed(0))
    assert all(w for w in words), words
    assert not any(VOCAB[UNK] in w or VOCAB[PAD] in w for w in words), words
    # without the ban the same model does draw them: the test can fail
    loose = generate(m, BOUNDARY, BOUNDARY, VOCAB, n=20, max_len=6, forbid=(),
                     generator=torch.Generator().manual_seed(0))
    assert any((not w) or VOCAB[UNK] in w or VOCAB[PAD] in w for w in loose)


def test_look_ahead_delays_labels_and_keeps_scores():
    X = torch.tensor([[5, 6, 7], [8, 9, 0]])
    L = torch.tensor([3, 2])
    Y = torch.tensor([[0, 1, 0], [1, 0, IGNORE]])
    Xk, Lk, Yk = look_ahead((X, L, Y), 2, BOUNDARY)
    assert Xk.tolist() == [[5, 6, 7, 2, 2], [8, 9, 2, 2, 0]]
    assert Lk.tolist() == [5, 4]
    assert Yk.tolist() == [[IGNORE, IGNORE, 0, 1, 0], [IGNORE, IGNORE, 1, 0, IGNORE]]
    assert all(a is b for a, b in zip(look_ahead((X, L, Y), 0, BOUNDARY), (X, L, Y)))
    with pytest.raises(ValueError, match="k >= 0"):
        look_ahead((X, L, Y), -1, BOUNDARY)
    # scores over the delayed split count the same positions as over the original
    torch.manual_seed(0)
    m = PackedTagger("lstm", len(VOCAB) + 10, 4, 5, 2)
    n_orig = int((Y != IGNORE).sum())
    n_delayed = int((Yk != IGNORE).sum())
    assert n_orig == n_delayed
    assert 0 <= tagging_scores(m, Xk, Lk, Yk)["position_acc"] <= 1


class _Fixed(torch.nn.Module):
    """Predicts label 1 exactly where x == 1 (a tagger with known errors)."""
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x, lengths):
        return torch.stack([(x != 1).float(), (x == 1).float()], -1) + 0 * self.w


def test_break_f1_counts_true_and_false_breaks():
    x = torch.tensor([[1, 1, 0, 0], [0, 1, 0, 5]])
    y = torch.tensor([[1, 0, 1, IGNORE], [0, 1, 0, 1]])
    s = break_f1(_Fixed(), x, torch.tensor([3, 4]), y)
    # predicted breaks: (0,0) tp, (0,1) fp, (1,1) tp; missed: (0,2), (1,3) -> tp 2, fp 1, fn 2
    assert s["precision"] == pytest.approx(2 / 3) and s["recall"] == pytest.approx(0.5)
    assert s["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
