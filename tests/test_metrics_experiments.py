"""seqlib.train.metrics against naive loops; seqlib.train.experiments at a tiny size (the GPU cells' code path)."""
import pytest
import torch

import seqlib
from seqlib.data import adding_splits
from seqlib.train.experiments import train_adding, train_classifier
from seqlib.nn.lstm import init_forget_bias
from seqlib.train.metrics import confusion_matrix, hidden_size_for_budget, majority_accuracy, per_class_recall
from seqlib.nn.heads import SequenceClassifier


def test_confusion_matrix_matches_loop():
    g = torch.Generator().manual_seed(0)
    pred, target = torch.randint(0, 4, (50,), generator=g), torch.randint(0, 4, (50,), generator=g)
    cm = confusion_matrix(pred, target, 4)
    naive = torch.zeros(4, 4, dtype=torch.long)
    for p, t in zip(pred, target):
        naive[t, p] += 1
    assert torch.equal(cm, naive)
    assert int(cm.sum()) == 50
    recall = per_class_recall(cm)
    assert torch.allclose(recall, torch.tensor([float(naive[c, c]) / float(naive[c].sum()) for c in range(4)],
                                               dtype=torch.float64))


def test_confusion_matrix_errors():
    with pytest.raises(ValueError, match="confusion_matrix: expected pred in \\[0, 3\\)"):
        confusion_matrix(torch.tensor([0, 3]), torch.tensor([0, 1]), 3)
    with pytest.raises(TypeError, match="confusion_matrix: expected class ids of dtype torch.long"):
        confusion_matrix(torch.tensor([0.0]), torch.tensor([0]), 3)
    with pytest.raises(ValueError, match="same 1-d shape"):
        confusion_matrix(torch.tensor([0, 1]), torch.tensor([0]), 3)


def test_majority_accuracy():
    assert majority_accuracy(torch.tensor([2, 2, 1]), torch.tensor([2, 0, 2, 1])) == 0.5


def test_hidden_size_for_budget_is_closest():
    build = lambda h: SequenceClassifier("lstm", 20, 8, h, 5)
    target = seqlib.count_parameters(SequenceClassifier("gru", 20, 8, 32, 5))
    h = hidden_size_for_budget(build, target)
    count = lambda h: seqlib.count_parameters(build(h))
    assert all(abs(count(h) - target) <= abs(count(k) - target) for k in range(1, 60))
    assert h < 32  # an LSTM of equal size is narrower than the GRU
    with pytest.raises(ValueError, match="hidden_size_for_budget"):
        hidden_size_for_budget(build, 10 ** 9, max_hidden=16)


def test_set_forget_bias_only_touches_forget_rows():
    lstm = seqlib.LSTM(3, 4, num_layers=2, bidirectional=True)
    before = {n: p.detach().clone() for n, p in lstm.named_parameters()}
    init_forget_bias(lstm, 1.0)
    for n, p in lstm.named_parameters():
        if n.startswith("bias_ih"):
            assert torch.all(p[4:8] == 1.0) and torch.equal(p[:4], before[n][:4]) and torch.equal(p[8:], before[n][8:])
        elif n.startswith("bias_hh"):
            assert torch.all(p[4:8] == 0.0) and torch.equal(p[8:], before[n][8:])
        else:
            assert torch.equal(p, before[n])


class _TinyNames:
    """Two classes that differ in their first character: learnable in a few steps."""

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        def make(n):
            y = torch.randint(0, 2, (n,), generator=g)
            X = torch.randint(3, 6, (n, 4), generator=g)
            X[:, 0] = torch.where(y == 0, torch.tensor(2), torch.tensor(6))
            return X, torch.full((n,), 4), y
        self.train, self.val, self.test = make(128), make(64), make(64)
        self.vocab, self.classes = [str(i) for i in range(7)], ["a", "b"]


def test_train_classifier_selects_on_val_and_learns():
    data = _TinyNames()
    out = train_classifier("gru", data, hidden_size=8, embed_dim=4, epochs=4, lr=3e-2, batch_size=32,
                           progress=False)
    h = out["history"]
    assert len(h.val_metric) == 4 and out["best_epoch"] == 1 + h.val_metric.index(max(h.val_metric))
    assert out["val_acc"] == max(h.val_metric)
    assert out["test_acc"] > 0.9 and out["pred"].shape == (64,)


def test_train_adding_tiny_runs_and_restores_best():
    split = adding_splits(8, n_train=64, n_val=32, n_test=32)
    out = train_adding("lstm", split, hidden_size=4, epochs=3, batch_size=16, progress=False)
    h = out["history"]
    assert out["best_epoch"] == 1 + h.val_loss.index(min(h.val_loss))
    from seqlib.train.loop import evaluate
    import torch.nn.functional as F
    assert abs(evaluate(out["model"], split.val, F.mse_loss)[0] - out["val_mse"]) < 1e-6  # best weights restored
