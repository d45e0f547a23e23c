"""Metrics used across the book.

Sequence metrics (edit distance, phoneme (token) error rate, word (sequence) error rate): a
prediction is compared with every accepted reference (a word may have several pronunciations) and
scored against the closest one. Classification and model-size measures: confusion matrix,
per-class recall, majority baseline, and the hidden size that matches a parameter budget.

Shape legend: N examples, C classes.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn


def edit_distance(a, b) -> int:
    """Levenshtein distance between two sequences (insertions, deletions, substitutions cost 1)."""
    a, b = list(a), list(b)
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def _check(predictions, references) -> None:
    if len(predictions) != len(references) or not predictions:
        raise ValueError(f"metrics: expected as many predictions as reference lists (and at least one), "
                         f"got {len(predictions)} and {len(references)}")
    if any(len(refs) == 0 for refs in references):
        raise ValueError("metrics: every example needs at least one reference")


def closest_reference(prediction, refs) -> tuple[int, list]:
    """(edit distance, reference) of the reference closest to prediction (the shorter on ties)."""
    return min(((edit_distance(prediction, r), r) for r in refs), key=lambda dr: (dr[0], len(dr[1])))


def token_error_rate(predictions, references) -> float:
    """Sum of edit distances to the closest reference / sum of those references' lengths (PER)."""
    _check(predictions, references)
    errors = total = 0
    for p, refs in zip(predictions, references):
        d, r = closest_reference(p, refs)
        errors, total = errors + d, total + len(r)
    return errors / max(total, 1)


def sequence_error_rate(predictions, references) -> float:
    """Fraction of predictions that match none of their references exactly (WER for G2P)."""
    _check(predictions, references)
    return sum(list(p) not in [list(r) for r in refs] for p, refs in zip(predictions, references)) / len(predictions)


phoneme_error_rate = token_error_rate
word_error_rate = sequence_error_rate



def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Counts (C, C) long: row = true class, column = predicted class. pred, target (N,) long."""
    if pred.shape != target.shape or pred.dim() != 1:
        raise ValueError(f"confusion_matrix: expected pred and target of the same 1-d shape, "
                         f"got {tuple(pred.shape)} and {tuple(target.shape)}")
    if pred.dtype != torch.long or target.dtype != torch.long:
        raise TypeError(f"confusion_matrix: expected class ids of dtype torch.long, got {pred.dtype} "
                        f"and {target.dtype}")
    for what, t in (("pred", pred), ("target", target)):
        if len(t) and (int(t.min()) < 0 or int(t.max()) >= num_classes):
            raise ValueError(f"confusion_matrix: expected {what} in [0, {num_classes}), "
                             f"got values in [{int(t.min())}, {int(t.max())}]")
    flat = target.cpu() * num_classes + pred.cpu()  # (N,): one bin per (true, predicted) pair
    return torch.bincount(flat, minlength=num_classes * num_classes).view(num_classes, num_classes)


def per_class_recall(cm: torch.Tensor) -> torch.Tensor:
    """(C,) fraction of each true class predicted correctly (the diagonal over row sums); NaN for empty rows."""
    cm = cm.double()
    return cm.diagonal() / cm.sum(1)


def majority_accuracy(train_targets: torch.Tensor, test_targets: torch.Tensor) -> float:
    """Accuracy on `test_targets` of always predicting the most frequent class of `train_targets`."""
    majority = torch.bincount(train_targets).argmax()
    return float((test_targets == majority).double().mean())


def hidden_size_for_budget(build: Callable[[int], nn.Module], target: int, max_hidden: int = 1024) -> int:
    """The hidden size H whose model `build(H)` has the parameter count closest to `target`.

    Parameter counts grow with H, so this bisects for the first H reaching `target` and returns it
    or its predecessor, whichever is closer (ties go to the smaller model).
    """
    count = lambda h: sum(p.numel() for p in build(h).parameters() if p.requires_grad)
    if target <= 0:
        raise ValueError(f"hidden_size_for_budget: expected a positive parameter target, got {target}")
    if count(max_hidden) < target:
        raise ValueError(f"hidden_size_for_budget: even H={max_hidden} has fewer than {target} parameters")
    lo, hi = 1, max_hidden
    while lo < hi:  # first H with count(H) >= target
        mid = (lo + hi) // 2
        if count(mid) >= target:
            hi = mid
        else:
            lo = mid + 1
    if lo > 1 and target - count(lo - 1) <= count(lo) - target:
        return lo - 1
    return lo
