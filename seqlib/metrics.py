"""Measures of predictions and of model size used to compare architectures fairly.

Shape legend: N examples, C classes.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn


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
