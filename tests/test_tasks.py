"""The generated long-range tasks: shapes, determinism, disjoint splits, baselines."""
import math

import pytest
import torch

from seqlib.data import adding_problem, adding_splits, copy_memory, copy_splits
from seqlib.data.tasks import copy_baseline


def test_adding_problem_structure():
    X, y = adding_problem(500, 40, seed=3)
    assert X.shape == (500, 40, 2) and y.shape == (500, 1)
    markers = X[..., 1]
    assert torch.all(markers.sum(1) == 2)
    assert torch.all(markers[:, :20].sum(1) == 1) and torch.all(markers[:, 20:].sum(1) == 1)
    torch.testing.assert_close(y[:, 0], (X[..., 0] * markers).sum(1))
    X2, _ = adding_problem(500, 40, seed=3)
    assert torch.equal(X, X2)


def test_adding_baseline_is_about_one_sixth():
    s = adding_splits(50, n_train=10, n_val=10, n_test=20000)
    assert s.baseline == pytest.approx(1 / 6, abs=0.01)
    assert not torch.equal(s.train[0][:10], s.test[0][:10])  # different streams per split


def test_copy_memory_structure():
    X, y = copy_memory(64, T=30, seed=0)
    assert X.shape == y.shape == (64, 50)
    assert torch.all(X[:, 39] == 9) and torch.equal(y[:, -10:], X[:, :10])
    assert torch.all(y[:, :-10] == 0) and torch.all((X[:, :10] >= 1) & (X[:, :10] <= 8))


def test_copy_baseline_is_what_a_memoryless_model_scores():
    T = 30
    _, y = copy_memory(4000, T, seed=1)
    # blanks certain before the output window, uniform over 8 symbols inside it
    logits = torch.full((*y.shape, 10), -1e9)
    logits[:, :-10, 0] = 0
    logits[:, -10:, 1:9] = 0
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, 10), y.reshape(-1))
    assert float(ce) == pytest.approx(copy_baseline(T), rel=1e-4)
    assert copy_baseline(T) == pytest.approx(10 * math.log(8) / (T + 20))
    s = copy_splits(T, n_train=8, n_val=8, n_test=8)
    assert "copy memory T=30" in repr(s)


def test_task_errors():
    with pytest.raises(ValueError, match="adding_problem: expected T to be an integer >= 2"):
        adding_problem(4, 1)
    with pytest.raises(ValueError, match="copy_memory: expected a positive number of examples"):
        copy_memory(0, 10)
