"""The first-and-last-key task (seqlib.data.longrange) and select_by_validation."""
import pytest
import torch

from seqlib.nn.bidirectional import PackedTagger
from seqlib.train.tagging import masked_cross_entropy, select_by_validation, tagging_scores
from seqlib.data.longrange import NEGATIVE, POSITIVE, first_last_keys, first_last_keys_splits


def _keys(X, n_filler=8):
    """Positions and letters of the keys in each row, by a loop."""
    out = []
    for row in X.tolist():
        pos = [t for t, v in enumerate(row) if v > n_filler]
        out.append((pos, "".join("A" if row[t] == n_filler + 1 else "B" for t in pos)))
    return out


def test_first_last_keys_layout_and_labels():
    T, gap, margin = 32, 6, 5
    X, lengths, y = first_last_keys(2000, T, gap, margin, seed=3)
    assert X.shape == (2000, T) and torch.equal(lengths, torch.full((2000,), T))
    assert int(X.min()) >= 1 and int(X.max()) <= 10  # no padding id, filler 1..8, keys 9, 10
    for (pos, word), label in zip(_keys(X), y.tolist()):
        assert len(pos) == 4 and word.count("A") == 2 and word.count("B") == 2
        assert pos[0] >= margin and pos[-1] <= T - 1 - margin
        assert all(b - a >= gap for a, b in zip(pos, pos[1:]))
        assert label == int(word[0] == "A" and word[-1] == "B")
        assert word in (POSITIVE if label else NEGATIVE)
    assert 0.45 < float(y.float().mean()) < 0.55
    # every arrangement of a class occurs
    words = {w for _, w in _keys(X)}
    assert words == set(POSITIVE) | set(NEGATIVE)


def test_first_last_keys_same_tokens_in_both_classes():
    # what a position-blind model could count is the same in both classes: two A's, two B's,
    # and filler with the same distribution
    X, _, y = first_last_keys(20000, 32, seed=0)
    for key in (9, 10):
        assert torch.equal((X == key).sum(1), torch.full((20000,), 2))
    filler = torch.stack([(X == v).float().mean(1) for v in range(1, 9)], 1)  # (N, 8)
    assert float((filler[y == 1].mean(0) - filler[y == 0].mean(0)).abs().max()) < 0.005


def test_first_last_keys_splits_fixed_and_errors():
    s = first_last_keys_splits(n_train=50, n_val=20, n_test=30, seed=2)
    assert s.train[0].shape == (50, 32) and s.test[0].shape == (30, 32)
    assert torch.equal(first_last_keys_splits(n_train=50, n_val=20, n_test=30, seed=2).train[0], s.train[0])
    assert not torch.equal(s.train[0][:20], s.val[0])
    assert 0.5 <= s.baseline <= 1
    with pytest.raises(ValueError, match=r"^first_last_keys: T=20 is too short"):
        first_last_keys(10, 20, min_gap=6, margin=5)
    with pytest.raises(ValueError, match=r"^first_last_keys: expected n"):
        first_last_keys(0, 32)


def test_select_by_validation_keeps_the_best_epoch():
    torch.manual_seed(0)
    X = torch.randint(3, 8, (64, 6))
    L = torch.full((64,), 6)
    Y = (X % 2)  # learnable per-letter label
    data = (X, L, Y)
    model = PackedTagger("lstm", 8, 4, 8, 2, impl="torch")
    ev = lambda m, split: tagging_scores(m, *split)
    curve, best = select_by_validation(model, data, data, epochs=3, lr=1e-2,
                                       loss_fn=masked_cross_entropy, evaluate=ev,
                                       key="position_acc", batch_size=16)
    assert len(curve) == 3 and 1 <= best <= 3
    accs = [c["position_acc"] for c in curve]
    assert best == accs.index(max(accs)) + 1
    assert ev(model, data)["position_acc"] == pytest.approx(max(accs))
    with pytest.raises(KeyError, match="select_by_validation"):
        select_by_validation(model, data, data, epochs=1, lr=1e-2, loss_fn=masked_cross_entropy,
                             evaluate=ev, key="nope")
