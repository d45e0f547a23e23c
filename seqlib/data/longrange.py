"""A task that relates two tokens far apart: does the sequence open with A and close with B?

Each sequence holds T tokens of random filler (ids 1..n_filler) and four **keys**: two A's (id
n_filler+1) and two B's (id n_filler+2), at least ``min_gap`` positions apart from each other and
at least ``margin`` positions from either end. The label is 1 when the *first* key is an A and
the *last* key is a B (arrangements AABB and ABAB), 0 otherwise (ABBA, BAAB, BABA, BBAA); the two
classes are equally likely and, within a class, so are its arrangements.

Why a one-layer TextCNN cannot do better than chance when its widest filter k satisfies
``k <= min_gap`` and ``k - 1 <= margin``: no window holds two keys, every key lies in a window at
every one of the k offsets (the margin keeps it away from the ends), and the filler is i.i.d.
So every sequence, whatever its label, is the same collection of windows in distribution (one
filler-only collection, two A's and two B's each seen in i.i.d. filler context), and max-pooling
over time keeps no position. The label is a relation between the first and the last key, which
lie at least 3 * min_gap positions apart; a recurrent network reads the keys in order and needs
to remember only the first one until it meets the last.

Splits are generated from seed-derived streams (train seed, val seed + 1000003, test seed +
2000003), like `seqlib.data.tasks`. Id 0 is reserved for padding and never occurs.

Shape legend: N examples, T sequence length.
"""
from __future__ import annotations

import torch

from .tasks import _SPLIT_OFFSETS, Split

POSITIVE = ("AABB", "ABAB")  # first key A and last key B
NEGATIVE = ("ABBA", "BAAB", "BABA", "BBAA")


def _int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"first_last_keys: expected {name} to be an integer >= {low}, got {value!r}")
    return value


def first_last_keys(n: int, T: int, min_gap: int = 6, margin: int = 5, n_filler: int = 8,
                    seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """X (N, T) long, lengths (N,) (all T) and y (N,) long: 1 when the first of the four keys is
    an A and the last a B (see the module docstring)."""
    _int("n", n, 1)
    _int("min_gap", min_gap, 1)
    _int("margin", margin, 0)
    _int("n_filler", n_filler, 1)
    free = T - 1 - 2 * margin - 3 * min_gap  # room left once the gaps and margins are placed
    if free < 0:
        raise ValueError(f"first_last_keys: T={T} is too short for four keys min_gap={min_gap} apart "
                         f"and margin={margin} from the ends (needs T >= {2 * margin + 3 * min_gap + 1})")
    g = torch.Generator().manual_seed(seed)
    X = torch.randint(1, n_filler + 1, (n, T), generator=g)  # (N, T) filler
    slack = torch.randint(0, free + 1, (n, 4), generator=g).sort(dim=1).values  # (N, 4) sorted
    pos = margin + slack + min_gap * torch.arange(4)  # (N, 4) increasing, >= min_gap apart
    y = torch.randint(0, 2, (n,), generator=g)  # (N,)
    A = n_filler + 1
    table = lambda words: torch.tensor([[A + (c == "B") for c in w] for w in words])  # (W, 4)
    pos_keys, neg_keys = table(POSITIVE), table(NEGATIVE)
    pick_pos = torch.randint(0, len(POSITIVE), (n,), generator=g)
    pick_neg = torch.randint(0, len(NEGATIVE), (n,), generator=g)
    keys = torch.where(y[:, None] == 1, pos_keys[pick_pos], neg_keys[pick_neg])  # (N, 4)
    X.scatter_(1, pos, keys)
    return X, torch.full((n,), T), y


def first_last_keys_splits(T: int = 32, min_gap: int = 6, margin: int = 5, n_train: int = 3000,
                           n_val: int = 500, n_test: int = 1000, n_filler: int = 8,
                           seed: int = 0) -> Split:
    """Fixed train/val/test splits of `first_last_keys`; the baseline is the majority-class test
    accuracy."""
    parts = tuple(first_last_keys(k, T, min_gap, margin, n_filler, seed + _SPLIT_OFFSETS[s])
                  for s, k in zip(("train", "val", "test"), (n_train, n_val, n_test)))
    y = parts[2][2].float()
    baseline = max(float(y.mean()), 1 - float(y.mean()))
    return Split(*parts, baseline,
                 f"first key A and last key B? T={T}, four keys >= {min_gap} apart (first and last "
                 f">= {3 * min_gap} apart) and >= {margin} from the ends, {n_filler} filler ids "
                 f"(vocabulary {n_filler + 3}): train {n_train}, val {n_val}, test {n_test} "
                 f"(seed {seed}); majority-class test accuracy {baseline:.3f}")
