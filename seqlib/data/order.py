"""A task that needs context wider than any filter: which of two markers comes first?

Each sequence holds T tokens of random filler (ids 1..n_filler) and two markers, A (id n_filler+1)
and B (id n_filler+2), at least `min_gap` positions apart and at least `margin` positions from
either end. The label is 1 when A comes before B. Locally, around each marker, both orders look
the same, so a model that sees only windows narrower than `min_gap` + 1 and pools them without
their positions (a TextCNN with filters narrower than that) can do no better than chance, while a
model that reads the sequence in order (an RNN) only has to remember which marker it saw first.
The margin keeps the markers away from the ends, where a window's clipping would leak position.

Splits are generated from seed-derived streams (train seed, val seed + 1000003, test seed +
2000003), like `seqlib.data.tasks`. Id 0 is reserved for padding and never occurs.

Shape legend: N examples, T sequence length.
"""
from __future__ import annotations

import torch

from .tasks import _SPLIT_OFFSETS, Split


def marker_order(n: int, T: int, min_gap: int, margin: int | None = None, n_filler: int = 8,
                 seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """X (N, T) long, lengths (N,) (all T) and y (N,) long: 1 when marker A precedes marker B."""
    margin = min_gap if margin is None else margin
    if not isinstance(n, int) or n <= 0:
        raise ValueError(f"marker_order: expected a positive number of examples, got {n!r}")
    if min_gap < 1 or margin < 0 or n_filler < 1:
        raise ValueError(f"marker_order: expected min_gap >= 1, margin >= 0, n_filler >= 1, got "
                         f"{min_gap}, {margin}, {n_filler}")
    if T < 2 * margin + min_gap + 1:
        raise ValueError(f"marker_order: T={T} is too short for min_gap={min_gap} and margin={margin} "
                         f"(needs T >= {2 * margin + min_gap + 1})")
    g = torch.Generator().manual_seed(seed)
    X = torch.randint(1, n_filler + 1, (n, T), generator=g)  # (N, T) filler
    hi = T - 1 - margin  # last allowed marker position
    first = margin + (torch.rand(n, generator=g) * (hi - min_gap - margin + 1)).long()  # (N,)
    room = hi - (first + min_gap) + 1  # (N,) choices for the second position
    second = first + min_gap + (torch.rand(n, generator=g) * room).long()  # (N,)
    y = torch.randint(0, 2, (n,), generator=g)  # (N,) 1: A first
    A, B = n_filler + 1, n_filler + 2
    rows = torch.arange(n)
    X[rows, first] = torch.where(y == 1, A, B)
    X[rows, second] = torch.where(y == 1, B, A)
    return X, torch.full((n,), T), y


def marker_order_splits(T: int = 40, min_gap: int = 8, margin: int | None = None, n_train: int = 4000,
                        n_val: int = 1000, n_test: int = 1000, n_filler: int = 8, seed: int = 0) -> Split:
    """Fixed train/val/test splits of `marker_order`; the baseline is the majority-class test accuracy."""
    parts = tuple(marker_order(n, T, min_gap, margin, n_filler, seed + _SPLIT_OFFSETS[s])
                  for s, n in zip(("train", "val", "test"), (n_train, n_val, n_test)))
    y = parts[2][2]
    baseline = max(float(y.float().mean()), 1 - float(y.float().mean()))
    margin = min_gap if margin is None else margin
    return Split(*parts, baseline,
                 f"marker order T={T}, markers >= {min_gap} apart and >= {margin} from the ends, "
                 f"{n_filler} filler ids (vocabulary {n_filler + 3}): train {n_train}, val {n_val}, "
                 f"test {n_test} (seed {seed}); majority-class test accuracy {baseline:.3f}")
